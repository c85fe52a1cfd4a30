"""Public identifiers: short, random and not sequential, so nobody can count objects by guessing."""

import secrets

_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def public_id(prefix: str, length: int = 12) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))
