"""A random public id for a complaint's evidence file (it is in a URL): add, fill existing rows, then make unique."""

from django.db import migrations, models

import trading.complaints.models as m
from trading.ids import public_ids_fill


class Migration(migrations.Migration):

    dependencies = [
        ("complaints", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="complaintevidence",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.RunPython(public_ids_fill("complaints", "complaintevidence", "ce"), migrations.RunPython.noop),
        migrations.AlterField(
            model_name="complaintevidence",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._evidence_public_id, editable=False),
        ),
    ]
