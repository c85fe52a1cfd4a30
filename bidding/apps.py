from django.apps import AppConfig


class BiddingConfig(AppConfig):
    name = "bidding"
    verbose_name = "Sealed bids"

    def ready(self) -> None:
        from bidding.room import services as room
        from bidding.services import keys
        from trading.services import lifecycle
        from trading.sweeps import SWEEPS

        lifecycle.ON_PUBLISH.append(keys.opening_key_create)
        lifecycle.ON_PUBLISH.append(room.room_create)
        lifecycle.ON_DEADLINE_MOVED.append(keys.opening_key_rebind)
        lifecycle.ON_DEADLINE_MOVED.append(room.room_deadline_moved)
        lifecycle.ON_OPENING.append(room.room_start)
        from bidding.services.bids import sweep_orphaned_bid_files
        from bidding.services.uploads import sweep_abandoned_uploads

        SWEEPS.append(("opening_rooms", room.sweep_rooms))
        SWEEPS.append(("orphaned_bid_files", sweep_orphaned_bid_files))
        SWEEPS.append(("abandoned_uploads", sweep_abandoned_uploads))
