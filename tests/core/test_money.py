"""One money format for official documents: thousands separators and 人民币大写."""

from decimal import Decimal

import pytest

from trading.money import money_format, money_in_words


@pytest.mark.parametrize(("amount", "formatted"), [
    ("0", "0.00"), ("0.05", "0.05"), ("10", "10.00"), ("999.99", "999.99"), ("1000", "1,000.00"),
    ("9912345.67", "9,912,345.67"), ("100000000", "100,000,000.00"), ("1234.565", "1,234.57"),
    ("-1234.5", "-1,234.50"),
])
def test_money_format_groups_thousands_with_two_decimals(amount, formatted):
    assert money_format(Decimal(amount)) == formatted


@pytest.mark.parametrize(("amount", "words"), [
    ("0", "零元整"),
    ("0.05", "伍分"),
    ("0.5", "伍角"),
    ("0.15", "壹角伍分"),
    ("1", "壹元整"),
    ("10", "壹拾元整"),
    ("15", "壹拾伍元整"),
    ("100.10", "壹佰元零壹角"),
    ("101", "壹佰零壹元整"),
    ("1001", "壹仟零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("1409.50", "壹仟肆佰零玖元伍角"),
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("10000", "壹万元整"),
    ("10001", "壹万零壹元整"),
    ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
    ("100000", "壹拾万元整"),
    ("107000.53", "壹拾万柒仟元零伍角叁分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("1000000", "壹佰万元整"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("100000001", "壹亿零壹元整"),
    ("110000000", "壹亿壹仟万元整"),
    ("9912345.67", "玖佰玖拾壹万贰仟叁佰肆拾伍元陆角柒分"),
    ("1000000000000", "壹万亿元整"),
    ("1000000010000", "壹万亿零壹万元整"),
    ("1234567890123.45", "壹万贰仟叁佰肆拾伍亿陆仟柒佰捌拾玖万零壹佰贰拾叁元肆角伍分"),
    ("0.004", "零元整"),
    ("0.005", "壹分"),
    ("-10", "负壹拾元整"),
])
def test_money_in_words_follows_the_settlement_voucher_rules(amount, words):
    assert money_in_words(Decimal(amount)) == words


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        money_format(0.1)
    with pytest.raises(TypeError):
        money_in_words(0.1)
