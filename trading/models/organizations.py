"""Organizations, users and their roles."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.ids import public_id


def _org_public_id() -> str:
    return public_id("o")


class Organization(models.Model):
    """A party that acts on the platform: an agency (招标人/代理), a bidder (投标人), or staff."""

    class Kind(models.TextChoices):
        AGENCY = "agency", _("Tenderer or agency")
        BIDDER = "bidder", _("Bidder")
        EXPERT_EMPLOYER = "employer", _("Expert's employer")
        SUPERVISION = "supervision", _("Supervising department")
        PLATFORM = "platform", _("Trading centre")

    public_id = models.CharField(max_length=24, unique=True, default=_org_public_id, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    basic_account_bank = models.CharField(_("basic account bank"), max_length=200, blank=True)
    basic_account_number = models.CharField(_("basic account number"), max_length=40, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who acts for one organization in one role."""

    class Role(models.TextChoices):
        AGENCY = "agency", _("Agency")
        BIDDER = "bidder", _("Bidder")
        EXPERT = "expert", _("Expert")
        SUPERVISOR = "supervisor", _("Supervisor")
        ADMIN = "admin", _("Platform administrator")

    STAFF_ROLES = (Role.AGENCY, Role.SUPERVISOR, Role.ADMIN)

    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    phone = models.CharField(_("mobile phone"), max_length=40, blank=True)
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_enabled = models.BooleanField(_("two-factor login"), default=False)
    # A replacement key waits here until a code from it is confirmed, so replacing never switches 2FA off.
    totp_pending_secret = models.CharField(max_length=64, blank=True)
    # The last accepted TOTP time step: a code is accepted once, and never one older than it.
    totp_last_step = models.BigIntegerField(null=True, blank=True)

    @property
    def is_staff_role(self) -> bool:
        return self.role in self.STAFF_ROLES

    def has_role(self, *roles: str) -> bool:
        return self.is_authenticated and self.is_active and self.role in roles


class ApiToken(models.Model):
    """An API bearer token; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"ApiToken {self.pk}"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User) -> str:
        raw = secrets.token_urlsafe(32)
        cls.objects.create(user=user, digest=cls.digest_of(raw))
        return raw

    @staticmethod
    def lifetime() -> timedelta:
        return timedelta(hours=settings.API_TOKEN_TTL_HOURS)

    @property
    def expires_at(self) -> datetime:
        """Computed from the setting, so that shortening API_TOKEN_TTL_HOURS also ends older tokens."""
        return self.created_at + self.lifetime()

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at


class RecoveryCode(models.Model):
    """A one-time code that stands in for a TOTP code when the phone is lost; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"RecoveryCode {self.pk}"

    @staticmethod
    def normalize(raw: str) -> str:
        return "".join(ch for ch in (raw or "").lower() if ch.isalnum())

    @classmethod
    def digest_of(cls, raw: str) -> str:
        return hashlib.sha256(cls.normalize(raw).encode()).hexdigest()
