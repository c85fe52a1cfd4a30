"""退还保证金: refund decisions (R18–R20), the outbox that sends them to the bank, and overdue alerts.

A decision writes its ``RefundInstruction`` in the same transaction that moves the money in the ledger.
The sweep then sends due instructions; the bank de-duplicates on ``instruction_id``, so a resend after a
lost answer is harmless, and the payout is booked only when the bank confirms it.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from timestamps.ledger import ledger_append
from trading.deposits.models import DepositAccount, DepositForfeiture, MoneyEntry, RefundInstruction
from trading.deposits.services import deposits
from trading.deposits.services.deposits import entry_add, held_balance
from trading.deposits.services.interest import annual_rate, interest_on_receipts
from trading.models import Section
from trading.supervision.models import SupervisionAlert

logger = logging.getLogger(__name__)
A = DepositAccount.Status
R = RefundInstruction.Status
Reason = RefundInstruction.Reason


# --- decisions -----------------------------------------------------------------------------------

def _receipts(account: DepositAccount) -> list:
    entries = MoneyEntry.objects.filter(account=account, bucket=MoneyEntry.Bucket.HELD,
                                        kind=MoneyEntry.Kind.RECEIVED).select_related("bank_txn")
    return [(e.amount, e.bank_txn.paid_at if e.bank_txn else e.at) for e in entries]


def deposit_refund_decide(*, account_id: int, reason: str, due_by: datetime, now: datetime | None = None,
                          actor="system") -> RefundInstruction | None:
    """Decide one deposit refund with interest, exactly once; None when nothing is to be refunded."""
    now = now or timezone.now()
    with transaction.atomic():
        account = DepositAccount.objects.get(pk=account_id)
        deposits._lock_section(account.section_id)
        account = deposits._lock_account(account_id)
        if account.status in (A.REFUNDING, A.REFUNDED):  # checked again under the lock: idempotent
            return account.refunds.filter(kind=RefundInstruction.Kind.DEPOSIT_REFUND).first()
        if account.status == A.FORFEITED:
            return None
        if DepositForfeiture.objects.filter(account=account, status=DepositForfeiture.Status.PENDING).exists():
            return None  # R21: waits for the supervisor
        held = held_balance(account)
        if held <= 0:
            return None
        rate = annual_rate()
        interest, days = interest_on_receipts(_receipts(account), until=now, rate=rate)
        try:
            with transaction.atomic():
                instruction = RefundInstruction.objects.create(
                    kind=RefundInstruction.Kind.DEPOSIT_REFUND, reason=reason, account=account,
                    section=account.section, principal=held, interest=interest, interest_days=days,
                    interest_rate=rate, payee_account=account.organization.basic_account_number,
                    payee_name=account.organization.name, created_at=now, due_by=due_by, next_attempt_at=now)
        except IntegrityError:  # the constraint is the last word if a lock was ever skipped
            return account.refunds.filter(kind=RefundInstruction.Kind.DEPOSIT_REFUND).first()
        book = {"account": account, "instruction": instruction, "now": now, "memo": reason}
        entry_add(kind=MoneyEntry.Kind.REFUND_DECIDED, bucket=MoneyEntry.Bucket.HELD, amount=-held, **book)
        entry_add(kind=MoneyEntry.Kind.REFUND_DECIDED, bucket=MoneyEntry.Bucket.OWED, amount=held, **book)
        if interest > 0:
            entry_add(kind=MoneyEntry.Kind.INTEREST_ADDED, bucket=MoneyEntry.Bucket.OWED, amount=interest, **book)
            entry_add(kind=MoneyEntry.Kind.INTEREST_ADDED, bucket=MoneyEntry.Bucket.INTEREST, amount=-interest,
                      **book)
        deposits._set_status(account, A.REFUNDING, now)
        ledger_append(action="deposit.refund_decided", actor=actor, obj=account.section, now=now,
                      data={"instruction": instruction.instruction_id, "reason": reason,
                            "organization": account.organization.credit_code, "principal": str(held),
                            "interest": str(interest), "days": days, "rate": str(rate),
                            "due_by": due_by.isoformat()})
    return instruction


def _refund_section(section: Section, *, reason: str, due_by: datetime, now: datetime, actor) -> list:
    made = []
    for account_id in DepositAccount.objects.filter(section=section, status__in=DepositAccount.OPEN_STATUSES) \
            .order_by("pk").values_list("pk", flat=True):
        instruction = deposit_refund_decide(account_id=account_id, reason=reason, due_by=due_by, now=now,
                                            actor=actor)
        if instruction is not None:
            made.append(instruction)
    return made


def deposit_refunds_on_contract(*, section: Section, signed_at: datetime, now: datetime | None = None,
                                actor="system") -> list[RefundInstruction]:
    """R18: the winner and every loser get the deposit back with interest, at the latest 5 days after the
    written contract is signed. Deposits awaiting a forfeiture decision (R21) are left alone."""
    now = now or timezone.now()
    return _refund_section(section, reason=Reason.CONTRACT, now=now, actor=actor,
                           due_by=signed_at + timedelta(days=refund_days()))


def deposit_refunds_on_termination(*, section: Section, now: datetime | None = None,
                                   actor="system") -> list[RefundInstruction]:
    """R20: a terminated tender (cancelled or failed) returns every deposit with interest."""
    now = now or timezone.now()
    return _refund_section(section, reason=Reason.TERMINATED, now=now, actor=actor,
                           due_by=now + timedelta(days=refund_days()))


def refund_days() -> int:
    return settings.DEPOSIT_REFUND_DAYS


# --- the outbox ----------------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    base = settings.BANK_RETRY_BASE_SECONDS
    cap = settings.BANK_RETRY_MAX_SECONDS
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def instruction_payload(instruction: RefundInstruction) -> dict:
    return {"instruction_id": instruction.instruction_id, "kind": instruction.kind,
            "amount": str(instruction.total), "principal": str(instruction.principal),
            "interest": str(instruction.interest), "currency": "CNY",
            "from_virtual_account": instruction.account.virtual_account if instruction.account_id
            else (instruction.bank_txn.virtual_account if instruction.bank_txn_id else ""),
            "payee_account": instruction.payee_account, "payee_name": instruction.payee_name,
            "reference": instruction.bank_txn.txn_id if instruction.bank_txn_id else ""}


def _claim(instruction_pk: int, now: datetime) -> dict | None:
    """Take one due instruction for this worker; another worker skips it while we hold the row."""
    with transaction.atomic():
        # of=self: PostgreSQL cannot lock the nullable side of the outer joins that select_related makes.
        instruction = (RefundInstruction.objects.select_for_update(skip_locked=True, of=("self",))
                       .select_related("account", "bank_txn")
                       .filter(pk=instruction_pk, status__in=[R.PENDING, R.SENT], next_attempt_at__lte=now).first())
        if instruction is None:
            return None
        instruction.attempts += 1
        instruction.status = R.SENT
        instruction.sent_at = instruction.sent_at or now
        instruction.next_attempt_at = now + backoff(instruction.attempts)
        instruction.save(update_fields=["attempts", "status", "sent_at", "next_attempt_at"])
        return instruction_payload(instruction)


def refund_instruction_send(*, instruction_pk: int, client, now: datetime | None = None) -> str:
    """Send one instruction: 'done', 'sent' (awaiting confirmation), 'retry', 'rejected' or 'skipped'."""
    from trading.deposits.bank.client import BankUnavailable

    now = now or timezone.now()
    payload = _claim(instruction_pk, now)
    if payload is None:
        return "skipped"
    try:
        answer = client.refund_send(payload)
    except BankUnavailable as exc:  # the claim already moved next_attempt_at out: exponential backoff
        RefundInstruction.objects.filter(pk=instruction_pk).update(last_error=str(exc)[:300])
        return "retry"
    return refund_confirm(instruction_id=payload["instruction_id"], answer=answer, now=now)


def refund_confirm(*, instruction_id: str, answer: dict, now: datetime | None = None) -> str:
    """Book the bank's answer once: a payout leaves the owed bucket only on the first confirmation."""
    now = now or timezone.now()
    state = (answer or {}).get("status")
    with transaction.atomic():
        instruction = RefundInstruction.objects.select_for_update().filter(instruction_id=instruction_id).first()
        if instruction is None or instruction.status in (R.DONE, R.REJECTED):
            return instruction.status if instruction else "skipped"
        if state == "done":
            _book_payout(instruction, answer, now)
        elif state == "rejected":
            instruction.status, instruction.last_error = R.REJECTED, str(answer.get("error", ""))[:300]
            instruction.save(update_fields=["status", "last_error"])
            SupervisionAlert.objects.get_or_create(
                kind=SupervisionAlert.Kind.REFUND_REJECTED, instruction=instruction,
                defaults={"section": instruction.section, "raised_at": now,
                          "message": _("The bank rejected refund %(id)s: %(error)s")
                          % {"id": instruction_id, "error": instruction.last_error},
                          "data": {"instruction": instruction_id}})
            ledger_append(action="deposit.refund_rejected", actor="bank", obj=instruction.section
                          or ("refund", instruction_id), now=now,
                          data={"instruction": instruction_id, "error": instruction.last_error})
        return instruction.status


