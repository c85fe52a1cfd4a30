"""The experts app's domain error; views turn it into a 4xx answer in the user's language."""

from trading.services.errors import DomainError


class ExpertError(DomainError):
    pass
