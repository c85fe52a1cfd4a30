"""投标保证金: virtual sub-accounts, the bank's payment notifications, deposit checks and forfeiture.

Lock order everywhere: the section row, then the deposit account row, then refund instructions. A
payment is recorded once per ``txn_id``: the unique constraint decides a race, the account lock keeps the
balance arithmetic serial, and the check is repeated after the lock is taken.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from timestamps.ledger import ledger_append
from trading import signals
from trading.credit.models import CollusionSignal
from trading.deposits.bank.webhook import Payment, normalize_account, parse_payment, verify
from trading.deposits.models import (
    BankTransaction,
    DepositAccount,
    DepositForfeiture,
    MoneyEntry,
    RefundInstruction,
)
from trading.deposits.services.interest import money_round
from trading.models import Registration, Section, User
from trading.services.errors import Conflict, DomainError, NotFound, PermissionDenied

A = DepositAccount.Status
OUT = BankTransaction.Outcome
ZERO = Decimal("0.00")


class DepositError(DomainError):
    pass


def return_days() -> int:
    return settings.DEPOSIT_RETURN_DAYS


# --- virtual sub-accounts -------------------------------------------------------------------------

def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return str((10 - total % 10) % 10)


def virtual_account_make() -> str:
    """A random 20-digit number under the platform's prefix, with a Luhn check digit against typos."""
    prefix = settings.BANK_VIRTUAL_ACCOUNT_PREFIX
    body = prefix + "".join(secrets.choice("0123456789") for _ in range(19 - len(prefix)))
    return body + _luhn_digit(body)


def deposit_account_open(*, registration: Registration, now: datetime | None = None) -> DepositAccount | None:
    """registration_created: open the section+bidder pair's virtual sub-account inside the sign-up."""
    now = now or timezone.now()
    section = registration.section
    if section.deposit_amount <= 0:
        return None
    existing = DepositAccount.objects.filter(section=section, organization=registration.organization_id).first()
    if existing:
        return existing
    for _attempt in range(5):
        try:
            with transaction.atomic():
                account = DepositAccount.objects.create(
                    section=section, organization=registration.organization, registration=registration,
                    virtual_account=virtual_account_make(), opened_at=now, status_changed_at=now)
            break
        except IntegrityError:
            existing = DepositAccount.objects.filter(section=section,
                                                     organization=registration.organization_id).first()
            if existing:
                return existing
    else:  # pragma: no cover - five collisions in 10^15 numbers
        raise DepositError(_("No virtual account number is free; try again."), code="no_account_number")
    ledger_append(action="deposit.account_opened", actor="system", obj=section, now=now,
                  data={"organization": registration.organization.credit_code,
                        "virtual_account": account.virtual_account})
    return account


def _lock_section(section_id: int) -> Section:
    return Section.objects.select_for_update().get(pk=section_id)


def _lock_account(account_id: int) -> DepositAccount:
    return DepositAccount.objects.select_for_update().select_related("section", "organization").get(pk=account_id)


# --- balances ------------------------------------------------------------------------------------

def bucket_balance(account: DepositAccount, bucket: str) -> Decimal:
    total = MoneyEntry.objects.filter(account=account, bucket=bucket).aggregate(s=Sum("amount"))["s"]
    return total if total is not None else ZERO


def held_balance(account: DepositAccount) -> Decimal:
    return bucket_balance(account, MoneyEntry.Bucket.HELD)


def paid_amount(account: DepositAccount) -> Decimal:
    """What the bidder has validly paid in: every credit to the deposit, whatever happened since."""
    total = MoneyEntry.objects.filter(account=account, bucket=MoneyEntry.Bucket.HELD,
                                      kind=MoneyEntry.Kind.RECEIVED).aggregate(s=Sum("amount"))["s"]
    return total if total is not None else ZERO


def _status_for_balance(account: DepositAccount, held: Decimal) -> str:
    if held <= 0:
        return A.UNPAID
    return A.PAID if held >= account.amount else A.PARTIAL


def _set_status(account: DepositAccount, status: str, now: datetime) -> None:
    if account.status != status:
        account.status, account.status_changed_at = status, now
        account.save(update_fields=["status", "status_changed_at"])


