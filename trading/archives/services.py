"""Build a section's archive (电子档案) when the section has ended (contracted, failed or cancelled).

The zip holds what each app contributes through ``signals.section_archive_files``, the contiguous range of
ledger entries from the section's first entry up to the anchor that covers its last one, and manifest.json
(file → sha256, size) with manifest.tsr, the platform TSA's token over the manifest's SHA-256. The offline
verifier (``python -m timestamps.verify archive``) checks exactly these.
"""

import hashlib
import json
import logging
import tempfile
import zipfile
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from timestamps.anchors import ledger_anchor
from timestamps.evidence import MANIFEST, MANIFEST_TOKEN
from timestamps.export import anchor_export, ledger_export_lines
from timestamps.ledger import ledger_append
from timestamps.models import LedgerAnchor, LedgerEntry
from timestamps.stamping import stamp
from timestamps.tsa import token_to_response
from trading import signals
from trading.archives.models import SectionArchive
from trading.files import BLOCK, HashingSink, delete_stored, open_stored, stored_writer
from trading.models import Section
from trading.services.errors import SectionError

logger = logging.getLogger(__name__)

S = Section.Status
ENDED = (S.CONTRACTED, S.FAILED, S.CANCELLED, S.ARCHIVED)
LEDGER_ENTRIES = "ledger/entries.jsonl"
LEDGER_ANCHOR = "ledger/anchor.json"


def safe_name(name: str) -> str:
    """A file name that stays one path component inside the zip."""
    cleaned = "".join("_" if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in name).strip(". ")
    return cleaned[:150] or "file"


def retention_end(now: datetime, years: int) -> datetime:
    try:
        return now.replace(year=now.year + years)
    except ValueError:  # 29 February
        return now.replace(year=now.year + years, day=28)


def _section_seqs(section: Section) -> list[int]:
    return list(LedgerEntry.objects.filter(object_id=section.public_id).order_by("seq").values_list("seq", flat=True))


def _covering_anchor(last_seq: int) -> LedgerAnchor | None:
    return LedgerAnchor.objects.filter(seq__gte=last_seq).order_by("seq").first()


def _anchor_ensure(section_id: int) -> None:
    """Anchor the ledger now if no anchor covers the section yet, in its own short transaction: the head stays
    locked only for the token, not while the zip is written."""
    section = Section.objects.get(pk=section_id)
    seqs = _section_seqs(section)
    if seqs and _covering_anchor(seqs[-1]) is None:
        ledger_anchor(force=True)


def _add(bundle: zipfile.ZipFile, name: str, content: bytes | str) -> tuple[str, int]:
    with bundle.open(name, "w", force_zip64=True) as out:
        sink = HashingSink(out)
        if isinstance(content, bytes):
            sink.write(content)
        else:
            with open_stored(content) as stream:
                while block := stream.read(BLOCK):
                    sink.write(block)
    return sink.digest.hexdigest(), sink.size


def _contributions(section: Section) -> list[tuple[str, bytes | str, str | None]]:
    items = []
    for _receiver, answer in signals.section_archive_files.send(sender=Section, section=section):
        items.extend(answer or [])
    names = [name for name, _content, _recorded in items]
    if len(set(names)) != len(names) or any(n in (MANIFEST, MANIFEST_TOKEN) or n.startswith("ledger/")
                                            for n in names):
        raise SectionError("two archive files share a name", code="archive_names")
    return items


def archive_build(*, section_id: int, now: datetime | None = None) -> SectionArchive:
    """Build and seal the archive of an ended section; a section already archived keeps its archive."""
    _anchor_ensure(section_id)
    return _archive_build(section_id=section_id, now=now or timezone.now())


