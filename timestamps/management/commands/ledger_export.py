"""Export a ledger segment and its anchor for offline checking with `python -m timestamps.verify ledger-anchor`."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from timestamps.export import anchor_export, ledger_export_lines
from timestamps.models import LedgerAnchor
from timestamps.published import tsa_chain_pem


class Command(BaseCommand):
    help = "Write ledger.jsonl (entries up to an anchor), anchor.json and certs.pem into a directory."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--anchor", type=int, help="the anchored entry's seq (default: the latest anchor)")
        parser.add_argument("--from-seq", type=int, default=1, help="the first entry to export (default: 1)")

    def handle(self, *args, directory: Path, anchor: int | None, from_seq: int, **options):
        anchors = LedgerAnchor.objects.order_by("-seq")
        chosen = anchors.filter(seq=anchor).first() if anchor is not None else anchors.first()
        if chosen is None:
            raise CommandError("no such anchor" if anchor is not None else "the ledger has no anchor yet")
        if from_seq > chosen.seq:
            raise CommandError(f"--from-seq {from_seq} is after the anchor at entry {chosen.seq}")
        directory.mkdir(parents=True, exist_ok=True)
        count = 0
        with (directory / "ledger.jsonl").open("w", encoding="utf-8") as out:
            for line in ledger_export_lines(from_seq=from_seq, to_seq=chosen.seq):
                out.write(line)
                count += 1
        (directory / "anchor.json").write_text(anchor_export(chosen), encoding="utf-8")
        (directory / "certs.pem").write_bytes(tsa_chain_pem())
        self.stdout.write(f"{count} entries ({from_seq}..{chosen.seq}) and the anchor at entry {chosen.seq} "
                          f"written to {directory}")
