"""The archive's own contribution (the tender documents) and its sweep."""

from datetime import datetime

from trading.archives import services
from trading.models import Section


def tender_documents(sender, *, section: Section, **kwargs) -> list[tuple[str, str, str]]:
    """招标文件: every tender document, amendment and attachment, with the hash recorded at upload."""
    return [(f"tender/{document.public_id}-{services.safe_name(document.name)}", document.storage_path,
             document.sha256) for document in section.documents.order_by("uploaded_at", "pk")]


def sweep_archive_sections(sender, *, now: datetime, **kwargs) -> int:
    return services.sweep_archive_sections(now=now)


def sweep_archive_retention(sender, *, now: datetime, **kwargs) -> int:
    return services.sweep_archive_retention(now=now)
