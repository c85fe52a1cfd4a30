"""The experts API and pages: the fixed draw endpoints, and an access test for every endpoint."""

from datetime import timedelta

import pytest
from django.utils import timezone

from experts.models import Expert
from tests.experts.test_experts_draws import replay_from_spec
from tests.experts.test_experts_kit import (
    agency_of,
    complete_draw,
    drawable_section,
    fake_bids,
    make_experts,
    opened,
    request_draw,
    seat_committee,
)
from tests.factories import agency_user, bidder_user, expert_user, supervisor_user
from trading.models import ApiToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = "tests.experts.test_experts_urls"


def auth(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(user)}"}


def test_draw_list_and_audit_answer_the_fixed_shape_to_supervisors(api):
    make_experts(9)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    boss = supervisor_user()
    listed = api.get("/api/v1/draws/", **auth(boss))
    assert listed.status_code == 200 and draw.public_id in [d["id"] for d in listed.json()]
    assert listed.json()[0]["status"] == "complete"
    audit = api.get(f"/api/v1/draws/{draw.public_id}/audit", **auth(boss)).json()
    assert list(audit) == ["draw_id", "commitment", "s", "e", "groups"]
    assert list(audit["groups"][0]) == ["specialty", "count", "backups", "pool", "pool_hash", "picks"]
    assert replay_from_spec(audit) == [g["picks"] for g in audit["groups"]]
    replay = api.get(f"/api/v1/draws/{draw.public_id}/replay", **auth(boss)).json()
    assert replay == {"ok": True, "mismatches": []}


def test_the_audit_is_refused_before_the_draw_and_s_is_never_shown(api):
    make_experts(6)
    section = drawable_section()
    draw = request_draw(section, [{"specialty": "土建", "count": 5, "backups": 0}])
    boss = supervisor_user()
    assert api.get(f"/api/v1/draws/{draw.public_id}/audit", **auth(boss)).status_code == 409
    detail = api.get(f"/api/v1/draws/{draw.public_id}", **auth(boss)).json()
    assert detail["commitment"] == draw.commitment and "s" not in detail
    done = api.post(f"/api/v1/draws/{draw.public_id}/entropy", {"entropy": "骰子 1-2-3-4-5-6"}, format="json",
                    **auth(boss))
    assert done.status_code == 200 and done.json()["status"] == "complete"


def test_r25_the_agency_sees_counts_never_codes_or_names(api):
    make_experts(9)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    body = api.get(f"/api/v1/sections/{section.public_id}/draws", **auth(agency_of(section)))
    assert body.status_code == 200
    group = body.json()[0]["groups"][0]
    assert group["invited"] == 5 and group["standby"] == 2 and "picks" not in group and "pool_hash" not in group
    text = body.content.decode()
    for expert in Expert.objects.all():
        assert expert.code not in text and expert.name not in text
    assert api.get(f"/api/v1/draws/{draw.public_id}/audit", **auth(agency_of(section))).status_code == 403


@pytest.mark.parametrize("path", ["/api/v1/draws/", "/api/v1/experts/"])
def test_supervisor_only_lists_refuse_every_other_role(api, path):
    for user in (agency_user(), bidder_user(), expert_user()):
        assert api.get(path, **auth(user)).status_code == 403
    assert api.get(path).status_code == 401


