"""R36: the statutory clocks run on Chinese working days (chinesecalendar), around 2026 National Day."""

import logging
from datetime import date, timedelta

from tests.complaints.conftest import sh
from trading.complaints.models import Complaint
from trading.complaints.selectors import complaints_overdue
from trading.complaints.services import (
    complaint_accept,
    complaint_clock_resume,
    complaint_clock_stop,
)
from trading.workingdays import add_working_days, is_working_day, working_days_between, year_covered


def test_national_day_2026_is_a_holiday_and_saturday_10_october_a_working_day():
    assert not any(is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert is_working_day(date(2026, 10, 10))  # 调休: an adjusted working Saturday
    assert not is_working_day(date(2026, 10, 11))
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3


def test_a_year_the_library_does_not_cover_falls_back_to_weekdays_with_a_warning(caplog):
    day = date(2099, 6, 5)  # a Friday
    assert not year_covered(day)
    with caplog.at_level(logging.WARNING, logger="trading.workingdays"):
        assert add_working_days(day, 1) == date(2099, 6, 8)
    assert "working_days_year_not_covered year=2099" in caplog.text


def test_r36_accept_clock_crosses_national_day_and_the_adjusted_saturday(file_complaint):
    complaint = file_complaint(now=sh(2026, 9, 30, 10, 0))
    # 3 working days after 30 September: 8, 9 and (Saturday) 10 October.
    assert complaint.accept_due == sh(2026, 10, 11)
    assert not complaints_overdue(now=sh(2026, 10, 11) - timedelta(seconds=1)).exists()
    assert list(complaints_overdue(now=sh(2026, 10, 11))) == [complaint]


def test_r36_decision_clock_is_30_working_days_and_stops_for_appraisal(file_complaint, parties):
    complaint = file_complaint(now=sh(2026, 9, 28, 9, 0))
    supervisor = parties["supervisor"]
    complaint = complaint_accept(user=supervisor, complaint_id=complaint.pk, now=sh(2026, 9, 29, 9, 0))
    # 30 September, 8–10 October, then 26 more weekdays: Monday 16 November is the 30th.
    assert complaint.decision_due == sh(2026, 11, 17)
    complaint = complaint_clock_stop(user=supervisor, complaint_id=complaint.pk, pause="appraisal",
                                     note="委托工程造价鉴定", now=sh(2026, 10, 12, 9, 0))
    assert complaint.clock_due() is None
    assert not complaints_overdue(now=sh(2026, 12, 31)).exists()
    # Stopped on Monday 12 October with 25 working days left (13 Oct – 16 Nov): they run again from the resumption.
    complaint = complaint_clock_resume(user=supervisor, complaint_id=complaint.pk, now=sh(2026, 10, 19, 15, 0))
    assert complaint.decision_due == sh(2026, 11, 24)
    assert complaint.pause == Complaint.Pause.NONE
