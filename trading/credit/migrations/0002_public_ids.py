"""Random public ids for objects whose counters users could see (R14): add, fill existing rows, then make unique."""

from django.db import migrations, models

import trading.credit.models as m
from trading.ids import public_ids_fill


class Migration(migrations.Migration):

    dependencies = [
        ("credit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditappeal",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.RunPython(public_ids_fill("credit", "creditappeal", "ap"), migrations.RunPython.noop),
        migrations.AlterField(
            model_name="creditappeal",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._credit_appeal_public_id, editable=False),
        ),
    ]