def entry_add(*, kind: str, bucket: str, amount: Decimal, now: datetime, account=None, section=None,
              bank_txn=None, instruction=None, memo: str = "") -> MoneyEntry:
    return MoneyEntry.objects.create(
        at=now, kind=kind, bucket=bucket, amount=money_round(amount), account=account,
        section=section if section is not None else (account.section if account else None),
        bank_txn=bank_txn, instruction=instruction, memo=memo[:200])


# --- bank notifications --------------------------------------------------------------------------

def bank_notification_receive(*, body: bytes, timestamp: str | None, signature: str | None,
                              now: datetime | None = None) -> tuple[BankTransaction, bool]:
    """POST /api/v1/bank/notifications: verify, parse and record one payment; (transaction, created)."""
    now = now or timezone.now()
    verify(body=body, timestamp=timestamp, signature=signature, now=now)
    payment = parse_payment(body)
    return payment_record(payment=payment, body_sha256=hashlib.sha256(body).hexdigest(), now=now)


def _same_payment(txn: BankTransaction, payment: Payment) -> bool:
    return (txn.virtual_account == payment.virtual_account and txn.amount == payment.amount
            and txn.currency == payment.currency and txn.payer_account == payment.payer_account)


def _duplicate(txn: BankTransaction, payment: Payment) -> tuple[BankTransaction, bool]:
    if not _same_payment(txn, payment):
        raise Conflict(_("This txn_id was already used for a different payment."), code="txn_id_reused",
                       field="txn_id")
    return txn, False


def payment_record(*, payment: Payment, body_sha256: str, now: datetime) -> tuple[BankTransaction, bool]:
    with transaction.atomic():
        existing = BankTransaction.objects.filter(txn_id=payment.txn_id).first()
        if existing:
            return _duplicate(existing, payment)
        account = DepositAccount.objects.filter(virtual_account=payment.virtual_account).first()
        if account is not None:
            _lock_section(account.section_id)
            account = _lock_account(account.pk)
            existing = BankTransaction.objects.filter(txn_id=payment.txn_id).first()
            if existing:  # checked again under the lock
                return _duplicate(existing, payment)
        outcome, credit, flag = _classify(account, payment, now)
        returned = payment.amount - credit
        try:
            with transaction.atomic():
                txn = BankTransaction.objects.create(
                    txn_id=payment.txn_id, virtual_account=payment.virtual_account, account=account,
                    amount=payment.amount, currency=payment.currency, payer_account=payment.payer_account,
                    payer_name=payment.payer_name, paid_at=payment.paid_at, received_at=now, outcome=outcome,
                    credited=credit, returned=returned, payer_flag=flag, body_sha256=body_sha256)
        except IntegrityError:
            return _duplicate(BankTransaction.objects.get(txn_id=payment.txn_id), payment)
        _book_payment(txn, account, credit=credit, returned=returned, now=now)
        return txn, True


def _classify(account: DepositAccount | None, payment: Payment, now: datetime) -> tuple[str, Decimal, str]:
    """What happens to a payment: (outcome, amount credited to the deposit, payer flag)."""
    if account is None:
        return OUT.UNKNOWN_ACCOUNT, ZERO, ""
    if payment.currency != account.currency:
        return OUT.WRONG_CURRENCY, ZERO, ""
    if account.status not in DepositAccount.OPEN_STATUSES or account.section.status == Section.Status.CANCELLED:
        return OUT.CLOSED, ZERO, ""
    if payment.paid_at >= account.due:
        return OUT.LATE, ZERO, ""
    basic = normalize_account(account.organization.basic_account_number)
    if not basic or payment.payer_account != basic:
        # R16: a deposit not paid from the basic account is refused and returned, and the bidder may pay
        # again from the right account before the deadline.
        return OUT.WRONG_PAYER, ZERO, str(_("Paid from %(payer)s, not the basic account %(basic)s (R16).")
                                        % {"payer": payment.payer_account, "basic": basic or "—"})
    try:  # the blacklist (R31) refuses a barred bidder's payment; the money is then returned, never lost
        signals.deposit_payment_guard.send(sender=Section, organization=account.organization,
                                           section=account.section, now=now)
    except DomainError as exc:
        return OUT.REFUSED, ZERO, str(exc.message)[:200]
    shortfall = max(ZERO, account.amount - held_balance(account))
    credit = min(payment.amount, shortfall)
    if credit < payment.amount:
        return OUT.OVERPAID, credit, ""
    return (OUT.CREDITED if credit == shortfall else OUT.UNDERPAID), credit, ""


