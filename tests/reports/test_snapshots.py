"""Every report's answer, JSON and workbook, against a snapshot of it (tests/reports/snapshots/).

The snapshots were taken from the answers as they were when the selectors still wrote their JSON by
hand; the answers are now the serializers' rendering of the selectors' typed values, and must not
differ by a key, a value's type or its format. Ids and a kept workbook's URL vary from run to run:
each id is replaced by the order it first appears in under its key (the same id stays the same
token), so links between rows still count. `UPDATE_SNAPSHOTS=1` writes them anew.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from backend.reports import services

# Ids are tokenized by the order they first appear under their key, and a community and an honour
# can share a number: sequences restart per test so PostgreSQL numbers rows as SQLite does.
pytestmark = pytest.mark.django_db(reset_sequences=True)

SNAPSHOTS = Path(__file__).parent / "snapshots"
NOW = dt.datetime(2026, 1, 15, 2, 30, tzinfo=dt.UTC)
ID_KEYS = {"id", "member_id", "user_id", "volunteer_id", "community", "street", "organization", "sent_notice"}
MASKED_PHONE = re.compile(r"\d{3}\*{4}\d{4}")
VARYING = {"file_url", "phone", "volunteer_number"}


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


class Tokens:
    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], str] = {}

    def __call__(self, key: str, value: int) -> str:
        return self.seen.setdefault((key, value), f"<{key}#{sum(1 for k, _ in self.seen if k == key) + 1}>")


def normal(value: Any, tokens: Tokens, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: normal(v, tokens, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v, tokens, key) for v in value]
    if key in ID_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return tokens(key, value)
    if key in VARYING and value is not None:
        return f"<{key}>"
    return value


def cells(content: bytes) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(content))

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal | dt.date | dt.datetime):
            return f"{type(value).__name__}:{value}"
        if isinstance(value, str) and MASKED_PHONE.fullmatch(value):
            return "<phone>"
        return value

    return {sheet.title: [[plain(c) for c in row] for row in sheet.iter_rows(values_only=True)] for sheet in book}


def check(name: str, value: Any) -> None:
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(value, ensure_ascii=False, indent=1, sort_keys=False) + "\n")
    expected = json.loads(path.read_text())
    # Keys within an object follow the serializer's (the schema's) order, which JSON does not fix.
    assert json.dumps(value, ensure_ascii=False, sort_keys=True) == json.dumps(
        expected, ensure_ascii=False, sort_keys=True
    )


def answer(client, url: str, params: dict[str, Any] | None = None) -> Any:
    response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    return response


def test_feedback_report(town, as_user, frozen):
    services.generate_feedback_report(organization=town.u1, period="2025Q1")
    params = {"organization": town.u1.pk, "period": "2025Q1"}
    # The whole report; then a liaison's and a community's staff cut (both to community A).
    for who in ("superuser", "liaison", "staff_a"):
        client = as_user(getattr(town, who))
        check(f"feedback_report_{who}", normal(answer(client, "/api/v1/members/reports/", params).json(), Tokens()))
        check(
            f"feedback_report_sent_{who}",
            normal(answer(client, "/api/v1/members/reports/sent/", {"organization": town.u1.pk}).json(), Tokens()),
        )
        export = answer(client, "/api/v1/members/reports/export/", params)
        check(f"feedback_report_{who}_xlsx", cells(export.content))
    h2 = {"organization": town.u1.pk, "period": "2025H2"}
    check(
        "feedback_report_h2", normal(answer(as_user(town.superuser), "/api/v1/members/reports/", h2).json(), Tokens())
    )


def test_coverage(town, as_user, frozen):
    client = as_user(town.admin)
    for place, pk in (("communities", town.a.pk), ("streets", town.street.pk)):
        url = f"/api/v1/{place}/{pk}/coverage/"
        check(f"coverage_{place}", normal(answer(client, url).json(), Tokens()))
        check(f"coverage_{place}_xlsx", cells(answer(client, url + "export/").content))
    empty = f"/api/v1/communities/{town.c.pk}/coverage/"
    check("coverage_empty_community", normal(answer(client, empty).json(), Tokens()))


def test_brands(town, api, as_user, frozen):
    check("brand_figures", normal(answer(api, f"/api/v1/brands/{town.brand_a.pk}/figures/").json(), Tokens()))
    url = f"/api/v1/streets/{town.street.pk}/brand-board/"
    client = as_user(town.admin)
    check("brand_board", normal(answer(client, url, {"year": 2025}).json(), Tokens()))
    check("brand_board_xlsx", cells(answer(client, url + "export/", {"year": 2025}).content))


def test_dashboards(town, as_user, frozen):
    community = answer(as_user(town.staff_a), "/api/v1/dashboard/", {"community": town.a.pk, "period": "2025"})
    check("dashboard_community", normal(community.json(), Tokens()))
    street = answer(as_user(town.admin), "/api/v1/dashboard/", {"street": town.street.pk, "period": "2025Q1"})
    check("dashboard_street", normal(street.json(), Tokens()))


def test_members_own_line(town, as_user, frozen):
    me = answer(as_user(town.m1.user), "/api/v1/members/me/", {"period": "2025Q1"}).json()
    check("member_report_line", normal(me["report"], Tokens()))
