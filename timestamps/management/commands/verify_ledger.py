"""Verify the whole audit ledger and its anchors; name the first entry that was tampered with."""

from django.core.management.base import BaseCommand, CommandError

from timestamps.ledger import ledger_verify


class Command(BaseCommand):
    help = "Verify the hash-chained audit ledger and its timestamp anchors."

    def handle(self, *args, **options):
        report = ledger_verify(anchor_check=_anchor_check())
        if not report.ok:
            raise CommandError(f"TAMPERED at entry {report.first_bad_seq}: {report.problem}")
        self.stdout.write(f"OK: {report.entries} entries, {report.anchors} anchors verified")


def _anchor_check():
    from timestamps.anchors import anchor_token_valid

    return anchor_token_valid
