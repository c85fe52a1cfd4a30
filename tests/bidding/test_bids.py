"""Sealed bids through the fixed API: keys, chunked resumable upload, receipts, replace and withdraw."""

import base64
import hashlib
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from bidding.models import Bid, BidUpload, OpeningKey
from tests.bidflow import bid_through_api, kit_for, put_chunk, seal_bid, submit, upload
from tests.factories import agency_user, bidder_user, publish_section, register, supervisor_user
from timestamps.models import LedgerEntry
from trading.sweeps import run_sweeps

pytestmark = pytest.mark.django_db


@pytest.fixture
def section():
    return publish_section()


@pytest.fixture
def kit(api, section):
    user = bidder_user()
    register(section, user)
    return kit_for(api, user)


def stored_bid_files() -> list:
    return [p for p in (settings.FILE_STORE_DIR / "bids").rglob("*") if p.is_file()]


def error(response) -> dict:
    return response.json()["error"]


def test_publication_creates_an_opening_key_served_to_registered_bidders(api, section, kit):
    key = api.get(f"/api/v1/sections/{section.public_id}/opening-key", **kit.auth).json()
    assert key["kid"] == hashlib.sha256(base64.b64decode(key["public_key"])).hexdigest()
    assert key["not_before"] == section.bid_deadline.isoformat()


def test_opening_key_refuses_bidders_who_have_not_signed_up(api, section):
    stranger = kit_for(api, bidder_user())
    assert api.get(f"/api/v1/sections/{section.public_id}/opening-key", **stranger.auth).status_code == 403


def test_r09_a_bid_gets_an_immediate_receipt_with_a_timestamp_over_its_digest(api, section, kit):
    receipt, envelope = bid_through_api(api, kit, section)
    assert set(receipt) >= {"bid_id", "section", "received_at", "digest", "timestamp_token"}
    assert receipt["section"] == section.public_id
    assert receipt["digest"] == hashlib.sha256(envelope).hexdigest()
    from timestamps.tsa import verify_token

    verify_token(base64.b64decode(receipt["timestamp_token"]), bytes.fromhex(receipt["digest"]))
    bid = Bid.objects.get(public_id=receipt["bid_id"])
    assert (settings.FILE_STORE_DIR / bid.storage_path).read_bytes() == envelope
    assert LedgerEntry.objects.filter(action="bid.received", data__bid=bid.public_id).exists()


