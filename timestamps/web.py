"""The public verification page (/verify/) and the published certificates (/certificates/), no login.

The page runs the same code as the offline verifier (timestamps.verification); only the certificates
come from the server's key directories instead of the command line.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from timestamps.published import published_certificates, seal_ca_pem, tsa_chain_pem
from timestamps.verification import (
    Verdict,
    hex_digest_read,
    pdf_verify,
    receipt_json_read,
    receipt_verify,
)

logger = logging.getLogger(__name__)
TOKEN_MAX_BYTES = 64 * 1024
PDF_MAX_BYTES = 20 * 1024 * 1024

CHECK_TITLES = {
    "chain": gettext_lazy("TSA certificate chain"),
    "token": gettext_lazy("Timestamp token"),
    "policy": gettext_lazy("Timestamp policy"),
    "digest": gettext_lazy("Envelope digest"),
    "signature": gettext_lazy("Signature"),
    "validity": gettext_lazy("Certificate valid at the stamped time"),
    "certificates": gettext_lazy("Certificates"),
    "pdf": gettext_lazy("PDF file"),
    "intact": gettext_lazy("Document unchanged since sealing"),
    "chain_pdf": gettext_lazy("Seal certificate chain"),
    "coverage": gettext_lazy("Nothing added after sealing"),
    "timestamp": gettext_lazy("Seal timestamp"),
    "cosign": gettext_lazy("Co-signatures attached"),
    "cosign-draft": gettext_lazy("Co-signed draft matches"),
    "cosign-signature": gettext_lazy("Co-signature"),
}


class _BadInput(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.status = message, status


@require_safe
def seal_ca_view(request: HttpRequest) -> HttpResponse:
    """GET /tsa/seal-ca.pem: the CA that issues the platform's PDF seal certificate."""
    try:
        pem = seal_ca_pem()
    except OSError:
        logger.exception("document signing keys unavailable")
        return HttpResponse("seal CA unavailable\n", status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'inline; filename="seal-ca.pem"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


ROLE_NAMES = {
    "tsa": gettext_lazy("Timestamp authority (TSA) certificate"),
    "tsa_ca": gettext_lazy("TSA root CA"),
    "seal_ca": gettext_lazy("PDF seal root CA"),
}


@require_safe
def certificates_view(request: HttpRequest) -> HttpResponse:
    certificates = [{"role": ROLE_NAMES[cert.role], "url": request.build_absolute_uri(cert.path),
                     "subject": cert.subject, "fingerprint": cert.fingerprint}
                    for cert in published_certificates()]
    return render(request, "timestamps/certificates.html", {"certificates": certificates})


@require_http_methods(["GET", "HEAD", "POST"])
def verify_view(request: HttpRequest) -> HttpResponse:
    """GET: the page; POST: verify an uploaded receipt or sealed PDF (HTML, or JSON when asked for)."""
    wants_json = "application/json" in request.headers.get("Accept", "")
    if request.method != "POST":
        return render(request, "timestamps/verify.html", _page_context())
    try:
        verdict = _verify_upload(request)
    except _BadInput as exc:
        if wants_json:
            return JsonResponse({"error": exc.message}, status=exc.status)
        return render(request, "timestamps/verify.html", {**_page_context(), "error": exc.message}, status=exc.status)
    result = _result(verdict)
    if wants_json:
        return JsonResponse(result)
    return render(request, "timestamps/verify.html", {**_page_context(), "result": result})


def _page_context() -> dict:
    return {"token_max_kib": TOKEN_MAX_BYTES // 1024, "pdf_max_mib": PDF_MAX_BYTES // (1024 * 1024)}


def _verify_upload(request: HttpRequest) -> Verdict:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > PDF_MAX_BYTES + 64 * 1024:  # refuse before the upload is parsed and spooled
        raise _BadInput(_("The file is too large: a sealed PDF may be at most %(mib)s MiB.")
                        % {"mib": PDF_MAX_BYTES // (1024 * 1024)}, status=413)
    kind = request.POST.get("kind")
    if kind == "pdf":
        pdf = _upload(request, "pdf", PDF_MAX_BYTES, _("Choose the sealed PDF to verify."),
                      _("The file is too large: a sealed PDF may be at most %(mib)s MiB.")
                      % {"mib": PDF_MAX_BYTES // (1024 * 1024)})
        return pdf_verify(pdf=pdf, seal_ca_pem=seal_ca_pem(), tsa_certs_pem=tsa_chain_pem())
    if kind == "receipt":
        return _verify_receipt(request)
    raise _BadInput(_("Choose what to verify: a receipt or a sealed PDF."))


def _verify_receipt(request: HttpRequest) -> Verdict:
    raw = _upload(request, "receipt", TOKEN_MAX_BYTES, _("Choose the receipt file (.tsr or receipt.json)."),
                  _("The file is too large: a receipt may be at most %(kib)s KiB.")
                  % {"kib": TOKEN_MAX_BYTES // 1024})
    digest = None
    if raw.lstrip()[:1] == b"{":
        try:
            raw, digest = receipt_json_read(raw)
        except ValueError as exc:
            raise _BadInput(_("This JSON file is not a bid receipt.")) from exc
    typed = request.POST.get("digest", "").strip()
    if typed:
        try:
            digest = hex_digest_read(typed)
        except ValueError as exc:
            raise _BadInput(_("The envelope digest must be 64 hexadecimal characters (SHA-256).")) from exc
    if digest is None:
        raise _BadInput(_("Choose the envelope file or enter its SHA-256 digest."))
    return receipt_verify(token=raw, certs_pem=tsa_chain_pem(), digest=digest)


def _upload(request: HttpRequest, name: str, limit: int, missing: str, too_large: str) -> bytes:
    upload = request.FILES.get(name)
    if upload is None or upload.size == 0:
        raise _BadInput(missing)
    if upload.size > limit:
        raise _BadInput(too_large, status=413)
    return upload.read()


def _result(verdict: Verdict) -> dict:
    codes = {"chain": "chain_pdf"} if verdict.kind == "pdf" else {}
    return {
        "kind": verdict.kind,
        "ok": verdict.ok,
        "signed_at": verdict.signed_at.isoformat() if verdict.signed_at else None,
        "certificates": [{"role": role, "subject": subject, "fingerprint": print_}
                         for role, subject, print_ in verdict.certificates],
        "checks": [{"code": check.code, "ok": check.ok, "detail": check.detail,
                    "title": str(CHECK_TITLES.get(codes.get(check.code, check.code), check.code))}
                   for check in verdict.checks],
        "facts": verdict.facts,
    }
