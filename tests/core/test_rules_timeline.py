"""Timeline and deposit rules enforced at publication and after it, each at its exact boundary."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from tests.factories import SectionFactory, add_document, bidder_user, published_section, register
from trading.models import Notification, Project, Section
from trading.services import clarifications, lifecycle
from trading.services.errors import SectionError

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


def draft(deadline_after: timedelta, *, docs_days: float = 10, deposit: str = "200000.00", **kwargs) -> Section:
    section = SectionFactory(bid_deadline=NOW + deadline_after, documents_from=NOW,
                             documents_until=NOW + timedelta(days=docs_days), deposit_amount=Decimal(deposit),
                             **kwargs)
    add_document(section)
    return section


def publish(section: Section) -> Section:
    return lifecycle.section_publish(user=section.project.created_by, section_id=section.pk, now=NOW)


def test_r01_twenty_full_days_to_the_deadline_are_accepted():
    assert publish(draft(timedelta(days=20))).status == Section.Status.PUBLISHED


def test_r01_nineteen_days_and_23_59_59_are_refused():
    section = draft(timedelta(days=20) - timedelta(seconds=1))
    with pytest.raises(SectionError, match="R01"):
        publish(section)
    section.refresh_from_db()
    assert section.status == Section.Status.DRAFT and section.published_at is None


def test_r01_day_19_is_refused_and_nothing_is_logged():
    from timestamps.models import LedgerEntry

    section = draft(timedelta(days=19))
    before = LedgerEntry.objects.count()
    with pytest.raises(SectionError):
        publish(section)
    assert LedgerEntry.objects.count() == before


def test_r01_does_not_apply_to_a_project_not_tendered_by_law():
    section = draft(timedelta(days=12), project__must_tender=False,
                    project__category=Project.Category.STATE_ASSETS)
    assert publish(section).status == Section.Status.PUBLISHED


def test_r02_documents_available_exactly_five_days_are_accepted():
    assert publish(draft(timedelta(days=25), docs_days=5)).status == Section.Status.PUBLISHED


def test_r02_documents_available_one_second_less_than_five_days_are_refused():
    with pytest.raises(SectionError, match="R02"):
        publish(draft(timedelta(days=25), docs_days=5 - 1 / 86400))


def test_r15_deposit_of_exactly_two_percent_is_accepted():
    section = draft(timedelta(days=25), deposit="200000.00")  # 2% of 10,000,000.00
    assert publish(section).status == Section.Status.PUBLISHED


def test_r15_deposit_of_two_point_zero_one_percent_is_refused():
    section = SectionFactory(bid_deadline=NOW + timedelta(days=25), documents_from=NOW,
                             documents_until=NOW + timedelta(days=10), deposit_amount=Decimal("201000.00"))
    add_document(section)
    with pytest.raises(SectionError, match="R15"):
        publish(section)


def test_r15_one_cent_over_the_cap_is_refused_by_section_create():
    from trading.services.projects import section_create

    section = SectionFactory()
    with pytest.raises(SectionError, match="R15"):
        section_create(user=section.project.created_by, project=section.project, title="第二标段",
                       estimated_price="10000000.00", deposit_amount="200000.01",
                       bid_deadline=NOW + timedelta(days=30), evaluation_method="comprehensive", now=NOW)
    assert section.project.sections.count() == 1


def test_r15_government_procurement_uses_the_budget():
    section = draft(timedelta(days=25), deposit="20000.00", estimated_price=Decimal("1000000.00"),
                    project__category=Project.Category.GOVERNMENT)
    assert publish(section).status == Section.Status.PUBLISHED


def _open_section(days_left: timedelta) -> tuple[Section, object]:
    section = published_section(bid_deadline=NOW + days_left)
    bidder = bidder_user()
    register(section, bidder)
    return section, bidder


def test_r03_clarification_exactly_fifteen_days_before_keeps_the_deadline():
    section, _ = _open_section(timedelta(days=15))
    c = clarifications.clarification_publish(user=section.project.created_by, section_id=section.pk,
                                             text="补充说明", now=NOW)
    section.refresh_from_db()
    assert section.bid_deadline == NOW + timedelta(days=15) and not c.moved_deadline


def test_r03_clarification_14_days_23_59_before_moves_the_deadline_and_notifies_bidders():
    section, bidder = _open_section(timedelta(days=14, hours=23, minutes=59))
    c = clarifications.clarification_publish(user=section.project.created_by, section_id=section.pk,
                                             text="修改工程量清单", now=NOW)
    section.refresh_from_db()
    assert section.bid_deadline == NOW + timedelta(days=15)
    assert c.moved_deadline and c.deadline_before == NOW + timedelta(days=14, hours=23, minutes=59)
    notice = Notification.objects.get(organization=bidder.organization, section=section)
    assert "moved" in notice.subject or "截止" in notice.subject


def test_r03_clarification_that_does_not_affect_preparation_keeps_the_deadline():
    section, _ = _open_section(timedelta(days=3))
    clarifications.clarification_publish(user=section.project.created_by, section_id=section.pk,
                                         text="更正联系电话", affects_preparation=False, now=NOW)
    section.refresh_from_db()
    assert section.bid_deadline == NOW + timedelta(days=3)


def test_r04_objection_exactly_ten_days_before_the_deadline_is_accepted():
    section, bidder = _open_section(timedelta(days=10))
    objection = clarifications.objection_submit(user=bidder, section_id=section.pk, text="评分标准排斥潜在投标人",
                                                now=NOW)
    assert objection.answer_due == NOW + timedelta(days=3)


def test_r04_objection_one_second_later_is_refused():
    section, bidder = _open_section(timedelta(days=10) - timedelta(seconds=1))
    with pytest.raises(SectionError, match="R04"):
        clarifications.objection_submit(user=bidder, section_id=section.pk, text="异议", now=NOW)
    assert not section.document_objections.exists()


def test_r04_bidding_pauses_until_the_objection_is_answered():
    section, bidder = _open_section(timedelta(days=12))
    objection = clarifications.objection_submit(user=bidder, section_id=section.pk, text="异议", now=NOW)
    deadline = NOW + timedelta(days=12)
    with pytest.raises(SectionError, match="R04"):
        lifecycle.section_close_bidding(section_id=section.pk, now=deadline)
    clarifications.objection_answer(user=section.project.created_by, objection_id=objection.pk,
                                    answer="已修改评分标准", now=NOW + timedelta(days=2))
    section.refresh_from_db()
    assert section.bid_deadline == deadline + timedelta(days=2)  # moved by the length of the pause
    closed = lifecycle.section_close_bidding(section_id=section.pk, now=section.bid_deadline)
    assert closed.status == Section.Status.FAILED  # opened at the new deadline; no bids, so R07 fails it


def test_r05_bidding_closes_and_opening_starts_at_the_deadline_second():
    section = published_section(bid_deadline=NOW + timedelta(days=1))
    with pytest.raises(SectionError):
        lifecycle.section_close_bidding(section_id=section.pk, now=section.bid_deadline - timedelta(seconds=1))
    from timestamps.models import LedgerEntry

    lifecycle.section_close_bidding(section_id=section.pk, now=section.bid_deadline)
    opened = LedgerEntry.objects.get(action="section.opening", object_id=section.public_id)
    assert opened.at == section.bid_deadline  # no gap between the deadline and the opening


def test_closing_twice_is_a_no_op():
    from timestamps.models import LedgerEntry

    section = published_section(bid_deadline=NOW)
    lifecycle.section_close_bidding(section_id=section.pk, now=NOW)
    count = LedgerEntry.objects.count()
    lifecycle.section_close_bidding(section_id=section.pk, now=NOW)
    assert LedgerEntry.objects.count() == count


def test_sweep_closes_only_sections_past_their_deadline():
    due = published_section(bid_deadline=NOW - timedelta(seconds=1))
    later = published_section(bid_deadline=NOW + timedelta(seconds=1))
    assert lifecycle.sweep_close_bidding(now=NOW) == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status != Section.Status.PUBLISHED and later.status == Section.Status.PUBLISHED


def test_publication_refuses_deadline_in_the_past_with_a_clear_reason():
    section = SectionFactory(bid_deadline=NOW - timedelta(hours=1))
    add_document(section)
    with translation.override("en"), pytest.raises(SectionError, match="past"):
        publish(section)


def test_cancelled_section_cannot_be_published():
    section = draft(timedelta(days=25))
    lifecycle.section_cancel(user=section.project.created_by, section_id=section.pk, reason="项目取消", now=NOW)
    with pytest.raises(SectionError):
        publish(section)
