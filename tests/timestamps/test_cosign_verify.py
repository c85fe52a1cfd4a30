"""The offline verifier's check of a record's co-signatures (ADR 0032): pure functions, no database."""

import base64
import hashlib
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from timestamps.verification import (
    COSIGN_FILE,
    COSIGN_FORMAT,
    Verdict,
    cosign_check,
    cosign_message,
)

DRAFT = b"%PDF-1.7 the draft record"


def attachments(*, tamper=None) -> dict[str, bytes]:
    sha = hashlib.sha256(DRAFT).hexdigest()
    entries = []
    for role, signer in (("host", "主持人"), ("bidder", "投标人甲")):
        key = ec.generate_private_key(ec.SECP256R1())
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        signature = key.sign(cosign_message("s1", sha), ec.ECDSA(hashes.SHA256()))
        entries.append({"signer": signer, "role": role, "status": "signed", "kid": hashlib.sha256(der).hexdigest(),
                        "public_key": base64.b64encode(der).decode(),
                        "signature": base64.b64encode(signature).decode()})
    entries.append({"signer": "投标人乙", "role": "bidder", "status": "absent", "kid": None, "public_key": None,
                    "signature": None})
    document = {"format": COSIGN_FORMAT, "section": "s1", "record_sha256": sha, "draft": "draft.pdf",
                "signatures": entries}
    if tamper:
        tamper(document)
    return {COSIGN_FILE: json.dumps(document).encode(), "draft.pdf": DRAFT}


def checked(**kwargs) -> Verdict:
    verdict = Verdict("pdf")
    cosign_check(verdict, attachments(**kwargs))
    return verdict


def test_every_signed_entry_is_checked_and_absences_are_reported():
    verdict = checked()
    assert verdict.ok and [c.code for c in verdict.checks].count("cosign-signature") == 2
    assert verdict.facts["cosign: bidder 投标人乙"] == "absent"


def test_a_signature_from_another_section_fails():
    verdict = checked(tamper=lambda d: d.update(section="s2"))
    assert not verdict.ok and all(not c.ok for c in verdict.checks if c.code == "cosign-signature")


def test_a_swapped_public_key_fails_on_its_fingerprint():
    def swap(document):
        document["signatures"][0]["public_key"] = document["signatures"][1]["public_key"]
    verdict = checked(tamper=swap)
    failed = [c for c in verdict.checks if not c.ok]
    assert len(failed) == 1 and "fingerprint" in failed[0].detail


def test_a_draft_other_than_the_one_signed_fails():
    verdict = checked(tamper=lambda d: d.update(record_sha256=hashlib.sha256(b"other").hexdigest()))
    assert [c.code for c in verdict.checks if not c.ok] == ["cosign-draft"]
