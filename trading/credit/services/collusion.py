"""围标串标: collusion signals computed at the opening (R32). A signal is evidence, never a ban.

Signals and their thresholds:
- same deposit payer account (R17): computed by the deposits service when a payment arrives; listed here;
- same submitting IP address; same device (same IP *and* same User-Agent string);
- identical documents: the same plaintext SHA-256 in the opening forms (``summary.documents.sha256``);
- the same file inside different bids, and identical document metadata (author, last modified by, creator
  and creation date of a DOCX ``core.xml`` or a PDF Info dictionary) once the documents are decrypted;
- identical prices; prices abnormally close: at least 3 valid prices whose spread (max − min) / min is
  below ``CLUSTER_SPREAD`` (0.5 %); prices in an arithmetic progression: at least 3 prices with equal steps
  (each step within ``PROGRESSION_TOLERANCE`` = 0.1 % of the step).
"""

import hashlib
import io
import re
import zipfile
from collections import defaultdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import combinations
from xml.etree import ElementTree

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading import signals
from trading.credit.models import CollusionSignal
from trading.models import Section

CLUSTER_SPREAD = Decimal("0.005")
PROGRESSION_TOLERANCE = Decimal("0.001")
MIN_GROUP = 3
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024
# Sections whose bids may be looked at: the opening has started (R14 keeps everything secret before).
AFTER_OPENING = [Section.Status.OPENING, Section.Status.OPENED, Section.Status.EVALUATING,
                 Section.Status.PUBLICIZING, Section.Status.AWARDED, Section.Status.CONTRACTED,
                 Section.Status.FAILED]
KINDS = {
    "same_payer_account": _("Deposits paid from the same account (R17)"),
    "same_ip": _("Bids submitted from the same IP address"),
    "same_device": _("Bids submitted from the same device (IP and browser)"),
    "same_document_hash": _("Identical bid documents"),
    "same_document_file": _("The same file inside different bids"),
    "same_document_metadata": _("Identical document metadata"),
    "price_identical": _("Identical prices"),
    "price_cluster": _("Prices abnormally close"),
    "price_progression": _("Prices in an arithmetic progression"),
}


def kind_label(kind: str) -> str:
    return str(KINDS.get(kind, kind))


def _bids(section: Section) -> list:
    from bidding.models import Bid

    return list(Bid.objects.filter(section=section, opening_no__isnull=False)
                .exclude(status__in=[Bid.Status.REPLACED, Bid.Status.WITHDRAWN])
                .select_related("organization").order_by("opening_no"))


def _member(bid) -> dict:
    return {"bid": bid.public_id, "no": bid.opening_no, "organization": bid.organization.credit_code,
            "name": bid.organization.name}


def _price(bid) -> Decimal | None:
    try:
        value = Decimal(str((bid.summary or {}).get("price")))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value > 0 else None


def _groups(bids: list, value_of) -> list[tuple[str, list]]:
    """Bids of different bidders that share a non-empty value."""
    by_value: dict[str, dict[int, object]] = defaultdict(dict)
    for bid in bids:
        value = value_of(bid)
        if value:
            by_value[value].setdefault(bid.organization_id, bid)
    return [(value, list(members.values())) for value, members in by_value.items() if len(members) >= 2]


# --- the finders: each returns [(kind, shared value, bids, evidence)] ------------------------------


def find_same_ip(bids: list) -> list:
    found = []
    for ip, members in _groups(bids, lambda b: b.source_ip):
        agents = {b.user_agent for b in members}
        if len(agents) > 1 or not next(iter(agents)):
            found.append(("same_ip", ip, members, {"ip": ip, "user_agents": sorted(agents)}))
    for device, members in _groups(bids, lambda b: f"{b.source_ip}|{b.user_agent}" if b.source_ip and b.user_agent
                                   else ""):
        ip, agent = device.split("|", 1)
        found.append(("same_device", device, members, {"ip": ip, "user_agent": agent}))
    return found


def _document_sha(bid) -> str:
    documents = (bid.summary or {}).get("documents") or {}
    sha = documents.get("sha256") if isinstance(documents, dict) else None
    return sha.lower() if isinstance(sha, str) and re.fullmatch(r"[0-9a-fA-F]{64}", sha) else ""


