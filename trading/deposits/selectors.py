"""Deposit reads, with access control inside (R14: who signed up, how many and their deposit status are secret
until the opening, from every role but the bidder itself; a supervisor may look earlier through a break-glass)."""

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from trading.deposits.models import (
    BankTransaction,
    DepositAccount,
    DepositForfeiture,
    MoneyEntry,
    RefundInstruction,
)
from trading.deposits.services.deposits import held_balance, paid_amount
from trading.models import Section, User
from trading.services.errors import NotFound, PermissionDenied
from trading.supervision.models import SupervisionAlert
from trading.supervision.selectors import break_glass_sections, registrants_sealed

BEFORE_OPENING = (Section.Status.DRAFT, Section.Status.PUBLISHED, Section.Status.BIDDING_CLOSED)
ZERO = Decimal("0.00")


def _authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def is_platform(user) -> bool:
    """Supervisors and the trading centre's administrators: the 'platform' of R14."""
    return _authenticated(user) and user.has_role(User.Role.SUPERVISOR, User.Role.ADMIN)


def can_read_finance(user) -> bool:
    """Finance reports: the trading centre's administrators (finance staff) and supervisors."""
    return is_platform(user)


def deposit_of_bidder(*, user, section: Section) -> DepositAccount:
    """A bidder's own deposit for a section; nobody else's (R14)."""
    if not _authenticated(user):
        raise PermissionDenied(_("Log in first."), code="not_authenticated")
    if not user.has_role(User.Role.BIDDER) or user.organization_id is None:
        raise PermissionDenied(_("Only the bidder itself can read its deposit."))
    account = (DepositAccount.objects.select_related("section", "organization")
               .filter(section=section, organization=user.organization_id).first())
    if account is None:
        raise NotFound(_("You have no deposit account for this section; sign up first."), code="no_deposit")
    return account


def deposit_view(account: DepositAccount) -> dict:
    """The fixed shape of GET /api/v1/sections/<id>/deposit (DESIGN.md §9)."""
    return {"virtual_account": account.virtual_account, "amount": f"{account.amount:.2f}",
            "currency": account.currency, "status": account.status,
            "paid_amount": f"{paid_amount(account):.2f}", "due": account.due.isoformat()}


def transactions_of(account: DepositAccount) -> QuerySet:
    return BankTransaction.objects.filter(account=account).order_by("received_at")


def refunds_of(account: DepositAccount) -> QuerySet:
    return RefundInstruction.objects.filter(account=account).select_related("bank_txn").order_by("created_at")


def _section_agency(user, section: Section) -> bool:
    return (_authenticated(user) and user.has_role(User.Role.AGENCY)
            and section.project.agency_id == user.organization_id)


def section_deposits_visible(*, user, section: Section, now: datetime | None = None) -> bool:
    if not (is_platform(user) or _section_agency(user, section)):
        return False
    return not registrants_sealed(user=user, section=section, now=now)


def section_deposits(*, user, section: Section, now: datetime | None = None) -> list[dict]:
    """Every deposit of a section, for its agency and the platform after the opening only (R14); before it, for a
    supervisor holding an active break-glass for this section."""
    if not section_deposits_visible(user=user, section=section, now=now):
        if is_platform(user) or _section_agency(user, section):
            raise PermissionDenied(_("R14: who signed up and their deposits stay secret until the opening."),
                                   code="before_opening")
        raise PermissionDenied(_("You may not see these deposits."))
    rows = []
    for account in DepositAccount.objects.filter(section=section).select_related("organization") \
            .order_by("organization__name"):
        forfeiture = DepositForfeiture.objects.filter(account=account).first()
        rows.append({
            "account": account, "organization": account.organization, "status": account.status,
            "status_label": account.get_status_display(), "amount": account.amount,
            "paid_amount": paid_amount(account), "held": held_balance(account),
            "transactions": list(transactions_of(account)), "refunds": list(refunds_of(account)),
            "forfeiture": forfeiture,
        })
    return rows


def section_deposits_json(rows: list[dict]) -> list[dict]:
    return [{"organization": {"id": r["organization"].public_id, "name": r["organization"].name,
                              "credit_code": r["organization"].credit_code},
             "virtual_account": r["account"].virtual_account, "status": r["status"],
             "amount": f"{r['amount']:.2f}", "paid_amount": f"{r['paid_amount']:.2f}", "held": f"{r['held']:.2f}",
             "forfeiture": ({"id": r["forfeiture"].public_id, "reason": r["forfeiture"].reason,
                             "status": r["forfeiture"].status} if r["forfeiture"] else None),
             "payments": [transaction_json(t) for t in r["transactions"]],
             "refunds": [refund_json(i) for i in r["refunds"]]} for r in rows]


