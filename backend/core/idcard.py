"""Resident ID numbers (GB 11643-1999): validation and the one way they are ever shown.

An 18-character number: a 6-digit area code, the birth date as YYYYMMDD, a 3-digit sequence,
and a check character computed from the first 17 digits (ISO 7064 MOD 11-2).
"""

from __future__ import annotations

import datetime as dt

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
LENGTH = 18
EARLIEST_BIRTH_YEAR = 1900


class InvalidIdNumber(ValueError):
    """The text is not a valid resident ID number; `reason` says which part is wrong."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def normalize(value: str) -> str:
    # People type a lower-case x and stray spaces; the standard's check character is upper-case X.
    return "".join(str(value).split()).upper()


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def birth_date(number: str) -> dt.date:
    number = normalize(number)
    try:
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber("出生日期无效") from exc


def validate(value: str, *, today: dt.date | None = None) -> str:
    """The normalised number, or InvalidIdNumber saying what is wrong."""
    number = normalize(value)
    if len(number) != LENGTH:
        raise InvalidIdNumber("身份证号应为18位")
    first17, last = number[:17], number[17]
    if not first17.isascii() or not first17.isdigit() or not (last.isdigit() or last == "X"):
        raise InvalidIdNumber("身份证号格式不正确")
    if first17[0] == "0":
        raise InvalidIdNumber("地区码无效")
    born = birth_date(number)
    today = today or dt.date.today()
    if born.year < EARLIEST_BIRTH_YEAR or born > today:
        raise InvalidIdNumber("出生日期无效")
    if check_character(first17) != last:
        raise InvalidIdNumber("身份证号校验位不正确")
    return number


def is_valid(value: str) -> bool:
    try:
        validate(value)
    except InvalidIdNumber:
        return False
    return True


def mask(value: str | None) -> str:
    """`110***********123X`: the first 3 and the last 4 characters, never more."""
    if not value:
        return ""
    number = normalize(value)
    if len(number) <= 7:
        return "*" * len(number)
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"
