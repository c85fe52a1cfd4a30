"""manage.py draw_replay <draw_id>: recompute a draw from its published s, e, pools and id (DESIGN.md §10)."""

import json

from django.core.management.base import BaseCommand, CommandError

from experts.models import Draw
from experts.services.draws import draw_audit_of, draw_replay_of
from trading.services.errors import DomainError


class Command(BaseCommand):
    help = "Replay an expert draw from its published audit and report whether the picks match."

    def add_arguments(self, parser):
        parser.add_argument("draw_id")
        parser.add_argument("--audit", action="store_true", help="also print the audit document (JSON)")

    def handle(self, *args, draw_id, audit=False, **options):
        draw = Draw.objects.filter(public_id=draw_id).first()
        if draw is None:
            raise CommandError(f"no draw {draw_id}")
        try:
            document = draw_audit_of(draw)
            result = draw_replay_of(draw)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from None
        if audit:
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
        for group in document["groups"]:
            self.stdout.write(f"{group['specialty']}: pool {len(group['pool'])} ({group['pool_hash'][:16]}…) "
                              f"picks {' '.join(group['picks'])}")
        if not result.ok:
            for mismatch in result.mismatches:
                self.stderr.write(f"MISMATCH {mismatch}")
            raise CommandError(f"draw {draw_id} does NOT replay")
        self.stdout.write(self.style.SUCCESS(f"draw {draw_id} replays: commitment, pools and picks match"))
