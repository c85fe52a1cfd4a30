"""项目登记 and 标段: registering projects, sections and their tender documents."""

import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.files import HashingSink, stored_writer
from trading.models import Organization, Project, Section, TenderDocument, User
from trading.services.errors import Conflict, DomainError, PermissionDenied, SectionError
from trading.services.text import clean_text

MAX_PRICE = Decimal("9999999999999.99")
DEFAULT_OPENING_FORM = [
    {"key": "price", "label": "投标报价（元）/ Bid price (CNY)", "type": "money"},
    {"key": "duration_days", "label": "工期（日历天）/ Duration (days)", "type": "integer"},
]


def money(value: Any, *, field: str, label) -> Decimal:
    """Parse an amount of money: positive, at most 2 decimals, never a float."""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise DomainError(_("%(label)s must be an amount such as 1234567.89.") % {"label": label},
                          field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        raise DomainError(_("%(label)s is out of range.") % {"label": label}, field=field)
    if amount.as_tuple().exponent < -2:
        raise DomainError(_("%(label)s may have at most 2 decimals.") % {"label": label}, field=field)
    return amount.quantize(Decimal("0.01"))


def _require_agency(user: User, agency: Organization | None = None) -> None:
    if not user.has_role(User.Role.AGENCY) or user.organization is None:
        raise PermissionDenied(_("Only an agency can do this."))
    if agency is not None and user.organization_id != agency.pk:
        raise PermissionDenied(_("This project belongs to another agency."))


def require_section_agency(user: User, section: Section) -> None:
    """The section's own agency may act; anyone else is refused before a view reads the request's body."""
    _require_agency(user, section.project.agency)


@transaction.atomic
def project_register(*, user: User, code: str, name: str, owner_name: str, category: str, funding: str,
                     estimated_price: Any, must_tender: bool = True, region: str = "",
                     description: str = "") -> Project:
    _require_agency(user)
    if category not in Project.Category.values:
        raise DomainError(_("Choose a category."), field="category")
    if funding not in Project.Funding.values:
        raise DomainError(_("Choose the funding."), field="funding")
    project = Project(
        code=clean_text(code, field="code", label=_("Project code"), max_length=64),
        name=clean_text(name, field="name", label=_("Project name"), max_length=200),
        owner_name=clean_text(owner_name, field="owner_name", label=_("Owner"), max_length=200),
        agency=user.organization, category=category, funding=funding,
        estimated_price=money(estimated_price, field="estimated_price", label=_("Estimated price")),
        must_tender=bool(must_tender),
        region=clean_text(region, field="region", label=_("Region"), max_length=100, required=False),
        description=clean_text(description, field="description", label=_("Description"),
                               max_length=20000, required=False),
        created_by=user,
    )
    if project.estimated_price <= 0:
        raise DomainError(_("The estimated price must be more than zero."), field="estimated_price")
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as exc:
        raise Conflict(_("A project with this code is already registered."), field="code") from exc
    ledger_append(action="project.registered", actor=user, obj=project,
                  data={"code": project.code, "name": project.name, "category": category,
                        "estimated_price": str(project.estimated_price)})
    return project


def _clean_criteria(criteria: Any) -> list[dict]:
    if criteria in (None, ""):
        return []
    if not isinstance(criteria, list):
        raise DomainError(_("The criteria must be a list."), field="criteria")
    cleaned, total = [], Decimal(0)
    for index, item in enumerate(criteria, start=1):
        if not isinstance(item, dict):
            raise DomainError(_("Criterion %(n)d is malformed.") % {"n": index}, field="criteria")
        name = clean_text(item.get("name"), field="criteria", label=_("Criterion name"), max_length=100)
        max_score = money(item.get("max_score"), field="criteria", label=_("Maximum score"))
        kind = item.get("kind", "technical")
        if kind not in {"technical", "commercial", "price"}:
            raise DomainError(_("Criterion %(n)d has an unknown kind.") % {"n": index}, field="criteria")
        total += max_score
        cleaned.append({"name": name, "max_score": str(max_score), "kind": kind})
    if cleaned and total != Decimal(100):
        raise DomainError(_("The criteria's maximum scores must add up to 100."), field="criteria")
    return cleaned


def _clean_opening_form(fields: Any) -> list[dict]:
    if not fields:
        return [dict(f) for f in DEFAULT_OPENING_FORM]
    if not isinstance(fields, list):
        raise DomainError(_("The opening form must be a list of fields."), field="opening_form_fields")
    keys, cleaned = set(), []
    for item in fields:
        if not isinstance(item, dict) or not str(item.get("key", "")).isidentifier():
            raise DomainError(_("Each opening form field needs a key made of letters, digits and _."),
                              field="opening_form_fields")
        if item["key"] in keys:
            raise DomainError(_("Opening form field keys must be unique."), field="opening_form_fields")
        keys.add(item["key"])
        cleaned.append({
            "key": item["key"],
            "label": clean_text(item.get("label") or item["key"], field="opening_form_fields",
                                label=_("Field label"), max_length=100),
            "type": item.get("type") if item.get("type") in {"money", "integer", "text"} else "text",
        })
    if "price" not in keys:
        raise DomainError(_("The opening form must contain the price."), field="opening_form_fields")
    return cleaned


def _clean_opening_config(config: Any) -> dict:
    """Minutes for the opening room's sign-in, decryption, objection and record confirmation windows."""
    if not isinstance(config, dict) or set(config) - set(Section.OPENING_DEFAULTS):
        raise DomainError(_("The opening timing accepts signin_minutes, decrypt_minutes, objection_minutes and "
                          "confirm_minutes."),
                          field="opening_config")
    cleaned = {}
    for key, value in config.items():
        try:
            minutes = float(value)
        except (TypeError, ValueError):
            minutes = -1
        if not 0.05 <= minutes <= 24 * 60:
            raise DomainError(_("Each opening window must be between 3 seconds and 24 hours."), field="opening_config")
        cleaned[key] = minutes
    return cleaned


def _section_fields(data: dict, *, now: datetime) -> dict:
    fields: dict[str, Any] = {}
    if "title" in data:
        fields["title"] = clean_text(data["title"], field="title", label=_("Section title"), max_length=200)
    if "estimated_price" in data:
        fields["estimated_price"] = money(data["estimated_price"], field="estimated_price",
                                          label=_("Estimated price"))
        if fields["estimated_price"] <= 0:
            raise DomainError(_("The estimated price must be more than zero."), field="estimated_price")
    if "deposit_amount" in data:
        fields["deposit_amount"] = money(data["deposit_amount"], field="deposit_amount", label=_("Deposit"))
    for name in ("bid_deadline", "documents_from", "documents_until"):
        if name in data and data[name] is not None:
            value = data[name]
            if not isinstance(value, datetime) or timezone.is_naive(value):
                raise DomainError(_("Give a date and time with its time zone."), field=name)
            fields[name] = value
    if "bid_deadline" in fields and fields["bid_deadline"] <= now:
        raise SectionError(_("The bid deadline is in the past."), code="deadline_past", field="bid_deadline")
    if "bid_validity_days" in data:
        try:
            days = int(data["bid_validity_days"])
        except (TypeError, ValueError):
            days = 0
        if not 1 <= days <= 365:
            raise DomainError(_("Bid validity must be 1 to 365 days."), field="bid_validity_days")
        fields["bid_validity_days"] = days
    if "evaluation_method" in data:
        if data["evaluation_method"] not in Section.EvaluationMethod.values:
            raise DomainError(_("Choose an evaluation method."), field="evaluation_method")
        fields["evaluation_method"] = data["evaluation_method"]
    if "criteria" in data:
        fields["criteria"] = _clean_criteria(data["criteria"])
    if "opening_form_fields" in data:
        fields["opening_form_fields"] = _clean_opening_form(data["opening_form_fields"])
    if "opening_config" in data:
        fields["opening_config"] = _clean_opening_config(data["opening_config"])
    if "announcement" in data:
        fields["announcement"] = clean_text(data["announcement"], field="announcement",
                                            label=_("Announcement"), max_length=50000, required=False)
    return fields


def _check_deposit_cap(section: Section) -> None:
    """R15: the deposit is at most 2% of the estimated price (the budget in government procurement)."""
    cap = section.deposit_cap()
    if section.deposit_amount > cap:
        raise SectionError(
            _("R15: the deposit %(deposit)s exceeds %(percent)s%% of the estimated price (at most %(cap)s).")
            % {"deposit": section.deposit_amount, "percent": settings.RULE_DEPOSIT_CAP_PERCENT, "cap": cap},
            code="deposit_over_cap", field="deposit_amount",
        )


@transaction.atomic
def section_create(*, user: User, project: Project, now: datetime | None = None, **data) -> Section:
    _require_agency(user, project.agency)
    now = now or timezone.now()
    for required in ("title", "estimated_price", "bid_deadline", "evaluation_method"):
        if data.get(required) in (None, ""):
            raise DomainError(_("This field is required."), code="required", field=required)
    fields = _section_fields(data, now=now)
    fields.setdefault("opening_form_fields", _clean_opening_form(None))
    number = (project.sections.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    section = Section(project=project, number=number, status_changed_at=now, **fields)
    _check_deposit_cap(section)
    section.save()
    ledger_append(action="section.created", actor=user, obj=section,
                  data={"project": project.public_id, "title": section.title,
                        "deadline": section.bid_deadline.isoformat()})
    return section


@transaction.atomic
def section_update(*, user: User, section_id: int, now: datetime | None = None, **data) -> Section:
    now = now or timezone.now()
    section = Section.objects.select_for_update().select_related("project").get(pk=section_id)
    _require_agency(user, section.project.agency)
    if section.status != Section.Status.DRAFT:
        raise SectionError(_("A published section changes only through clarifications and amendments."),
                           code="not_draft")
    fields = _section_fields(data, now=now)
    for name, value in fields.items():
        setattr(section, name, value)
    _check_deposit_cap(section)
    section.save()
    ledger_append(action="section.updated", actor=user, obj=section, data={"fields": sorted(fields)})
    return section


def _store_stream(chunks, *, prefix: str, max_bytes: int) -> tuple[str, int, str]:
    """Write chunks to the file store while hashing them; refuse empty or oversized files."""
    name = f"{prefix}/{uuid.uuid4().hex}"
    with stored_writer(name) as sink:
        out = HashingSink(sink)
        for chunk in chunks:
            if out.size + len(chunk) > max_bytes:
                raise DomainError(
                    _("The file is larger than the limit of %(mb)d MB.") % {"mb": max_bytes // 2**20},
                    code="too_large", field="file")
            out.write(chunk)
        if out.size == 0:
            raise DomainError(_("The file is empty."), code="empty", field="file")
    return name, out.size, out.digest.hexdigest()


def _clean_file_name(name: str) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return clean_text(base, field="file", label=_("File name"), max_length=200)


@transaction.atomic
def document_add(*, user: User, section_id: int, name: str, chunks, kind: str = TenderDocument.Kind.TENDER,
                 now: datetime | None = None) -> TenderDocument:
    """Store a tender document or amendment with its SHA-256."""
    section = Section.objects.select_for_update().select_related("project").get(pk=section_id)
    _require_agency(user, section.project.agency)
    if kind not in TenderDocument.Kind.values:
        raise DomainError(_("Unknown document kind."), field="kind")
    if section.status not in (Section.Status.DRAFT, Section.Status.PUBLISHED):
        raise SectionError(_("Documents can no longer be added to this section."), code="closed")
    if section.status == Section.Status.PUBLISHED and kind == TenderDocument.Kind.TENDER:
        kind = TenderDocument.Kind.AMENDMENT
    file_name = _clean_file_name(name)
    path, size, sha = _store_stream(chunks, prefix=f"documents/{section.public_id}",
                                    max_bytes=settings.TENDER_DOCUMENT_MAX_BYTES)
    doc = TenderDocument.objects.create(section=section, kind=kind, name=file_name, size=size, sha256=sha,
                                        storage_path=path, uploaded_by=user,
                                        uploaded_at=now or timezone.now())
    ledger_append(action="document.added", actor=user, obj=section,
                  data={"name": file_name, "size": size, "sha256": sha, "kind": kind})
    return doc
