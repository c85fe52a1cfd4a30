from django.apps import AppConfig


class ExpertsConfig(AppConfig):
    name = "experts"
    verbose_name = "Experts and evaluation"

    def ready(self) -> None:
        from experts import receivers
        from experts.services.confirmations import sweep_expert_confirmations
        from trading import signals

        signals.bid_documents_wanted.connect(receivers.bid_documents_wanted,
                                             dispatch_uid="experts.bid_documents_wanted")
        signals.demo_seeded.connect(receivers.demo_seeded, dispatch_uid="experts.demo_seeded")
        signals.periodic_sweep.connect(sweep_expert_confirmations,
                                       dispatch_uid="experts.sweep_expert_confirmations")
        signals.section_archive_files.connect(receivers.section_archive_files,
                                              dispatch_uid="experts.section_archive_files")
        signals.ledger_sealed_actors.connect(receivers.ledger_sealed_actors, dispatch_uid="experts.ledger_sealed_actors")