def find_same_document_hash(bids: list) -> list:
    return [("same_document_hash", sha, members, {"sha256": sha}) for sha, members in _groups(bids, _document_sha)]


def find_price_signals(bids: list) -> list:
    """Identical prices, a cluster within 0.5 %, and progressions with equal steps within 0.1 %."""
    priced = [(p, b) for b in bids if b.status == "decrypted" and (p := _price(b)) is not None]
    found = []
    for price, members in _groups([b for _p, b in priced], lambda b: str(_price(b).quantize(Decimal("0.01")))):
        found.append(("price_identical", price, members, {"price": price}))
    if len(priced) >= MIN_GROUP:
        values = [p for p, _b in priced]
        low, high = min(values), max(values)
        spread = (high - low) / low
        if spread < CLUSTER_SPREAD:
            found.append(("price_cluster", "all", [b for _p, b in priced],
                          {"prices": [str(p) for p in sorted(values)], "spread": f"{spread:.6f}",
                           "threshold": str(CLUSTER_SPREAD)}))
    found.extend(_progressions(priced))
    return found


def _close(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= PROGRESSION_TOLERANCE * max(a, b)


def _progressions(priced: list) -> list:
    ordered = sorted(priced, key=lambda pair: pair[0])
    chains: list[list] = []
    for i, j in combinations(range(len(ordered)), 2):
        step = ordered[j][0] - ordered[i][0]
        if step <= 0:
            continue
        chain = [ordered[i], ordered[j]]
        for candidate in ordered[j + 1:]:
            if _close(candidate[0] - chain[-1][0], step):
                chain.append(candidate)
        if len(chain) >= MIN_GROUP:
            members = {b.pk for _p, b in chain}
            if not any(members <= {b.pk for _p, b in other} for other in chains):
                chains = [c for c in chains if not {b.pk for _p, b in c} <= members]
                chains.append(chain)
    found = []
    for chain in chains:
        prices = [p for p, _b in chain]
        steps = [str(b - a) for a, b in zip(prices, prices[1:], strict=False)]
        found.append(("price_progression", ",".join(map(str, prices)), [b for _p, b in chain],
                      {"prices": [str(p) for p in prices], "steps": steps,
                       "tolerance": str(PROGRESSION_TOLERANCE)}))
    return found


# --- decrypted documents: files and metadata -----------------------------------------------------

CORE_FIELDS = {"creator": "author", "lastModifiedBy": "last_modified_by", "created": "created"}
PDF_FIELDS = {"Author": "author", "Creator": "creator", "Producer": "producer", "CreationDate": "created"}


def docx_metadata(data: bytes) -> dict:
    """Author, last modified by and creation date from an Office document's docProps/core.xml."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            root = ElementTree.fromstring(archive.read("docProps/core.xml"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return {}
    found = {}
    for element in root:
        name = element.tag.rsplit("}", 1)[-1]
        if name in CORE_FIELDS and (element.text or "").strip():
            found[CORE_FIELDS[name]] = element.text.strip()
    return found


_PDF_STRING = rb"/%s\s*\(((?:\\.|[^\\)])*)\)"


def pdf_metadata(data: bytes) -> dict:
    """Author, creator, producer and creation date from a PDF's Info dictionary (literal strings)."""
    found = {}
    for key, name in PDF_FIELDS.items():
        match = re.search(_PDF_STRING % key.encode(), data)
        if match:
            raw = re.sub(rb"\\(.)", rb"\1", match.group(1))
            text = _pdf_text(raw).strip()
            if text:
                found[name] = text
    return found


def _pdf_text(raw: bytes) -> str:
    if raw.startswith(b"\xfe\xff"):
        return raw[2:].decode("utf-16-be", "replace")
    return raw.decode("latin-1")


def document_files(data: bytes, name: str = "") -> list[dict]:
    """The files of a bid's documents: the ZIP's members (one level deep) or the file itself."""
    files = []
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if "docProps/core.xml" in names or "[Content_Types].xml" in names:
                files.append({"name": name or "document", "data": data})
            else:
                for info in archive.infolist():
                    if not info.is_dir() and info.file_size <= MAX_DOCUMENT_BYTES:
                        files.append({"name": info.filename, "data": archive.read(info)})
    else:
        files.append({"name": name or "document", "data": data})
    for item in files:
        item["sha256"] = hashlib.sha256(item["data"]).hexdigest()
        blob = item["data"]
        item["metadata"] = pdf_metadata(blob) if blob[:5] == b"%PDF-" else docx_metadata(blob)
    return files


def bid_documents(bid) -> bytes | None:
    """A bid's decrypted documents, when they are there and small enough to look inside."""
    # send_robust: a source that fails is logged and counts as "not yet decrypted".
    for _receiver, data in signals.bid_documents_wanted.send_robust(sender=Section, bid=bid,
                                                                     max_bytes=MAX_DOCUMENT_BYTES):
        if isinstance(data, bytes):
            return data
    return None


def find_document_signals(bids: list) -> list:
    per_bid: dict[int, list[dict]] = {}
    for bid in bids:
        data = bid_documents(bid)
        if data is None or len(data) > MAX_DOCUMENT_BYTES:
            continue
        name = ((bid.summary or {}).get("documents") or {}).get("name", "") if bid.summary else ""
        per_bid[bid.pk] = document_files(data, name=str(name))
    by_pk = {b.pk: b for b in bids}
    found = []
    file_hash: dict[str, dict[int, object]] = defaultdict(dict)
    metadata: dict[str, dict[int, object]] = defaultdict(dict)
    details: dict[str, dict] = {}
    for pk, files in per_bid.items():
        bid = by_pk[pk]
        for item in files:
            file_hash[item["sha256"]].setdefault(bid.organization_id, (bid, item["name"]))
            meta = item["metadata"]
            if meta.get("author") or meta.get("last_modified_by"):
                fingerprint = "|".join(f"{k}={meta[k]}" for k in sorted(meta))
                metadata[fingerprint].setdefault(bid.organization_id, (bid, item["name"]))
                details[fingerprint] = meta
    whole = {_document_sha(b) for b in bids if _document_sha(b)}
    for sha, members in file_hash.items():
        if len(members) >= 2 and sha not in whole:  # a whole identical envelope is reported once, above
            found.append(("same_document_file", sha, [b for b, _n in members.values()],
                          {"sha256": sha, "files": {b.public_id: n for b, n in members.values()}}))
    for fingerprint, members in metadata.items():
        if len(members) >= 2:
            found.append(("same_document_metadata", fingerprint, [b for b, _n in members.values()],
                          {"metadata": details[fingerprint], "files": {b.public_id: n for b, n in members.values()}}))
    return found


# --- computing and storing -----------------------------------------------------------------------


def _key(kind: str, value: str, members: list) -> str:
    codes = ",".join(sorted(b.organization.credit_code for b in members))
    return hashlib.sha256(f"{kind}|{value}|{codes}".encode()).hexdigest()


@transaction.atomic
def collusion_signals_compute(*, section: Section, now: datetime | None = None) -> list[CollusionSignal]:
    """Compute every signal for a section whose opening has started; recomputing adds only what is new."""
    now = now or timezone.now()
    if section.status not in AFTER_OPENING:
        return []
    bids = _bids(section)
    found = (find_same_ip(bids) + find_same_document_hash(bids) + find_price_signals(bids)
             + find_document_signals(bids))
    made = []
    for kind, value, members, evidence in found:
        evidence = {**evidence, "bids": [_member(b) for b in sorted(members, key=lambda b: b.opening_no or 0)]}
        signal, created = CollusionSignal.objects.get_or_create(
            kind=kind, section=section, key=_key(kind, value, members),
            defaults={"evidence": evidence, "created_at": now, "updated_at": now})
        if created:
            signal.organizations.add(*[b.organization for b in members])
            ledger_append(action="collusion.signal", actor="system", obj=section, now=now,
                          data={"signal": signal.public_id, "kind": kind,
                                "organizations": sorted(b.organization.credit_code for b in members)})
            made.append(signal)
    return made


def sweep_collusion_signals(*, now: datetime | None = None) -> int:
    """Recompute for sections being opened or evaluated: metadata appears once the documents are decrypted."""
    now = now or timezone.now()
    live = Section.objects.filter(status__in=[Section.Status.OPENED, Section.Status.EVALUATING])
    return sum(len(collusion_signals_compute(section=section, now=now)) for section in live)
