"""Random public ids for objects whose counters users could see (R14): add, fill existing rows, then make unique."""

from django.db import migrations, models

import trading.models.projects as m
from trading.ids import public_ids_fill


class Migration(migrations.Migration):

    dependencies = [
        ("trading", "0005_move_models_to_capability_apps"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenderdocument",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="question",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="documentobjection",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="notification",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.RunPython(public_ids_fill("trading", "tenderdocument", "td"), migrations.RunPython.noop),
        migrations.RunPython(public_ids_fill("trading", "question", "q"), migrations.RunPython.noop),
        migrations.RunPython(public_ids_fill("trading", "documentobjection", "ob"), migrations.RunPython.noop),
        migrations.RunPython(public_ids_fill("trading", "notification", "n"), migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tenderdocument",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._tender_document_public_id, editable=False),
        ),
        migrations.AlterField(
            model_name="question",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._question_public_id, editable=False),
        ),
        migrations.AlterField(
            model_name="documentobjection",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._document_objection_public_id, editable=False),
        ),
        migrations.AlterField(
            model_name="notification",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._notification_public_id, editable=False),
        ),
    ]
