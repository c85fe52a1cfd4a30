"""How the experts app plugs into the core's extension points (trading/signals.py)."""

from trading.files import read_stored, stored_size


def bid_documents_wanted(sender, *, bid, max_bytes: int, **kwargs) -> bytes | None:
    """The bid's documents as decrypted for the evaluation, when they are there and not too large."""
    from experts.models import EvaluationDocument

    document = EvaluationDocument.objects.filter(bid=bid).first()
    if document is None or not document.storage_path or document.error:
        return None
    size = stored_size(document.storage_path)
    if size is None or size > max_bytes:
        return None
    return read_stored(document.storage_path)


def demo_seeded(sender, *, accounts, **kwargs) -> None:
    from experts.demo import seed_experts_demo

    seed_experts_demo(accounts)


def ledger_sealed_actors(sender, *, user, now, **kwargs) -> set[str]:
    """The accounts of experts on a committee whose names are still sealed (R25) for this user."""
    from experts.selectors import sealed_usernames_for

    return sealed_usernames_for(user=user, now=now)


def section_archive_files(sender, *, section, **kwargs):
    from experts import archive

    return archive.section_archive_files(section=section)