def _book_payout(instruction: RefundInstruction, answer: dict, now: datetime) -> None:
    account = deposits._lock_account(instruction.account_id) if instruction.account_id else None
    instruction.status, instruction.confirmed_at = R.DONE, now
    instruction.bank_ref = str(answer.get("bank_ref", ""))[:64]
    instruction.last_error = ""
    instruction.save(update_fields=["status", "confirmed_at", "bank_ref", "last_error"])
    entry_add(kind=MoneyEntry.Kind.PAID_OUT, bucket=MoneyEntry.Bucket.OWED, amount=-instruction.total, now=now,
              account=account, section=instruction.section, bank_txn=instruction.bank_txn,
              instruction=instruction, memo=instruction.bank_ref)
    if account is not None and instruction.kind == RefundInstruction.Kind.DEPOSIT_REFUND:
        deposits._set_status(account, A.REFUNDED, now)
    SupervisionAlert.objects.filter(instruction=instruction, resolved_at__isnull=True).update(resolved_at=now)
    ledger_append(action="deposit.refund_paid", actor="bank", obj=instruction.section or ("refund", instruction.pk),
                  now=now, data={"instruction": instruction.instruction_id, "amount": str(instruction.total),
                                 "bank_ref": instruction.bank_ref, "payee_account": instruction.payee_account})