def test_r09_receipt_token_verifies_with_openssl(api, section, kit, tmp_path):
    from timestamps.pki import certs_pem

    receipt, envelope = bid_through_api(api, kit, section)
    (tmp_path / "bid.sbe").write_bytes(envelope)
    tsr = api.get(f"/api/v1/bids/{receipt['bid_id']}/receipt.tsr", **kit.auth)
    (tmp_path / "receipt.tsr").write_bytes(tsr.content)
    (tmp_path / "certs.pem").write_bytes(certs_pem(settings.TSA_DIR))
    ok = subprocess.run(["openssl", "ts", "-verify", "-data", "bid.sbe", "-in", "receipt.tsr", "-CAfile",
                         "certs.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert "Verification: OK" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "other.sbe").write_bytes(envelope + b"x")
    bad = subprocess.run(["openssl", "ts", "-verify", "-data", "other.sbe", "-in", "receipt.tsr", "-CAfile",
                          "certs.pem"], cwd=tmp_path, capture_output=True, text=True)
    assert "Verification: OK" not in bad.stdout


def test_chunks_may_arrive_in_any_order(api, section, kit):
    envelope = seal_bid(api, kit, section, documents=b"z" * 300_000)
    count = -(-len(envelope) // 65536)
    upload_id = upload(api, kit, section, envelope, order=list(reversed(range(count))))
    assert submit(api, kit, upload_id, envelope).status_code == 201


def test_an_upload_killed_halfway_resumes_and_completes(api, section, kit):
    envelope = seal_bid(api, kit, section, documents=b"q" * 400_000)
    count = -(-len(envelope) // 65536)
    upload_id = upload(api, kit, section, envelope, skip=set(range(count // 2, count)))
    # The connection drops; the bidder's tool asks what the server has and sends the rest.
    status = api.get(f"/api/v1/bids/uploads/{upload_id}", **kit.auth).json()
    assert status["received"] == list(range(count // 2)) and status["size"] == len(envelope)
    for index in set(range(count)) - set(status["received"]):
        assert put_chunk(api, kit, upload_id, index, envelope[index * 65536:(index + 1) * 65536]).status_code == 204
    assert submit(api, kit, upload_id, envelope).status_code == 201


def test_a_chunk_with_a_bad_hash_is_refused_and_not_stored(api, section, kit):
    envelope = seal_bid(api, kit, section)
    upload_id = upload(api, kit, section, envelope, skip={0})
    response = put_chunk(api, kit, upload_id, 0, envelope[:65536], sha="0" * 64)
    assert response.status_code == 400 and error(response)["code"] == "chunk_hash_mismatch"
    assert 0 not in api.get(f"/api/v1/bids/uploads/{upload_id}", **kit.auth).json()["received"]


def test_a_duplicated_chunk_is_idempotent_but_other_content_is_refused(api, section, kit):
    envelope = seal_bid(api, kit, section, documents=b"d" * 100_000)
    upload_id = upload(api, kit, section, envelope)
    assert put_chunk(api, kit, upload_id, 0, envelope[:65536]).status_code == 204
    other = bytes([envelope[0] ^ 1]) + envelope[1:65536]
    response = put_chunk(api, kit, upload_id, 0, other)
    assert response.status_code == 409 and error(response)["code"] == "duplicate_chunk"
    assert submit(api, kit, upload_id, envelope).status_code == 201


def test_a_chunk_of_the_wrong_length_or_index_is_refused(api, section, kit):
    envelope = seal_bid(api, kit, section, documents=b"d" * 100_000)
    upload_id = upload(api, kit, section, envelope, skip={0, 1})
    assert error(put_chunk(api, kit, upload_id, 0, envelope[:1000]))["code"] == "bad_chunk_length"
    assert error(put_chunk(api, kit, upload_id, 99, envelope[:65536]))["code"] == "bad_index"


def test_submit_with_missing_chunks_names_them(api, section, kit):
    envelope = seal_bid(api, kit, section, documents=b"d" * 200_000)
    upload_id = upload(api, kit, section, envelope, skip={1, 2})
    response = submit(api, kit, upload_id, envelope)
    assert response.status_code == 400 and error(response)["code"] == "chunks_missing"
    assert "1, 2" in error(response)["message"]


def test_upload_limits_are_checked(api, section, kit, settings):
    settings.BID_MAX_BYTES = 1000
    r = api.post(f"/api/v1/sections/{section.public_id}/bids/uploads", {"size": 1001, "chunk_size": 65536},
                 format="json", **kit.auth)
    assert r.status_code == 400 and error(r)["field"] == "size"
    r = api.post(f"/api/v1/sections/{section.public_id}/bids/uploads", {"size": 100, "chunk_size": 9 * 2**20},
                 format="json", **kit.auth)
    assert r.status_code == 400 and error(r)["field"] == "chunk_size"


def flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1:]


@pytest.mark.parametrize("where", ["header", "frame", "tag", "truncated", "missing_last_frame"])
def test_tampered_envelope_is_refused_and_nothing_is_stored(api, section, kit, where):
    envelope = seal_bid(api, kit, section, documents=b"t" * 150_000)
    digest = hashlib.sha256(envelope).digest()
    from bidding.envelope import sign_digest

    signature = sign_digest(digest, kit.sign)
    header_len = int.from_bytes(envelope[4:8], "big")
    tampered = {
        "header": lambda e: flip(e, 8 + header_len // 2),
        "frame": lambda e: flip(e, len(e) - 500),
        "tag": lambda e: flip(e, len(e) - 1),
        "truncated": lambda e: e[:-100],
        "missing_last_frame": lambda e: e[: len(e) - (150_000 - 2 * 65536 + 16 + 4)],
    }[where](envelope)
    upload_id = upload(api, kit, section, tampered)
    response = submit(api, kit, upload_id, envelope, signature=signature)
    assert response.status_code == 400, response.content
    assert error(response)["message"]
    assert not Bid.objects.exists() and stored_bid_files() == []


@pytest.mark.parametrize("wrong", ["section", "bidder"])
def test_envelope_sealed_for_another_section_or_bidder_is_refused(api, section, kit, wrong):
    kwargs = {"section_id": "s-other"} if wrong == "section" else {"bidder": "91330100MA00000000"}
    envelope = seal_bid(api, kit, section, **kwargs)
    upload_id = upload(api, kit, section, envelope)
    response = submit(api, kit, upload_id, envelope)
    assert response.status_code == 400 and error(response)["code"] == f"{wrong}_mismatch"
    assert not Bid.objects.exists()


def test_envelope_sealed_to_another_opening_key_is_refused(api, section, kit):
    other = publish_section()
    register(other, kit.user)
    envelope = seal_bid(api, kit, other, section_id=section.public_id)
    upload_id = upload(api, kit, section, envelope)
    response = submit(api, kit, upload_id, envelope)
    assert response.status_code == 400 and error(response)["code"] == "opening_kid_mismatch"


def test_a_bad_signature_is_refused(api, section, kit):
    from cryptography.hazmat.primitives.asymmetric import ec

    from bidding.envelope import sign_digest

    envelope = seal_bid(api, kit, section)
    upload_id = upload(api, kit, section, envelope)
    forged = sign_digest(hashlib.sha256(envelope).digest(), ec.generate_private_key(ec.SECP256R1()))
    response = submit(api, kit, upload_id, envelope, signature=forged)
    assert response.status_code == 400 and error(response)["code"] == "bad_signature"
    assert not Bid.objects.exists() and stored_bid_files() == []


def test_r08_a_new_bid_replaces_the_earlier_one(api, section, kit):
    first, _ = bid_through_api(api, kit, section, price="100.00")
    second, _ = bid_through_api(api, kit, section, price="90.00")
    assert Bid.objects.get(public_id=first["bid_id"]).status == Bid.Status.REPLACED
    assert Bid.objects.get(public_id=second["bid_id"]).status == Bid.Status.SUBMITTED


def test_r08_withdraw_before_the_deadline_and_not_after(api, section, kit):
    from bidding.services.bids import bid_withdraw

    receipt, _ = bid_through_api(api, kit, section)
    assert api.delete(f"/api/v1/bids/{receipt['bid_id']}", **kit.auth).status_code == 204
    assert Bid.objects.get(public_id=receipt["bid_id"]).status == Bid.Status.WITHDRAWN
    again, _ = bid_through_api(api, kit, section)
    from trading.services.errors import SectionError

    with pytest.raises(SectionError, match="R08"):
        bid_withdraw(user=kit.user, bid_id=again["bid_id"], now=section.bid_deadline)
    assert Bid.objects.get(public_id=again["bid_id"]).status == Bid.Status.SUBMITTED


def test_r06_a_bid_one_millisecond_before_the_deadline_is_accepted_and_at_it_refused(api, section, kit):
    from bidding.envelope import sign_digest
    from bidding.services.bids import bid_submit
    from bidding.services.uploads import upload_for
    from trading.services.errors import SectionError

    envelope = seal_bid(api, kit, section)
    digest = hashlib.sha256(envelope)
    sig = base64.b64encode(sign_digest(digest.digest(), kit.sign)).decode()
    late_id = upload(api, kit, section, envelope)
    with pytest.raises(SectionError, match="R06"):
        bid_submit(user=kit.user, upload=upload_for(user=kit.user, upload_id=late_id), digest_hex=digest.hexdigest(),
                   signature_b64=sig, now=section.bid_deadline + timedelta(milliseconds=1))
    with pytest.raises(SectionError, match="R06"):
        bid_submit(user=kit.user, upload=upload_for(user=kit.user, upload_id=late_id), digest_hex=digest.hexdigest(),
                   signature_b64=sig, now=section.bid_deadline)
    assert not Bid.objects.exists() and stored_bid_files() == []
    bid = bid_submit(user=kit.user, upload=upload_for(user=kit.user, upload_id=late_id),
                     digest_hex=digest.hexdigest(), signature_b64=sig,
                     now=section.bid_deadline - timedelta(milliseconds=1))
    assert bid.status == Bid.Status.SUBMITTED


def test_r06_after_bidding_closes_no_bid_is_accepted(api, section, kit):
    from trading.services.lifecycle import section_close_bidding

    envelope = seal_bid(api, kit, section)
    upload_id = upload(api, kit, section, envelope)
    section_close_bidding(section_id=section.pk, now=section.bid_deadline)
    response = submit(api, kit, upload_id, envelope)
    assert response.status_code == 400 and "R06" in error(response)["message"]


# --- access ------------------------------------------------------------------------------------

def test_another_bidder_cannot_touch_an_upload_or_a_bid(api, section, kit):
    receipt, envelope = bid_through_api(api, kit, section)
    pending = upload(api, kit, section, envelope, skip={0})
    other_user = bidder_user()
    register(section, other_user)
    other = kit_for(api, other_user)
    assert api.get(f"/api/v1/bids/uploads/{pending}", **other.auth).status_code == 404
    assert put_chunk(api, other, pending, 0, envelope[:65536]).status_code == 404
    assert submit(api, other, pending, envelope).status_code == 404
    assert api.get(f"/api/v1/bids/{receipt['bid_id']}", **other.auth).status_code == 404
    assert api.delete(f"/api/v1/bids/{receipt['bid_id']}", **other.auth).status_code == 404
    assert api.get(f"/api/v1/bids/{receipt['bid_id']}/receipt.pdf", **other.auth).status_code == 404
    assert Bid.objects.get(public_id=receipt["bid_id"]).status == Bid.Status.SUBMITTED


def test_agency_and_supervisor_cannot_upload_bids(api, section):
    for user in (section.project.created_by, supervisor_user(), agency_user()):
        from trading.models import ApiToken

        auth = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)}"}
        r = api.post(f"/api/v1/sections/{section.public_id}/bids/uploads", {"size": 10, "chunk_size": 65536},
                     format="json", **auth)
        assert r.status_code == 403
        assert api.post("/api/v1/bidder-keys", {"enc_public_key": "x", "sign_public_key": "y"}, format="json",
                        **auth).status_code == 403
    assert not BidUpload.objects.exists()


def test_anonymous_is_refused_everywhere(api, section):
    for method, url in (("get", f"/api/v1/sections/{section.public_id}/opening-key"),
                        ("post", f"/api/v1/sections/{section.public_id}/bids/uploads"),
                        ("post", "/api/v1/bidder-keys"), ("get", "/api/v1/bids/uploads/uxyz"),
                        ("delete", "/api/v1/bids/bxyz")):
        assert getattr(api, method)(url).status_code == 401


def test_bidder_keys_rotate_and_reject_garbage(api, section, kit):
    from bidding.models import BidderKey

    r = api.post("/api/v1/bidder-keys", {"enc_public_key": "bm90IGEga2V5", "sign_public_key": "x"},
                 format="json", **kit.auth)
    assert r.status_code == 400 and error(r)["code"] == "bad_key"
    kit_for(api, kit.user)  # rotate
    assert BidderKey.objects.filter(organization=kit.user.organization, retired_at=None).count() == 2
    assert BidderKey.objects.filter(organization=kit.user.organization).count() == 4


def test_r03_a_moved_deadline_rebinds_the_opening_key(api, section, kit):
    from trading.services.clarifications import clarification_publish

    key_before = OpeningKey.objects.get(section=section)
    clarification_publish(user=section.project.created_by, section_id=section.pk, text="修改",
                          now=section.bid_deadline - timedelta(days=2))
    section.refresh_from_db()
    key = OpeningKey.objects.get(section=section)
    assert key.not_before == section.bid_deadline and key.kid == key_before.kid
    assert bytes(key.wrapped_private_key) != bytes(key_before.wrapped_private_key)


def test_r09_receipt_pdf_is_sealed_timestamped_and_readable(api, section, kit, tmp_path):
    import subprocess

    from timestamps.docsign import verify_pdf

    receipt, _ = bid_through_api(api, kit, section)
    response = api.get(f"/api/v1/bids/{receipt['bid_id']}/receipt.pdf", **kit.auth)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    report = verify_pdf(response.content)
    assert report.valid and report.intact and report.timestamp_valid, report.problems
    (tmp_path / "r.pdf").write_bytes(response.content)
    text = subprocess.run(["pdftotext", "r.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "投标文件接收回执" in text and receipt["digest"] in text.replace("\n", "")


def test_orphaned_envelope_files_are_removed_only_when_old_and_unreferenced(api, section, kit):
    from datetime import timedelta as td

    from bidding.services.bids import bid_files_orphaned_remove

    receipt, _ = bid_through_api(api, kit, section)
    orphan = settings.FILE_STORE_DIR / "bids" / section.public_id / "bnot-a-bid.sbe"
    orphan.write_bytes(b"SBE1 left by a failed submission")
    assert bid_files_orphaned_remove() == 0  # young: it may still be in flight
    assert bid_files_orphaned_remove(older_than=td(0)) == 1
    assert not orphan.exists()
    assert (settings.FILE_STORE_DIR / Bid.objects.get(public_id=receipt["bid_id"]).storage_path).exists()


def test_r06_an_upload_left_unfinished_at_the_deadline_is_abandoned_and_its_chunks_freed(api, section, kit):
    envelope = seal_bid(api, kit, section, documents=b"u" * 200_000)
    upload_id = upload(api, kit, section, envelope, skip={1})
    done_id = upload(api, kit, section, envelope)
    assert submit(api, kit, done_id, envelope).status_code == 201
    chunks = settings.FILE_STORE_DIR / "uploads" / upload_id
    assert len(list(chunks.iterdir())) == -(-len(envelope) // 65536) - 1
    assert run_sweeps()["abandoned_uploads"] == 0  # bidding is open: the bidder may still finish it
    with time_machine.travel(section.bid_deadline + timedelta(seconds=1), tick=False):
        results = run_sweeps()
        assert results["close_bidding"] and results["abandoned_uploads"] == 1
        assert run_sweeps()["abandoned_uploads"] == 0  # idempotent
    assert BidUpload.objects.get(public_id=upload_id).status == BidUpload.Status.ABANDONED
    assert not chunks.exists()
    assert BidUpload.objects.get(public_id=done_id).status == BidUpload.Status.SUBMITTED
    late = put_chunk(api, kit, upload_id, 1, envelope[65536:131072])
    assert late.status_code == 409 and error(late)["code"] == "upload_closed"
