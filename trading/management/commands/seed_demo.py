"""Load the demo trading centre and print every demo account with its password. Safe to run twice."""

import json

from django.core.management.base import BaseCommand

from trading.demo import seed_demo


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print the demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the accounts as JSON")

    def handle(self, *args, **options):
        notes: list[str] = []
        accounts = seed_demo(notes=notes)
        if options["json"]:
            payload = {"accounts": [{"username": a.username, "password": a.password, "role": a.role}
                                    for a in accounts]}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        self.stdout.write("Demo accounts (username / password / role):")
        for a in accounts:
            self.stdout.write(f"  {a.username:<14} {a.password:<22} {a.role:<11} {a.name}")
        for line in notes:
            self.stdout.write(line)