def refund_outbox_send(*, client, now: datetime | None = None, limit: int = 200) -> dict:
    """Send every due instruction once; what fails waits for its backoff."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    due = (RefundInstruction.objects.filter(status__in=[R.PENDING, R.SENT], next_attempt_at__lte=now)
           .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    for pk in list(due):
        result = refund_instruction_send(instruction_pk=pk, client=client, now=now)
        counts[result] = counts.get(result, 0) + 1
    return counts


def refund_reconcile(*, client, now: datetime | None = None) -> dict:
    """Ask the bank about every instruction still awaiting confirmation and book what it did."""
    from trading.deposits.bank.client import BankUnavailable

    now = now or timezone.now()
    counts: dict[str, int] = {}
    for instruction_id in list(RefundInstruction.objects.filter(status=R.SENT)
                               .values_list("instruction_id", flat=True)):
        try:
            answer = client.refund_status(instruction_id)
        except BankUnavailable:
            counts["unavailable"] = counts.get("unavailable", 0) + 1
            continue
        if answer is None:  # the bank never got it: the outbox resends it
            counts["unknown"] = counts.get("unknown", 0) + 1
            continue
        result = refund_confirm(instruction_id=instruction_id, answer=answer, now=now)
        counts[result] = counts.get(result, 0) + 1
    return counts


# --- supervision ---------------------------------------------------------------------------------

def refunds_overdue(*, now: datetime):
    """Instructions not paid by their due time (R18, R19): what the supervision issue reads."""
    return RefundInstruction.objects.filter(due_by__lt=now).exclude(status=R.DONE).select_related("section")


def refund_overdue_alerts(*, now: datetime | None = None) -> int:
    """Raise one SupervisionAlert per overdue refund; idempotent."""
    now = now or timezone.now()
    raised = 0
    for instruction in refunds_overdue(now=now):
        _alert, created = SupervisionAlert.objects.get_or_create(
            kind=SupervisionAlert.Kind.REFUND_OVERDUE, instruction=instruction,
            defaults={"section": instruction.section, "raised_at": now,
                      "message": _("Refund %(id)s of %(amount)s was due by %(due)s and is not paid.")
                      % {"id": instruction.instruction_id, "amount": f"{instruction.total:,.2f}",
                         "due": timezone.localtime(instruction.due_by).strftime("%Y-%m-%d %H:%M")},
                      "data": {"instruction": instruction.instruction_id, "reason": instruction.reason,
                               "due_by": instruction.due_by.isoformat()}})
        if created:
            raised += 1
            ledger_append(action="deposit.refund_overdue", actor="system",
                          obj=instruction.section or ("refund", instruction.pk), now=now,
                          data={"instruction": instruction.instruction_id})
    return raised


# --- sweeps --------------------------------------------------------------------------------------

def sweep_refund_outbox(*, now: datetime | None = None) -> dict:
    from trading.deposits.bank.client import bank_client

    client = bank_client()
    if client is None:
        return {}
    counts = refund_outbox_send(client=client, now=now)
    counts.update({f"reconciled_{k}": v for k, v in refund_reconcile(client=client, now=now).items()})
    return counts


def sweep_terminated_sections(*, now: datetime | None = None) -> int:
    """R20: a cancelled or failed section returns its deposits, driven by state, not by a signal."""
    now = now or timezone.now()
    sections = Section.objects.filter(
        status__in=[Section.Status.CANCELLED, Section.Status.FAILED],
        deposit_accounts__status__in=DepositAccount.OPEN_STATUSES,
        deposit_accounts__entries__bucket=MoneyEntry.Bucket.HELD).distinct()
    made = 0
    for section in sections:
        made += len(deposit_refunds_on_termination(section=section, now=now))
    return made

