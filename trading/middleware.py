"""Record the client IP for the audit ledger (R33); show a selector's domain errors as the 404 and 403 pages."""

from django.core.exceptions import PermissionDenied as HttpForbidden
from django.http import Http404

from timestamps.ledger import current_ip
from trading.clientip import client_ip
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
