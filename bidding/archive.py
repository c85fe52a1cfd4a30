"""What sealed bids put in a section's archive (电子档案)."""

import json

from bidding.models import Bid, OpeningRoom
from timestamps.tsa import token_to_response
from trading.models import Section


def section_archive_files(*, section: Section) -> list[tuple[str, bytes | str, str | None]]:
    """电子档案: every bid's digest and receipt token (.tsr), and the sealed opening record."""
    bids = list(Bid.objects.filter(section=section).select_related("organization").order_by("received_at", "pk"))
    listing = [{"bid": bid.public_id, "organization": bid.organization.name,
                "credit_code": bid.organization.credit_code, "status": bid.status, "digest": bid.digest,
                "size": bid.size, "received_at": bid.received_at.isoformat(), "opening_no": bid.opening_no,
                "receipt": f"bids/{bid.public_id}.tsr" if bid.timestamp_token else None} for bid in bids]
    files: list[tuple[str, bytes | str, str | None]] = [
        ("bids/bids.json", json.dumps(listing, ensure_ascii=False, indent=2).encode(), None)]
    files += [(f"bids/{bid.public_id}.tsr", token_to_response(bytes(bid.timestamp_token)), None)
              for bid in bids if bid.timestamp_token]
    room = OpeningRoom.objects.filter(section=section).first()
    if room is not None and room.record_path:
        files.append(("opening/opening-record.pdf", room.record_path, room.record_sha256 or None))
    return files
