"""R10: before the deadline nobody can decrypt a bid: not the agency, an operator, or a database administrator."""

import base64
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection

from bidding.envelope import open_documents, read_header, unwrap_key
from bidding.models import Bid, OpeningKey
from bidding.services.keys import OpeningKeyError, opening_key_unwrap
from tests.bidflow import bid_through_api, kit_for
from tests.factories import bidder_user, publish_section, register
from timestamps.models import LedgerEntry
from trading.models import ApiToken, User
from trading.services.errors import PermissionDenied

pytestmark = pytest.mark.django_db
SECRET = b"TOP-SECRET price schedule 8,888,888.88"


@pytest.fixture
def sealed(api):
    section = publish_section()
    user = bidder_user()
    register(section, user)
    kit = kit_for(api, user)
    receipt, envelope = bid_through_api(api, kit, section, documents=SECRET, price="8888888.88")
    return section, kit, Bid.objects.get(public_id=receipt["bid_id"]), envelope


def dump_database() -> bytes:
    """Everything a DBA can read: every row of every table, as bytes."""
    out = bytearray()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    out += bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
    return bytes(out)


def test_r10_the_database_holds_neither_the_master_key_nor_any_plaintext(sealed):
    from bidding.masterkey import master_key

    dump = dump_database()
    key = master_key()
    assert key not in dump and base64.b64encode(key) not in dump
    assert SECRET not in dump and b"8888888.88" not in dump


def test_r10_the_stored_file_is_ciphertext(sealed):
    _, _, bid, _ = sealed
    stored = (settings.FILE_STORE_DIR / bid.storage_path).read_bytes()
    assert SECRET not in stored and b"8888888.88" not in stored


def test_r10_unwrap_is_refused_before_the_deadline_and_the_attempt_is_logged(sealed):
    section, _, _, _ = sealed
    with pytest.raises(PermissionDenied, match="R10"):
        opening_key_unwrap(section=section, actor="dba", now=section.bid_deadline - timedelta(seconds=1))
    assert LedgerEntry.objects.filter(action="opening_key.unwrap_refused", actor="dba").exists()


def test_r10_moving_the_deadline_in_the_database_does_not_help(sealed):
    section, _, _, _ = sealed
    with connection.cursor() as cursor:
        cursor.execute("UPDATE trading_section SET bid_deadline = %s WHERE id = %s",
                       [section.bid_deadline - timedelta(days=30), section.pk])
    section.refresh_from_db()
    with pytest.raises(PermissionDenied, match="R10"):
        opening_key_unwrap(section=section, actor="dba", now=section.bid_deadline + timedelta(seconds=1))


def test_r10_moving_not_before_in_the_database_breaks_the_wrapping(sealed):
    section, _, _, _ = sealed
    early = section.bid_deadline - timedelta(days=30)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE trading_section SET bid_deadline = %s WHERE id = %s", [early, section.pk])
        cursor.execute("UPDATE bidding_openingkey SET not_before = %s WHERE section_id = %s", [early, section.pk])
    section.refresh_from_db()
    with pytest.raises(OpeningKeyError) as raised:
        opening_key_unwrap(section=section, actor="dba", now=early + timedelta(seconds=1))
    assert raised.value.code == "opening_key_tampered"


def test_r10_swapping_in_another_sections_wrapped_key_does_not_help(sealed):
    section, _, _, _ = sealed
    other = publish_section(deadline_days=21)
    theirs = OpeningKey.objects.get(section=other)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bidding_openingkey SET wrapped_private_key = %s, wrap_iv = %s WHERE section_id = %s",
                       [bytes(theirs.wrapped_private_key), bytes(theirs.wrap_iv), section.pk])
    with pytest.raises(OpeningKeyError):
        opening_key_unwrap(section=section, actor="dba", now=section.bid_deadline)


def test_r10_no_api_role_can_read_a_bid_before_the_deadline(api, sealed):
    section, _, bid, _ = sealed
    for role in (User.Role.ADMIN, User.Role.SUPERVISOR):
        user = User.objects.create_user(username=f"op-{role}", password="x", role=role)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)}"}
        for url in (f"/api/v1/bids/{bid.public_id}", f"/api/v1/bids/{bid.public_id}/receipt.pdf",
                    f"/api/v1/sections/{section.public_id}/bids/mine"):
            response = api.get(url, **auth)
            assert response.status_code in (403, 404)
            assert SECRET not in response.content
    agency = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(section.project.created_by)}"}
    assert api.get(f"/api/v1/bids/{bid.public_id}", **agency).status_code == 404


def test_r10_at_the_deadline_the_platform_key_and_the_bidders_k2_together_open_the_bid(sealed):
    """The positive control: the same steps succeed once the deadline has come."""
    section, kit, bid, envelope = sealed
    opening_private = opening_key_unwrap(section=section, actor="system", now=section.bid_deadline)
    header = read_header(io.BytesIO(envelope))
    k1 = unwrap_key(header, 0, opening_private)
    k2 = unwrap_key(header, 1, kit.enc)
    out = io.BytesIO()
    summary = open_documents(io.BytesIO(envelope), out, k1=k1, k2=k2)
    assert out.getvalue() == SECRET and summary["price"] == "8888888.88"
    assert LedgerEntry.objects.filter(action="opening_key.unwrapped").count() == 1


def test_r10_the_opening_key_alone_does_not_open_a_bid(sealed):
    section, _, _, envelope = sealed
    from bidding.envelope import EnvelopeError, open_summary

    opening_private = opening_key_unwrap(section=section, actor="system", now=section.bid_deadline)
    k1 = unwrap_key(read_header(io.BytesIO(envelope)), 0, opening_private)
    with pytest.raises(EnvelopeError):
        open_summary(io.BytesIO(envelope), k1=k1, k2=bytes(32))
