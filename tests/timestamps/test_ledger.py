"""The hash-chained audit ledger (R33): any change, deletion or reordering is detected and named."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import SectionFactory, add_document
from timestamps.ledger import ledger_append, ledger_verify
from timestamps.models import LedgerEntry, LedgerHead
from trading.services import lifecycle

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    for i in range(6):
        ledger_append(action="test.event", actor="tester", obj=("test", str(i)), data={"i": i, "名": "值"},
                      ip="10.0.0.1")
    return list(LedgerEntry.objects.order_by("seq"))


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify_command() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def test_r33_intact_chain_verifies(chain):
    assert ledger_verify().ok
    assert "OK: 6 entries" in verify_command()


def test_r33_every_transition_is_logged_with_actor_and_ip():
    from timestamps.ledger import current_ip

    section = SectionFactory()
    add_document(section)
    token = current_ip.set("203.0.113.7")
    try:
        lifecycle.section_publish(user=section.project.created_by, section_id=section.pk)
    finally:
        current_ip.reset(token)
    entry = LedgerEntry.objects.get(action="section.published")
    assert entry.actor == section.project.created_by.username and entry.ip == "203.0.113.7"
    assert entry.object_id == section.public_id and entry.data["from"] == "draft"


def test_r33_changed_data_is_detected_and_named(chain):
    raw("UPDATE timestamps_ledgerentry SET data = %s WHERE seq = 3", ['{"i": 99}'])
    report = ledger_verify()
    assert not report.ok and report.first_bad_seq == 3 and "changed" in report.problem
    with pytest.raises(CommandError, match="entry 3"):
        verify_command()


def test_r33_changed_actor_or_ip_is_detected(chain):
    raw("UPDATE timestamps_ledgerentry SET ip = '127.0.0.1' WHERE seq = 5")
    assert ledger_verify().first_bad_seq == 5


def test_r33_deleted_entry_is_detected(chain):
    raw("DELETE FROM timestamps_ledgerentry WHERE seq = 4")
    report = ledger_verify()
    assert not report.ok and report.first_bad_seq == 4 and "missing" in report.problem


def test_r33_deleted_last_entry_is_detected_by_the_head(chain):
    raw("DELETE FROM timestamps_ledgerentry WHERE seq = 6")
    report = ledger_verify()
    assert not report.ok and report.first_bad_seq == 6


def test_r33_reordered_entries_are_detected(chain):
    raw("UPDATE timestamps_ledgerentry SET seq = 100 WHERE seq = 2")
    raw("UPDATE timestamps_ledgerentry SET seq = 2 WHERE seq = 3")
    raw("UPDATE timestamps_ledgerentry SET seq = 3 WHERE seq = 100")
    report = ledger_verify()
    assert not report.ok and report.first_bad_seq == 2


def test_r33_recomputed_entry_hash_still_breaks_the_chain(chain):
    """A forger who rewrites an entry and its own hash still breaks the next entry's link."""
    from timestamps.ledger import _body_of, entry_hash

    entry = LedgerEntry.objects.get(seq=2)
    entry.data = {"i": 42}
    forged = entry_hash(entry.prev_hash, _body_of(entry))
    raw("UPDATE timestamps_ledgerentry SET data = %s, hash = %s WHERE seq = 2", ['{"i": 42}', forged])
    report = ledger_verify()
    assert not report.ok and report.first_bad_seq == 3


def test_ledger_entries_refuse_update_and_delete_through_the_orm(chain):
    entry = chain[0]
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_head_tracks_the_last_entry(chain):
    head = LedgerHead.objects.get(pk=1)
    assert head.seq == 6 and head.hash == chain[-1].hash


def test_r33_the_head_is_anchored_with_a_timestamp_that_verifies(chain):
    from timestamps.anchors import anchor_token_valid, ledger_anchor

    anchor = ledger_anchor(force=True)
    assert anchor.seq == 6 and anchor.head_hash == chain[-1].hash and anchor_token_valid(anchor)
    assert ledger_anchor(force=True) is None  # the same head is anchored once
    assert "1 anchors" in verify_command()


def test_r33_anchors_come_every_hundred_entries_or_every_minute(chain):
    from datetime import timedelta

    from django.utils import timezone

    from timestamps.anchors import ledger_anchor

    now = timezone.now()
    first = ledger_anchor(now=now)
    assert first is not None  # the first anchor is always due
    ledger_append(action="test.more", actor="tester")
    assert ledger_anchor(now=now + timedelta(seconds=59)) is None
    assert ledger_anchor(now=now + timedelta(seconds=60)).seq == 7


def test_r33_rewriting_history_behind_an_anchor_is_detected_even_with_a_recomputed_chain(chain):
    """A forger with the database recomputes every hash after a change; the anchored head no longer matches."""
    from timestamps.anchors import ledger_anchor
    from timestamps.ledger import _body_of, entry_hash

    ledger_anchor(force=True)
    prev = LedgerEntry.objects.get(seq=1).hash
    for entry in LedgerEntry.objects.filter(seq__gte=2).order_by("seq"):
        data = {"i": 42} if entry.seq == 2 else entry.data
        entry.data = data
        forged = entry_hash(prev, _body_of(entry))
        raw("UPDATE timestamps_ledgerentry SET data = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [__import__("json").dumps(data), prev, forged, entry.seq])
        prev = forged
    raw("UPDATE timestamps_ledgerhead SET hash = %s WHERE id = 1", [prev])
    report = ledger_verify()
    assert not report.ok and report.first_bad_seq == 6 and "anchor" in report.problem


def test_r33_a_forged_anchor_token_is_detected(chain):
    from timestamps.anchors import anchor_token_valid, ledger_anchor

    anchor = ledger_anchor(force=True)
    token = bytearray(anchor.token)
    token[-10] ^= 0xFF
    raw("UPDATE timestamps_ledgeranchor SET token = %s WHERE id = %s", [bytes(token), anchor.pk])
    report = ledger_verify(anchor_check=anchor_token_valid)
    assert not report.ok and "does not verify" in report.problem


def test_r33_supervisor_page_names_the_first_tampered_entry(client, chain):
    from tests.factories import PASSWORD, bidder_user, supervisor_user

    supervisor = supervisor_user()
    client.login(username=supervisor.username, password=PASSWORD)
    assert "6" in client.get("/supervisor/ledger/").content.decode()
    raw("UPDATE timestamps_ledgerentry SET actor = 'mallory' WHERE seq = 4")
    html = client.get("/supervisor/ledger/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Tampering detected at entry 4" in html or "4" in html and "alert-error" in html
    bidder = bidder_user()
    client.login(username=bidder.username, password=PASSWORD)
    assert client.get("/supervisor/ledger/").status_code == 403