RETURN_REASON = {
    OUT.OVERPAID: RefundInstruction.Reason.EXCESS, OUT.LATE: RefundInstruction.Reason.LATE,
    OUT.UNKNOWN_ACCOUNT: RefundInstruction.Reason.UNKNOWN_ACCOUNT, OUT.WRONG_PAYER: RefundInstruction.Reason.WRONG_PAYER,
    OUT.WRONG_CURRENCY: RefundInstruction.Reason.WRONG_CURRENCY, OUT.CLOSED: RefundInstruction.Reason.CLOSED,
    OUT.REFUSED: RefundInstruction.Reason.REFUSED,
}


def _book_payment(txn: BankTransaction, account: DepositAccount | None, *, credit: Decimal, returned: Decimal,
                  now: datetime) -> None:
    section = account.section if account else None
    if credit > 0:
        entry_add(kind=MoneyEntry.Kind.RECEIVED, bucket=MoneyEntry.Bucket.HELD, amount=credit, now=now,
                  account=account, bank_txn=txn, memo=txn.txn_id)
    instruction = None
    if returned > 0:
        entry_add(kind=MoneyEntry.Kind.RECEIVED, bucket=MoneyEntry.Bucket.OWED, amount=returned, now=now,
                  account=account, section=section, bank_txn=txn, memo=txn.txn_id)
        # The return goes to the outbox in the same transaction as the decision.
        instruction = RefundInstruction.objects.create(
            kind=RefundInstruction.Kind.RETURN, reason=RETURN_REASON[txn.outcome], account=account,
            bank_txn=txn, section=section, principal=returned, payee_account=txn.payer_account,
            payee_name=txn.payer_name, created_at=now, due_by=now + timedelta(days=return_days()),
            next_attempt_at=now)
    if account is not None and account.status in DepositAccount.OPEN_STATUSES:
        _set_status(account, _status_for_balance(account, held_balance(account)), now)
    ledger_append(action="deposit.payment_received", actor="bank", obj=section or ("bank", txn.virtual_account),
                  now=now, data={"txn_id": txn.txn_id, "virtual_account": txn.virtual_account,
                                 "amount": str(txn.amount), "outcome": txn.outcome, "credited": str(credit),
                                 "returned": str(returned), "payer_account": txn.payer_account,
                                 "return_instruction": instruction.instruction_id if instruction else None})
    if account is not None:
        collusion_check(txn=txn, now=now)


# --- R17 collusion signal ------------------------------------------------------------------------

def collusion_check(*, txn: BankTransaction, now: datetime) -> CollusionSignal | None:
    """R17: one payer account paying deposits for several bidders of a section is a collusion signal."""
    account = txn.account
    same = (BankTransaction.objects.filter(account__section=account.section_id, payer_account=txn.payer_account)
            .select_related("account__organization"))
    organizations = {t.account.organization_id: t.account.organization for t in same}
    if len(organizations) < 2:
        return None
    evidence = {"payer_account": txn.payer_account,
                "payments": [{"txn_id": t.txn_id, "organization": t.account.organization.credit_code,
                              "payer_name": t.payer_name, "amount": str(t.amount), "paid_at": t.paid_at.isoformat()}
                             for t in same.order_by("paid_at", "pk")]}
    key = hashlib.sha256(txn.payer_account.encode()).hexdigest()
    with transaction.atomic():  # the section row is locked by the caller: no two signals for one key
        signal, created = CollusionSignal.objects.get_or_create(
            kind=CollusionSignal.Kind.SAME_PAYER_ACCOUNT, section=account.section, key=key,
            defaults={"evidence": evidence, "created_at": now, "updated_at": now})
        if not created:
            signal.evidence, signal.updated_at = evidence, now
            signal.save(update_fields=["evidence", "updated_at"])
        signal.organizations.add(*organizations.values())
    ledger_append(action="collusion.signal", actor="system", obj=account.section, now=now,
                  data={"signal": signal.public_id, "kind": signal.kind, "payer_account": txn.payer_account,
                        "organizations": sorted(o.credit_code for o in organizations.values())})
    return signal


