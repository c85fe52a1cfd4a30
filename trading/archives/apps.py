from django.apps import AppConfig


class ArchivesConfig(AppConfig):
    name = "trading.archives"
    label = "archives"
    verbose_name = "Archives"

    def ready(self) -> None:
        from trading import signals
        from trading.archives import receivers

        signals.section_archive_files.connect(receivers.tender_documents, dispatch_uid="archives.tender_documents")
        for sweep in (receivers.sweep_archive_sections, receivers.sweep_archive_retention):
            signals.periodic_sweep.connect(sweep, dispatch_uid=f"archives.{sweep.__name__}")
