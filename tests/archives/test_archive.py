"""电子档案 (issue 15): an ended section is archived once, sealed, downloadable by its agency and the supervisors,
and checkable offline: a flipped byte names the file, an edited ledger entry names the entry."""

import io
import json
import struct
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from experts.services import award as award_services
from tests.bidflow import bid_through_api, kit_for
from tests.experts.test_experts_evaluation import publicized
from tests.experts.test_experts_kit import agency_of
from tests.factories import agency_user, bidder_user, publish_section, register, supervisor_user
from tests.timestamps.test_verify import run_verifier
from timestamps.evidence import archive_verify
from timestamps.models import LedgerEntry
from timestamps.published import tsa_chain_pem
from trading.archives.models import SectionArchive
from trading.archives.services import archive_build, sweep_archive_retention, sweep_archive_sections
from trading.files import read_stored, stored_size
from trading.models import Section
from trading.services import lifecycle
from trading.services.errors import SectionError

pytestmark = pytest.mark.django_db


def cancel(section: Section) -> Section:
    return lifecycle.section_cancel(user=section.project.created_by, section_id=section.pk, reason="项目取消")


@pytest.fixture
def cancelled(api) -> Section:
    """A published section with one real sealed bid and its receipt, then cancelled."""
    section = publish_section()
    user = bidder_user()
    register(section, user)
    bid_through_api(api, kit_for(api, user), section)
    return cancel(section)


def zip_bytes(section: Section) -> bytes:
    return read_stored(SectionArchive.objects.get(section=section).storage_path)


def verify(archive: bytes):
    return archive_verify(archive=archive, certs_pem=tsa_chain_pem())


def failures(verdict) -> dict[str, str]:
    return {check.code: check.detail for check in verdict.checks if not check.ok}


def rezip(archive: bytes, name: str, change) -> bytes:
    """The same archive with one member's bytes changed."""
    source, out = zipfile.ZipFile(io.BytesIO(archive)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, change(data) if info.filename == name else data)
    return out.getvalue()


def flip_byte(data: bytes) -> bytes:
    return data[:5] + bytes([data[5] ^ 0x01]) + data[6:]


def test_a_cancelled_section_is_archived_by_the_sweep_once(cancelled):
    assert sweep_archive_sections(now=timezone.now()) == 1
    archive = SectionArchive.objects.get(section=cancelled)
    assert sweep_archive_sections(now=timezone.now()) == 0
    assert archive_build(section_id=cancelled.pk).pk == archive.pk
    assert LedgerEntry.objects.filter(action="archive.created", object_id=cancelled.public_id).count() == 1
    names = zipfile.ZipFile(io.BytesIO(zip_bytes(cancelled))).namelist()
    bid = cancelled.bids.get()
    for expected in ("manifest.json", "manifest.tsr", "bids/bids.json", f"bids/{bid.public_id}.tsr",
                     "ledger/entries.jsonl", "ledger/anchor.json"):
        assert expected in names
    assert any(name.startswith("tender/") and name.endswith("招标文件.pdf") for name in names)


def test_the_manifest_lists_every_file_with_its_hash_and_the_section_ledger_range(cancelled):
    archive = archive_build(section_id=cancelled.pk)
    bundle = zipfile.ZipFile(io.BytesIO(zip_bytes(cancelled)))
    manifest = json.loads(bundle.read("manifest.json"))
    document = cancelled.documents.get()
    tender = next(f for f in manifest["files"] if f["name"].startswith("tender/"))
    assert tender["sha256"] == tender["recorded_sha256"] == document.sha256
    section_seqs = list(LedgerEntry.objects.filter(object_id=cancelled.public_id, action__startswith="section.")
                        .values_list("seq", flat=True))
    assert set(section_seqs) <= set(manifest["ledger"]["section_entries"])
    assert manifest["ledger"]["from_seq"] == archive.ledger_from <= section_seqs[0]
    assert manifest["ledger"]["to_seq"] == archive.ledger_to >= section_seqs[-1]
    assert archive.retain_until.year == archive.created_at.year + settings.ARCHIVE_RETENTION_YEARS