# --- the check shown at the opening ---------------------------------------------------------------

def deposit_check(bid) -> dict | None:
    """opening_deposit_check: the deposit's state beside each bid when prices are read (R12)."""
    section = bid.section
    if section.deposit_amount <= 0:
        return {"status": "not_required", "label": str(_("No deposit required"))}
    account = DepositAccount.objects.filter(section=section, organization=bid.organization_id).first()
    if account is None:
        return {"status": A.UNPAID, "label": str(_("Not paid"))}
    held = held_balance(account)
    labels = {
        A.PAID: _("Paid in full (%(paid)s of %(amount)s)"),
        A.PARTIAL: _("Short: %(paid)s of %(amount)s paid"),
        A.UNPAID: _("Not paid (%(amount)s due)"),
        A.REFUNDING: _("Being refunded"), A.REFUNDED: _("Refunded"), A.FORFEITED: _("Forfeited"),
    }
    return {"status": account.status,
            "label": str(labels[account.status] % {"paid": f"{held:,.2f}", "amount": f"{account.amount:,.2f}"})}


# --- R21 forfeiture ------------------------------------------------------------------------------

def deposit_forfeit_propose(*, section: Section, organization_id: int, reason: str, actor="system",
                            detail: str = "", now: datetime | None = None) -> DepositForfeiture | None:
    """Propose keeping a deposit (R21); nothing moves until a supervisor confirms. Idempotent."""
    now = now or timezone.now()
    if reason not in DepositForfeiture.Reason.values:
        raise DepositError(_("Unknown forfeiture reason."), field="reason")
    with transaction.atomic():
        _lock_section(section.pk)
        account = DepositAccount.objects.filter(section=section, organization=organization_id).first()
        if account is None:
            return None
        account = _lock_account(account.pk)
        existing = DepositForfeiture.objects.filter(account=account).first()
        if existing:
            return existing
        if account.status not in DepositAccount.OPEN_STATUSES or held_balance(account) <= 0:
            return None
        forfeiture = DepositForfeiture.objects.create(
            account=account, reason=reason, detail=detail[:500], proposed_at=now,
            proposed_by=getattr(actor, "username", None) or str(actor))
        ledger_append(action="deposit.forfeit_proposed", actor=actor, obj=section, now=now,
                      data={"forfeiture": forfeiture.public_id, "organization": account.organization.credit_code,
                            "reason": reason})
    return forfeiture


def _require_supervisor(user: User) -> None:
    if not user.has_role(User.Role.SUPERVISOR):
        raise PermissionDenied(_("Only a supervisor can decide on a forfeiture."))


def _locked_forfeiture(forfeiture_id: str) -> tuple[DepositForfeiture, DepositAccount]:
    forfeiture = DepositForfeiture.objects.select_related("account").filter(public_id=forfeiture_id).first()
    if forfeiture is None:
        raise NotFound(_("No such forfeiture."))
    _lock_section(forfeiture.account.section_id)
    account = _lock_account(forfeiture.account_id)
    return DepositForfeiture.objects.select_for_update().get(pk=forfeiture.pk), account


