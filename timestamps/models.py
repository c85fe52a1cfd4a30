"""The hash-chained audit ledger (R33): entries are only ever appended."""

from django.db import models


class LedgerEntry(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ledger entries"

    def __str__(self) -> str:
        return f"LedgerEntry {self.action}"

    def save(self, *args, **kwargs):
        # Entries are immutable: a second save would silently rewrite history.
        if not self._state.adding:
            raise RuntimeError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("ledger entries are append-only")


class LedgerHead(models.Model):
    """One row, locked while appending so that seq and prev_hash never fork."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"LedgerHead {self.seq}"


class LedgerAnchor(models.Model):
    """A timestamp token over the ledger head at ``seq``."""

    seq = models.PositiveBigIntegerField(unique=True)
    head_hash = models.CharField(max_length=64)
    token = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"LedgerAnchor {self.seq}"
