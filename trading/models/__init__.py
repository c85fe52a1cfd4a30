from trading.models.organizations import ApiToken, Organization, RecoveryCode, User
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
    "Clarification",
    "DocumentObjection",
    "Notification",
    "Organization",
    "Project",
    "Question",
    "RecoveryCode",
    "Registration",
    "Section",
    "TenderDocument",
    "User",
]