def test_retention_follows_the_setting(cancelled, settings):
    settings.ARCHIVE_RETENTION_YEARS = 15
    archive = archive_build(section_id=cancelled.pk)
    assert archive.retain_until.year == archive.created_at.year + 15


def test_a_section_still_running_is_not_archived():
    section = publish_section()
    assert sweep_archive_sections(now=timezone.now()) == 0
    with pytest.raises(SectionError):
        archive_build(section_id=section.pk)


def test_the_verifier_accepts_a_cancelled_sections_archive(cancelled):
    archive_build(section_id=cancelled.pk)
    verdict = verify(zip_bytes(cancelled))
    assert verdict.ok, failures(verdict)
    assert [c.code for c in verdict.checks] == ["manifest", "files", "ledger", "anchor"]


def test_the_offline_verifier_accepts_the_archive_without_django(cancelled, tmp_path):
    archive_build(section_id=cancelled.pk)
    (tmp_path / "archive.zip").write_bytes(zip_bytes(cancelled))
    (tmp_path / "certs.pem").write_bytes(tsa_chain_pem())
    result = run_verifier("archive", "archive.zip", "--certs", "certs.pem", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK   ledger: the ledger entries chain up to entry" in result.stdout


def test_an_archive_with_one_flipped_byte_in_a_file_is_refused_naming_the_file(cancelled, tmp_path):
    archive_build(section_id=cancelled.pk)
    original = zip_bytes(cancelled)
    name = next(n for n in zipfile.ZipFile(io.BytesIO(original)).namelist() if n.startswith("tender/"))
    (tmp_path / "archive.zip").write_bytes(rezip(original, name, flip_byte))
    (tmp_path / "certs.pem").write_bytes(tsa_chain_pem())
    result = run_verifier("archive", "archive.zip", cwd=tmp_path)
    assert result.returncode == 1
    assert f"FAIL files: {name} does not match its hash in the manifest" in result.stdout


def test_a_flipped_byte_in_the_stored_zip_is_refused_naming_the_file(cancelled):
    archive_build(section_id=cancelled.pk)
    original = zip_bytes(cancelled)
    bundle = zipfile.ZipFile(io.BytesIO(original))
    info = bundle.getinfo("bids/bids.json")
    # the member's compressed data follows its 30-byte local header, name and extra field
    header = info.header_offset
    name_length, extra_length = struct.unpack("<HH", original[header + 26:header + 30])
    offset = header + 30 + name_length + extra_length + 2
    damaged = original[:offset] + bytes([original[offset] ^ 0x01]) + original[offset + 1:]
    detail = failures(verify(damaged))["files"]
    assert detail.startswith("bids/bids.json ")


def test_a_changed_manifest_fails_its_token(cancelled):
    archive_build(section_id=cancelled.pk)
    changed = rezip(zip_bytes(cancelled), "manifest.json", lambda data: data.replace(b'"cancelled"', b'"contracted"'))
    assert "manifest" in failures(verify(changed))


def test_a_ledger_entry_edited_before_the_build_is_named(cancelled):
    entry = LedgerEntry.objects.filter(object_id=cancelled.public_id, action="section.cancelled").get()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE timestamps_ledgerentry SET data = %s WHERE seq = %s", ['{"reason": "改"}', entry.seq])
    archive_build(section_id=cancelled.pk)
    verdict = verify(zip_bytes(cancelled))
    assert not verdict.ok
    assert failures(verdict) == {"ledger": f"the section's ledger entries do not chain: entry {entry.seq} was changed"}


def test_a_ledger_entry_edited_inside_the_zip_is_named(cancelled):
    archive_build(section_id=cancelled.pk)
    entry = LedgerEntry.objects.filter(object_id=cancelled.public_id, action="section.published").get()

    def edit(data: bytes) -> bytes:
        lines = data.decode().splitlines()
        for i, line in enumerate(lines):
            record = json.loads(line)
            if record["seq"] == entry.seq:
                record["actor"] = "someone else"
                lines[i] = json.dumps(record, ensure_ascii=False, sort_keys=True)
        return ("\n".join(lines) + "\n").encode()

    detail = failures(verify(rezip(zip_bytes(cancelled), "ledger/entries.jsonl", edit)))
    assert detail["files"].startswith("ledger/entries.jsonl does not match")
    assert detail["ledger"].endswith(f"entry {entry.seq} was changed")


def test_a_contracted_section_is_archived_with_report_notices_and_contract():
    section, _bids, publicity = publicized()
    award = award_services.award_make(user=agency_of(section), section_id=section.pk, now=publicity.ends_at)
    award_services.contract_record(user=agency_of(section), section_id=section.pk,
                                   signed_at=award.awarded_at + timedelta(days=1),
                                   now=award.awarded_at + timedelta(days=1))
    assert sweep_archive_sections(now=timezone.now()) == 1
    archive = zip_bytes(section)
    names = set(zipfile.ZipFile(io.BytesIO(archive)).namelist())
    assert {"evaluation/report.pdf", "award/award-notice.pdf", "award/contract.json", "award/publicity.json"} <= names
    assert len([n for n in names if n.startswith("award/result-notice-")]) == award.result_notices.count() > 0
    contract = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("award/contract.json"))
    assert contract["contract_signed_at"] and contract["bid"] == award.bid.public_id
    verdict = verify(archive)
    assert verdict.ok, failures(verdict)


