"""HTTP face of the timestamp authority: RFC 3161 over HTTP (RFC 3161 §3.4) and the cert chain."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from timestamps.pki import TsaKeyError, certs_pem
from timestamps.tsa import (
    MAX_QUERY_BYTES,
    QUERY_CONTENT_TYPE,
    REPLY_CONTENT_TYPE,
    rejection_response,
    respond,
)

logger = logging.getLogger(__name__)


@csrf_exempt  # machine clients (openssl, signing tools) post raw DER without a session
@require_POST
def tsa_view(request: HttpRequest) -> HttpResponse:
    """POST /tsa: a DER TimeStampReq in, a DER TimeStampResp out."""
    if request.content_type != QUERY_CONTENT_TYPE:
        return HttpResponse(
            f"Content-Type must be {QUERY_CONTENT_TYPE}\n",
            status=415,
            content_type="text/plain; charset=utf-8",
        )
    if _declared_length(request) > MAX_QUERY_BYTES:
        return _too_large()
    query = request.read(MAX_QUERY_BYTES + 1)
    if len(query) > MAX_QUERY_BYTES:
        return _too_large()
    try:
        reply = respond(query, directory=settings.TSA_DIR)
    except TsaKeyError:
        logger.exception("timestamp authority keys unavailable")
        return _reply(rejection_response("system_failure", "TSA unavailable"), status=503)
    return _reply(reply.der, status=200 if reply.granted else 400)


@require_safe
def certs_pem_view(request: HttpRequest) -> HttpResponse:
    """GET /tsa/certs.pem: the TSA certificate followed by its issuing CA."""
    try:
        chain = certs_pem(settings.TSA_DIR)
    except TsaKeyError:
        logger.exception("timestamp authority keys unavailable")
        return HttpResponse(
            "TSA unavailable\n", status=503, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(chain, content_type="application/pem-certificate-chain")
    response["Content-Disposition"] = 'inline; filename="certs.pem"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _too_large() -> HttpResponse:
    return HttpResponse(
        f"query larger than {MAX_QUERY_BYTES} bytes\n",
        status=413,
        content_type="text/plain; charset=utf-8",
    )


def _reply(der: bytes, *, status: int) -> HttpResponse:
    response = HttpResponse(der, status=status, content_type=REPLY_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
