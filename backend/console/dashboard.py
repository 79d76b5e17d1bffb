"""The dashboard, the console's first page (unfold's DASHBOARD_CALLBACK): the figures of the user's
scope from the reports selectors, as tables and charts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from backend.accounts.scoping import (
    get_scope,
    visible_communities,
)
from backend.appeals.models import Appeal
from backend.brands.models import BrandPlan
from backend.communities.models import Community, Street
from backend.core.periods import InvalidPeriod, Period, parse_period
from backend.reports import answers as report_selectors
from backend.reports.selectors import DeadlineStatus

from .pages import _local_moment, account
from .workbench import workbench_context

site = admin.site


# The dashboard ---------------------------------------------------------------------------------------

COVERAGE_LABELS = [
    ("party_organization", "小区党组织"),
    ("property_company_party_organization", "物业企业党组织"),
    ("owners_committee", "业委会组建"),
    ("property_service", "物业服务"),
    ("member_registration", "党员双报到"),
    ("unit_registration", "单位双报到"),
    ("red_property", "红色物业"),
]
PALETTE = ["#b91c1c", "#f59e0b", "#2563eb", "#059669", "#7c3aed", "#db2777", "#0891b2"]
PLAN_STATUS = dict(BrandPlan.Status.choices)
APPEAL_STATUS = dict(Appeal.Status.choices)
APPEAL_CATEGORY = dict(Appeal.Category.choices)


def _percent(ratio: dict[str, Any]) -> float | None:
    return None if ratio["rate"] is None else round(ratio["rate"] * 100, 1)


def _chart(kind: str, labels: list[str], datasets: list[dict[str, Any]], *, percent: bool = False) -> dict[str, str]:
    """A chart for unfold's components: Chart.js data and options as JSON for the canvas's attributes."""
    for index, dataset in enumerate(datasets):
        color = PALETTE[index % len(PALETTE)]
        dataset.setdefault("backgroundColor", color)
        dataset.setdefault("borderColor", color)
        if kind == "bar":
            dataset.setdefault("maxBarThickness", 28)
    scale = {"beginAtZero": True, "ticks": {"precision": 0}}
    if percent:
        scale = {"beginAtZero": True, "max": 100}
    options = {
        "responsive": True,
        "maintainAspectRatio": False,
        "animation": False,
        "plugins": {"legend": {"display": len(datasets) > 1, "position": "bottom"}},
        "scales": {"y": scale} if kind != "doughnut" else {},
    }
    return {
        "type": kind,
        "data": json.dumps({"labels": labels, "datasets": datasets}, ensure_ascii=False),
        "options": json.dumps(options, ensure_ascii=False),
    }


@dataclass
class DashboardScope:
    street: Street | None
    community: Community | None
    streets: list[Street]
    communities: list[Community]

    @property
    def title(self) -> str:
        return self.community.name if self.community is not None else (self.street.name if self.street else "")


def dashboard_scope(request: HttpRequest) -> DashboardScope | None:
    """Whose figures: a community the user acts on, or a street they administer (the widest by default)."""
    user = account(request)
    scope = get_scope(user)
    if scope.is_superuser:
        streets = list(Street.objects.order_by("id"))
    else:
        streets = list(Street.objects.filter(id__in=scope.street_ids).order_by("id"))
    communities = list(visible_communities(user).select_related("street").order_by("street_id", "id"))
    if not streets and not communities:
        return None
    wanted_community = request.GET.get("community")
    community = next((c for c in communities if str(c.pk) == wanted_community), None)
    wanted_street = request.GET.get("street")
    street = next((s for s in streets if str(s.pk) == wanted_street), None)
    if community is not None:
        return DashboardScope(None, community, streets, communities)
    if street is None and streets:
        street = streets[0]
    if street is not None:
        return DashboardScope(street, None, streets, [c for c in communities if c.street_id == street.pk])
    return DashboardScope(None, communities[0], streets, communities)


def _period(request: HttpRequest) -> tuple[str, Period]:
    """The period asked for, or this year when the text is no period."""
    period_text = request.GET.get("period") or str(timezone.localdate().year)
    try:
        return period_text, parse_period(period_text)
    except InvalidPeriod:
        period_text = str(timezone.localdate().year)
        return period_text, parse_period(period_text)


def _coverage_section(coverage: dict[str, Any]) -> dict[str, Any]:
    coverage_rows = [
        {"label": label, **coverage[key], "percent": _percent(coverage[key])} for key, label in COVERAGE_LABELS
    ]
    coverage_chart = _chart(
        "bar",
        [row["label"] for row in coverage_rows],
        [{"label": "覆盖率 %", "data": [row["percent"] or 0 for row in coverage_rows]}],
        percent=True,
    )
    return {
        "coverage_rows": coverage_rows,
        "coverage_chart": coverage_chart,
        "registered_members": coverage["registered_members"],
    }


def _registration_section(place: DashboardScope) -> dict[str, Any]:
    """双报到 rates per community of the place: the street's communities side by side, or the one."""
    if place.street is not None:
        by_community = report_selectors.street_coverage(place.street).communities
        rows = [(row.community.name, row.coverage.as_data()) for row in by_community]
    elif place.community is not None:
        rows = [(place.community.name, report_selectors.community_coverage(place.community).coverage.as_data())]
    else:
        rows = []
    registration_rows = [{"name": name, **data["member_registration"]} for name, data in rows]
    unit_rows = {name: data["unit_registration"] for name, data in rows}
    for row in registration_rows:
        row["percent"] = _percent(row)
        row["units"] = unit_rows[row["name"]]
        row["units_percent"] = _percent(row["units"])
    registration_chart = _chart(
        "bar",
        [row["name"] for row in registration_rows],
        [
            {"label": "党员双报到率 %", "data": [row["percent"] or 0 for row in registration_rows]},
            {"label": "单位双报到率 %", "data": [row["units_percent"] or 0 for row in registration_rows]},
        ],
        percent=True,
    )
    return {"registration_rows": registration_rows, "registration_chart": registration_chart}