@transaction.atomic
def deposit_forfeit_confirm(*, user: User, forfeiture_id: str, note: str = "",
                            now: datetime | None = None) -> DepositForfeiture:
    """R21: a supervisor confirms; the held deposit moves to the forfeited bucket, once."""
    now = now or timezone.now()
    _require_supervisor(user)
    forfeiture, account = _locked_forfeiture(forfeiture_id)
    if forfeiture.status == DepositForfeiture.Status.CONFIRMED:
        return forfeiture
    if forfeiture.status != DepositForfeiture.Status.PENDING:
        raise Conflict(_("This forfeiture was already rejected."), code="decided")
    held = held_balance(account)
    if held > 0:
        entry_add(kind=MoneyEntry.Kind.FORFEITED, bucket=MoneyEntry.Bucket.HELD, amount=-held, now=now,
                  account=account, memo=forfeiture.reason)
        entry_add(kind=MoneyEntry.Kind.FORFEITED, bucket=MoneyEntry.Bucket.FORFEITED, amount=held, now=now,
                  account=account, memo=forfeiture.reason)
    forfeiture.status, forfeiture.decided_by, forfeiture.decided_at = DepositForfeiture.Status.CONFIRMED, user, now
    forfeiture.decision_note = (note or "")[:500]
    forfeiture.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _set_status(account, A.FORFEITED, now)
    ledger_append(action="deposit.forfeited", actor=user, obj=account.section, now=now,
                  data={"forfeiture": forfeiture.public_id, "organization": account.organization.credit_code,
                        "amount": str(held), "reason": forfeiture.reason})
    return forfeiture


@transaction.atomic
def deposit_forfeit_reject(*, user: User, forfeiture_id: str, note: str,
                           now: datetime | None = None) -> DepositForfeiture:
    """The supervisor refuses the forfeiture: the deposit is refunded within the return period."""
    from trading.deposits.services.refunds import deposit_refund_decide

    now = now or timezone.now()
    _require_supervisor(user)
    note = (note or "").strip()
    if not note:
        raise DepositError(_("Give the reason for rejecting the forfeiture."), field="note")
    forfeiture, account = _locked_forfeiture(forfeiture_id)
    if forfeiture.status == DepositForfeiture.Status.REJECTED:
        return forfeiture
    if forfeiture.status != DepositForfeiture.Status.PENDING:
        raise Conflict(_("This forfeiture was already confirmed."), code="decided")
    forfeiture.status, forfeiture.decided_by, forfeiture.decided_at = DepositForfeiture.Status.REJECTED, user, now
    forfeiture.decision_note = note[:500]
    forfeiture.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    ledger_append(action="deposit.forfeit_rejected", actor=user, obj=account.section, now=now,
                  data={"forfeiture": forfeiture.public_id, "note": forfeiture.decision_note})
    deposit_refund_decide(account_id=account.pk, reason=RefundInstruction.Reason.NOT_FORFEITED,
                          due_by=now + timedelta(days=return_days()), now=now, actor=user)
    return forfeiture


# --- what bids and the opening do to deposits -----------------------------------------------------

def on_bid_outcome(*, bid, now: datetime) -> None:
    """opening_bid_outcome: a revocation after the deadline is proposed for forfeiture (R21); a platform
    fault counts as a withdrawal (R11), so that deposit is refunded within the return period (R19)."""
    from bidding.models import Bid
    from trading.deposits.services.refunds import deposit_refund_decide

    if bid.status == Bid.Status.REVOKED:
        deposit_forfeit_propose(section=bid.section, organization_id=bid.organization_id,
                                reason=DepositForfeiture.Reason.REVOKED, now=now,
                                detail=bid.outcome_reason or "")
    elif bid.status == Bid.Status.FAILED_PLATFORM:
        account = DepositAccount.objects.filter(section=bid.section_id, organization=bid.organization_id).first()
        if account:
            deposit_refund_decide(account_id=account.pk, reason=RefundInstruction.Reason.WITHDRAWN,
                                  due_by=now + timedelta(days=return_days()), now=now)


def on_withdraw(*, bid, now: datetime) -> None:
    """bid_withdrawn (R19): a bid withdrawn before the deadline gets its deposit back within 5 days."""
    from trading.deposits.services.refunds import deposit_refund_decide

    account = DepositAccount.objects.filter(section=bid.section_id, organization=bid.organization_id).first()
    if account:
        deposit_refund_decide(account_id=account.pk, reason=RefundInstruction.Reason.WITHDRAWN,
                              due_by=now + timedelta(days=return_days()), now=now)

