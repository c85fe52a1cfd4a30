"""专家库: supervisors keep the expert pool — records, status, the availability calendar, CSV import."""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from experts.models import SPECIALTIES, Expert, Unavailability
from experts.services.access import require_supervisor
from experts.services.errors import ExpertError
from timestamps.ledger import ledger_append
from trading.models import User
from trading.services.errors import DomainError, NotFound
from trading.services.text import clean_text
from trading.social_credit_code import CreditCodeError, credit_code_normalize

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CSV_COLUMNS = ["code", "name", "specialties", "region", "employer_name", "employer_credit_code", "title",
               "years_experience", "relationships", "phone", "username", "email"]
_LIST_SPLIT = re.compile(r"[;；、,，|]")


def _split(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = _LIST_SPLIT.split(value or "")
    return [str(item).strip() for item in items if str(item).strip()]


def _credit_code(raw: str, *, field_name: str) -> str:
    try:
        return credit_code_normalize(raw)
    except CreditCodeError as exc:
        raise ExpertError(exc.message, field=field_name) from None


def expert_fields_clean(*, code: str, name: str, specialties, employer_name: str, employer_credit_code: str,
                        region: str = "", title: str = "", years_experience=0, relationships=(),
                        phone: str = "", username: str = "", email: str = "") -> dict:
    """Validate one expert record; raise ExpertError naming the field that is wrong."""
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise ExpertError(_("An expert code is 1 to 32 letters, digits, '-' or '_'."), field="code")
    specialties = _split(specialties)
    if not specialties:
        raise ExpertError(_("Give at least one specialty."), field="specialties")
    unknown = [s for s in specialties if s not in SPECIALTIES]
    if unknown:
        raise ExpertError(_("Unknown specialty: %(s)s.") % {"s": "、".join(unknown)}, field="specialties")
    try:
        years = int(str(years_experience or 0).strip())
    except ValueError:
        raise ExpertError(_("Years of experience must be a whole number."), field="years_experience") from None
    if not 0 <= years <= 70:
        raise ExpertError(_("Years of experience must be between 0 and 70."), field="years_experience")
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ExpertError(_("Enter a valid e-mail address."), field="email") from None
    user = None
    if (username or "").strip():
        user = User.objects.filter(username=username.strip(), role=User.Role.EXPERT).first()
        if user is None:
            raise ExpertError(_("No expert account is called %(u)s.") % {"u": username}, field="username")
    return {
        "code": code,
        "name": clean_text(name, field="name", label=_("Name"), max_length=100),
        "specialties": sorted(dict.fromkeys(specialties)),
        "region": clean_text(region, field="region", label=_("Region"), max_length=100, required=False),
        "employer_name": clean_text(employer_name, field="employer_name", label=_("Employer"), max_length=200),
        "employer_credit_code": _credit_code(employer_credit_code, field_name="employer_credit_code"),
        "title": clean_text(title, field="title", label=_("Title"), max_length=100, required=False),
        "years_experience": years,
        "relationships": sorted({_credit_code(c, field_name="relationships") for c in _split(relationships)}),
        "phone": clean_text(phone, field="phone", label=_("Phone"), max_length=40, required=False),
        "email": email[:254],
        "user": user,
    }


def _save(fields: dict) -> tuple[Expert, bool]:
    user = fields["user"]
    if user is not None:
        other = Expert.objects.filter(user=user).exclude(code=fields["code"]).first()
        if other is not None:
            raise ExpertError(_("The account %(u)s already belongs to expert %(c)s.")
                              % {"u": user.username, "c": other.code}, field="username")
    expert, created = Expert.objects.update_or_create(code=fields["code"], defaults=fields)
    return expert, created


@transaction.atomic
def expert_save(*, actor, now: datetime | None = None, **raw) -> Expert:
    """Add an expert to the pool, or update the one with the same code."""
    require_supervisor(actor)
    expert, created = _save(expert_fields_clean(**raw))
    ledger_append(action="expert.created" if created else "expert.updated", actor=actor, obj=("expert", expert.code),
                  now=now, data={"specialties": expert.specialties, "employer": expert.employer_credit_code})
    return expert


def expert_get(code: str) -> Expert:
    expert = Expert.objects.filter(code=code).first()
    if expert is None:
        raise NotFound(_("No such expert."))
    return expert


@transaction.atomic
def expert_set_status(*, actor, code: str, status: str, reason: str = "", now: datetime | None = None) -> Expert:
    """Suspend, reinstate or remove an expert; suspended and removed experts are never drawn."""
    require_supervisor(actor)
    if status not in Expert.Status.values:
        raise ExpertError(_("Unknown status."), field="status")
    expert = Expert.objects.select_for_update().filter(code=code).first()
    if expert is None:
        raise NotFound(_("No such expert."))
    previous, expert.status = expert.status, status
    expert.save(update_fields=["status"])
    ledger_append(action="expert.status", actor=actor, obj=("expert", code), now=now,
                  data={"from": previous, "to": status, "reason": (reason or "")[:300]})
    return expert


def require_unavailability_actor(*, actor, code: str) -> None:
    """The expert itself or a supervisor; checked before the period is read."""
    expert = expert_get(code)
    if not (getattr(actor, "is_authenticated", False) and expert.user_id == actor.pk):
        require_supervisor(actor)


@transaction.atomic
def expert_unavailable_add(*, actor, code: str, starts_at: datetime, ends_at: datetime, reason: str = "",
                           now: datetime | None = None) -> Unavailability:
    """Mark a period in which the expert cannot be drawn. The expert itself may declare it too."""
    require_unavailability_actor(actor=actor, code=code)
    expert = expert_get(code)
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise ExpertError(_("The period must end after it starts."), field="ends_at")
    period = Unavailability.objects.create(expert=expert, starts_at=starts_at, ends_at=ends_at,
                                           reason=(reason or "")[:200])
    ledger_append(action="expert.unavailable", actor=actor, obj=("expert", code), now=now,
                  data={"from": starts_at.isoformat(), "to": ends_at.isoformat()})
    return period


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)  # {"row", "field", "message"}

    @property
    def ok(self) -> bool:
        return not self.errors


