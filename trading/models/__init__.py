from trading.models.credit import (
    CreditAppeal,
    CreditRecord,
    DeadlineAlert,
    RatingFollowUp,
    ServiceRating,
)
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
    "CreditAppeal",
    "CreditRecord",
    "DeadlineAlert",
    "DepositAccount",
    "DepositForfeiture",
    "DocumentObjection",
    "MoneyEntry",
    "Notification",
    "Organization",
    "Project",
    "Question",
    "RatingFollowUp",
    "RefundInstruction",
    "Registration",
    "Section",
    "ServiceRating",
    "SupervisionAlert",
    "TenderDocument",
    "User",
]
