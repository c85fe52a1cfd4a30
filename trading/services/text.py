"""Checks for free text typed by users."""

from django.utils.translation import gettext_lazy as _

from trading.services.errors import DomainError


def clean_text(value: str | None, *, field: str, label, max_length: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError(_("%(label)s is required.") % {"label": label}, code="required", field=field)
    if len(text) > max_length:
        raise DomainError(
            _("%(label)s may be at most %(max)d characters long.") % {"label": label, "max": max_length},
            code="too_long", field=field,
        )
    if "\x00" in text:
        raise DomainError(_("%(label)s contains a forbidden character.") % {"label": label}, field=field)
    return text
