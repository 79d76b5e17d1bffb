"""Unified social credit codes (GB 32100-2015): the check character and the loose checks on the layout."""

import pytest
from django.core.exceptions import ValidationError

from backend.core import credit_code

# Real-format codes; each one's check character is also verified by the independent computation below.
KNOWN_VALID = [
    "91350100M000100Y43",  # the example the standard's explanatory material uses
    "91110000600037341L",
    "91440300708461136T",
    "12100000400010398P",  # a public institution (机构编制 1, 事业单位 2)
]


def independent_check(first17: str) -> str:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [pow(3, i, 31) for i in range(17)]  # the standard's weights are 3^i mod 31
    total = sum(charset.index(ch) * w for ch, w in zip(first17, weights, strict=True))
    return charset[(31 - total % 31) % 31]


def test_the_weights_are_the_standards():
    assert list(credit_code.WEIGHTS) == [pow(3, i, 31) for i in range(17)]


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_codes_are_valid(code):
    assert independent_check(code[:17]) == code[17]
    assert credit_code.validate(code) == code
    assert credit_code.is_valid(code)


def test_lower_case_and_spaces_are_normalised():
    assert credit_code.validate(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert credit_code.validate("9135 0100 M000 100Y 43") == "91350100M000100Y43"


def test_a_check_character_of_31_is_written_0():
    # Find a body whose sum is a multiple of 31: its check character is 0, not the (absent) 31st.
    for n in range(10_000):
        body = f"91430602MA{n:07d}"
        if independent_check(body) == "0":
            break
    else:  # pragma: no cover - a multiple of 31 turns up within 31 tries on average
        pytest.fail("no body with check 0 found")
    assert credit_code.check_character(body) == "0"
    assert credit_code.is_valid(body + "0")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "校验位"),  # one off in the check character
        ("91350100M000100Y34", "校验位"),  # two characters swapped
        ("91350100M000100Y4", "18位"),
        ("91350100M000100Y433", "18位"),
        ("91350100M000100I43", "无效字符"),  # I, O, Z, S, V are not in the charset
        ("91350100M000100O43", "无效字符"),
        ("91350100M000100S43", "无效字符"),
        ("91350100M000100V43", "无效字符"),
        ("91350100M000100Z43", "无效字符"),
        ("91350100M00010-Y43", "无效字符"),
        ("０1350100M000100Y43", "无效字符"),  # a full-width digit
        ("B1350100M000100Y43", "登记管理部门"),
        ("0135010000000100Y4", "登记管理部门"),
        ("9A350100M000100Y43", "机构类别"),
        ("9135A100M000100Y43", "行政区划"),
        ("", "18位"),
    ],
)
def test_invalid_codes_say_what_is_wrong(code, reason):
    with pytest.raises(credit_code.InvalidCreditCode) as caught:
        credit_code.validate(code)
    assert reason in caught.value.reason
    assert not credit_code.is_valid(code)


def test_a_valid_layout_with_a_recomputed_check_passes_and_any_other_last_character_fails():
    body = "92430602MA4PQRT1X"
    right = independent_check(body)
    assert credit_code.is_valid(body + right)
    wrong = [ch for ch in credit_code.CHARSET if ch != right]
    assert not any(credit_code.is_valid(body + ch) for ch in wrong)


def test_the_field_validator_raises_a_django_validation_error():
    credit_code.validate_credit_code("91350100M000100Y43")
    with pytest.raises(ValidationError) as caught:
        credit_code.validate_credit_code("91350100M000100Y44")
    assert caught.value.code == "invalid_credit_code"
