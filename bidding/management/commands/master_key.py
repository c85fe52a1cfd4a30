"""Say where the master key is and how to back it up; move it out of the data folder first if need be."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from bidding.masterkey import master_key_file_ensure


class Command(BaseCommand):
    help = "Show where the master key is (moving it out of the data folder if needed) and how to back it up."

    def handle(self, *args, **options):
        if os.environ.get("MASTER_KEY"):
            self.stdout.write("master key: from the MASTER_KEY environment variable (no file)")
            return
        found = master_key_file_ensure()
        if found.moved_from:
            self.stdout.write(f"master key: moved out of the data folder, from {found.moved_from}")
        elif found.created:
            self.stdout.write("master key: created")
        self.stdout.write(f"master key: {found.path}")
        self.stdout.write(f"database and files: {settings.VAR_DIR} (the key is deliberately not in it)")
        self.stdout.write(
            f"back it up, offline and apart from the database backups: cp -p {found.path} /media/offline/\n"
            "without it no sealed bid can ever be opened; with it and a database copy anyone can open them early."
        )
