"""Money as official documents print it: thousands separators and 人民币大写 (the amount in capital words).

大写 follows the rules for bills and settlement vouchers (《正确填写票据和结算凭证的基本规定》): one 零 for a run
of zeros inside a number, 零 after 元 when the 元 digit or the 角 is zero and a smaller unit follows, 整 after 元
when there are no 角 or 分, nothing after 分.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")


def money_round(amount: Decimal) -> Decimal:
    """To the cent, half up: the one rounding rule for amounts."""
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def money_format(amount: Decimal) -> str:
    """``9912345.67`` → ``9,912,345.67``."""
    if isinstance(amount, float):
        raise TypeError("money is a Decimal, never a float")
    return f"{money_round(amount):,.2f}"


def money_in_words(amount: Decimal) -> str:
    """``9912345.67`` → ``玖佰玖拾壹万贰仟叁佰肆拾伍元陆角柒分``."""
    if isinstance(amount, float):
        raise TypeError("money is a Decimal, never a float")
    cents = int(money_round(amount) * 100)
    if cents < 0:
        return "负" + money_in_words(Decimal(-cents) / 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return "零元整"
    words = _integer(yuan) + "元" if yuan else ""
    if not jiao and not fen:
        return words + "整"
    if jiao:
        words += ("零" if yuan and yuan % 10 == 0 else "") + DIGITS[jiao] + "角"
    elif yuan:
        words += "零"
    if fen:
        words += DIGITS[fen] + "分"
    return words


def _integer(n: int) -> str:
    """A whole number above zero in capital words: 亿 and 万 split it, each part read in 仟佰拾."""
    for size, unit in ((10**8, "亿"), (10**4, "万")):
        if n >= size:
            high, low = divmod(n, size)
            if not low:
                return _integer(high) + unit
            return _integer(high) + unit + ("零" if low < size // 10 else "") + _integer(low)
    return _four(n)


def _four(n: int) -> str:
    """1–9999: a run of zeros between digits reads as one 零; trailing zeros are not read."""
    digits = f"{n:04d}".lstrip("0")
    words, zero = "", False
    for position, digit in enumerate(digits):
        place = len(digits) - 1 - position
        if digit == "0":
            zero = True
            continue
        words += ("零" if zero else "") + DIGITS[int(digit)] + PLACES[place]
        zero = False
    return words
