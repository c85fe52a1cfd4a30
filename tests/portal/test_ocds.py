"""OCDS 1.1 open data (DESIGN.md §11, fixed): validates offline against the shared schema with the bid
extension merged in, publishes each stage only when it exists, and never leaks a secret (R14, R25)."""

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from bidding.models import Bid
from bidding.room.decrypt import room_decrypt
from tests.credit.test_blacklist import urlpatterns  # noqa: F401  (this module is its own urlconf)
from tests.factories import agency_user, publish_section
from tests.roomkit import prepare
from trading.models import Section
from trading.sweeps import run_sweeps

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
SHARED_OCDS = Path(__file__).resolve().parents[3] / "shared" / "ocds"


def merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch: how OCDS applies an extension's release-schema.json."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@pytest.fixture(scope="module")
def package_validator():
    if not (SHARED_OCDS / "release-package-schema.json").exists():
        from tests.services import unavailable

        unavailable(f"the OCDS schemas (expected {SHARED_OCDS}, shared/ beside the repository)")
    package = json.loads((SHARED_OCDS / "release-package-schema.json").read_text())
    release = json.loads((SHARED_OCDS / "release-schema.json").read_text())
    extension = json.loads((SHARED_OCDS / "bid_extension" / "release-schema.json").read_text())
    merged = merge_patch(release, extension)
    ref = package["properties"]["releases"]["items"]["$ref"]
    registry = Registry().with_resource(ref, Resource.from_contents(merged, default_specification=DRAFT4))
    return Draft4Validator(package, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)


def assert_valid(validator, package: dict) -> None:
    errors = sorted(validator.iter_errors(package), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_merge_patch_adds_the_bid_extension_and_removes_nulls():
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}, "e": 4}) == {"a": {"c": 2, "d": 3},
                                                                                       "e": 4}


def test_the_validator_rejects_a_broken_package(package_validator):
    assert not package_validator.is_valid({"uri": "not a uri", "version": "1.1", "publisher": {"name": "x"},
                                           "publishedDate": "yesterday", "releases": []})
    bad_bid = {"uri": "https://example.org/p", "version": "1.1", "publisher": {"name": "x"},
               "publishedDate": "2026-01-01T00:00:00+08:00",
               "releases": [{"ocid": "ocds-x-1", "id": "1", "date": "2026-01-01T00:00:00+08:00", "tag": ["tender"],
                             "initiationType": "tender", "bids": {"details": [{"id": "b", "status": "winner"}]}}]}
    assert not package_validator.is_valid(bad_bid)  # the bid extension's status codelist is closed


def package_of(client, section) -> dict:
    response = client.get(f"/api/v1/ocds/sections/{section.public_id}/release-package")
    assert response.status_code == 200, response.content
    return response.json()


def at(opening, seconds: float = 0):
    return time_machine.travel(opening.section.bid_deadline + timedelta(seconds=seconds), tick=False)


def open_fully(opening) -> None:
    with at(opening):
        run_sweeps()
        for i, bid_id in enumerate(opening.bids):
            room_decrypt(user=opening.kits[i].user, bid_id=bid_id, k2=opening.k2(i))
    with at(opening, 11 * 60):
        run_sweeps()
    opening.section.refresh_from_db()
    assert opening.section.status == Section.Status.OPENED


def award(section, *, signed: bool):
    from experts.models import Award

    bid = Bid.objects.filter(section=section, status=Bid.Status.DECRYPTED).order_by("opening_no").first()
    agency = agency_user()
    moment = section.bid_deadline + timedelta(days=10)
    return Award.objects.create(section=section, bid=bid, rank=1, awarded_at=moment, awarded_by=agency,
                                notice_path="records/x/award.pdf", notice_sha256="0" * 64,
                                contract_signed_at=moment + timedelta(days=5) if signed else None,
                                contract_amount=None)


def test_a_published_section_has_only_the_tender_release_and_it_validates(api, package_validator):
    section = publish_section()
    package = package_of(api, section)
    assert_valid(package_validator, package)
    assert [r["tag"] for r in package["releases"]] == [["tender"]]
    tender = package["releases"][0]["tender"]
    assert tender["value"] == {"amount": 10000000.0, "currency": "CNY"}
    assert tender["tenderPeriod"]["endDate"].endswith("+08:00")
    assert package["extensions"][0].endswith("/extension.json")


def test_r14_no_bidder_and_no_count_before_the_opening_at_any_stage(api, package_validator):
    opening = prepare(api, 3)
    secrets = [kit.user.organization.name for kit in opening.kits] + \
              [kit.user.organization.credit_code for kit in opening.kits] + opening.bids
    for moment in (-60, 0):  # published with bids, then the opening in progress (decryption)
        with at(opening, moment):
            if moment == 0:
                run_sweeps()
            package = package_of(api, opening.section)
        assert_valid(package_validator, package)
        text = json.dumps(package, ensure_ascii=False)
        for secret in secrets:
            assert secret not in text
        for field in ("numberOfTenderers", "tenderers", '"bids"', "statistics"):
            assert field not in text


