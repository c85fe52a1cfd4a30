"""电子档案: the sealed archive of a section that has ended."""

from django.db import models

from trading.models import Section


class SectionArchive(models.Model):
    """One zip in the file store: the section's files, its ledger entries and a timestamped manifest."""

    section = models.OneToOneField(Section, on_delete=models.PROTECT, related_name="archive")
    storage_path = models.CharField(max_length=300)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    manifest_sha256 = models.CharField(max_length=64)
    files = models.PositiveIntegerField()
    ledger_from = models.PositiveBigIntegerField()
    ledger_to = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    retain_until = models.DateTimeField()
    discarded_at = models.DateTimeField(null=True, blank=True)  # the zip was deleted after retain_until

    def __str__(self) -> str:
        return f"SectionArchive {self.pk}"
