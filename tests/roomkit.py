"""Build an opening: a published section, N bidders with real sealed bids, and their K2."""

import base64
import io
from dataclasses import dataclass, field

from bidding.envelope import read_header, unwrap_key
from tests.bidflow import BidderKit, bid_through_api, kit_for
from tests.factories import bidder_user, publish_section, register


@dataclass
class Opening:
    section: object
    kits: list[BidderKit] = field(default_factory=list)
    bids: list[str] = field(default_factory=list)
    envelopes: list[bytes] = field(default_factory=list)

    def k2(self, i: int) -> str:
        header = read_header(io.BytesIO(self.envelopes[i]))
        return base64.b64encode(unwrap_key(header, 1, self.kits[i].enc)).decode()


PRICES = ["9870000.00", "9650000.50", "9912345.67", "9700000.00", "9800000.00"]


def prepare(api, bidders: int, *, deadline_days: float = 25, section=None, confirm_minutes: float = 0) -> Opening:
    """``confirm_minutes`` 0: the record is sealed at once, without the co-signing round (tests/bidding/test_record_cosign.py)."""
    section = section or publish_section(deadline_days=deadline_days,
                                         opening_config={"signin_minutes": 30, "decrypt_minutes": 30,
                                                         "objection_minutes": 10,
                                                         "confirm_minutes": confirm_minutes})
    opening = Opening(section)
    for i in range(bidders):
        user = bidder_user()
        register(section, user)
        kit = kit_for(api, user)
        receipt, envelope = bid_through_api(api, kit, section, price=PRICES[i % len(PRICES)],
                                            documents=f"技术标 {i}".encode())
        opening.kits.append(kit)
        opening.bids.append(receipt["bid_id"])
        opening.envelopes.append(envelope)
    return opening