def test_r12_the_opening_release_has_bid_statistics_and_details_after_the_record(api, package_validator):
    opening = prepare(api, 3)
    open_fully(opening)
    package = package_of(api, opening.section)
    assert_valid(package_validator, package)
    tags = [r["tag"] for r in package["releases"]]
    assert tags == [["tender"], ["tenderUpdate"]]
    bids = package["releases"][1]["bids"]
    stats = {s["measure"]: s["value"] for s in bids["statistics"]}
    assert stats["bids"] == 3 and stats["validBids"] == 3 and stats["bidders"] == 3
    assert stats["lowestValidBidValue"] == 9650000.5 and stats["highestValidBidValue"] == 9912345.67
    assert {d["id"] for d in bids["details"]} == set(opening.bids)
    assert all(d["status"] == "valid" and d["value"]["currency"] == "CNY" for d in bids["details"])
    assert package["releases"][1]["tender"]["numberOfTenderers"] == 3


def test_award_and_contract_releases_appear_only_when_they_exist(api, package_validator):
    opening = prepare(api, 3)
    open_fully(opening)
    made = award(opening.section, signed=False)
    package = package_of(api, opening.section)
    assert_valid(package_validator, package)
    assert [r["tag"] for r in package["releases"]] == [["tender"], ["tenderUpdate"], ["award"]]
    assert package["releases"][2]["awards"][0]["relatedBid"] == made.bid.public_id
    made.contract_signed_at = made.awarded_at + timedelta(days=3)
    made.save()
    package = package_of(api, opening.section)
    assert_valid(package_validator, package)
    assert [r["tag"] for r in package["releases"]][-1] == ["contract"]
    assert package["releases"][3]["contracts"][0]["awardID"] == package["releases"][2]["awards"][0]["id"]


def test_r25_no_expert_name_is_ever_published(api, package_validator):
    from experts.models import Expert

    expert = Expert.objects.create(code="E0001", name="评标专家王五", employer_name="某设计院",
                                   employer_credit_code="913301000000000000", specialties=["土建"])
    opening = prepare(api, 3)
    open_fully(opening)
    award(opening.section, signed=True)
    text = json.dumps(package_of(api, opening.section), ensure_ascii=False)
    assert expert.name not in text and expert.code not in text and "expert" not in text.lower()


def test_a_failed_opening_is_published_as_unsuccessful(api, package_validator):
    opening = prepare(api, 2)
    with at(opening):
        run_sweeps()
    package = package_of(api, opening.section)
    assert_valid(package_validator, package)
    update = package["releases"][1]
    assert update["tender"]["status"] == "unsuccessful"
    assert {s["measure"]: s["value"] for s in update["bids"]["statistics"]}["validBids"] == 0


def test_a_draft_or_unknown_section_is_not_found(api):
    from tests.factories import SectionFactory

    draft = SectionFactory()
    assert api.get(f"/api/v1/ocds/sections/{draft.public_id}/release-package").status_code == 404
    assert api.get("/api/v1/ocds/sections/nope/release-package").status_code == 404


def test_bulk_package_holds_the_releases_of_the_period_and_validates(api, package_validator):
    first, second = publish_section(), publish_section()
    Section.objects.filter(pk=second.pk).update(published_at=first.published_at - timedelta(days=40))
    day = first.published_at.date()
    response = api.get(f"/api/v1/ocds/release-packages?from={day - timedelta(days=1)}&to={day + timedelta(days=1)}")
    assert response.status_code == 200, response.content
    package = response.json()
    assert_valid(package_validator, package)
    assert [r["ocid"].rsplit("-", 1)[-1] for r in package["releases"]] == [first.public_id]


def test_bulk_package_to_includes_the_whole_beijing_day_it_names(api, package_validator):
    # 16:30 UTC is 00:30 the next day in Beijing: the release is dated that next day, and "to" names it.
    with time_machine.travel(datetime(2026, 12, 1, 16, 30, tzinfo=UTC), tick=False):
        section = publish_section()
    response = api.get("/api/v1/ocds/release-packages?from=2026-12-02&to=2026-12-02")
    assert response.status_code == 200, response.content
    assert [r["ocid"].rsplit("-", 1)[-1] for r in response.json()["releases"]] == [section.public_id]
    assert api.get("/api/v1/ocds/release-packages?from=2026-12-01&to=2026-12-01").status_code == 404


@pytest.mark.parametrize("query, field", [("", "from"), ("from=2026-01-01", "to"), ("from=x&to=2026-01-01", "from"),
                                          ("from=2026-02-01&to=2026-01-01", "to"),
                                          ("from=2024-01-01&to=2026-01-01", "to")])
def test_bulk_package_rejects_bad_ranges_with_a_clear_error(api, query, field):
    response = api.get(f"/api/v1/ocds/release-packages?{query}")
    assert response.status_code == 400 and response.json()["error"]["field"] == field


def test_bulk_package_with_nothing_in_the_period_is_404(api):
    response = api.get("/api/v1/ocds/release-packages?from=2001-01-01&to=2001-01-31")
    assert response.status_code == 404 and response.json()["error"]["code"] == "no_releases"
