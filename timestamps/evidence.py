"""Published anchors and section archives (电子档案), checked offline: no Django, no database, no network.

``anchors_verify`` is the consistency check of the published anchor list, in the manner of Certificate
Transparency: every token stamps its head hash, and, given a ledger export, each anchor's head is reached by
the chain from the previous one, so the published anchors only ever extend one another.
``archive_verify`` checks a section archive: the sealed manifest, every file's hash, and the ledger entries
chaining to the covering anchor. Both return a ``Verdict`` like the rest of ``timestamps.verification``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from timestamps.chain import canonical_json, entry_hash
from timestamps.verification import ENTRY_FIELDS, Verdict, receipt_verify

MANIFEST = "manifest.json"
MANIFEST_TOKEN = "manifest.tsr"


@dataclass(frozen=True)
class Anchor:
    seq: int
    head_hash: str
    token: bytes


def anchors_read(raw: bytes) -> list[Anchor]:
    """The anchors of a published list: a JSON array, or the API's page (``{"anchors": [...]}``)."""
    try:
        data = json.loads(raw)
        records = data["anchors"] if isinstance(data, dict) else data
        return [_anchor(record) for record in records]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValueError("not an anchor list: needs seq, head_hash (hex) and token (base64) per anchor") from exc


def _anchor(record: dict) -> Anchor:
    return Anchor(int(record["seq"]), str(record["head_hash"]).lower(), base64.b64decode(record["token"],
                                                                                         validate=True))


def anchors_verify(*, anchors: list[Anchor], certs_pem: bytes, ledger: bytes | None = None) -> Verdict:
    """Check each anchor's token and order; given a ledger export, that each head is in the chain from the last."""
    verdict = Verdict("anchors")
    if not anchors:
        verdict.add("anchors", False, "the list holds no anchor")
        return verdict
    previous, previous_signed = None, None
    for anchor in anchors:
        if previous is not None and anchor.seq <= previous.seq:
            verdict.add("order", False, f"anchor at entry {anchor.seq} does not come after entry {previous.seq}")
            return verdict
        stamped = receipt_verify(token=anchor.token, certs_pem=certs_pem, digest=_hex(anchor.head_hash))
        if not stamped.ok:
            failed = next(check for check in stamped.checks if not check.ok)
            verdict.add("token", False, f"anchor at entry {anchor.seq}: {failed.detail}")
            return verdict
        if previous_signed and stamped.signed_at and stamped.signed_at < previous_signed:
            verdict.add("order", False, f"anchor at entry {anchor.seq} is stamped before the anchor before it")
            return verdict
        verdict.certificates = stamped.certificates
        previous, previous_signed = anchor, stamped.signed_at
    verdict.add("tokens", True, f"{len(anchors)} anchors, entries {anchors[0].seq}..{anchors[-1].seq}, "
                                "each token stamps its head hash")
    if ledger is not None:
        _anchors_in_chain(verdict, anchors, ledger)
    return verdict


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def _anchors_in_chain(verdict: Verdict, anchors: list[Anchor], ledger: bytes) -> None:
    wanted = {anchor.seq: anchor for anchor in anchors}
    checked, first_seq = 0, None
    try:
        for entry in chain_walk(ledger.splitlines()):
            first_seq = entry["seq"] if first_seq is None else first_seq
            anchor = wanted.get(entry["seq"])
            if anchor is None:
                continue
            if entry["hash"] != anchor.head_hash:
                verdict.add("consistency", False, f"the anchor at entry {anchor.seq} is not in this chain "
                                                  "(a forked or rewritten ledger)")
                return
            checked += 1
    except ChainError as exc:
        verdict.add("consistency", False, str(exc))
        return
    uncovered = [a.seq for a in anchors if first_seq is None or a.seq >= first_seq][checked:]
    if uncovered:
        verdict.add("consistency", False, f"the export does not reach the anchor at entry {uncovered[0]}")
        return
    if not checked:
        verdict.add("consistency", False, "the export reaches no anchor")
        return
    verdict.add("consistency", True, f"{checked} anchors lie on one chain, each extending the one before")


class ChainError(ValueError):
    """A ledger segment that does not chain; the message names the first entry at fault."""

    def __init__(self, message: str, seq: int | None = None):
        super().__init__(message)
        self.seq = seq


