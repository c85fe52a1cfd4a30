from trading.models.deposits import (
    BankTransaction,
    CollusionSignal,
    DepositAccount,
    DepositForfeiture,
    MoneyEntry,
    RefundInstruction,
    SupervisionAlert,
)
from trading.models.organizations import ApiToken, Organization, User
from trading.models.projects import (
    Clarification,
    DocumentObjection,
    Notification,
    Project,
    Question,
    Registration,
    Section,
    TenderDocument,
)

__all__ = [
    "ApiToken",
    "BankTransaction",
    "Clarification",
    "CollusionSignal",
    "DepositAccount",
    "DepositForfeiture",
    "DocumentObjection",
    "MoneyEntry",
    "Notification",
    "Organization",
    "Project",
    "Question",
    "RefundInstruction",
    "Registration",
    "Section",
    "SupervisionAlert",
    "TenderDocument",
    "User",
]
