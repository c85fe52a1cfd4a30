"""Record the client IP for the audit ledger (R33); show a selector's domain errors as the 404 and 403 pages;
answer a condition that passes on a second try with 503 and Retry-After."""

from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404, HttpResponse, JsonResponse

from timestamps.ledger import current_ip
from trading.clientip import client_ip
from trading.retryable import busy_message, log_retryable, retry_after
from trading.services.errors import NotFound, PermissionDenied


class ClientIPMiddleware:
    """Every ledger entry made while answering a request carries the client's IP (trading.clientip)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


class DomainErrorMiddleware:
    """A page whose selector raises NotFound or PermissionDenied answers with the site's 404 or 403 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(str(exception.message)) from exception
        if isinstance(exception, PermissionDenied):
            raise HttpForbidden(str(exception.message)) from exception
        return None


class RetryableErrorMiddleware:
    """A page (not a DRF view: its handler answers for itself) that hits a retryable condition gets a 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        seconds = retry_after(exception)
        if seconds is None:
            return None
        log_retryable(exception, seconds, request.path)
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            response = JsonResponse({"error": {"code": "retry_later", "message": busy_message()}}, status=503)
        else:
            response = HttpResponse(busy_message(), status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(seconds)
        return response
