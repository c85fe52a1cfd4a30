"""The file store as one tar archive, whichever backend holds it (local disk or an S3 bucket).

  manage.py file_store export FILE.tar    # every stored file, streamed one at a time
  manage.py file_store import FILE.tar    # into an EMPTY store; a non-empty one is refused
  manage.py file_store check              # can the store be reached and written?
  manage.py file_store empty              # exit 1 when the store holds any file

deploy/backup and deploy/restore use it when FILE_STORAGE=s3; for local disk they use tar directly.
"""

import tarfile

from django.core.management.base import BaseCommand, CommandError

from trading.files import (
    BLOCK,
    clean_name,
    open_stored,
    store_check,
    stored_size,
    stored_under,
    stored_writer,
)


def _require_empty() -> None:
    if next(iter(stored_under()), None) is not None:
        raise CommandError("the file store is not empty: restore into an empty store")


class Command(BaseCommand):
    help = "Export the file store to a tar archive, import one into an empty store, or check the store."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "import", "check", "empty"])
        parser.add_argument("archive", nargs="?")

    def handle(self, *args, action, archive, **options):
        if action == "check":
            self.stdout.write(f"file store: {store_check()}")
            return
        if action == "empty":
            _require_empty()
            self.stdout.write("file store: empty")
            return
        if not archive:
            raise CommandError(f"file_store {action} needs the archive's path")
        count = self._export(archive) if action == "export" else self._import(archive)
        self.stdout.write(f"{action}ed {count} files")

    def _export(self, archive: str) -> int:
        count = 0
        with tarfile.open(archive, "w") as tar:
            for name, modified in sorted(stored_under()):
                size = stored_size(name)
                if size is None:  # deleted since it was listed (an upload chunk, say)
                    continue
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = size, int(modified.timestamp()), 0o640
                with open_stored(name) as stream:
                    tar.addfile(info, stream)
                count += 1
        return count

    def _import(self, archive: str) -> int:
        _require_empty()
        count = 0
        with tarfile.open(archive, "r") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                try:
                    name = clean_name(member.name.removeprefix("./"))
                except ValueError as exc:
                    raise CommandError(f"refusing {member.name!r} in the archive: {exc}") from None
                source = tar.extractfile(member)
                with stored_writer(name) as sink:
                    while block := source.read(BLOCK):
                        sink.write(block)
                count += 1
        return count
