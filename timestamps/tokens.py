"""Reading and checking RFC 3161 timestamp tokens (时间戳): parse the CMS SignedData and its TSTInfo,
and verify the ECDSA signature and its ESS signingCertificateV2 binding to our TSA certificate."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, tsp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from timestamps.pki import TsaIdentity

_ECDSA = {
    "sha256": ec.ECDSA(hashes.SHA256()),
    "sha384": ec.ECDSA(hashes.SHA384()),
    "sha512": ec.ECDSA(hashes.SHA512()),
}
_ECDSA_SHA256 = _ECDSA["sha256"]


class TimestampError(Exception):
    """A token or query is malformed, unsupported, or does not verify."""


@dataclass(frozen=True)
class TokenInfo:
    """What a TimeStampToken asserts: this digest existed at ``gen_time``."""

    gen_time: dt.datetime
    serial: int
    hash_name: str
    digest: bytes
    policy: str
    nonce: int | None


class TimeStampResp(tsp.TimeStampResp):
    """asn1crypto's TimeStampResp with timeStampToken OPTIONAL, as RFC 3161 says (rejections lack it)."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


# -- reading and verifying ---------------------------------------------------------------------


def _load_content_info(der: bytes) -> cms.ContentInfo:
    """Accept a bare token, or a granted TimeStampResp holding one."""
    try:
        if der[:1] == b"\x30" and _first_inner_tag(der) == 0x30:
            response = TimeStampResp.load(der, strict=True)
            status = response["status"]["status"].native
            if status not in ("granted", "granted_with_mods"):
                raise TimestampError(f"response status is {status}, not granted")
            token = response["time_stamp_token"]
            if token.native is None:
                raise TimestampError("granted response holds no token")
            return token
        return cms.ContentInfo.load(der, strict=True)
    except TimestampError:
        raise
    except Exception as exc:
        raise TimestampError("malformed timestamp token") from exc


def _first_inner_tag(der: bytes) -> int:
    header = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    return der[header]


def _open_token(der: bytes) -> tuple[cms.SignedData, bytes, tsp.TSTInfo]:
    try:
        content_info = _load_content_info(der)
        if content_info["content_type"].native != "signed_data":
            raise TimestampError("token is not CMS SignedData")
        signed_data = content_info["content"]
        encap = signed_data["encap_content_info"]
        if encap["content_type"].native != "tst_info":
            raise TimestampError("token content is not a TSTInfo")
        tst_der = encap["content"].contents
        tst = tsp.TSTInfo.load(tst_der, strict=True)
        tst.native  # noqa: B018
    except TimestampError:
        raise
    except Exception as exc:
        raise TimestampError("malformed timestamp token") from exc
    return signed_data, tst_der, tst


def _token_info(tst: tsp.TSTInfo) -> TokenInfo:
    imprint = tst["message_imprint"]
    return TokenInfo(
        gen_time=tst["gen_time"].native.astimezone(dt.UTC),
        serial=tst["serial_number"].native,
        hash_name=imprint["hash_algorithm"]["algorithm"].native,
        digest=imprint["hashed_message"].native,
        policy=tst["policy"].dotted,
        nonce=tst["nonce"].native,
    )


def _check_signature(identity: TsaIdentity, signed_data: cms.SignedData, tst_der: bytes) -> None:
    try:
        signer_infos = signed_data["signer_infos"]
        if len(signer_infos) != 1:
            raise TimestampError("token must have exactly one signer")
        signer = signer_infos[0]
        if signer["sid"].dump() != identity.signer_id_der:
            raise TimestampError("token is not signed by this TSA's certificate")
        # Signed over as a universal SET OF, stored as [0] IMPLICIT: swap the tag back. Take
        # the bytes before reading any attribute: asn1crypto re-encodes what it has parsed.
        signed_attrs_der = b"\x31" + signer["signed_attrs"].dump()[1:]
        versions = (signed_data["version"].native, signer["version"].native)
        # .native on these small parts parses them fully (asn1crypto is lazy); the whole
        # token's .native would also parse the certificate and costs ~20 ms.
        hash_name = signer["digest_algorithm"].native["algorithm"]
        listed_hashes = [alg["algorithm"] for alg in signed_data["digest_algorithms"].native]
        signature_algorithm = signer["signature_algorithm"].native["algorithm"]
        certificates = [cert.dump() for cert in signed_data["certificates"] or ()]
        extras = (signed_data["crls"].native, signer["unsigned_attrs"].native)
        attrs = {attr["type"].native: attr["values"] for attr in signer["signed_attrs"]}
        content_type = _single(attrs, "content_type").native
        message_digest = _single(attrs, "message_digest").native
        cert_hash = _single(attrs, "signing_certificate_v2")["certs"][0]["cert_hash"].native
        signature = signer["signature"].native
    except TimestampError:
        raise
    except Exception as exc:  # asn1crypto parses lazily, so bad DER surfaces here
        raise TimestampError("malformed signer info") from exc

    # These fields are outside the signature; hold them to what we issue.
    if versions != ("v3", "v1"):
        raise TimestampError("unexpected SignedData or SignerInfo version")
    if certificates not in ([], [identity.cert_der]) or extras != (None, None):
        raise TimestampError("token carries certificates, CRLs or attributes we never issue")
    ecdsa = _ECDSA.get(hash_name)
    if ecdsa is None or listed_hashes != [hash_name]:
        raise TimestampError(f"unsupported signer digest algorithm {hash_name}")
    if signature_algorithm not in ("ecdsa", f"{hash_name}_ecdsa"):
        raise TimestampError(f"unexpected signature algorithm {signature_algorithm}")
    if content_type != "tst_info":
        raise TimestampError("signed contentType is not TSTInfo")
    if not hmac.compare_digest(message_digest, hashlib.new(hash_name, tst_der).digest()):
        raise TimestampError("TSTInfo was altered: message digest mismatch")
    if cert_hash != hashlib.sha256(identity.cert_der).digest():
        raise TimestampError("signingCertificateV2 does not name this TSA's certificate")
    try:
        identity.public_key.verify(signature, signed_attrs_der, ecdsa)
    except InvalidSignature as exc:
        raise TimestampError("token signature is invalid") from exc


def _single(attrs: dict[str, Any], name: str) -> Any:
    values = attrs.get(name)
    if values is None or len(values) != 1:
        raise TimestampError(f"token lacks a single signed {name} attribute")
    return values[0]
