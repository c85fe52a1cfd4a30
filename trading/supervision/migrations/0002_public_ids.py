"""Random public ids for objects whose counters users could see (R14): add, fill existing rows, then make unique."""

from django.db import migrations, models

import trading.supervision.models as m
from trading.ids import public_ids_fill


class Migration(migrations.Migration):

    dependencies = [
        ("supervision", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="deadlinealert",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="supervisionalert",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="servicerating",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="ratingfollowup",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.RunPython(public_ids_fill("supervision", "deadlinealert", "al"), migrations.RunPython.noop),
        migrations.RunPython(public_ids_fill("supervision", "supervisionalert", "sa"), migrations.RunPython.noop),
        migrations.RunPython(public_ids_fill("supervision", "servicerating", "sr"), migrations.RunPython.noop),
        migrations.RunPython(public_ids_fill("supervision", "ratingfollowup", "fu"), migrations.RunPython.noop),
        migrations.AlterField(
            model_name="deadlinealert",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._deadline_alert_public_id, editable=False),
        ),
        migrations.AlterField(
            model_name="supervisionalert",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._supervision_alert_public_id, editable=False),
        ),
        migrations.AlterField(
            model_name="servicerating",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._service_rating_public_id, editable=False),
        ),
        migrations.AlterField(
            model_name="ratingfollowup",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._rating_follow_up_public_id, editable=False),
        ),
    ]