def test_draw_endpoints_refuse_the_wrong_roles(api):
    make_experts(9, with_users=True)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    other_agency = agency_user()
    for user in (other_agency, bidder_user(), expert_user()):
        assert api.get(f"/api/v1/draws/{draw.public_id}", **auth(user)).status_code == 403
        assert api.get(f"/api/v1/draws/{draw.public_id}/audit", **auth(user)).status_code == 403
        assert api.get(f"/api/v1/draws/{draw.public_id}/replay", **auth(user)).status_code == 403
        assert api.post(f"/api/v1/draws/{draw.public_id}/entropy", {"entropy": "x" * 10}, format="json",
                        **auth(user)).status_code == 403
        assert api.get(f"/api/v1/sections/{section.public_id}/draws", **auth(user)).status_code == 403
    fresh = drawable_section()
    starts = (timezone.now() + timedelta(days=40)).isoformat()
    body = {"groups": [{"specialty": "土建", "count": 5, "backups": 0}], "evaluation_starts_at": starts,
            "evaluation_ends_at": (timezone.now() + timedelta(days=40, hours=4)).isoformat()}
    for user in (other_agency, bidder_user(), supervisor_user()):
        assert api.post(f"/api/v1/sections/{fresh.public_id}/draws", body, format="json",
                        **auth(user)).status_code == 403
    made = api.post(f"/api/v1/sections/{fresh.public_id}/draws", body, format="json", **auth(agency_of(fresh)))
    assert made.status_code == 201, made.content
    r22 = api.post(f"/api/v1/sections/{drawable_section().public_id}/draws",
                   {**body, "groups": [{"specialty": "土建", "count": 4, "backups": 0}]}, format="json",
                   **auth(agency_of(fresh)))
    assert r22.status_code in (400, 403)


def test_invitations_belong_to_their_expert(api):
    make_experts(7, with_users=True)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 1}])
    mine = draw.picks.get(position=0)
    other = draw.picks.get(position=1).expert.user
    listed = api.get("/api/v1/expert/invitations", **auth(mine.expert.user)).json()
    assert [i["id"] for i in listed] == [mine.public_id]
    assert api.post(f"/api/v1/expert/invitations/{mine.public_id}/confirm", **auth(other)).status_code == 404
    assert api.post(f"/api/v1/expert/invitations/{mine.public_id}/confirm", **auth(bidder_user())).status_code == 404
    assert api.post(f"/api/v1/expert/invitations/{mine.public_id}/confirm",
                    **auth(mine.expert.user)).json()["status"] == "confirmed"


def test_expert_pool_api_creates_imports_and_reports_bad_rows(api):
    boss = supervisor_user()
    from trading.social_credit_code import credit_code_make

    code = credit_code_make("91330100888000001")
    made = api.post("/api/v1/experts/", {"code": "ZJ9001", "name": "周专家", "specialties": "土建;造价",
                                         "employer_name": "某设计院", "employer_credit_code": code}, format="json",
                    **auth(boss))
    assert made.status_code == 201 and made.json()["specialties"] == ["土建", "造价"]
    assert api.post("/api/v1/experts/", {"code": "X"}, format="json", **auth(agency_user())).status_code == 403
    csv = ("code,name,specialties,employer_name,employer_credit_code,years_experience\n"
           f"ZJ9002,王一,电气,单位甲,{code},12\n"
           "ZJ9003,,电气,单位乙,123,5\n"
           f"ZJ9004,李四,天文,单位丙,{code},x\n").encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = api.post("/api/v1/experts/import", {"file": SimpleUploadedFile("e.csv", csv)}, format="multipart",
                   **auth(boss))
    assert bad.status_code == 400
    assert [e["row"] for e in bad.json()["errors"]] == [3, 4]
    assert not Expert.objects.filter(code="ZJ9002").exists()  # nothing half-written
    good = csv.decode().splitlines()[:2]
    ok = api.post("/api/v1/experts/import", {"file": SimpleUploadedFile("e.csv", "\n".join(good).encode())},
                  format="multipart", **auth(boss))
    assert ok.status_code == 200 and ok.json()["created"] == 1
    assert api.post("/api/v1/experts/ZJ9002/status", {"status": "suspended"}, format="json",
                    **auth(boss)).json()["status"] == "suspended"
    assert api.post("/api/v1/experts/ZJ9002/status", {"status": "active"}, format="json",
                    **auth(bidder_user())).status_code == 403
    period = api.post("/api/v1/experts/ZJ9002/unavailability",
                      {"starts_at": "2026-07-01T00:00:00+08:00", "ends_at": "2026-07-03T00:00:00+08:00"},
                      format="json", **auth(boss))
    assert period.status_code == 201 and len(period.json()["unavailable"]) == 1