def _monthly_section(figures: dict[str, Any]) -> dict[str, Any]:
    """Activities, volunteer hours and appeals month by month, as tables and charts."""
    months = [row["month"][5:] + "月" if len(row["month"]) == 7 else row["month"] for row in figures["activities"]]
    activities_chart = _chart(
        "bar",
        months,
        [
            {"label": "活动", "data": [row["activities"] for row in figures["activities"]]},
            {"label": "签到人次", "data": [row["check_ins"] for row in figures["activities"]]},
            {"label": "参加人数", "data": [row["participants"] for row in figures["activities"]]},
        ],
    )
    hours_chart = _chart(
        "line",
        months,
        [
            {"label": "服务时长(小时)", "data": [float(row["hours"]) for row in figures["volunteer_hours"]]},
            {"label": "志愿者人数", "data": [row["volunteers"] for row in figures["volunteer_hours"]]},
        ],
    )
    appeals = figures["appeals"]
    appeal_chart = _chart(
        "line", months, [{"label": "受理诉求", "data": [row["submitted"] for row in appeals["submitted"]]}]
    )
    rates = [
        ("响应率", appeals["response_rate"]),
        ("解决率", appeals["resolution_rate"]),
        ("满意率", appeals["satisfaction_rate"]),
    ]
    return {
        "activity_rows": list(zip(months, figures["activities"], strict=True)),
        "activities_chart": activities_chart,
        "hours_rows": list(zip(months, figures["volunteer_hours"], strict=True)),
        "hours_chart": hours_chart,
        "top_volunteers": figures["top_volunteers"],
        "appeal_rates": [{"label": label, **ratio, "percent": _percent(ratio)} for label, ratio in rates],
        "appeal_chart": appeal_chart,
        "appeal_rows": list(zip(months, appeals["submitted"], strict=True)),
    }


def _plan_section(brand_plans: dict[str, Any]) -> dict[str, Any]:
    summary = brand_plans["summary"]
    plan_labels = [DeadlineStatus.LABELS[key] for key in summary]
    plan_chart = _chart("doughnut", plan_labels, [{"label": "社区数", "data": list(summary.values())}])
    plan_chart["data"] = json.dumps(
        {"labels": plan_labels, "datasets": [{"data": list(summary.values()), "backgroundColor": PALETTE[:5]}]},
        ensure_ascii=False,
    )
    plan_rows = [
        {
            **row,
            "plan_status_label": PLAN_STATUS.get(row["plan_status"], "未编写"),
            "deadline_label": DeadlineStatus.LABELS.get(row["deadline_status"], row["deadline_status"]),
        }
        for row in brand_plans["communities"]
    ]
    return {
        "plan_year": brand_plans["year"],
        "plan_rows": plan_rows,
        "plan_chart": plan_chart,
        "plan_summary": [(DeadlineStatus.LABELS[key], value) for key, value in summary.items()],
    }


def _overdue_section(place: DashboardScope, appeals: dict[str, Any]) -> dict[str, Any]:
    names = {c.pk: c.name for c in place.communities} | (
        {place.community.pk: place.community.name} if place.community else {}
    )
    overdue = [
        {
            **row,
            "community_name": names.get(row["community"], ""),
            "category_label": APPEAL_CATEGORY.get(row["category"], row["category"]),
            "status_label": APPEAL_STATUS.get(row["status"], row["status"]),
            "url": reverse("admin:appeals_appeal_change", args=[row["id"]]),
            "overdue_at": _local_moment(row.get("overdue_since")),
        }
        for row in appeals["overdue"]
    ]
    return {"overdue": overdue, "overdue_count": appeals["overdue_count"]}


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    place = dashboard_scope(request)
    user = account(request)
    if place is None or user is None or not get_scope(user).is_staff:
        return {"dashboard": None}
    period_text, period = _period(request)
    figures = report_selectors.dashboard(user=user, period=period, community=place.community, street=place.street)
    return {
        "dashboard": {
            "place": place,
            "period": period_text,
            **_coverage_section(figures["coverage"]),
            **_registration_section(place),
            **_monthly_section(figures),
            **_overdue_section(place, figures["appeals"]),
            **_plan_section(figures["brand_plans"]),
        }
    }


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """Unfold's DASHBOARD_CALLBACK: the console's first page is the 工作台: what waits for the user,
    then the figures of their scope."""
    scope = get_scope(account(request))
    if scope.is_staff:
        context["workbench"] = workbench_context(request, reviewer=scope.is_superuser or bool(scope.street_ids))
    context.update(dashboard_context(request))
    return context
