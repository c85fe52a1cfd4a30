"""R37: a suspended section makes no transition, the deadline sweep included, until the suspension is lifted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import bidder_user, publish_section, supervisor_user
from timestamps.models import LedgerEntry
from trading.complaints.services import complaint_file, section_suspend, section_suspension_lift
from trading.models import Section
from trading.services.errors import PermissionDenied, SectionError
from trading.services.lifecycle import section_cancel, sweep_close_bidding

pytestmark = pytest.mark.django_db


def _suspended_section():
    section = publish_section()
    now = timezone.now()
    complaint = complaint_file(user=bidder_user(), section_id=section.pk, matter="other", request="暂停招标",
                               facts="资格条件排斥潜在投标人", known_at=now, evidence=[("证据.pdf", [b"x"])], now=now)
    supervisor = supervisor_user()
    section_suspend(user=supervisor, complaint_id=complaint.pk, reason="投诉处理期间暂停", now=now)
    return section, complaint, supervisor


def test_r37_suspended_section_is_not_closed_by_the_deadline_sweep_until_lifted():
    section, complaint, supervisor = _suspended_section()
    after_deadline = section.bid_deadline + timedelta(minutes=1)
    assert sweep_close_bidding(now=after_deadline) == 0
    section.refresh_from_db()
    assert section.status == Section.Status.PUBLISHED
    section_suspension_lift(user=supervisor, complaint_id=complaint.pk, now=after_deadline)
    assert sweep_close_bidding(now=after_deadline) == 1
    section.refresh_from_db()
    assert section.status in (Section.Status.OPENING, Section.Status.FAILED)  # no bids: the opening fails at once
    actions = list(LedgerEntry.objects.values_list("action", flat=True))
    assert "section.suspended" in actions and "section.suspension_lifted" in actions


def test_r37_suspended_section_cannot_be_cancelled_either():
    section, _, supervisor = _suspended_section()
    with pytest.raises(SectionError) as caught:
        section_cancel(user=supervisor, section_id=section.pk, reason="终止招标")
    assert caught.value.code == "suspended"


def test_only_a_supervisor_suspends():
    section, complaint, supervisor = _suspended_section()
    section_suspension_lift(user=supervisor, complaint_id=complaint.pk)
    with pytest.raises(PermissionDenied):
        section_suspend(user=section.project.created_by, complaint_id=complaint.pk, reason="x")
