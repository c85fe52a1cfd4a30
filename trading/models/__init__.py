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
    "Clarification",
    "DocumentObjection",
    "Notification",
    "Organization",
    "Project",
    "Question",
    "Registration",
    "Section",
    "TenderDocument",
    "User",
]
