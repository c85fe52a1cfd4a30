"""Random public ids for objects whose counters users could see (R14): add, fill existing rows, then make unique."""

from django.db import migrations, models

import bidding.models as m
from trading.ids import public_ids_fill


class Migration(migrations.Migration):

    dependencies = [
        ("bidding", "0002_bid_k2_wrapped_bid_opening_no_bid_outcome_reason_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="openingobjection",
            name="public_id",
            field=models.CharField(max_length=24, null=True, editable=False),
        ),
        migrations.RunPython(public_ids_fill("bidding", "openingobjection", "oo"), migrations.RunPython.noop),
        migrations.AlterField(
            model_name="openingobjection",
            name="public_id",
            field=models.CharField(max_length=24, unique=True, default=m._opening_objection_public_id, editable=False),
        ),
    ]
