from django.apps import AppConfig


class BiddingConfig(AppConfig):
    name = "bidding"
    verbose_name = "Sealed bids"

    def ready(self) -> None:
        from bidding import receivers
        from trading import signals

        signals.section_published.connect(receivers.section_published, dispatch_uid="bidding.section_published")
        signals.section_deadline_moved.connect(receivers.section_deadline_moved,
                                               dispatch_uid="bidding.section_deadline_moved")
        signals.section_opening.connect(receivers.section_opening, dispatch_uid="bidding.section_opening")
        signals.demo_seeded.connect(receivers.demo_seeded, dispatch_uid="bidding.demo_seeded")
        signals.section_archive_files.connect(receivers.section_archive_files,
                                              dispatch_uid="bidding.section_archive_files")
        for sweep in (receivers.sweep_opening_rooms, receivers.sweep_orphaned_bid_files,
                      receivers.sweep_abandoned_uploads, receivers.sweep_demo_robot):
            signals.periodic_sweep.connect(sweep, dispatch_uid=f"bidding.{sweep.__name__}")
