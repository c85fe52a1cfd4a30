"""RFC 3161 timestamp authority (时间戳服务): answer TimeStampReq and issue TimeStampTokens.

Pure logic, no database. Every function takes the key ``directory``; ``None`` means
``settings.TSA_DIR``. Tokens are CMS SignedData over a TSTInfo, signed with ECDSA P-256 and
carrying ESS signingCertificateV2, so ``openssl ts -verify`` accepts them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asn1crypto import algos, cms, core, tsp

from timestamps.pki import TsaIdentity, TsaKeyError, load_tsa
from timestamps.tokens import (
    _ECDSA_SHA256,
    TimestampError,
    TimeStampResp,
    TokenInfo,
    _check_signature,
    _open_token,
    _token_info,
)

# A UUID OID (X.667), chosen once: the policy under which this TSA issues every token.
POLICY_OID = "2.25.184493008084452747880966849279561971645"
MAX_QUERY_BYTES = 64 * 1024
# SHA-1 is refused (badAlg): its collisions are practical, so a token over a SHA-1 imprint proves little.
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
QUERY_CONTENT_TYPE = "application/timestamp-query"
REPLY_CONTENT_TYPE = "application/timestamp-reply"


@dataclass(frozen=True)
class TsaReply:
    """A DER TimeStampResp and whether it grants a token (``failure`` names the reason if not)."""

    der: bytes
    granted: bool
    failure: str | None = None


class _Rejected(Exception):
    def __init__(self, failure: str, message: str) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message


def respond(
    query_der: bytes, *, directory: Path | None = None, now: dt.datetime | None = None
) -> TsaReply:
    """Answer one DER TimeStampReq with a DER TimeStampResp (granted, or a rejection)."""
    identity = _identity(directory)  # missing keys are a server fault, whatever the query
    try:
        query = _parse_query(query_der)
        token = _issue_token(
            identity,
            imprint_der=query.imprint_der,
            nonce=query.nonce,
            cert_req=query.cert_req,
            now=now,
        )
    except _Rejected as exc:
        return TsaReply(rejection_response(exc.failure, exc.message), False, exc.failure)
    return TsaReply(_tlv(0x30, _GRANTED_STATUS_DER + token), True)


def timestamp_digest(
    digest: bytes,
    *,
    hash_name: str = "sha256",
    nonce: int | None = None,
    cert_req: bool = True,
    directory: Path | None = None,
    now: dt.datetime | None = None,
) -> bytes:
    """Issue a DER TimeStampToken (CMS ContentInfo) over ``digest`` for in-process use."""
    problem = _digest_problem(hash_name, digest)
    if problem:
        raise TimestampError(problem)
    imprint_der = _tlv(0x30, _IMPRINT_ALG_DER[hash_name] + _tlv(0x04, digest))
    return _issue_token(
        _identity(directory), imprint_der=imprint_der, nonce=nonce, cert_req=cert_req, now=now
    )


def token_to_response(token_der: bytes) -> bytes:
    """Wrap a bare TimeStampToken into a granted DER TimeStampResp (an ``.tsr`` file)."""
    try:
        content_type = cms.ContentInfo.load(token_der, strict=True)["content_type"].native
    except Exception as exc:
        raise TimestampError("malformed timestamp token") from exc
    if content_type != "signed_data":
        raise TimestampError("not a timestamp token")
    return _tlv(0x30, _GRANTED_STATUS_DER + token_der)


def rejection_response(failure: str, message: str) -> bytes:
    """A DER TimeStampResp with status rejection and the given PKIFailureInfo name."""
    status = tsp.PKIStatusInfo(
        {"status": "rejection", "status_string": [message], "fail_info": {failure}}
    )
    # Built by hand: asn1crypto's TimeStampResp wrongly requires timeStampToken (OPTIONAL in RFC 3161).
    return _tlv(0x30, status.dump())


def token_info(token_der: bytes) -> dict[str, Any]:
    """Read a token (or granted response) without checking its signature."""
    _, _, tst = _open_token(token_der)
    return asdict(_token_info(tst))


def verify_token(token_der: bytes, digest: bytes, *, directory: Path | None = None) -> TokenInfo:
    """Check a token (or granted response) is ours, unaltered, and stamps ``digest``."""
    identity = _identity(directory)
    signed_data, tst_der, tst = _open_token(token_der)
    info = _token_info(tst)
    if info.policy != POLICY_OID:
        raise TimestampError(f"token policy {info.policy} is not ours")
    problem = _digest_problem(info.hash_name, digest)
    if problem:
        raise TimestampError(problem)
    if not hmac.compare_digest(info.digest, digest):
        raise TimestampError("token does not stamp this digest")
    _check_signature(identity, signed_data, tst_der)
    return info


# -- issuing -----------------------------------------------------------------------------------


def _identity(directory: Path | None) -> TsaIdentity:
    if directory is None:
        from django.conf import settings

        directory = settings.TSA_DIR
    return load_tsa(directory)


@dataclass(frozen=True)
class _Query:
    imprint_der: bytes
    nonce: int | None
    cert_req: bool


def _parse_query(query_der: bytes) -> _Query:
    if len(query_der) > MAX_QUERY_BYTES:
        raise _Rejected("bad_request", "query too large")
    try:
        query = tsp.TimeStampReq.load(query_der, strict=True)
        # asn1crypto parses lazily: read every field here, so bad DER becomes a rejection.
        version = query["version"].native
        hash_name = query["message_imprint"]["hash_algorithm"]["algorithm"].native
        params = query["message_imprint"]["hash_algorithm"]["parameters"].native
        digest = query["message_imprint"]["hashed_message"].native
        policy = query["req_policy"].dotted if query["req_policy"].native is not None else None
        nonce = query["nonce"].native
        cert_req = bool(query["cert_req"].native)
        has_extensions = bool(query["extensions"].native)
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, OverflowError...
        raise _Rejected("bad_data_format", "malformed TimeStampReq") from exc
    if version != "v1":
        raise _Rejected("bad_request", "unsupported TimeStampReq version")
    if params is not None:
        raise _Rejected("bad_alg", "hash algorithm parameters must be absent or NULL")
    problem = _digest_problem(hash_name, digest)
    if problem:
        raise _Rejected("bad_alg", problem)
    if policy is not None and policy != POLICY_OID:
        raise _Rejected("unaccepted_policy", f"this TSA only issues under policy {POLICY_OID}")
    if has_extensions:
        raise _Rejected("unaccepted_extensions", "extensions are not supported")
    return _Query(query["message_imprint"].dump(), nonce, cert_req)


def _digest_problem(hash_name: str, digest: bytes) -> str | None:
    size = DIGEST_SIZES.get(hash_name)
    if hash_name == "sha1":
        return "SHA-1 is not accepted; use SHA-256 or stronger"
    if size is None:
        return f"unsupported hash algorithm {hash_name}"
    if len(digest) != size:
        return f"{hash_name} digest must be {size} bytes, not {len(digest)}"
    return None


def _issue_token(
    identity: TsaIdentity,
    *,
    imprint_der: bytes,
    nonce: int | None,
    cert_req: bool,
    now: dt.datetime | None,
) -> bytes:
    # Built from DER pieces rather than asn1crypto objects: composing SignedData through
    # asn1crypto re-encodes the certificate on every call and caps us at ~150 tokens/s.
    # tests/test_tsa.py checks the result re-encodes byte-for-byte through asn1crypto.
    if now is not None and now.tzinfo is None:
        raise TimestampError("now must be timezone-aware")  # a naive time would mean local time
    gen_time = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    tst_der = _tlv(
        0x30,
        b"".join(
            (
                _VERSION_1,
                _POLICY_DER,
                imprint_der,
                _integer(_new_serial()),
                _generalized_time(gen_time),
                _ACCURACY_DER,
                b"" if nonce is None else _integer(nonce),
                _tlv(0xA0, identity.tsa_name_der),  # tsa [0] EXPLICIT GeneralName
            )
        ),
    )
    message_digest_attr = _tlv(
        0x30, _MESSAGE_DIGEST_OID_DER + _tlv(0x31, _tlv(0x04, hashlib.sha256(tst_der).digest()))
    )
    # DER orders a SET OF by encoding; the signature covers the attributes as a SET OF.
    attrs = b"".join(
        sorted((_CONTENT_TYPE_ATTR_DER, message_digest_attr, identity.ess_attribute_der))
    )
    signature = identity.private_key.sign(_tlv(0x31, attrs), _ECDSA_SHA256)
    signer_info = _tlv(
        0x30,
        b"".join(
            (
                _VERSION_1,
                identity.signer_id_der,
                _SHA256_ALG_DER,
                _tlv(0xA0, attrs),  # signedAttrs [0] IMPLICIT
                _ECDSA_SHA256_ALG_DER,
                _tlv(0x04, signature),
            )
        ),
    )
    signed_data = _tlv(
        0x30,
        b"".join(
            (
                _VERSION_3,
                _tlv(0x31, _SHA256_ALG_DER),
                _tlv(0x30, _TST_INFO_OID_DER + _tlv(0xA0, _tlv(0x04, tst_der))),
                _tlv(0xA0, identity.cert_der) if cert_req else b"",  # certificates [0] IMPLICIT
                _tlv(0x31, signer_info),
            )
        ),
    )
    return _tlv(0x30, _SIGNED_DATA_OID_DER + _tlv(0xA0, signed_data))


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + content


def _integer(value: int) -> bytes:
    magnitude = value if value >= 0 else ~value
    return _tlv(0x02, value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True))


def _generalized_time(moment: dt.datetime) -> bytes:
    # DER: UTC, "Z", and a fraction only when non-zero, without trailing zeros.
    text = moment.strftime("%Y%m%d%H%M%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return _tlv(0x18, (text + "Z").encode("ascii"))


_VERSION_1 = _integer(1)
_VERSION_3 = _integer(3)
_POLICY_DER = core.ObjectIdentifier(POLICY_OID).dump()
_ACCURACY_DER = tsp.Accuracy({"seconds": 1}).dump()
_SHA256_ALG_DER = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
_ECDSA_SHA256_ALG_DER = algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}).dump()
_IMPRINT_ALG_DER = {
    name: algos.DigestAlgorithm({"algorithm": name}).dump() for name in DIGEST_SIZES
}
_CONTENT_TYPE_ATTR_DER = cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}).dump()
_MESSAGE_DIGEST_OID_DER = cms.CMSAttributeType("message_digest").dump()
_TST_INFO_OID_DER = cms.ContentType("tst_info").dump()
_SIGNED_DATA_OID_DER = cms.ContentType("signed_data").dump()
_GRANTED_STATUS_DER = tsp.PKIStatusInfo({"status": "granted"}).dump()


def _new_serial() -> int:
    # 128 random bits: unique across processes and restarts without any shared counter.
    return secrets.randbits(128) or 1


__all__ = [
    "DIGEST_SIZES",
    "MAX_QUERY_BYTES",
    "POLICY_OID",
    "QUERY_CONTENT_TYPE",
    "REPLY_CONTENT_TYPE",
    "TimeStampResp",
    "TimestampError",
    "TokenInfo",
    "TsaKeyError",
    "TsaReply",
    "rejection_response",
    "respond",
    "timestamp_digest",
    "token_info",
    "token_to_response",
    "verify_token",
]
