"""Content-Security-Policy on every response (docs/decisions/0023-csp.md).

Scripts come only from our own origin: no inline <script> and no inline event handlers. ``json_script``
blocks are type="application/json", which browsers never execute, so they need no exception.
'wasm-unsafe-eval' lets the bid page compile WebAssembly later without allowing JavaScript eval.
"""

from django.conf import settings
from django.core.exceptions import DisallowedHost


def _socket_origin(request) -> str:
    try:
        return f" {'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
    except DisallowedHost:
        return ""  # the request itself is refused with 400; its page still gets the policy


def csp_header(request) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": "'self' 'wasm-unsafe-eval'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        # 'self' does not match ws:// in every browser; name the room's socket origin explicitly.
        "connect-src": "'self'" + _socket_origin(request),
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    if settings.CSP_REPORT_URI:
        directives["report-uri"] = settings.CSP_REPORT_URI
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = csp_header(request)
        return response
