"""Turn every error into a 4xx JSON answer in the user's language: {"error": {"code", "message", "field"}}.

A condition that passes on a second try (trading/retryable.py) is a 503 with Retry-After instead.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from trading.retryable import busy_message, log_retryable, retry_after
from trading.services.errors import DomainError


def error_response(*, code: str, message, http_status: int, field: str | None = None) -> Response:
    body = {"error": {"code": code, "message": str(message)}}
    if field:
        body["error"]["field"] = field
    return Response(body, status=http_status)


def retry_later_response(*, seconds: int) -> Response:
    response = error_response(code="retry_later", message=busy_message(),
                              http_status=status.HTTP_503_SERVICE_UNAVAILABLE)
    response["Retry-After"] = str(seconds)
    return response


def exception_handler(exc, context):
    seconds = retry_after(exc)
    if seconds is not None:
        request = context.get("request")
        log_retryable(exc, seconds, request.path if request is not None else "")
        return retry_later_response(seconds=seconds)
    if isinstance(exc, DomainError):
        return error_response(code=exc.code, message=exc.message, http_status=exc.status_code, field=exc.field)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return error_response(code="not_found", message=_("Not found."), http_status=404)
    if isinstance(exc, exceptions.ParseError):
        return error_response(code="malformed", message=_("The request body is not valid JSON."),
                              http_status=400)
    if isinstance(exc, exceptions.NotAuthenticated):
        return error_response(code="not_authenticated", message=_("Log in first."), http_status=401)
    if isinstance(exc, exceptions.AuthenticationFailed):
        return error_response(code="authentication_failed", message=_("Invalid or expired token."),
                              http_status=401)
    if isinstance(exc, exceptions.PermissionDenied):
        return error_response(code="forbidden", message=_("You may not do this."), http_status=403)
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        return error_response(code="invalid", message=message, http_status=400, field=field)
    response = drf_exception_handler(exc, context)
    if response is not None:
        detail = getattr(exc, "detail", "")
        return error_response(code=getattr(exc, "default_code", "error"), message=detail,
                              http_status=response.status_code)
    return None


def _first_error(detail, field=None):
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        return _first_error(value, None if key == "non_field_errors" else key)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], field)
    return field, str(detail)


def bad_request(message, *, field: str | None = None, code: str = "invalid"):
    return error_response(code=code, message=message, http_status=status.HTTP_400_BAD_REQUEST, field=field)
