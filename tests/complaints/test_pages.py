"""Access (only the complainant, the agency concerned and supervisors), the supervisor's steps, the portal."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import agency_user, supervisor_user
from timestamps.models import LedgerEntry
from trading.complaints.models import Complaint
from trading.supervision.models import DeadlineAlert
from trading.supervision.selectors import alerts_for_console
from trading.supervision.services.alerts import sweep_alerts


@pytest.fixture
def complaint(file_complaint):
    return file_complaint(now=timezone.now())


def test_complaint_page_is_seen_by_the_complainant_the_agency_and_supervisors(client, complaint, parties):
    url = f"/complaints/{complaint.public_id}/"
    for user in (parties["bidder"], parties["agency"], parties["supervisor"]):
        client.force_login(user)
        assert client.get(url).status_code == 200, user.role
    for user in (parties["other"], agency_user()):
        client.force_login(user)
        assert client.get(url).status_code == 404, user.role
        assert client.get(f"{url}evidence/{complaint.evidence.get().public_id}/").status_code == 404
        assert client.get("/api/v1/complaints").json() == []
    client.logout()
    assert client.get(url).status_code == 302


def test_only_the_complainant_org_sees_it_in_the_api(client, complaint, parties):
    client.force_login(parties["bidder"])
    assert [c["id"] for c in client.get("/api/v1/complaints").json()] == [complaint.public_id]


def test_a_bidder_cannot_take_the_supervisors_steps(client, complaint, parties):
    client.force_login(parties["bidder"])
    client.post(f"/complaints/{complaint.public_id}/accept/")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.RECEIVED
    client.force_login(parties["agency"])
    client.post(f"/complaints/{complaint.public_id}/suspend/", {"reason": "x"})
    assert not complaint.suspensions.exists()


def test_bidder_files_through_the_page_with_evidence(client, parties):
    client.force_login(parties["bidder"])
    url = f"/complaints/new/{parties['section'].public_id}/"
    assert client.get(url).status_code == 200
    today = timezone.localdate()
    response = client.post(url, {"matter": "other", "known_at": today.isoformat(), "request": "责令改正",
                                 "facts": "招标文件设置不合理条件",
                                 "evidence": [SimpleUploadedFile("证据.pdf", b"%PDF-1.4 x")]})
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert response["Location"] == f"/complaints/{complaint.public_id}/"
    assert complaint.evidence.get().name == "证据.pdf"


def test_bidder_without_evidence_gets_a_clear_error_in_chinese(client, parties):
    client.force_login(parties["bidder"])
    response = client.post(f"/complaints/new/{parties['section'].public_id}/",
                           {"matter": "other", "known_at": timezone.localdate().isoformat(), "request": "责令改正",
                            "facts": "事实"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200
    assert "请附上支持投诉的证明材料" in response.content.decode()
    assert not Complaint.objects.exists()


def test_supervisor_accepts_suspends_decides_and_the_portal_publishes_it_anonymised(client, complaint, parties):
    client.force_login(parties["supervisor"])
    base = f"/complaints/{complaint.public_id}/"
    client.post(base + "accept/")
    client.post(base + "suspend/", {"reason": "暂停招标投标活动"})
    assert client.get("/portal/complaints/").content.decode().count(complaint.public_id) == 0
    client.post(base + "decide/", {"outcome": "upheld", "decision": "投诉成立，责令招标人修改招标文件。"})
    client.post(base + "lift/")
    complaint.refresh_from_db()
    assert complaint.status == Complaint.Status.DECIDED and not complaint.suspensions.filter(
        lifted_at__isnull=True).exists()
    client.logout()
    page = client.get("/portal/complaints/").content.decode()
    assert complaint.public_id in page and "责令招标人修改招标文件" in page
    assert parties["bidder"].organization.name not in page  # the complainant is not named
    assert client.get("/api/v1/complaints/decisions").json()[0]["id"] == complaint.public_id
    actions = set(LedgerEntry.objects.values_list("action", flat=True))
    assert {"complaint.filed", "complaint.accepted", "section.suspended", "complaint.decided",
            "section.suspension_lifted"} <= actions


def test_material_request_pauses_the_clock_until_the_complainant_supplies_it(client, complaint, parties):
    client.force_login(parties["supervisor"])
    client.post(f"/complaints/{complaint.public_id}/stop/", {"pause": "material", "note": "补充中标公示截图"})
    complaint.refresh_from_db()
    assert complaint.pause == "material" and complaint.clock_due() is None
    client.force_login(parties["bidder"])
    client.post(f"/complaints/{complaint.public_id}/material/",
                {"evidence": [SimpleUploadedFile("截图.png", b"\x89PNG")]})
    complaint.refresh_from_db()
    assert complaint.pause == "" and complaint.evidence.count() == 2


def test_overdue_accept_clock_appears_on_the_supervision_console(complaint, parties):
    sweep_alerts(now=complaint.accept_due - timedelta(seconds=1))
    assert not DeadlineAlert.objects.filter(kind="complaint_accept", level="overdue").exists()
    sweep_alerts(now=complaint.accept_due)
    rows = alerts_for_console(user=supervisor_user())
    assert any(r.kind_label == DeadlineAlert.Kind.COMPLAINT_ACCEPT.label and r.level == "overdue" for r in rows)