@transaction.atomic
def _archive_build(*, section_id: int, now: datetime) -> SectionArchive:
    section = Section.objects.select_for_update().select_related("project").get(pk=section_id)
    existing = SectionArchive.objects.filter(section=section).first()
    if existing is not None:
        return existing
    if section.status not in ENDED:
        raise SectionError("only a contracted, failed or cancelled section is archived", code="not_ended")
    section_seqs = _section_seqs(section)
    if not section_seqs:
        raise SectionError("the section has no ledger entries", code="no_ledger")
    anchor = _covering_anchor(section_seqs[-1])
    if anchor is None:
        raise SectionError("no anchor covers the section's ledger entries yet", code="no_anchor")
    from_seq = section_seqs[0]
    files = []
    with tempfile.SpooledTemporaryFile(max_size=16 * BLOCK) as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for name, content, recorded in _contributions(section):
                sha256, size = _add(bundle, name, content)
                files.append({"name": name, "sha256": sha256, "size": size,
                              **({"recorded_sha256": recorded} if recorded else {})})
            entries = "".join(ledger_export_lines(from_seq=from_seq, to_seq=anchor.seq)).encode()
            for name, content in ((LEDGER_ENTRIES, entries), (LEDGER_ANCHOR, anchor_export(anchor).encode())):
                sha256, size = _add(bundle, name, content)
                files.append({"name": name, "sha256": sha256, "size": size})
            manifest = _manifest(section, files=files, now=now, from_seq=from_seq, anchor=anchor,
                                 section_seqs=section_seqs)
            manifest_sha256 = hashlib.sha256(manifest).digest()
            bundle.writestr(MANIFEST, manifest)
            bundle.writestr(MANIFEST_TOKEN, token_to_response(stamp(manifest_sha256)))
        path = f"archives/{section.public_id}/{section.public_id}-archive.zip"
        spool.seek(0)
        with stored_writer(path) as out:
            sink = HashingSink(out)
            while block := spool.read(BLOCK):
                sink.write(block)
    archive = SectionArchive.objects.create(
        section=section, storage_path=path, size=sink.size, sha256=sink.digest.hexdigest(),
        manifest_sha256=manifest_sha256.hex(), files=len(files), ledger_from=from_seq, ledger_to=anchor.seq,
        created_at=now, retain_until=retention_end(now, settings.ARCHIVE_RETENTION_YEARS))
    ledger_append(action="archive.created", actor="system", obj=section, now=now,
                  data={"manifest_sha256": archive.manifest_sha256, "sha256": archive.sha256,
                        "ledger": [from_seq, anchor.seq]})
    return archive


def _manifest(section: Section, *, files: list[dict], now: datetime, from_seq: int, anchor: LedgerAnchor,
              section_seqs: list[int]) -> bytes:
    return json.dumps({
        "format": "section-archive/1",
        "section": section.public_id,
        "project": section.project.code,
        "title": section.title,
        "status": section.status,
        "created_at": now.isoformat(),
        "files": sorted(files, key=lambda f: f["name"]),
        "ledger": {"entries": LEDGER_ENTRIES, "anchor": LEDGER_ANCHOR, "from_seq": from_seq, "to_seq": anchor.seq,
                   "section_entries": section_seqs},
    }, ensure_ascii=False, indent=2, sort_keys=True).encode()


def sections_due_for_archive():
    return Section.objects.filter(status__in=ENDED, archive__isnull=True).values_list("pk", flat=True)


def sweep_archive_sections(*, now: datetime | None = None) -> int:
    """Archive every ended section that has no archive yet; a failure is logged and retried next tick."""
    built = 0
    for section_id in list(sections_due_for_archive()):
        try:
            archive_build(section_id=section_id, now=now)
        except (SectionError, OSError):
            logger.exception("archive of section %s not built", section_id)
            continue
        built += 1
    return built


def sweep_archive_retention(*, now: datetime | None = None) -> int:
    """Delete the zips whose retention (ARCHIVE_RETENTION_YEARS) has run out; the record and the ledger stay."""
    now = now or timezone.now()
    discarded = 0
    for archive_id in list(SectionArchive.objects.filter(retain_until__lte=now, discarded_at__isnull=True)
                           .values_list("pk", flat=True)):
        with transaction.atomic():
            archive = SectionArchive.objects.select_for_update().select_related("section").get(pk=archive_id)
            if archive.discarded_at is not None:
                continue
            archive.discarded_at = now
            archive.save(update_fields=["discarded_at"])
            ledger_append(action="archive.discarded", actor="system", obj=archive.section, now=now,
                          data={"sha256": archive.sha256, "retain_until": archive.retain_until.isoformat()})
            transaction.on_commit(lambda path=archive.storage_path: delete_stored(path))
        discarded += 1
    return discarded
