"""投标保证金: bid deposits, the bank's notifications, the money ledger and the refund outbox (DESIGN.md §9).

Money is only ever appended to ``MoneyEntry``; every balance is a sum over it. Each entry sits in a
bucket: ``held`` (the bidder's deposit in the platform's custody), ``owed`` (money owed back to a payer,
instructed or about to be), ``forfeited`` (kept under R21) and ``interest`` (the interest the platform
pays out, booked negative so that the sum over all buckets is the cash the bank holds).
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.ids import public_id
from trading.models import Organization, Registration, Section, User

CENT = Decimal("0.01")


def _instruction_id() -> str:
    return public_id("ri", 20)


class DepositAccount(models.Model):
    """虚拟子账号: one virtual sub-account per section and bidder, opened at sign-up."""

    class Status(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PARTIAL = "partial", _("Partly paid")
        PAID = "paid", _("Paid")
        REFUNDING = "refunding", _("Being refunded")
        REFUNDED = "refunded", _("Refunded")
        FORFEITED = "forfeited", _("Forfeited")

    OPEN_STATUSES = (Status.UNPAID, Status.PARTIAL, Status.PAID)

    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="deposit_accounts")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="deposit_accounts")
    # SET_NULL: a withdrawn sign-up never takes the money's account with it.
    registration = models.OneToOneField(Registration, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="deposit_account")
    virtual_account = models.CharField(_("virtual sub-account"), max_length=32, unique=True)
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNPAID, db_index=True)
    opened_at = models.DateTimeField(default=timezone.now)
    status_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trading_depositaccount"
        ordering = ["opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["section", "organization"], name="deposit_account_unique"),
        ]

    def __str__(self) -> str:
        return self.virtual_account

    @property
    def amount(self) -> Decimal:
        return self.section.deposit_amount

    @property
    def due(self):
        return self.section.bid_deadline


class BankTransaction(models.Model):
    """One payment the bank notified, exactly once per ``txn_id``, with what the platform made of it."""

    class Outcome(models.TextChoices):
        CREDITED = "credited", _("Credited to the deposit")
        UNDERPAID = "underpaid", _("Credited; the deposit is still short")
        OVERPAID = "overpaid", _("Credited; the excess is returned")
        LATE = "late", _("Paid after the deadline; returned")
        UNKNOWN_ACCOUNT = "unknown_account", _("Unknown virtual account; returned")
        WRONG_PAYER = "wrong_payer", _("Not paid from the bidder's basic account (R16); returned")
        WRONG_CURRENCY = "wrong_currency", _("Wrong currency; returned")
        CLOSED = "closed", _("Deposit already settled; returned")
        REFUSED = "refused", _("Refused (the bidder may not bid, R31); returned")

    RETURNED = (Outcome.LATE, Outcome.UNKNOWN_ACCOUNT, Outcome.WRONG_PAYER, Outcome.WRONG_CURRENCY,
                Outcome.CLOSED, Outcome.REFUSED)

    txn_id = models.CharField(max_length=64, unique=True)
    virtual_account = models.CharField(max_length=32, db_index=True)
    account = models.ForeignKey(DepositAccount, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="transactions")
    amount = models.DecimalField(max_digits=15, decimal_places=2)
    currency = models.CharField(max_length=3)
    payer_account = models.CharField(max_length=40, db_index=True)
    payer_name = models.CharField(max_length=200)
    paid_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    credited = models.DecimalField(max_digits=15, decimal_places=2, default=Decimal("0"))
    returned = models.DecimalField(max_digits=15, decimal_places=2, default=Decimal("0"))
    payer_flag = models.CharField(max_length=200, blank=True)
    body_sha256 = models.CharField(max_length=64)

    class Meta:
        db_table = "trading_banktransaction"
        ordering = ["received_at"]

    def __str__(self) -> str:
        return self.txn_id


class RefundInstruction(models.Model):
    """退款指令: a refund or a return waiting in the outbox; the bank de-duplicates on ``instruction_id``."""

    class Kind(models.TextChoices):
        DEPOSIT_REFUND = "deposit_refund", _("Deposit refund with interest")
        RETURN = "return", _("Return of a payment that was not accepted")

    class Reason(models.TextChoices):
        WITHDRAWN = "withdrawn", _("Bid withdrawn before the deadline (R19)")
        CONTRACT = "contract", _("Contract signed (R18)")
        TERMINATED = "terminated", _("Tender terminated (R20)")
        NOT_FORFEITED = "not_forfeited", _("Forfeiture not confirmed")
        EXCESS = "excess", _("Excess over the deposit")
        LATE = "late", _("Paid after the deadline")
        UNKNOWN_ACCOUNT = "unknown_account", _("Unknown virtual account")
        WRONG_PAYER = "wrong_payer", _("Not from the basic account (R16)")
        WRONG_CURRENCY = "wrong_currency", _("Wrong currency")
        CLOSED = "closed", _("Deposit already settled")
        REFUSED = "refused", _("Payment refused (R31)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent; awaiting the bank's confirmation")
        DONE = "done", _("Paid by the bank")
        REJECTED = "rejected", _("Rejected by the bank")

    instruction_id = models.CharField(max_length=32, unique=True, default=_instruction_id, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    account = models.ForeignKey(DepositAccount, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="refunds")
    bank_txn = models.ForeignKey(BankTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="returns")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    principal = models.DecimalField(max_digits=15, decimal_places=2)
    interest = models.DecimalField(max_digits=15, decimal_places=2, default=Decimal("0"))
    interest_days = models.PositiveIntegerField(default=0)
    interest_rate = models.DecimalField(max_digits=8, decimal_places=6, default=Decimal("0"))
    payee_account = models.CharField(max_length=40)
    payee_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    due_by = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    bank_ref = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "trading_refundinstruction"
        ordering = ["created_at"]
        constraints = [
            # One deposit refund per account, one return per bank transaction, whatever races.
            models.UniqueConstraint(fields=["account"], condition=Q(kind="deposit_refund"),
                                    name="one_deposit_refund_per_account"),
            models.UniqueConstraint(fields=["bank_txn"], condition=Q(kind="return"),
                                    name="one_return_per_bank_txn"),
        ]

    def __str__(self) -> str:
        return self.instruction_id

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


class MoneyEntry(models.Model):
    """One line of the append-only money ledger. Amounts are signed; balances are sums."""

    class Bucket(models.TextChoices):
        HELD = "held", _("Deposit held")
        OWED = "owed", _("Owed back to the payer")
        FORFEITED = "forfeited", _("Forfeited (R21)")
        INTEREST = "interest", _("Interest paid by the platform")

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Payment received")
        REFUND_DECIDED = "refund_decided", _("Refund decided")
        INTEREST_ADDED = "interest_added", _("Interest added to a refund")
        PAID_OUT = "paid_out", _("Paid out by the bank")
        FORFEITED = "forfeited", _("Forfeited")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    bucket = models.CharField(max_length=10, choices=Bucket.choices)
    amount = models.DecimalField(max_digits=15, decimal_places=2)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    account = models.ForeignKey(DepositAccount, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="entries")
    bank_txn = models.ForeignKey(BankTransaction, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="entries")
    instruction = models.ForeignKey(RefundInstruction, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="entries")
    memo = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "trading_moneyentry"
        ordering = ["at", "pk"]
        verbose_name_plural = "money entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.bucket} {self.amount}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("money entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("money entries are append-only")


def _deposit_forfeiture_public_id() -> str:
    return public_id("df", 14)


class DepositForfeiture(models.Model):
    """没收保证金 (R21): proposed by the platform or the tenderer, confirmed or rejected by a supervisor."""

    class Reason(models.TextChoices):
        REVOKED = "revoked", _("Bid revoked after the deadline (R21)")
        REFUSED_TO_SIGN = "refused_to_sign", _("Winner refused to sign the contract (R21)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting a supervisor")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")

    public_id = models.CharField(max_length=24, unique=True, default=_deposit_forfeiture_public_id, editable=False)
    account = models.OneToOneField(DepositAccount, on_delete=models.PROTECT, related_name="forfeiture")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    proposed_at = models.DateTimeField(default=timezone.now)
    proposed_by = models.CharField(max_length=150, default="system")
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "trading_depositforfeiture"
        ordering = ["proposed_at"]

    def __str__(self) -> str:
        return f"{self.reason} {self.status}"
