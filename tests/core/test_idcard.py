"""Resident ID numbers: GB 11643 check digit, birth date, masking."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core import idcard


def test_a_known_valid_number_with_an_x_check_character():
    assert idcard.validate("11010519491231002x") == "11010519491231002X"
    assert idcard.is_valid(" 110105 19491231002X ")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "身份证号应为18位"),
        ("110105194912310021X", "身份证号应为18位"),
        ("11010519491231002Y", "身份证号格式不正确"),
        ("1101051949123100AX", "身份证号格式不正确"),
        ("110105194902300021", "出生日期无效"),
        ("110105189912310021", "出生日期无效"),
        ("11010519491231002" + "1", "身份证号校验位不正确"),
        ("010105194912310021", "地区码无效"),
    ],
)
def test_invalid_numbers_say_why(number, reason):
    with pytest.raises(idcard.InvalidIdNumber) as caught:
        idcard.validate(number)
    assert caught.value.reason == reason
    assert not idcard.is_valid(number)


def test_a_birth_date_in_the_future_is_invalid():
    first17 = "11010520300101002"
    number = first17 + idcard.check_character(first17)
    with pytest.raises(idcard.InvalidIdNumber):
        idcard.validate(number, today=dt.date(2026, 1, 1))


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_character_agrees_with_iso_7064_mod_11_2(first17):
    # ISO 7064 MOD 11-2 computed the other way: weights are 2^(17-i) mod 11, check = (12 - sum) mod 11.
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    assert idcard.check_character(first17) == ("X" if value == 10 else str(value))


def test_mask_keeps_the_first_three_and_last_four():
    assert idcard.mask("11010519491231002X") == "110***********002X"
    assert idcard.mask("11010519491231002x") == "110***********002X"
    assert idcard.mask("") == ""
    assert idcard.mask(None) == ""
    assert idcard.mask("12345") == "*****"
