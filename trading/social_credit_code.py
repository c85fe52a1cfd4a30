"""统一社会信用代码: the 18-character unified social credit code of GB 32100-2015."""

from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class CreditCodeError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def credit_code_check_char(first17: str) -> str:
    total = sum(ALPHABET.index(char) * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def credit_code_normalize(raw: str) -> str:
    """Return the code upper-cased and stripped, or raise CreditCodeError with a clear reason."""
    code = (raw or "").strip().upper()
    if len(code) != 18:
        raise CreditCodeError(_("A unified social credit code has exactly 18 characters."))
    bad = sorted({char for char in code if char not in ALPHABET})
    if bad:
        raise CreditCodeError(
            _("The unified social credit code contains characters that are not allowed: %(chars)s.")
            % {"chars": " ".join(bad)}
        )
    if not code[2:8].isdigit():
        raise CreditCodeError(_("Characters 3 to 8 of the credit code must be the administrative region code."))
    if credit_code_check_char(code[:17]) != code[17]:
        raise CreditCodeError(_("The check character of the unified social credit code is wrong."))
    return code


def credit_code_make(first17: str) -> str:
    """Complete 17 characters with the right check character (for demo data and tests)."""
    return first17 + credit_code_check_char(first17)
