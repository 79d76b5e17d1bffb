"""WeChat subscribe messages (订阅消息): which template a notice uses and how its fields are filled.

`settings.WECHAT_SUBSCRIBE_TEMPLATES` maps a notice kind (or "default" for the kinds not listed)
to `{"template_id", "page", "fields": {"thing1": "title", "time2": "created_at", …}}`; a kind
mapped to null sends none. The page may name the notice as `{id}`. Each template key is cut to
WeChat's limit for its type (the key without its number): a value over it is refused whole (47003).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import checks
from django.utils import timezone

# Characters WeChat accepts per key type; `name` allows 10 Chinese or 20 Latin characters.
VALUE_LIMITS = {
    "thing": 20,
    "phrase": 5,
    "name": 10,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "phone_number": 17,
    "car_number": 8,
}
NAME_LATIN_LIMIT = 20
DATE_TYPES = ("time", "date")
KNOWN_TYPES = (*VALUE_LIMITS, *DATE_TYPES, "amount")

# What a template key may be filled with.
SOURCES = ("title", "body", "created_at", "sender", "kind", "id")

_NUMBER_SUFFIX = re.compile(r"\d+$")


@dataclass(frozen=True)
class Template:
    template_id: str
    page: str | None
    fields: dict[str, str]


def key_type(key: str) -> str:
    return _NUMBER_SUFFIX.sub("", key)


def _templates() -> dict[str, Any]:
    return getattr(settings, "WECHAT_SUBSCRIBE_TEMPLATES", None) or {}


def _as_template(config: Any) -> Template | None:
    if not isinstance(config, dict) or not config.get("template_id"):
        return None
    return Template(str(config["template_id"]), config.get("page") or None, dict(config.get("fields") or {}))


def template_for_kind(kind: str) -> Template | None:
    templates = _templates()
    return _as_template(templates[kind] if kind in templates else templates.get("default"))


def template_by_id(template_id: str) -> Template | None:
    for config in _templates().values():
        template = _as_template(config)
        if template is not None and template.template_id == template_id:
            return template
    return None


def configured_template_ids() -> list[str]:
    ids: list[str] = []
    for config in _templates().values():
        template = _as_template(config)
        if template is not None and template.template_id not in ids:
            ids.append(template.template_id)
    return ids


def format_time(value: datetime, kind: str) -> str:
    local = timezone.localtime(value)
    day = f"{local.year}年{local.month}月{local.day}日"
    return day if kind == "date" else f"{day} {local:%H:%M}"


def fit_value(key: str, value: Any) -> str:
    """`value` as WeChat takes it for this key: dates formatted, text on one line, cut to the limit."""
    kind = key_type(key)
    if isinstance(value, datetime):
        value = format_time(value, kind if kind in DATE_TYPES else "time")
    text = " ".join(str(value if value is not None else "").split())
    limit = VALUE_LIMITS.get(kind)
    if kind == "name" and text.isascii():
        limit = NAME_LATIN_LIMIT
    if limit is not None and len(text) > limit:
        # A cut title reads as cut; the short types (phrase, symbol, numbers) must stay plain.
        text = text[: limit - 1] + "…" if kind == "thing" else text[:limit]
    return text or "-"


def source_value(notice: Any, source: str) -> Any:
    if source == "sender":
        sender = notice.sender
        return (sender.real_name if sender is not None else "") or "社区"
    if source == "kind":
        return notice.get_kind_display()
    if source == "id":
        return str(notice.pk)
    return getattr(notice, source)


def message_data(notice: Any, template: Template) -> dict[str, dict[str, str]]:
    return {key: {"value": fit_value(key, source_value(notice, source))} for key, source in template.fields.items()}


def message_page(notice: Any, template: Template) -> str | None:
    return template.page.replace("{id}", str(notice.pk)) if template.page else None


@checks.register()
def check_templates(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    problems: list[checks.CheckMessage] = []
    for kind, config in _templates().items():
        if config is None:
            continue
        where = f"WECHAT_SUBSCRIBE_TEMPLATES[{kind!r}]"
        if not isinstance(config, dict) or not isinstance(config.get("template_id"), str) or not config["template_id"]:
            problems.append(checks.Error(f"{where} needs a template_id", id="notices.E001"))
            continue
        fields = config.get("fields")
        if not isinstance(fields, dict) or not fields:
            problems.append(checks.Error(f"{where} needs fields (template key → notice field)", id="notices.E002"))
            continue
        for key, source in fields.items():
            if key_type(key) not in KNOWN_TYPES:
                problems.append(checks.Error(f"{where}: unknown WeChat key type in {key!r}", id="notices.E003"))
            if source not in SOURCES:
                problems.append(
                    checks.Error(f"{where}: {key!r} takes {source!r}; use one of {SOURCES}", id="notices.E004")
                )
    return problems
