"""The platform with its file store in an S3 bucket (moto's server over HTTP): bids, the opening, documents.

Every check reads the bucket with its own boto3 client, not through the platform's store.
"""

import hashlib
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from bidding.models import Bid, OpeningRoom
from bidding.room.decrypt import room_decrypt
from bidding.room.services import RoomError
from bidding.services.bids import bid_files_orphaned_remove
from tests.bidflow import bid_through_api, kit_for, put_chunk, seal_bid, submit, upload
from tests.factories import bidder_user, publish_section, register
from tests.roomkit import prepare
from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def section(s3_store):
    return publish_section()


@pytest.fixture
def kit(api, section):
    user = bidder_user()
    register(section, user)
    return kit_for(api, user)


def local_files(settings) -> list:
    root = settings.FILE_STORE_DIR
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_bid_uploaded_in_chunks_is_assembled_in_the_bucket(api, section, kit, s3_store, settings):
    envelope = seal_bid(api, kit, section, documents=b"s" * 300_000)
    upload_id = upload(api, kit, section, envelope)
    chunks = s3_store.keys(s3_store.bucket, f"platform/uploads/{upload_id}/")
    assert len(chunks) == -(-len(envelope) // 65536)
    response = submit(api, kit, upload_id, envelope)
    assert response.status_code == 201, response.content
    bid = Bid.objects.get(public_id=response.json()["bid_id"])
    key = f"platform/bids/{section.public_id}/{bid.public_id}.sbe"
    assert s3_store.keys(s3_store.bucket, "platform/bids/") == [key]
    assert s3_store.keys(s3_store.bucket, "platform/uploads/") == []  # the chunks are gone
    stored = s3_store.get(s3_store.bucket, key)
    assert stored == envelope and hashlib.sha256(stored).hexdigest() == response.json()["digest"]
    assert local_files(settings) == []  # nothing went to local disk
    head = api.get(f"/api/v1/bids/{bid.public_id}/envelope-header", **kit.auth)
    assert head.status_code == 200 and envelope.startswith(head.content)


def test_a_bad_chunk_is_refused_in_chinese_and_nothing_reaches_the_bucket(api, section, kit, s3_store):
    envelope = seal_bid(api, kit, section, documents=b"c" * 100_000)
    upload_id = upload(api, kit, section, envelope, skip={0})
    wrong_hash = put_chunk(api, kit, upload_id, 0, envelope[:65536], sha="0" * 64)
    assert wrong_hash.status_code == 400 and wrong_hash.json()["error"]["code"] == "chunk_hash_mismatch"
    assert CJK.search(wrong_hash.json()["error"]["message"])
    too_long = put_chunk(api, kit, upload_id, 0, envelope[:65536] + b"x")
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "bad_chunk_length"
    assert f"platform/uploads/{upload_id}/000000.part" not in s3_store.keys(s3_store.bucket)
    assert s3_store.pending_multipart(s3_store.bucket) == []
    assert put_chunk(api, kit, upload_id, 0, envelope[:65536]).status_code == 204  # the retry succeeds
    assert submit(api, kit, upload_id, envelope).status_code == 201


@pytest.mark.parametrize("damage", ["altered", "truncated"])
def test_a_tampered_envelope_leaves_no_file_in_the_bucket(api, section, kit, s3_store, damage):
    envelope = seal_bid(api, kit, section, documents=b"t" * 200_000)
    middle = len(envelope) // 2
    tampered = {"altered": envelope[:middle] + bytes([envelope[middle] ^ 1]) + envelope[middle + 1:],
                "truncated": envelope[:-100]}[damage]
    upload_id = upload(api, kit, section, tampered)
    response = submit(api, kit, upload_id, envelope)  # signed over what the bidder meant to send
    assert response.status_code == 400, response.content
    assert CJK.search(response.json()["error"]["message"])
    assert s3_store.keys(s3_store.bucket, "platform/bids/") == []
    assert s3_store.pending_multipart(s3_store.bucket) == []
    assert not Bid.objects.filter(section=section).exists()


def test_orphaned_envelopes_in_the_bucket_are_swept_only_when_old_and_unreferenced(api, section, kit,
                                                                                  s3_store):
    receipt, _ = bid_through_api(api, kit, section)
    orphan = f"platform/bids/{section.public_id}/orphan.sbe"
    s3_store.client().put_object(Bucket=s3_store.bucket, Key=orphan, Body=b"left by a lost commit")
    assert bid_files_orphaned_remove() == 0  # too young: it may still be in flight
    assert bid_files_orphaned_remove(now=timezone.now() + timedelta(minutes=11)) == 1
    assert s3_store.keys(s3_store.bucket, "platform/bids/") == [
        f"platform/bids/{section.public_id}/{receipt['bid_id']}.sbe"]


def test_an_opening_decrypts_from_the_bucket_and_stores_the_signed_record_there(api, s3_store):
    from timestamps.docsign import verify_pdf

    opening = prepare(api, 4)
    section = opening.section
    bid = Bid.objects.get(public_id=opening.bids[3])
    key = f"platform/{bid.storage_path}"
    altered = bytearray(s3_store.get(s3_store.bucket, key))
    altered[-5] ^= 0xFF  # someone with bucket access edits a stored envelope
    s3_store.client().put_object(Bucket=s3_store.bucket, Key=key, Body=bytes(altered))
    with time_machine.travel(section.bid_deadline, tick=False):
        run_sweeps()
        for i in range(3):
            room_decrypt(user=opening.kits[i].user, bid_id=opening.bids[i], k2=opening.k2(i))
        with pytest.raises(RoomError) as fault:
            room_decrypt(user=opening.kits[3].user, bid_id=opening.bids[3], k2=opening.k2(3))
        assert fault.value.code == "platform_fault"
    with time_machine.travel(section.bid_deadline + timedelta(minutes=30), tick=False):
        run_sweeps()
    with time_machine.travel(section.bid_deadline + timedelta(minutes=41), tick=False):
        run_sweeps()
    room = OpeningRoom.objects.get(section=section)
    assert room.phase == "closed"
    assert Bid.objects.get(pk=bid.pk).status == Bid.Status.FAILED_PLATFORM  # R11: the platform's fault
    record_key = f"platform/records/{section.public_id}/opening-record.pdf"
    assert record_key in s3_store.keys(s3_store.bucket, "platform/records/")
    pdf = s3_store.get(s3_store.bucket, record_key)
    assert hashlib.sha256(pdf).hexdigest() == room.record_sha256
    report = verify_pdf(pdf)
    assert report.valid and report.intact
    download = api.get(f"/api/v1/sections/{section.public_id}/opening/record.pdf")
    assert download.status_code == 200 and b"".join(download.streaming_content) == pdf


def test_committee_documents_are_decrypted_from_the_bucket_into_the_bucket(api, s3_store):
    from experts.models import Evaluation
    from experts.services.evaluation import _decrypt_documents

    opening = prepare(api, 3)
    section = opening.section
    with time_machine.travel(section.bid_deadline, tick=False):
        run_sweeps()
        for i in range(3):
            room_decrypt(user=opening.kits[i].user, bid_id=opening.bids[i], k2=opening.k2(i))
        evaluation = Evaluation.objects.create(section=section, started_at=timezone.now(), price_settings={})
        document = _decrypt_documents(evaluation, Bid.objects.get(public_id=opening.bids[1]))
    assert document.error == ""
    plain = s3_store.get(s3_store.bucket, f"platform/{document.storage_path}")
    assert plain == "技术标 1".encode() and document.sha256 == hashlib.sha256(plain).hexdigest()


def test_tender_documents_are_kept_in_the_bucket_and_an_oversized_one_leaves_nothing(api, s3_store, settings):
    from tests.core.test_api_foundation import client_for
    from trading.models import Section

    section = publish_section()
    agency = section.project.created_by
    client_for(api, agency)
    draft = Section.objects.create(project=section.project, title="二标段", estimated_price=1_000_000,
                                   bid_deadline=timezone.now() + timedelta(days=30),
                                   evaluation_method="comprehensive")
    body = "招标文件".encode() * 5000
    response = api.post(f"/api/v1/sections/{draft.public_id}/documents",
                        {"file": SimpleUploadedFile("招标文件.pdf", body)}, format="multipart")
    assert response.status_code == 201, response.content
    keys = s3_store.keys(s3_store.bucket, f"platform/documents/{draft.public_id}/")
    assert len(keys) == 1 and s3_store.get(s3_store.bucket, keys[0]) == body
    download = api.get(f"/api/v1/sections/{draft.public_id}/documents/{response.json()['id']}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == body
    settings.TENDER_DOCUMENT_MAX_BYTES = 1024
    refused = api.post(f"/api/v1/sections/{draft.public_id}/documents",
                       {"file": SimpleUploadedFile("big.pdf", b"x" * 1025)}, format="multipart")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "too_large"
    assert s3_store.keys(s3_store.bucket, f"platform/documents/{draft.public_id}/") == keys
    assert s3_store.pending_multipart(s3_store.bucket) == [] and local_files(settings) == []


def test_readiness_reports_the_bucket(client, s3_store, settings):
    run_sweeps()
    assert client.get("/readyz").json()["checks"]["storage"] == "ok"
    missing = s3_store.storage_setting("gj-no-such-bucket", "platform")
    settings.STORAGES = {**settings.STORAGES, "filestore": missing}
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["storage"].startswith("error")
