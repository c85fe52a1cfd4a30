"""manage.py import_experts <csv>: add or update experts; nothing is stored if any row is wrong."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from experts.services.pool import CSV_COLUMNS, experts_import_csv
from trading.models import User
from trading.services.errors import DomainError


class Command(BaseCommand):
    help = f"Import experts from a CSV file with the columns: {','.join(CSV_COLUMNS)}."

    def add_arguments(self, parser):
        parser.add_argument("csv", type=Path)
        parser.add_argument("--as", dest="username", default="", help="the supervisor recorded as the actor")

    def handle(self, *args, csv: Path, username: str = "", **options):
        actor = User.objects.filter(username=username).first() if username else None
        if actor is None:
            actor = User.objects.filter(role__in=[User.Role.SUPERVISOR, User.Role.ADMIN], is_active=True).first()
        if actor is None:
            raise CommandError("no supervisor or administrator account exists to record the import")
        try:
            report = experts_import_csv(actor=actor, data=csv.read_bytes())
        except (OSError, DomainError) as exc:
            raise CommandError(str(getattr(exc, "message", exc))) from None
        for error in report.errors:
            self.stderr.write(f"row {error['row']}: {error['field'] or '-'}: {error['message']}")
        if not report.ok:
            raise CommandError(f"{len(report.errors)} bad row(s); nothing was imported")
        self.stdout.write(self.style.SUCCESS(f"imported: {report.created} new, {report.updated} updated"))