def _rows(data: bytes | str) -> list[dict]:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                data = data.decode("gb18030")
            except UnicodeDecodeError:
                raise ExpertError(_("The file is neither UTF-8 nor GB18030 text."), code="bad_csv") from None
    reader = csv.DictReader(io.StringIO(data))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in ("code", "name", "specialties", "employer_name", "employer_credit_code") if c not in header]
    if missing:
        raise ExpertError(_("The CSV header lacks the columns: %(c)s. Expected: %(all)s.")
                          % {"c": ", ".join(missing), "all": ",".join(CSV_COLUMNS)}, code="bad_csv")
    return [{(k or "").strip(): (v or "") for k, v in row.items() if k} for row in reader]


@transaction.atomic
def experts_import_csv(*, actor, data: bytes | str, now: datetime | None = None) -> ImportReport:
    """Import experts from CSV. Every row is checked first; if any row is wrong nothing is stored
    and the report names each bad row (row 2 is the first data row, as a spreadsheet shows it)."""
    require_supervisor(actor)
    now = now or timezone.now()
    report = ImportReport()
    cleaned, seen = [], {}
    for number, row in enumerate(_rows(data), start=2):
        try:
            fields = expert_fields_clean(**{k: row.get(k, "") for k in CSV_COLUMNS})
        except DomainError as exc:
            report.errors.append({"row": number, "field": exc.field or "", "message": str(exc.message)})
            continue
        if fields["code"] in seen:
            report.errors.append({"row": number, "field": "code", "message": _(
                "Expert code %(c)s already appears in row %(r)d.") % {"c": fields["code"], "r": seen[fields["code"]]}})
            continue
        seen[fields["code"]] = number
        cleaned.append((number, fields))
    if not cleaned and not report.errors:
        report.errors.append({"row": 1, "field": "", "message": _("The file holds no expert rows.")})
    if report.errors:
        return report
    with transaction.atomic():
        for number, fields in cleaned:
            try:
                _expert, created = _save(fields)
            except DomainError as exc:
                report.errors.append({"row": number, "field": exc.field or "", "message": str(exc.message)})
                continue
            report.created += created
            report.updated += not created
        if report.errors:
            transaction.set_rollback(True)
            report.created = report.updated = 0
            return report
    ledger_append(action="expert.imported", actor=actor, obj=("expert_pool", "csv"), now=now,
                  data={"created": report.created, "updated": report.updated})
    return report
