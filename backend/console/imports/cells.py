"""Reading an import's cells: the row error, the column and import kinds, and the parsers of each cell
type, every message written for the secretary who uploads.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError

from backend.accounts.models import MOBILE_RE
from backend.core import idcard
from backend.core.errors import DomainError

site = admin.site


# Imports from Excel ---------------------------------------------------------------------------------


class RowError(Exception):
    """A row that cannot be taken as it is; `messages` are shown beside it."""

    def __init__(self, messages_: list[str]) -> None:
        super().__init__("; ".join(messages_))
        self.messages = messages_


class _DryRun(Exception):
    """Raised to roll the preview's writes back."""


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool = False
    example: str = ""
    text: bool = False  # kept as text in the template (ID numbers, phones): Excel would make 4.30602E+17
    choices: tuple[str, ...] = ()  # offered as a dropdown in the template


@dataclass
class ImportKind:
    slug: str
    title: str
    model: str  # the list the import adds to (its changelist, and who may open the page)
    columns: list[Column]
    place: str  # "community" or "street": what the form asks for
    apply: Callable[..., Any]  # (rows, actor, place, attested) -> per row: error messages or []
    note: str = ""
    attestation: str = ""
    grouped: bool = False  # rows are applied together (a committee and its members)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value: Any, header: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-").replace("年", "-").replace("月", "-").rstrip("日")
    try:
        return dt.date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        raise RowError([f"{header}: 日期格式应为 2024-07-01"]) from None


def _int(value: Any, header: str, default: int = 0) -> int:
    text = _text(value)
    if not text:
        return default
    try:
        number = int(float(text))
    except ValueError:
        raise RowError([f"{header}: 应为整数"]) from None
    if number < 0:
        raise RowError([f"{header}: 不能为负数"])
    return number


YES = {"是", "有", "y", "yes", "true", "1", "√", "✓"}
NO = {"否", "无", "没有", "n", "no", "false", "0", ""}


def _bool(value: Any, header: str, default: bool = False) -> bool:
    text = _text(value).lower()
    if text == "":
        return default
    if text in YES:
        return True
    if text in NO:
        return False
    raise RowError([f"{header}: 请填写 是 或 否"])


def _choice(value: Any, header: str, choices: list[tuple[str, str]]) -> str:
    text = _text(value)
    for key, label in choices:
        if text in (key, label):
            return key
    raise RowError([f"{header}: 应为 {'、'.join(label for _k, label in choices)} 之一"])


def _check(value: str, validator: Callable[[str], None], header: str) -> str:
    try:
        validator(value)
    except ValidationError as exc:
        raise RowError([f"{header}: {message}" for message in exc.messages]) from None
    return value


def _id_number(value: Any, header: str) -> str | None:
    """An ID number checked here, with the row's other cells, rather than by the service after
    them; one Excel turned into a number cannot be read back and is said so."""
    if value in (None, ""):
        return None
    try:
        return idcard.validate(_text(value))
    except idcard.InvalidIdNumber as exc:
        if isinstance(value, (int, float)):
            # Excel keeps 15 digits of a number: the last ones of the ID are gone.
            turned = f"{header}: Excel 把身份证号变成了数字(如 4.30602E+17), 请把该列设为文本后重新填写"
            raise RowError([turned]) from None
        raise RowError([f"{header}: {exc.reason}"]) from None


def _mobile(value: Any, header: str) -> str:
    text = _text(value).replace(" ", "").replace("-", "")
    if not re.match(MOBILE_RE, text):
        raise RowError([f"{header}: 请输入有效的中国大陆手机号"])
    return text


def _length(value: Any, header: str, most: int, required: bool = False) -> str:
    text = _text(value)
    if required and not text:
        raise RowError([f"{header}: 必填"])
    if len(text) > most:
        raise RowError([f"{header}: 不能超过 {most} 个字"])
    return text


# The services speak to the member who registers in the app; an import is read by the secretary.
TO_SECRETARY = [("您已有", "该党员已有"), ("您没有", "该党员没有"), ("由您联络", "由该党员联络"), ("您", "该党员")]


def for_secretary(message: str) -> str:
    for said, meant in TO_SECRETARY:
        message = message.replace(said, meant)
    return message


def _domain_messages(exc: DomainError, headers: dict[str, str]) -> list[str]:
    if exc.fields:
        return [
            f"{headers.get(name, name)}: {for_secretary(str(message))}"
            for name, texts in exc.fields.items()
            for message in texts
        ]
    return [for_secretary(str(exc.detail))]


def _collect(errors: list[str], call: Callable[[], Any]) -> Any:
    """Run one parse step, adding its complaint to the row's list instead of stopping at the first."""
    try:
        return call()
    except RowError as exc:
        errors.extend(exc.messages)
        return None
