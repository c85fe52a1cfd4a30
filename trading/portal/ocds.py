"""OCDS 1.1 open data (DESIGN.md §11, fixed): one release per stage that has happened, with the bid extension.

Stages and what each may say:
- ``tender`` (publication): the announcement, the buyer, the agency, the estimated value and the periods.
  R14: nothing about who registered or bid, and no counts, until the opening.
- ``opening`` (after the signed opening record): bid statistics and details: bidders, prices, statuses.
- ``award`` and ``contract`` (only when the experts app has recorded them): the winner and the contract.
R25: the evaluation committee is never published here; no release names an expert.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.utils import timezone

from trading.models import Section

BID_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
SCHEME = "CN-USCC"  # 统一社会信用代码 (unified social credit code)
PUBLIC = [s for s in Section.Status.values if s != Section.Status.DRAFT]
SHANGHAI = ZoneInfo("Asia/Shanghai")
OPENING_DONE = ("closed", "failed")
CATEGORY = {"construction": "works"}
AWARD_CRITERIA = {"comprehensive": "ratedCriteria", "lowest_price": "lowestCost"}


def ocid_prefix() -> str:
    return settings.OCDS_OCID_PREFIX


def ocid(section: Section) -> str:
    return f"{ocid_prefix()}-{section.public_id}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def money(amount, currency: str = "CNY") -> dict | None:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite():
        return None
    # Amounts have at most 15 digits, so the float prints back exactly (shortest repr).
    return {"amount": float(value), "currency": currency}


def _org_party(org, roles: list[str]) -> dict:
    return {"id": org.credit_code, "name": org.name, "roles": roles,
            "identifier": {"scheme": SCHEME, "id": org.credit_code, "legalName": org.name}}


def _ref(party: dict) -> dict:
    return {"id": party["id"], "name": party["name"]}


def _base(section: Section, *, stage: str, date: datetime, tags: list[str], parties: list[dict]) -> dict:
    return {"ocid": ocid(section), "id": f"{ocid(section)}-{stage}", "date": rfc3339(date), "tag": tags,
            "initiationType": "tender", "language": "zh", "parties": parties}


def _buyer(section: Section) -> dict:
    return {"id": f"buyer-{section.project.public_id}", "name": section.project.owner_name, "roles": ["buyer"]}


def tender_release(section: Section, *, base_url: str) -> dict:
    project = section.project
    buyer, agency = _buyer(section), _org_party(project.agency, ["procuringEntity"])
    clarifications = list(section.clarifications.all())
    date = max([section.published_at or section.created_at, *[c.published_at for c in clarifications]])
    tender = {
        "id": section.public_id,
        "title": f"{project.name} {section.title}",
        "description": section.announcement or project.description or None,
        "status": "active",
        "procuringEntity": _ref(agency),
        "value": money(section.estimated_price),
        "procurementMethod": "open",
        "procurementMethodDetails": "公开招标",
        "awardCriteria": AWARD_CRITERIA.get(section.evaluation_method),
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": {"startDate": rfc3339(section.documents_from or date), "endDate": rfc3339(section.bid_deadline)},
        "documents": [{"id": f"notice-{section.public_id}", "documentType": "tenderNotice",
                       "title": f"{project.name} {section.title} 招标公告", "url": f"{base_url}/sections/{section.public_id}/",
                       "datePublished": rfc3339(section.published_at or date), "format": "text/html",
                       "language": "zh"}]
        + [{"id": f"document-{d.public_id}", "documentType": "biddingDocuments", "title": d.name,
            "description": f"SHA-256 {d.sha256}", "datePublished": rfc3339(d.uploaded_at)}
           for d in section.documents.all()],
    }
    if category := CATEGORY.get(project.category):
        tender["mainProcurementCategory"] = category
    tags = ["tender"]
    if clarifications:
        tags.append("tenderAmendment")
        tender["amendments"] = [{"id": f"clarification-{c.number}", "date": rfc3339(c.published_at),
                                 "description": c.text} for c in clarifications]
    release = _base(section, stage="tender", date=date, tags=tags, parties=[buyer, agency])
    release.update(buyer=_ref(buyer), tender={k: v for k, v in tender.items() if v is not None})
    return release


BID_STATUS = {"decrypted": "valid", "disqualified": "disqualified", "revoked": "withdrawn",
              "failed_platform": "withdrawn"}


def _opening_done_at(section: Section) -> datetime | None:
    from bidding.models import OpeningRoom, RoomEvent

    room = OpeningRoom.objects.filter(section=section).first()
    if room is None or room.phase not in OPENING_DONE or not room.record_sha256:
        return None
    event = RoomEvent.objects.filter(room=room, type="record_ready").order_by("-seq").first()
    return event.at if event else section.status_changed_at


def _price(bid) -> dict | None:
    summary = bid.summary or {}
    return money(summary.get("price"), summary.get("currency") or "CNY") if summary.get("price") else None


def opening_release(section: Section) -> dict | None:
    """After the signed opening record only (R12, R14): bid statistics and details."""
    from bidding.models import Bid

    done_at = _opening_done_at(section)
    if done_at is None:
        return None
    bids = list(Bid.objects.filter(section=section, opening_no__isnull=False).select_related("organization")
                .order_by("opening_no"))
    tenderers = {b.organization_id: _org_party(b.organization, ["tenderer"]) for b in bids}
    valid = [b for b in bids if b.status == Bid.Status.DECRYPTED]
    values = [p["amount"] for b in valid if (p := _price(b))]
    date = rfc3339(done_at)
    statistics = [
        {"id": "bids", "measure": "bids", "value": len(bids), "date": date},
        {"id": "electronicBids", "measure": "electronicBids", "value": len(bids), "date": date},
        {"id": "validBids", "measure": "validBids", "value": len(valid), "date": date},
        {"id": "bidders", "measure": "bidders", "value": len(tenderers), "date": date},
        {"id": "disqualifiedBidders", "measure": "disqualifiedBidders", "date": date,
         "value": len({b.organization_id for b in bids if b.status == Bid.Status.DISQUALIFIED})},
    ]
    if values:
        statistics += [{"id": "lowestValidBidValue", "measure": "lowestValidBidValue", "value": min(values),
                        "currency": "CNY", "date": date},
                       {"id": "highestValidBidValue", "measure": "highestValidBidValue", "value": max(values),
                        "currency": "CNY", "date": date}]
    details = []
    for bid in bids:
        detail = {"id": bid.public_id, "date": rfc3339(bid.received_at),
                  "tenderers": [_ref(tenderers[bid.organization_id])]}
        if status := BID_STATUS.get(bid.status):
            detail["status"] = status
        if value := _price(bid):
            detail["value"] = value
        details.append(detail)
    failed = section.status == Section.Status.FAILED
    release = _base(section, stage="opening", date=done_at, tags=["tenderUpdate"],
                    parties=[_buyer(section), _org_party(section.project.agency, ["procuringEntity"]),
                             *tenderers.values()])
    release.update(buyer=_ref(_buyer(section)),
                   tender={"id": section.public_id, "status": "unsuccessful" if failed else "active",
                           "numberOfTenderers": len(tenderers),
                           "tenderers": [_ref(p) for p in tenderers.values()]},
                   bids={"statistics": statistics, "details": details})
    return release


def _award(section: Section):
    model = apps.get_model("experts.Award")
    return model.objects.filter(section=section).select_related("bid__organization").first()


def award_release(section: Section) -> dict | None:
    award = _award(section)
    if award is None:
        return None
    supplier = _org_party(award.bid.organization, ["supplier", "tenderer"])
    data = {"id": f"award-{section.public_id}", "title": f"{section.project.name} {section.title} 中标结果",
            "status": "active", "date": rfc3339(award.awarded_at), "suppliers": [_ref(supplier)],
            "relatedBid": award.bid.public_id}
    if value := _price(award.bid):
        data["value"] = value
    release = _base(section, stage="award", date=award.awarded_at, tags=["award"],
                    parties=[_buyer(section), _org_party(section.project.agency, ["procuringEntity"]), supplier])
    release.update(buyer=_ref(_buyer(section)), tender={"id": section.public_id, "status": "complete"},
                   awards=[data])
    return release


def contract_release(section: Section) -> dict | None:
    award = _award(section)
    if award is None or award.contract_signed_at is None:
        return None
    supplier = _org_party(award.bid.organization, ["supplier"])
    contract = {"id": f"contract-{section.public_id}", "awardID": f"award-{section.public_id}",
                "title": f"{section.project.name} {section.title} 合同", "status": "active",
                "dateSigned": rfc3339(award.contract_signed_at)}
    value = money(award.contract_amount) if award.contract_amount is not None else _price(award.bid)
    if value:
        contract["value"] = value
    release = _base(section, stage="contract", date=award.contract_signed_at, tags=["contract"],
                    parties=[_buyer(section), supplier])
    release.update(buyer=_ref(_buyer(section)), contracts=[contract])
    return release


def section_releases(section: Section, *, base_url: str) -> list[dict]:
    if section.status not in PUBLIC or section.published_at is None:
        return []
    releases = [tender_release(section, base_url=base_url)]
    for build in (opening_release, award_release, contract_release):
        release = build(section)
        if release is not None:
            releases.append(release)
    return releases


def release_package(releases: list[dict], *, uri: str) -> dict:
    published = max((r["date"] for r in releases), default=rfc3339(timezone.now()))
    package = {
        "uri": uri,
        "version": "1.1",
        "extensions": [BID_EXTENSION],
        "publishedDate": published,
        "publisher": {"name": str(settings.PLATFORM_NAME)},
        "releases": releases,
    }
    if license_url := settings.OCDS_LICENSE:
        package["license"] = license_url
    return package


def releases_between(*, start: datetime, end: datetime, base_url: str) -> list[dict]:
    """Every release whose date falls in [start, end]."""
    found = []
    sections = (Section.objects.filter(status__in=PUBLIC, published_at__lte=end).select_related("project__agency")
                .order_by("published_at"))
    for section in sections:
        for release in section_releases(section, base_url=base_url):
            moment = datetime.fromisoformat(release["date"])
            if start <= moment <= end:
                found.append(release)
    return sorted(found, key=lambda r: r["date"])