def transaction_json(txn: BankTransaction) -> dict:
    return {"txn_id": txn.txn_id, "amount": f"{txn.amount:.2f}", "currency": txn.currency,
            "payer_account": txn.payer_account, "payer_name": txn.payer_name, "paid_at": txn.paid_at.isoformat(),
            "outcome": txn.outcome, "outcome_label": str(txn.get_outcome_display()),
            "credited": f"{txn.credited:.2f}", "returned": f"{txn.returned:.2f}", "flag": txn.payer_flag}


def refund_json(instruction: RefundInstruction) -> dict:
    return {"instruction_id": instruction.instruction_id, "kind": instruction.kind, "reason": instruction.reason,
            "principal": f"{instruction.principal:.2f}", "interest": f"{instruction.interest:.2f}",
            "interest_days": instruction.interest_days, "status": instruction.status,
            "due_by": instruction.due_by.isoformat(),
            "confirmed_at": instruction.confirmed_at.isoformat() if instruction.confirmed_at else None}


def _require_platform(user) -> None:
    if not is_platform(user):
        raise PermissionDenied(_("Only supervisors and platform staff may see this."))


def _unsealed(user, prefix: str) -> Q:
    """Rows about sections past their opening, or under this user's active break-glass (R14)."""
    granted = break_glass_sections(user=user, now=timezone.now())
    return ~Q(**{f"{prefix}status__in": BEFORE_OPENING}) | Q(**{f"{prefix}pk__in": granted})


def forfeitures_visible_to(*, user, status: str = "") -> QuerySet:
    _require_platform(user)
    qs = (DepositForfeiture.objects.select_related("account__section__project", "account__organization")
          .filter(_unsealed(user, "account__section__")))
    return qs.filter(status=status) if status else qs


def alerts_visible_to(*, user, open_only: bool = True) -> QuerySet:
    """Refund alerts; one about a section before its opening (a withdrawn bid's refund, R19) waits (R14)."""
    _require_platform(user)
    qs = SupervisionAlert.objects.select_related("section", "instruction").filter(
        Q(section__isnull=True) | _unsealed(user, "section__"))
    return qs.filter(resolved_at__isnull=True) if open_only else qs


def unknown_payments(*, user) -> QuerySet:
    """Payments into no known virtual account. Finance works on accounts and amounts: the page shows no payer
    name, which may be a bidder's (R14)."""
    _require_platform(user)
    return BankTransaction.objects.filter(account__isnull=True).order_by("-received_at")


# --- reconciliation ------------------------------------------------------------------------------

REPORT_COLUMNS = ["day", "section", "received", "credited", "returned_owed", "refund_principal", "interest",
                  "paid_out", "forfeited", "held_end", "owed_end", "forfeited_end", "cash_end",
                  "bank_in", "bank_out", "difference"]


