"""Domain errors: each carries a message in the user's language and, where it helps, a field."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message, *, code: str = "invalid", field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.field = field


class PermissionDenied(DomainError):
    status_code = 403

    def __init__(self, message, *, code: str = "forbidden", field: str | None = None):
        super().__init__(message, code=code, field=field)


class NotFound(DomainError):
    status_code = 404

    def __init__(self, message, *, code: str = "not_found", field: str | None = None):
        super().__init__(message, code=code, field=field)


class Conflict(DomainError):
    status_code = 409

    def __init__(self, message, *, code: str = "conflict", field: str | None = None):
        super().__init__(message, code=code, field=field)


class SectionError(DomainError):
    pass


class OrganizationError(DomainError):
    pass
