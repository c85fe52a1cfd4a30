"""Refuse JSON request bodies over JSON_BODY_MAX_BYTES with 413, before any parser reads them.

Bid chunks (application/octet-stream) and file uploads (multipart) are not JSON: they keep their own limits
(DATA_UPLOAD_MAX_MEMORY_SIZE, BID_MAX_BYTES, TENDER_DOCUMENT_MAX_BYTES).
"""

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _


def is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def body_size(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return len(request.body)  # no Content-Length (chunked): the ASGI handler has already spooled it


class JsonBodyLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.JSON_BODY_MAX_BYTES
        if is_json(request.META.get("CONTENT_TYPE", "")) and body_size(request) > limit:
            message = _("The request body is too large: JSON bodies may be at most %(limit)s KiB.") % {
                "limit": limit // 1024}
            return JsonResponse({"error": {"code": "too_large", "message": message}}, status=413)
        return self.get_response(request)
