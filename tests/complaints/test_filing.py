"""R35: the 10-day window, the objection first, a clear request and evidence."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import translation

from tests.complaints.conftest import evidence, sh
from timestamps.models import LedgerEntry
from trading.complaints.services import ComplaintError
from trading.models import DocumentObjection, Notification

KNEW = sh(2026, 10, 12, 15, 30)
WINDOW_END = sh(2026, 10, 23)  # the day of knowing is not counted: the 10th day after it is 22 October


def test_r35_complaint_within_10_days_is_received_last_second(file_complaint, parties):
    complaint = file_complaint(known_at=KNEW, now=WINDOW_END - timedelta(seconds=1))
    assert complaint.status == "received" and complaint.window_ends == WINDOW_END
    assert complaint.evidence.count() == 1
    assert LedgerEntry.objects.filter(action="complaint.filed").exists()
    notified = set(Notification.objects.values_list("organization_id", flat=True))
    assert notified == {parties["bidder"].organization_id, parties["agency"].organization_id}


def test_r35_complaint_after_10_days_is_refused_with_clear_error(file_complaint):
    with pytest.raises(ComplaintError) as caught:
        file_complaint(known_at=KNEW, now=WINDOW_END)
    assert caught.value.code == "too_late"


def test_r35_documents_matter_without_objection_is_refused(file_complaint):
    with pytest.raises(ComplaintError) as caught:
        file_complaint(known_at=KNEW, now=KNEW + timedelta(days=1), matter="documents")
    assert caught.value.code == "objection_first"


def _objection(parties, *, submitted, answered=None, organization=None):
    return DocumentObjection.objects.create(
        section=parties["section"], organization=organization or parties["bidder"].organization, text="评分标准",
        submitted_at=submitted, answer_due=submitted + timedelta(days=3),
        status="answered" if answered else "pending", answer="已澄清" if answered else "", answered_at=answered)


def test_r35_another_partys_objection_does_not_count(file_complaint, parties):
    objection = _objection(parties, submitted=KNEW, answered=KNEW + timedelta(days=2),
                           organization=parties["other"].organization)
    with pytest.raises(ComplaintError) as caught:
        file_complaint(known_at=KNEW, now=KNEW + timedelta(days=3), matter="documents",
                       objection_id=objection.public_id)
    assert caught.value.code == "objection_first"


def test_r35_objection_pending_is_refused(file_complaint, parties):
    objection = _objection(parties, submitted=KNEW)
    with pytest.raises(ComplaintError) as caught:
        file_complaint(known_at=KNEW, now=KNEW + timedelta(days=1), matter="documents",
                       objection_id=objection.public_id)
    assert caught.value.code == "objection_pending"


def test_r35_the_tenderers_answering_time_is_not_counted(file_complaint, parties):
    answering = timedelta(days=2, hours=3)
    objection = _objection(parties, submitted=KNEW + timedelta(hours=1), answered=KNEW + timedelta(hours=1) + answering)
    end = WINDOW_END + answering
    with pytest.raises(ComplaintError):
        file_complaint(known_at=KNEW, now=end, matter="documents", objection_id=objection.public_id)
    complaint = file_complaint(known_at=KNEW, now=end - timedelta(seconds=1), matter="documents",
                               objection_id=objection.public_id)
    assert complaint.window_ends == end


def test_complaint_needs_evidence(file_complaint):
    with pytest.raises(ComplaintError) as caught:
        file_complaint(now=KNEW, evidence=[])
    assert caught.value.field == "evidence"


@override_settings(COMPLAINT_EVIDENCE_MAX_BYTES=2 * 2**20)
def test_oversized_evidence_is_refused_in_the_users_language(file_complaint):
    with translation.override("zh-hans"), pytest.raises(Exception) as caught:
        file_complaint(now=KNEW, evidence=evidence(b"x" * (2 * 2**20 + 1)))
    assert caught.value.code == "too_large"
    assert "2 MB" in str(caught.value.message) and "文件" in str(caught.value.message)


def test_r35_opening_complaint_after_the_objection_in_the_room(file_complaint, parties):
    from bidding.models import OpeningObjection, OpeningRoom

    room = OpeningRoom.objects.create(section=parties["section"])
    with pytest.raises(ComplaintError) as caught:
        file_complaint(known_at=KNEW, now=KNEW + timedelta(hours=2), matter="opening")
    assert caught.value.code == "objection_first"
    objection = OpeningObjection.objects.create(room=room, organization=parties["bidder"].organization,
                                                text="唱标价格有误", raised_at=KNEW, answer="已复核",
                                                answered_at=KNEW + timedelta(minutes=30))
    complaint = file_complaint(known_at=KNEW, now=KNEW + timedelta(hours=2), matter="opening",
                               objection_id=objection.public_id)
    assert complaint.window_ends == WINDOW_END + timedelta(minutes=30)


def test_r35_candidates_complaint_counts_the_publicity_objections_answer_time(file_complaint, parties):
    from experts.models import Publicity, PublicityObjection

    publicity = Publicity.objects.create(section=parties["section"], starts_at=KNEW, ends_at=KNEW + timedelta(days=3),
                                         published_by=parties["agency"], candidates=[])
    objection = PublicityObjection.objects.create(
        publicity=publicity, organization=parties["bidder"].organization, text="第一中标候选人业绩造假",
        submitted_at=KNEW + timedelta(days=1), answer_due=KNEW + timedelta(days=4))
    with pytest.raises(ComplaintError) as caught:  # not answered, still within the tenderer's 3 days
        file_complaint(known_at=KNEW, now=KNEW + timedelta(days=2), matter="candidates",
                       objection_id=objection.public_id)
    assert caught.value.code == "objection_pending"
    complaint = file_complaint(known_at=KNEW, now=KNEW + timedelta(days=4), matter="candidates",
                               objection_id=objection.public_id)  # no answer by the due time: may complain
    assert complaint.window_ends == WINDOW_END + timedelta(days=3)
