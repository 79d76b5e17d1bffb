"""Unified social credit codes (统一社会信用代码, GB 32100-2015): validation of the 18 characters.

Layout: the registration authority (1 character), the organisation category under it (1), the
registering administration's area code (6 digits), the organisation code (9), and a check
character computed from the first 17 (ISO 7064 MOD 31-3 as the standard adapts it).

The charset is the digits and the capitals without I, O, Z, S and V, which read like digits.
The leading two characters are checked loosely (a known authority and a category digit): the
categories are extended from time to time, and a strict table would refuse a genuine code. The
organisation code's own check character (GB 11714) is not checked: codes issued to individual
businesses and in some provinces' early batches do not all follow it, and the GB 32100 check
character already catches typing errors.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
MODULUS = 31

# 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政, 6 旅游, 7 宗教, 8 工会, 9 市场监管(工商),
# A 中央军委改革和编制办公室, N 农业, Y 其他.
REGISTRATION_AUTHORITIES = frozenset("123456789ANY")
CATEGORIES = frozenset("123456789")

_VALUES = {ch: i for i, ch in enumerate(CHARSET)}


class InvalidCreditCode(ValueError):
    """The text is not a valid unified social credit code; `reason` says which part is wrong."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def normalize(value: str) -> str:
    # Codes are copied from licences with stray spaces and typed in lower case.
    return "".join(str(value).split()).upper()


def check_character(first17: str) -> str:
    """The 18th character for these 17; raises InvalidCreditCode on a character outside the charset."""
    if len(first17) != LENGTH - 1:
        raise InvalidCreditCode("统一社会信用代码应为18位")
    try:
        total = sum(_VALUES[ch] * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    except KeyError as exc:
        raise InvalidCreditCode("统一社会信用代码含有无效字符") from exc
    return CHARSET[(MODULUS - total % MODULUS) % MODULUS]


def validate(value: str) -> str:
    """The normalised code, or InvalidCreditCode saying what is wrong."""
    code = normalize(value)
    if len(code) != LENGTH:
        raise InvalidCreditCode("统一社会信用代码应为18位")
    if any(ch not in _VALUES for ch in code):
        raise InvalidCreditCode("统一社会信用代码含有无效字符")
    if code[0] not in REGISTRATION_AUTHORITIES:
        raise InvalidCreditCode("登记管理部门代码无效")
    if code[1] not in CATEGORIES:
        raise InvalidCreditCode("机构类别代码无效")
    if not code[2:8].isdigit():
        raise InvalidCreditCode("登记管理机关行政区划码无效")
    if check_character(code[:17]) != code[17]:
        raise InvalidCreditCode("统一社会信用代码校验位不正确")
    return code


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except InvalidCreditCode:
        return False
    return True


def validate_credit_code(value: str) -> None:
    """A model and form field validator."""
    from django.core.exceptions import ValidationError

    try:
        validate(value)
    except InvalidCreditCode as exc:
        raise ValidationError(exc.reason, code="invalid_credit_code") from None