def reconciliation(*, user, section: Section | None = None, day_from: date | None = None,
                   day_to: date | None = None) -> list[dict]:
    """Per section and per day (Asia/Shanghai): money in, money out and balances from the money ledger,
    checked against the independent bank records (notifications and confirmed instructions). A correct
    ledger has ``difference`` 0 on every row."""
    if not can_read_finance(user):
        raise PermissionDenied(_("Only finance staff (platform administrators) and supervisors may read this."))
    entries = MoneyEntry.objects.select_related("section").order_by("at", "pk")
    txns = BankTransaction.objects.select_related("account")
    payouts = RefundInstruction.objects.filter(status=RefundInstruction.Status.DONE)
    if section is not None and _sealed(user, section):
        raise PermissionDenied(_("R14: who signed up and their deposits stay secret until the opening."),
                               code="before_opening")
    if section is not None:
        entries, txns, payouts = (entries.filter(section=section), txns.filter(account__section=section),
                                  payouts.filter(section=section))
    rows: dict[tuple, dict] = {}
    running: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: ZERO))

    def row(day: date, key: str, label: str) -> dict:
        return rows.setdefault((day, key), {"day": day, "section": label, **{c: ZERO for c in REPORT_COLUMNS[2:]}})

    sealed: dict[int, bool] = {}

    def label_of(sec) -> tuple[str, str]:
        if sec is None:
            return "", str(_("(unknown account)"))
        if sealed.setdefault(sec.pk, _sealed(user, sec)):
            # R14: a section's own row would tell how many paid its deposit; before the opening they are pooled
            return "~sealed", str(_("Sections before their opening (pooled, R14)"))
        return sec.public_id, f"{sec.public_id} {sec.title}"

    for e in entries:
        day = timezone.localtime(e.at).date()
        key, label = label_of(e.section)
        r = row(day, key, label)
        if e.kind == MoneyEntry.Kind.RECEIVED:
            r["received"] += e.amount
            r["credited" if e.bucket == MoneyEntry.Bucket.HELD else "returned_owed"] += e.amount
        elif e.kind == MoneyEntry.Kind.REFUND_DECIDED and e.bucket == MoneyEntry.Bucket.OWED:
            r["refund_principal"] += e.amount
        elif e.kind == MoneyEntry.Kind.INTEREST_ADDED and e.bucket == MoneyEntry.Bucket.OWED:
            r["interest"] += e.amount
        elif e.kind == MoneyEntry.Kind.PAID_OUT:
            r["paid_out"] -= e.amount
        elif e.kind == MoneyEntry.Kind.FORFEITED and e.bucket == MoneyEntry.Bucket.FORFEITED:
            r["forfeited"] += e.amount
        balance = running[key]
        balance[e.bucket] += e.amount
        balance["cash"] += e.amount
        r["held_end"], r["owed_end"] = balance[MoneyEntry.Bucket.HELD], balance[MoneyEntry.Bucket.OWED]
        r["forfeited_end"], r["cash_end"] = balance[MoneyEntry.Bucket.FORFEITED], balance["cash"]
    for t in txns:
        key, label = label_of(t.account.section if t.account else None)
        row(timezone.localtime(t.received_at).date(), key, label)["bank_in"] += t.amount
    for i in payouts.select_related("section"):
        key, label = label_of(i.section)
        row(timezone.localtime(i.confirmed_at).date(), key, label)["bank_out"] += i.total
    result = []
    for (day, _key), r in sorted(rows.items(), key=lambda item: (item[0][0], item[0][1])):
        r["difference"] = (r["bank_in"] - r["received"]) + (r["paid_out"] - r["bank_out"])
        if (day_from is None or day >= day_from) and (day_to is None or day <= day_to):
            result.append(r)
    _carry_balances(result)
    return result


def _sealed(user, section: Section) -> bool:
    """A section before its opening, unless this supervisor holds a break-glass for it (a command has none)."""
    if section.status not in BEFORE_OPENING:
        return False
    return getattr(user, "pk", None) is None or registrants_sealed(user=user, section=section)


def _carry_balances(rows: list[dict]) -> None:
    """A day without entries for a section keeps the balances of its last entry."""
    last: dict[str, dict] = {}
    for r in rows:
        if r["received"] == r["paid_out"] == r["refund_principal"] == r["forfeited"] == r["interest"] == ZERO \
                and r["section"] in last:
            for column in ("held_end", "owed_end", "forfeited_end", "cash_end"):
                r[column] = last[r["section"]][column]
        last[r["section"]] = r


def reconciliation_totals(rows: list[dict]) -> dict:
    totals = {c: sum((r[c] for r in rows), ZERO) for c in REPORT_COLUMNS[2:]}
    closing: dict[str, dict] = {}
    for r in rows:
        closing[r["section"]] = r
    for column in ("held_end", "owed_end", "forfeited_end", "cash_end"):
        totals[column] = sum((r[column] for r in closing.values()), ZERO)
    return totals


def platform_balances_by_virtual_account() -> dict[str, Decimal]:
    """Cash per virtual account from the money ledger, to compare with the bank's statement."""
    result: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in MoneyEntry.objects.select_related("account", "bank_txn", "instruction__bank_txn"):
        if e.account_id:
            va = e.account.virtual_account
        elif e.bank_txn_id:
            va = e.bank_txn.virtual_account
        else:
            va = e.instruction.bank_txn.virtual_account if e.instruction and e.instruction.bank_txn else ""
        result[va] += e.amount
    return dict(result)


def reconcile_with_statement(statement: dict) -> list[dict]:
    """Compare the platform's cash per virtual account with a bank statement {account: {"balance"}}."""
    ours = platform_balances_by_virtual_account()
    rows = []
    for va in sorted(set(ours) | set(statement)):
        bank = Decimal(str(statement.get(va, {}).get("balance", "0")))
        mine = ours.get(va, ZERO)
        rows.append({"virtual_account": va, "platform": mine, "bank": bank, "difference": mine - bank})
    return rows


def now_local() -> datetime:
    return timezone.localtime(timezone.now())
