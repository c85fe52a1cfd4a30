"""Random public ids for objects whose counters users could see (R14): add, fill existing rows, then make unique."""

from django.db import migrations, models

import trading.deposits.models as m
from trading.ids import public_ids_fill


class Migration(migrations.Migration):

    dependencies = [
        ("deposits", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="depositforfeiture",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.RunPython(public_ids_fill("deposits", "depositforfeiture", "df"), migrations.RunPython.noop),
        migrations.AlterField(
            model_name="depositforfeiture",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._deposit_forfeiture_public_id, editable=False),
        ),
    ]
