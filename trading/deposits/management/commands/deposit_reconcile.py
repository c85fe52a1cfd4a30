"""对账: print the deposit reconciliation per section and day, and compare with a bank statement.

  manage.py deposit_reconcile [--csv] [--statement statement.json] [--query-bank]

``--statement`` takes the JSON of ``bank_simulator statement`` (or the bank's own, same shape); the
command exits 1 when any virtual account differs. ``--query-bank`` first asks the bank about every
refund still awaiting confirmation.
"""

import json
import sys

from django.core.management.base import BaseCommand

from trading.deposits import selectors as sel
from trading.models import User


class _Finance:
    """The command runs as the platform's finance function."""

    is_authenticated = True

    def has_role(self, *roles):
        return User.Role.ADMIN in roles


class Command(BaseCommand):
    help = "Deposit reconciliation per section and per day; compare with a bank statement."

    def add_arguments(self, parser):
        parser.add_argument("--csv", action="store_true")
        parser.add_argument("--statement")
        parser.add_argument("--query-bank", action="store_true")

    def handle(self, *args, **options):
        if options["query_bank"]:
            from trading.deposits.bank.client import bank_client
            from trading.deposits.services.refunds import refund_reconcile

            client = bank_client()
            if client is not None:
                self.stdout.write(f"bank: {refund_reconcile(client=client)}")
        rows = sel.reconciliation(user=_Finance())
        if options["csv"]:
            self.stdout.write(sel_csv(rows))
        else:
            for r in rows:
                self.stdout.write(f"{r['day']} {r['section'][:40]:40} in {r['received']:>14} out {r['paid_out']:>14} "
                                  f"cash {r['cash_end']:>14} diff {r['difference']}")
        bad = any(r["difference"] for r in rows)
        if options["statement"]:
            with open(options["statement"], encoding="utf-8") as fh:
                statement = json.load(fh)
            for row in sel.reconcile_with_statement(statement):
                mark = "OK " if not row["difference"] else "DIFF"
                self.stdout.write(f"{mark} {row['virtual_account']} platform {row['platform']} bank {row['bank']}")
                bad = bad or bool(row["difference"])
        self.stdout.write("BALANCED" if not bad else "NOT BALANCED")
        if bad:
            sys.exit(1)


def sel_csv(rows) -> str:
    from trading.deposits.api import report_csv

    return report_csv(rows).content.decode("utf-8-sig")