def test_evaluation_endpoints_are_for_the_committee_only(api):
    section = drawable_section()
    picks = seat_committee(section)
    bids = fake_bids(section, ["9800000", "9700000", "9900000"])
    opened(section)
    outsider_expert = expert_user()
    url = f"/api/v1/sections/{section.public_id}/evaluation"
    for user in (bidder_user(), agency_user(), outsider_expert):
        assert api.post(f"{url}/start", **auth(user)).status_code == 403
    assert api.post(f"{url}/start", **auth(agency_of(section))).status_code == 201
    member = picks[0].expert.user
    for user in (bidder_user(), agency_of(section), outsider_expert):
        assert api.get(url, **auth(user)).status_code == 403
        assert api.post(f"{url}/declaration", {"conflict": False}, format="json", **auth(user)).status_code == 403
        assert api.post(f"{url}/scores", {"bid": bids[0].public_id, "scores": {"0": "10"}}, format="json",
                        **auth(user)).status_code == 403
        assert api.get(f"{url}/bids/{bids[0].public_id}/documents", **auth(user)).status_code == 403
        assert api.get(f"{url}/report.pdf", **auth(user)).status_code in (403, 404)
    assert api.get(url, **auth(supervisor_user())).status_code == 200
    assert api.post(f"{url}/declaration", {"conflict": False}, format="json", **auth(member)).status_code == 200
    saved = api.post(f"{url}/scores", {"bid": bids[0].public_id, "scores": {"0": "50"}}, format="json",
                     **auth(member))
    assert saved.status_code == 400 and saved.json()["error"]["field"] == "scores.0"
    state = api.post(f"{url}/scores", {"bid": bids[0].public_id, "scores": {"0": "35.5", "1": "18"}},
                     format="json", **auth(member)).json()
    assert state["me"]["scores"] and [s["seat"] for s in state["seats"]] == [1, 2, 3, 4, 5]
    assert "name" not in str(state["seats"])  # R25: seats, not names


def test_publicity_is_public_and_award_and_contract_are_the_agencys(api):
    from tests.experts.test_experts_evaluation import publicized

    section, bids, publicity = publicized()
    url = f"/api/v1/sections/{section.public_id}"
    assert api.get(f"{url}/publicity").status_code == 200
    assert len(api.get(f"{url}/publicity").json()["candidates"]) == 3
    for user in (bidder_user(), supervisor_user(), agency_user()):
        assert api.post(f"{url}/award", {}, format="json", **auth(user)).status_code == 403
        assert api.post(f"{url}/contract", {"signed_at": timezone.now().isoformat()}, format="json",
                        **auth(user)).status_code == 403
    assert api.post(f"{url}/publicity/objections", {"text": "异议"}, format="json",
                    **auth(bidder_user())).status_code == 403
    assert api.post(f"{url}/publicity/objections", {"text": "异议"}, format="json",
                    **auth(bids[3].submitted_by)).status_code == 201


def test_pages_load_for_their_roles_and_refuse_the_others(client):
    make_experts(9, with_users=True)
    section = drawable_section()
    draw = complete_draw(section, [{"specialty": "土建", "count": 5, "backups": 2}])
    boss, agency = supervisor_user(), agency_of(section)
    expert = draw.picks.get(position=0).expert.user
    pages = {"/supervisor/experts/": boss, "/supervisor/draws/": boss,
             f"/supervisor/draws/{draw.public_id}/?replay=1": boss,
             f"/agency/sections/{section.public_id}/experts/": agency, "/expert/": expert}
    for path, owner in pages.items():
        client.force_login(owner)
        response = client.get(path)
        assert response.status_code == 200, path
        for other in (bidder_user(), expert_user() if owner != expert else agency):
            client.force_login(other)
            assert client.get(path).status_code in (403, 404), (path, other.role)
    client.force_login(boss)
    assert "replay-ok" in client.get(f"/supervisor/draws/{draw.public_id}/?replay=1").content.decode()
    client.force_login(agency_user())
    assert client.get(f"/agency/sections/{section.public_id}/experts/").status_code == 404