# -- download: the agency and the supervisors ---------------------------------------------------


def test_the_agency_and_supervisors_download_the_archive(client, cancelled):
    archive = archive_build(section_id=cancelled.pk)
    for user in (cancelled.project.created_by, supervisor_user()):
        client.force_login(user)
        response = client.get(f"/sections/{cancelled.public_id}/archive.zip")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == read_stored(archive.storage_path)


def test_another_agency_a_bidder_and_anonymous_cannot_download_the_archive(client, cancelled):
    archive_build(section_id=cancelled.pk)
    url = f"/sections/{cancelled.public_id}/archive.zip"
    assert client.get(url).status_code == 302
    for user in (agency_user(), bidder_user()):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_the_agency_section_page_and_the_console_link_the_archive(client, cancelled):
    url = f"/sections/{cancelled.public_id}/archive.zip"
    client.force_login(cancelled.project.created_by)
    assert url not in client.get(f"/agency/sections/{cancelled.public_id}/").content.decode()
    archive_build(section_id=cancelled.pk)
    assert url in client.get(f"/agency/sections/{cancelled.public_id}/").content.decode()
    client.force_login(supervisor_user())
    assert url in client.get("/supervision/").content.decode()


def test_the_zip_is_deleted_when_its_retention_runs_out_not_a_second_before(client, cancelled,
                                                                           django_capture_on_commit_callbacks):
    archive = archive_build(section_id=cancelled.pk)
    assert sweep_archive_retention(now=archive.retain_until - timedelta(seconds=1)) == 0
    assert read_stored(archive.storage_path)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_archive_retention(now=archive.retain_until) == 1
    assert stored_size(archive.storage_path) is None
    archive.refresh_from_db()
    assert archive.discarded_at == archive.retain_until
    assert LedgerEntry.objects.filter(action="archive.discarded", object_id=cancelled.public_id).exists()
    assert sweep_archive_retention(now=archive.retain_until) == 0
    client.force_login(cancelled.project.created_by)
    assert client.get(f"/sections/{cancelled.public_id}/archive.zip").status_code == 404


def test_a_file_slipped_into_the_archive_is_named(cancelled):
    archive_build(section_id=cancelled.pk)
    bundle, out = zipfile.ZipFile(io.BytesIO(zip_bytes(cancelled))), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in bundle.infolist():
            target.writestr(info.filename, bundle.read(info.filename))
        target.writestr("tender/extra.pdf", b"%PDF-1.4 not part of the record")
    assert failures(verify(out.getvalue()))["files"] == "tender/extra.pdf is not listed in the manifest"


def test_a_failed_section_is_archived():
    section = publish_section()
    Section.objects.filter(pk=section.pk).update(status=Section.Status.OPENING)
    lifecycle.section_transition(section_id=section.pk, to=Section.Status.FAILED, actor="system")
    assert sweep_archive_sections(now=timezone.now()) == 1
    verdict = verify(zip_bytes(section))
    assert verdict.ok, failures(verdict)
