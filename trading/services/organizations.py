"""Organizations and the people who act for them."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading.models import Organization, User
from trading.services.errors import Conflict, DomainError, OrganizationError
from trading.services.text import clean_text
from trading.social_credit_code import CreditCodeError, credit_code_normalize

ROLE_FOR_KIND = {
    Organization.Kind.AGENCY: User.Role.AGENCY,
    Organization.Kind.BIDDER: User.Role.BIDDER,
    Organization.Kind.SUPERVISION: User.Role.SUPERVISOR,
    Organization.Kind.PLATFORM: User.Role.ADMIN,
}


def _clean_account_number(raw: str) -> str:
    number = "".join((raw or "").split())
    if not number.isdigit() or not 8 <= len(number) <= 32:
        raise OrganizationError(
            _("The basic account number must be 8 to 32 digits."), field="basic_account_number"
        )
    return number


@transaction.atomic
def organization_register(*, kind: str, name: str, credit_code: str, legal_representative: str = "",
                          basic_account_bank: str = "", basic_account_number: str = "",
                          contact_phone: str = "", address: str = "", actor=None) -> Organization:
    """Register an organization; a bidder must give its legal representative and basic account (基本账户)."""
    if kind not in Organization.Kind.values:
        raise OrganizationError(_("Unknown organization kind."), field="kind")
    try:
        code = credit_code_normalize(credit_code)
    except CreditCodeError as exc:
        raise OrganizationError(exc.message, code="bad_credit_code", field="credit_code") from exc
    org = Organization(
        kind=kind,
        name=clean_text(name, field="name", label=_("Organization name"), max_length=200),
        credit_code=code,
        legal_representative=clean_text(legal_representative, field="legal_representative",
                                         label=_("Legal representative"), max_length=100,
                                         required=kind == Organization.Kind.BIDDER),
        basic_account_bank=clean_text(basic_account_bank, field="basic_account_bank",
                                      label=_("Basic account bank"), max_length=200,
                                      required=kind == Organization.Kind.BIDDER),
        contact_phone=clean_text(contact_phone, field="contact_phone", label=_("Contact phone"),
                                 max_length=40, required=False),
        address=clean_text(address, field="address", label=_("Address"), max_length=300, required=False),
    )
    if kind == Organization.Kind.BIDDER or basic_account_number:
        org.basic_account_number = _clean_account_number(basic_account_number)
    if Organization.objects.filter(credit_code=code).exists():
        raise Conflict(_("An organization with this credit code is already registered."),
                       field="credit_code")
    try:
        with transaction.atomic():
            org.save()
    except IntegrityError as exc:
        raise Conflict(_("An organization with this credit code is already registered."),
                       field="credit_code") from exc
    ledger_append(action="organization.registered", actor=actor, obj=org,
                  data={"kind": kind, "name": org.name, "credit_code": code})
    return org


@transaction.atomic
def user_create(*, username: str, password: str, role: str, organization: Organization | None,
                full_name: str = "", phone: str = "", actor=None) -> User:
    if role not in User.Role.values:
        raise DomainError(_("Unknown role."), field="role")
    username = clean_text(username, field="username", label=_("User name"), max_length=150)
    if User.objects.filter(username=username).exists():
        raise Conflict(_("This user name is taken."), field="username")
    if role in (User.Role.AGENCY, User.Role.BIDDER) and organization is None:
        raise DomainError(_("This role acts for an organization."), field="organization")
    user = User(username=username, role=role, organization=organization, phone=phone,
                first_name=full_name[:150], is_staff=role == User.Role.ADMIN,
                is_superuser=role == User.Role.ADMIN)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), code="weak_password", field="password") from exc
    user.set_password(password)
    user.save()
    ledger_append(action="user.created", actor=actor, obj=("trading.user", user.username),
                  data={"role": role, "organization": organization.public_id if organization else None})
    return user


@transaction.atomic
def bidder_signup(*, username: str, password: str, phone: str = "", **org_fields) -> User:
    """Self-service registration of a bidder company and its first user."""
    org = organization_register(kind=Organization.Kind.BIDDER, **org_fields)
    return user_create(username=username, password=password, role=User.Role.BIDDER,
                       organization=org, phone=phone, actor=username)
