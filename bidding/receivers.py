"""How sealed bids plug into the core's extension points (trading/signals.py)."""

from bidding import archive
from bidding.room import services as room
from bidding.services import bids, keys, uploads


def section_published(sender, *, section, now, **kwargs) -> None:
    """The opening key (R13) and the opening room exist from publication on."""
    keys.opening_key_create(section=section, now=now)
    room.room_create(section=section, now=now)


def section_deadline_moved(sender, *, section, now, **kwargs) -> None:
    keys.opening_key_rebind(section=section, now=now)
    room.room_deadline_moved(section=section, now=now)


def section_opening(sender, *, section, now, **kwargs) -> None:
    room.room_start(section=section, now=now)


def sweep_opening_rooms(sender, *, now, **kwargs):
    return room.sweep_rooms(now=now)


def sweep_orphaned_bid_files(sender, *, now, **kwargs):
    return bids.sweep_orphaned_bid_files(now=now)


def sweep_abandoned_uploads(sender, *, now, **kwargs):
    return uploads.sweep_abandoned_uploads(now=now)


def demo_seeded(sender, *, live_section=None, **kwargs) -> list[str]:
    """seed_demo: bidder1-bidder4's keys, backups and sealed bids in the live demo section."""
    from bidding.demo import seed_live_bids

    return seed_live_bids(live_section=live_section) if live_section is not None else []


def sweep_demo_robot(sender, *, now, **kwargs):
    """演示机器人: a no-op unless settings.DEMO_ROBOT (the embedded demo)."""
    from bidding.demo import robot_step

    return robot_step(now=now)



def section_archive_files(sender, *, section, **kwargs):
    return archive.section_archive_files(section=section)
