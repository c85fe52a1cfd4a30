"""Remove bid envelopes on disk that no bid row refers to (the sweep does this for files over 10 minutes old)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from bidding.services.bids import bid_files_orphaned_remove


class Command(BaseCommand):
    help = "Remove orphaned bid envelope files."

    def add_arguments(self, parser):
        parser.add_argument("--older-than-seconds", type=int, default=600)

    def handle(self, *args, **options):
        removed = bid_files_orphaned_remove(older_than=timedelta(seconds=options["older_than_seconds"]))
        self.stdout.write(f"removed {removed} orphaned bid files")
