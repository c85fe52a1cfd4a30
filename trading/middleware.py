"""Record the client IP for the audit ledger (R33)."""

from django.conf import settings

from timestamps.ledger import current_ip


def client_ip(meta: dict) -> str:
    if settings.TRUST_X_FORWARDED_FOR and meta.get("HTTP_X_FORWARDED_FOR"):
        return meta["HTTP_X_FORWARDED_FOR"].split(",")[-1].strip()[:45]
    return (meta.get("REMOTE_ADDR") or "")[:45]


class ClientIPMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(client_ip(request.META))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)