def chain_walk(lines: Iterable[bytes]):
    """Yield each entry of a JSON-lines ledger segment after checking it follows the one before."""
    prev_hash, expected_seq = None, None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            body = {name: entry[name] for name in ENTRY_FIELDS}
            seq, entry_prev, own = int(entry["seq"]), str(entry["prev_hash"]), str(entry["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ChainError(f"line {number} is not a ledger entry") from exc
        if expected_seq is not None and seq != expected_seq:
            raise ChainError(f"entry {expected_seq} is missing (line {number} holds entry {seq})", expected_seq)
        if prev_hash is not None and entry_prev != prev_hash:
            raise ChainError(f"entry {seq} does not follow entry {seq - 1}", seq)
        if entry_hash(entry_prev, json.loads(canonical_json(body))) != own:
            raise ChainError(f"entry {seq} was changed", seq)
        yield {"seq": seq, "hash": own}
        prev_hash, expected_seq = own, seq + 1


# -- section archives --------------------------------------------------------------------------


def archive_verify(*, archive: bytes, certs_pem: bytes) -> Verdict:
    """Check a section archive: the manifest's token, every file's hash, the ledger chain to its anchor."""
    verdict = Verdict("archive")
    try:
        bundle = zipfile.ZipFile(io.BytesIO(archive))
        names = set(bundle.namelist())
    except (zipfile.BadZipFile, ValueError):
        verdict.add("archive", False, "not a zip archive")
        return verdict
    if MANIFEST not in names or MANIFEST_TOKEN not in names:
        verdict.add("archive", False, f"the archive holds no {MANIFEST} and {MANIFEST_TOKEN}")
        return verdict
    try:
        raw, token = bundle.read(MANIFEST), bundle.read(MANIFEST_TOKEN)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        verdict.add("manifest", False, f"{MANIFEST} or {MANIFEST_TOKEN} is damaged")
        return verdict
    stamped = receipt_verify(token=token, certs_pem=certs_pem, data_sha256=hashlib.sha256(raw).digest())
    verdict.certificates, verdict.signed_at = stamped.certificates, stamped.signed_at
    if not verdict.add("manifest", stamped.ok, "the manifest is sealed by the TSA" if stamped.ok else
                       "the manifest's token does not verify: "
                       + next(c.detail for c in stamped.checks if not c.ok)):
        return verdict
    try:
        manifest = json.loads(raw)
        files = {str(f["name"]): (str(f["sha256"]), int(f["size"]), f.get("recorded_sha256"))
                 for f in manifest["files"]}
        ledger = manifest["ledger"]
        ledger_name, anchor_name = str(ledger["entries"]), str(ledger["anchor"])
    except (ValueError, KeyError, TypeError):
        verdict.add("manifest", False, "the manifest lacks files or ledger")
        return verdict
    verdict.facts["section"] = str(manifest.get("section", ""))
    _files_check(verdict, bundle, names, files)
    if ledger_name not in names or anchor_name not in names:
        verdict.add("ledger", False, "the archive holds no ledger entries or covering anchor")
        return verdict
    try:
        entries, anchor = bundle.read(ledger_name), bundle.read(anchor_name)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        verdict.add("ledger", False, "the ledger entries or the covering anchor are damaged")
        return verdict
    _ledger_check(verdict, entries, anchor, certs_pem)
    return verdict


def _files_check(verdict: Verdict, bundle: zipfile.ZipFile, names: set[str], files: dict) -> bool:
    for name, (sha256, size, recorded) in sorted(files.items()):
        if name not in names:
            return verdict.add("files", False, f"{name} is listed in the manifest but missing")
        digest, length = hashlib.sha256(), 0
        try:
            with bundle.open(name) as stream:
                while block := stream.read(1 << 20):
                    digest.update(block)
                    length += len(block)
        except (zipfile.BadZipFile, zlib.error, EOFError):  # damaged bytes inside the zip fail its CRC
            return verdict.add("files", False, f"{name} is damaged: it does not match its hash in the manifest")
        if digest.hexdigest() != sha256 or length != size:
            return verdict.add("files", False, f"{name} does not match its hash in the manifest")
        if recorded and recorded != sha256:
            return verdict.add("files", False, f"{name} is not the file whose hash was recorded when it was made")
    extra = sorted(names - set(files) - {MANIFEST, MANIFEST_TOKEN})
    if extra:
        return verdict.add("files", False, f"{extra[0]} is not listed in the manifest")
    return verdict.add("files", True, f"{len(files)} files match their hashes in the manifest")


def _ledger_check(verdict: Verdict, entries: bytes, anchor_raw: bytes, certs_pem: bytes) -> None:
    try:
        anchor = _anchor(json.loads(anchor_raw))
    except (ValueError, KeyError, TypeError, binascii.Error):
        verdict.add("ledger", False, "the covering anchor needs seq, head_hash (hex) and token (base64)")
        return
    last = None
    try:
        for entry in chain_walk(entries.splitlines()):
            last = entry
    except ChainError as exc:
        verdict.add("ledger", False, f"the section's ledger entries do not chain: {exc}")
        return
    if last is None or last["seq"] != anchor.seq or last["hash"] != anchor.head_hash:
        verdict.add("ledger", False, f"the ledger entries do not reach the covering anchor at entry {anchor.seq}")
        return
    verdict.add("ledger", True, f"the ledger entries chain up to entry {anchor.seq}")
    stamped = receipt_verify(token=anchor.token, certs_pem=certs_pem, digest=_hex(anchor.head_hash))
    verdict.add("anchor", stamped.ok, f"the anchor at entry {anchor.seq} is timestamped by the TSA" if stamped.ok
                else "the covering anchor's token does not verify")
