"""Show a service's DomainError to the user: next to its field when the form has it, else on top."""

from django import forms
from django.contrib import messages

from trading.services.errors import DomainError


def add_domain_error(form: forms.Form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc.message))


def flash_domain_error(request, exc: DomainError) -> None:
    messages.error(request, str(exc.message))
