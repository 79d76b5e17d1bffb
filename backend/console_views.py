"""The console's own pages, beside the model lists: the check-in screen, the socket token its live
count needs, the Excel imports and the dashboard (the first page, through unfold's
DASHBOARD_CALLBACK). They read every app, so they live at the top of the project (like urls.py),
not in core. Mounted under /admin/console/ (backend/urls.py), each
behind the console's login; docs/console.md describes them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from typing import Any
from urllib.parse import quote

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from rest_framework_simplejwt.tokens import AccessToken
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminSelectWidget, UnfoldBooleanWidget

from backend.accounts import services as account_services
from backend.accounts.models import MOBILE_RE
from backend.accounts.scoping import (
    can_act_on_community,
    get_scope,
    limit_choices,
    staff_organizations,
    visible_communities,
)
from backend.activities import selectors as activity_selectors
from backend.activities import services as activity_services
from backend.activities.models import Activity
from backend.appeals.models import Appeal
from backend.brands.models import BrandPlan
from backend.communities import services as map_services
from backend.communities.models import Community, Grid, PartyOrganization, Street
from backend.core.console import XLSX_CONTENT_TYPE
from backend.core.errors import DomainError
from backend.core.periods import InvalidPeriod, parse_period
from backend.core.xlsx import workbook_bytes
from backend.members import services as member_services
from backend.members.models import PartyMember
from backend.red_property import selectors as property_selectors
from backend.red_property import services as property_services
from backend.red_property.models import CommitteeRole, PropertyCompany, phone_validator
from backend.reports import selectors as report_selectors
from backend.reports.selectors import DeadlineStatus

site = admin.site


def _local_moment(value: Any) -> dt.datetime | None:
    """An ISO moment from the selectors, in local time for the template's date filter."""
    if not value:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _staff_only(request: HttpRequest) -> None:
    if not get_scope(request.user).is_staff:
        raise PermissionDenied


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    return render(request, template, {**site.each_context(request), "title": title, **context})


# The check-in screen ------------------------------------------------------------------------------


def _manageable(request: HttpRequest, activity_id: int) -> Activity:
    # Outside the user's scope reads as absent, as everywhere in the console and the API.
    activity = (
        activity_selectors.manageable_activities(request.user)
        .select_related("community")
        .filter(pk=activity_id)
        .first()
    )
    if activity is None:
        raise Http404("活动不存在")
    return activity


def checkin_index(request: HttpRequest) -> HttpResponse:
    """Published activities in scope, nearest first: the way to their check-in screens."""
    _staff_only(request)
    now = timezone.now()
    activities = (
        activity_selectors.manageable_activities(request.user)
        .filter(status=Activity.Status.PUBLISHED, ends_at__gte=now - timedelta(hours=3))
        .select_related("community")
        .order_by("starts_at")[:100]
    )
    return _page(request, "console/checkin_index.html", "签到屏", activities=activities)


def _code_json(code: activity_services.CheckinCode) -> dict[str, Any]:
    return {
        "token": code.token,
        "url": code.url,
        "issued_at": code.issued_at.isoformat(),
        "refresh_at": code.refresh_at.isoformat(),
        "expires_at": code.expires_at.isoformat(),
        "period_seconds": code.period_seconds,
        "qr_png": code.qr_png,
    }


@never_cache
def checkin_screen(request: HttpRequest, activity_id: int) -> HttpResponse:
    """The rotating QR code full-screen for a projector or a staff phone, with the live count."""
    _staff_only(request)
    activity = _manageable(request, activity_id)
    try:
        code = activity_services.issue_checkin_code(activity=activity, by=request.user)
    except DomainError as exc:
        return _page(request, "console/checkin_closed.html", "签到屏", activity=activity, reason=str(exc.detail))
    config = {
        "activityId": activity.pk,
        "codeUrl": reverse("activity-checkin-code", args=[activity.pk]),
        "countsUrl": reverse("console-checkin-counts", args=[activity.pk]),
        "tokenUrl": reverse("console-socket-token"),
        "socketPath": "/ws/notices/",
        "loginUrl": reverse("admin:login") + "?next=" + request.path,
        "csrfToken": get_token(request),
        "code": _code_json(code),
        "counts": activity_selectors.attendance_counts(activity.pk),
    }
    return render(request, "console/checkin_screen.html", {"activity": activity, "config": config})


@never_cache
def checkin_counts(request: HttpRequest, activity_id: int) -> JsonResponse:
    """The figures once, for the screen to catch up after its socket was away."""
    _staff_only(request)
    activity = _manageable(request, activity_id)
    return JsonResponse(activity_selectors.attendance_counts(activity.pk))


@require_POST
@never_cache
def socket_token(request: HttpRequest) -> JsonResponse:
    """A short-lived access token for the notices socket (`?token=`), for the signed-in console user.

    A page cannot read its session cookie into a WebSocket URL, and the socket takes only JWTs.
    POST with the CSRF token, so another site cannot have a browser fetch one. Never logged.
    """
    _staff_only(request)
    token = AccessToken.for_user(request.user)
    token.set_exp(lifetime=timedelta(minutes=settings.CONSOLE_SOCKET_TOKEN_MINUTES))
    expires_at = dt.datetime.fromtimestamp(token["exp"], tz=dt.UTC)
    return JsonResponse({"token": str(token), "expires_at": expires_at.isoformat()})


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


def _domain_messages(exc: DomainError, headers: dict[str, str]) -> list[str]:
    if exc.fields:
        return [f"{headers.get(name, name)}: {message}" for name, texts in exc.fields.items() for message in texts]
    return [str(exc.detail)]


def _collect(errors: list[str], call: Callable[[], Any]) -> Any:
    """Run one parse step, adding its complaint to the row's list instead of stopping at the first."""
    try:
        return call()
    except RowError as exc:
        errors.extend(exc.messages)
        return None


# Party members: each row is a paper 双报到 form the member signed, taken in for them.

MEMBER_COLUMNS = [
    Column("姓名", "real_name", True, "张三"),
    Column("手机号", "phone", True, "13800000000"),
    Column("党员类别", "status", True, "正式党员"),
    Column("组织关系所在党组织", "organization", True, "某某公司党支部"),
    Column("网格", "grid", False, "第一网格"),
    Column("入党日期", "joined_on", False, "2010-07-01"),
    Column("工作单位", "employer", False, "某某公司"),
    Column("身份证号", "id_number", False, ""),
    Column("居住地址", "address", False, "某某小区 1 栋"),
]
MEMBER_HEADERS = {column.key: column.header for column in MEMBER_COLUMNS}


def _organization(name: str, actor: Any) -> PartyOrganization:
    matches = list(PartyOrganization.objects.filter(name=name)[:5])
    if len(matches) > 1:
        # The same name in two streets: the one the secretary works with is meant.
        own = [org for org in matches if staff_organizations(actor).filter(pk=org.pk).exists()]
        matches = own if len(own) == 1 else matches
    if not matches:
        raise RowError([f"组织关系所在党组织: 未找到“{name}”, 请先在党组织中登记"])
    if len(matches) > 1:
        raise RowError([f"组织关系所在党组织: “{name}”有重名, 请联系街道区分"])
    return matches[0]


def _grid(name: str, community: Community, header: str = "网格") -> Grid | None:
    if not name:
        return None
    grid = Grid.objects.filter(community=community, name=name).first()
    if grid is None:
        raise RowError([f"{header}: {community.name}没有“{name}”"])
    return grid


def _member_row(raw: dict[str, Any], community: Community, actor: Any) -> dict[str, Any]:
    errors: list[str] = []
    row = {
        "real_name": _collect(errors, lambda: _length(raw.get("real_name"), "姓名", 50, required=True)),
        "phone": _collect(errors, lambda: _mobile(raw.get("phone"), "手机号")),
        "status": _collect(errors, lambda: _choice(raw.get("status"), "党员类别", PartyMember.Status.choices)),
        "organization": _collect(
            errors,
            lambda: _organization(_length(raw.get("organization"), "组织关系所在党组织", 200, required=True), actor),
        ),
        "grid": _collect(errors, lambda: _grid(_text(raw.get("grid")), community)),
        "joined_on": _collect(errors, lambda: _date(raw.get("joined_on"), "入党日期")),
        "employer": _collect(errors, lambda: _length(raw.get("employer"), "工作单位", 150)),
        "id_number": _text(raw.get("id_number")) or None,
        "address": _collect(errors, lambda: _length(raw.get("address"), "居住地址", 200)),
    }
    if errors:
        raise RowError(errors)
    return row


def import_members(rows: list[dict[str, Any]], actor: Any, community: Community, attested: bool) -> list[list[str]]:
    results = []
    for raw in rows:
        try:
            row = _member_row(raw, community, actor)
            with transaction.atomic():
                user, _created = account_services.get_or_create_user_by_phone(
                    phone=row["phone"], real_name=row["real_name"]
                )
                registration = member_services.register_member(
                    user=user,
                    community=community,
                    organization=row["organization"],
                    real_name=row["real_name"],
                    phone=row["phone"],
                    status=row["status"],
                    # The member's signature on the paper form, which carries the notice: the
                    # importing staff member attests to it on the form, and it is recorded per member.
                    consent=attested,
                    consent_version=member_services.privacy_notice_version(),
                    grid=row["grid"],
                    joined_on=row["joined_on"],
                    employer=row["employer"],
                    id_number=row["id_number"],
                    address=row["address"],
                    note="Excel 导入",
                )
                member_services.approve_registration(registration=registration, by=actor)
        except RowError as exc:
            results.append(exc.messages)
        except DomainError as exc:
            results.append(_domain_messages(exc, MEMBER_HEADERS))
        else:
            results.append([])
    return results


# Estates

ESTATE_COLUMNS = [
    Column("小区名称", "name", True, "东湖雅苑"),
    Column("地址", "address", False, "东湖路 1 号"),
    Column("户数", "households", False, "320"),
    Column("有无物业", "has_property_service", False, "有"),
    Column("网格", "grid", False, "第一网格"),
]
ESTATE_HEADERS = {column.key: column.header for column in ESTATE_COLUMNS}


def import_estates(rows: list[dict[str, Any]], actor: Any, community: Community, attested: bool) -> list[list[str]]:
    results = []
    for raw in rows:
        errors: list[str] = []
        values = {
            "name": _collect(errors, lambda raw=raw: _length(raw.get("name"), "小区名称", 100, required=True)),
            "address": _collect(errors, lambda raw=raw: _length(raw.get("address"), "地址", 200)),
            "households": _collect(errors, lambda raw=raw: _int(raw.get("households"), "户数")),
            "has_property_service": _collect(
                errors, lambda raw=raw: _bool(raw.get("has_property_service"), "有无物业", default=True)
            ),
            "grid": _collect(errors, lambda raw=raw: _grid(_text(raw.get("grid")), community)),
        }
        if errors:
            results.append(errors)
            continue
        if not can_act_on_community(actor, community.pk):
            results.append(["只能导入本社区的小区"])
            continue
        try:
            with transaction.atomic():
                map_services.create_estate(community=community, **values)
        except DomainError as exc:
            results.append(_domain_messages(exc, ESTATE_HEADERS))
        else:
            results.append([])
    return results


# Property companies: the street's register

COMPANY_COLUMNS = [
    Column("企业名称", "name", True, "某某物业服务有限公司"),
    Column("统一社会信用代码", "credit_code", True, "91430600MA4L0XXXXX"),
    Column("地址", "address", False, ""),
    Column("联系人", "contact_name", False, ""),
    Column("联系电话", "contact_phone", False, ""),
    Column("党员人数", "party_member_count", False, "0"),
]
COMPANY_HEADERS = {column.key: column.header for column in COMPANY_COLUMNS}


def _company_length(raw: dict[str, Any], key: str, required: bool = False) -> str:
    most = PropertyCompany._meta.get_field(key).max_length
    return _length(raw.get(key), COMPANY_HEADERS[key], most, required=required)


def import_companies(rows: list[dict[str, Any]], actor: Any, street: Street, attested: bool) -> list[list[str]]:
    results = []
    for raw in rows:
        errors: list[str] = []
        values = {
            "name": _collect(errors, lambda raw=raw: _company_length(raw, "name", required=True)),
            "credit_code": _collect(errors, lambda raw=raw: _company_length(raw, "credit_code", required=True)),
            "address": _collect(errors, lambda raw=raw: _company_length(raw, "address")),
            "contact_name": _collect(errors, lambda raw=raw: _company_length(raw, "contact_name")),
            "contact_phone": _collect(
                errors,
                lambda raw=raw: (
                    _check(_text(raw.get("contact_phone")), phone_validator, "联系电话")
                    if _text(raw.get("contact_phone"))
                    else ""
                ),
            ),
            "party_member_count": _collect(errors, lambda raw=raw: _int(raw.get("party_member_count"), "党员人数")),
        }
        if errors:
            results.append(errors)
            continue
        try:
            with transaction.atomic():
                property_services.create_property_company(actor=actor, street=street, **values)
        except DomainError as exc:
            results.append(_domain_messages(exc, COMPANY_HEADERS))
        else:
            results.append([])
    return results


# Residents' committees: one row per member; consecutive rows with the same term are one committee.

COMMITTEE_COLUMNS = [
    Column("任期开始", "term_start", True, "2024-01-01"),
    Column("任期结束", "term_end", True, "2028-12-31"),
    Column("姓名", "name", True, "李四"),
    Column("职务", "role", True, "主任"),
    Column("联系电话", "phone", False, ""),
    Column("是否党员", "is_party_member", False, "是"),
    Column("交叉任职", "also_in_party_organisation", False, "否"),
]
COMMITTEE_HEADERS = {column.key: column.header for column in COMMITTEE_COLUMNS}


def _committee_member(raw: dict[str, Any]) -> tuple[tuple[dt.date, dt.date] | None, dict[str, Any], list[str]]:
    errors: list[str] = []
    start = _collect(errors, lambda: _date(raw.get("term_start"), "任期开始"))
    end = _collect(errors, lambda: _date(raw.get("term_end"), "任期结束"))
    if (start is None or end is None) and not errors:
        errors.append("任期开始和任期结束: 必填")
    member = {
        "name": _collect(errors, lambda: _length(raw.get("name"), "姓名", 50, required=True)),
        "role": _collect(errors, lambda: _choice(raw.get("role"), "职务", CommitteeRole.choices)),
        "phone": _collect(
            errors,
            lambda: _check(_text(raw.get("phone")), phone_validator, "联系电话") if _text(raw.get("phone")) else "",
        ),
        "is_party_member": _collect(errors, lambda: _bool(raw.get("is_party_member"), "是否党员")),
        "also_in_party_organisation": _collect(
            errors, lambda: _bool(raw.get("also_in_party_organisation"), "交叉任职")
        ),
    }
    term = (start, end) if start and end else None
    return term, member, errors


def import_committees(rows: list[dict[str, Any]], actor: Any, community: Community, attested: bool) -> list[list[str]]:
    results: list[list[str]] = [[] for _row in rows]
    groups: list[tuple[tuple[dt.date, dt.date], list[int], list[dict[str, Any]]]] = []
    for index, raw in enumerate(rows):
        term, member, errors = _committee_member(raw)
        if errors:
            results[index] = errors
            continue
        if groups and groups[-1][0] == term:
            groups[-1][1].append(index)
            groups[-1][2].append(member)
        else:
            groups.append((term, [index], [member]))
    for (start, end), indexes, members in groups:
        try:
            with transaction.atomic():
                property_services.create_residents_committee(
                    actor=actor, community=community, term_start=start, term_end=end, members=members
                )
        except DomainError as exc:
            messages_ = _domain_messages(exc, {**COMMITTEE_HEADERS, "members": "成员", "term_end": "任期结束"})
            for index in indexes:
                results[index] = [*results[index], *messages_]
    return results


IMPORTS: dict[str, ImportKind] = {
    kind.slug: kind
    for kind in [
        ImportKind(
            slug="members",
            title="导入党员",
            model="members.partymember",
            columns=MEMBER_COLUMNS,
            place="community",
            apply=import_members,
            note="每行一名在职党员的纸质双报到表: 导入后即为本社区已报到党员。组织关系所在党组织须已在系统中登记。",
            attestation="本表所列党员均已在纸质双报到表上签字, 同意现行隐私政策(版本 {version})。",
        ),
        ImportKind(
            slug="estates",
            title="导入小区",
            model="communities.estate",
            columns=ESTATE_COLUMNS,
            place="community",
            apply=import_estates,
            note="“有无物业”填 有 或 无, 空白视为有物业。",
        ),
        ImportKind(
            slug="property-companies",
            title="导入物业公司",
            model="red_property.propertycompany",
            columns=COMPANY_COLUMNS,
            place="street",
            apply=import_companies,
            note="街道物业公司名册: 统一社会信用代码不能重复。",
        ),
        ImportKind(
            slug="residents-committees",
            title="导入居委会",
            model="red_property.residentscommittee",
            columns=COMMITTEE_COLUMNS,
            place="community",
            apply=import_committees,
            grouped=True,
            note="每行一名成员; 任期相同的相邻各行为同一届居委会。职务填 主任、副主任 或 委员。",
        ),
    ]
}
IMPORT_MAX_ROWS = 2000
IMPORT_MAX_BYTES = 5 * 1024 * 1024
PAYLOAD_MAX_AGE = 60 * 60


def _import_kind(request: HttpRequest, slug: str) -> ImportKind:
    kind = IMPORTS.get(slug)
    if kind is None:
        raise Http404
    model = apps.get_model(kind.model)
    model_admin = site._registry.get(model)
    if model_admin is None or not get_scope(request.user).is_staff:
        raise PermissionDenied
    return kind


def _place_choices(request: HttpRequest, kind: ImportKind):
    if kind.place == "street":
        streets = property_selectors.reachable_street_ids(request.user)
        return Street.objects.all() if streets is None else Street.objects.filter(id__in=streets)
    communities = limit_choices(request.user, Community)
    return Community.objects.all() if communities is None else communities


class ImportForm(forms.Form):
    # Unfold's widgets: its script expects its own markup around every file input.
    place = forms.ModelChoiceField(label="社区", queryset=Community.objects.none(), widget=UnfoldAdminSelectWidget)
    file = forms.FileField(label="Excel 文件(.xlsx)", widget=UnfoldAdminFileFieldWidget)
    attested = forms.BooleanField(label="确认", required=False, widget=UnfoldBooleanWidget)

    def __init__(self, *args: Any, kind: ImportKind, places, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["place"].queryset = places
        self.fields["place"].label = "街道" if kind.place == "street" else "社区"
        if places.count() == 1:
            self.fields["place"].initial = places.first().pk
        if kind.attestation:
            self.fields["attested"].required = True
            self.fields["attested"].label = kind.attestation.format(version=member_services.privacy_notice_version())
        else:
            del self.fields["attested"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError("文件不能超过 5 MB")
        if not upload.name.lower().endswith(".xlsx"):
            raise forms.ValidationError("请上传 .xlsx 格式的 Excel 文件(可先下载模板)")
        return upload


def read_sheet(data: bytes, kind: ImportKind) -> list[dict[str, Any]]:
    """The data rows as {column key: cell value}, by the headers of the first row."""
    try:
        book = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise forms.ValidationError("无法读取该文件, 请确认是 .xlsx 格式的 Excel 文件") from exc
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header_line = next(lines, None) or ()
        headers = [_text(cell) for cell in header_line]
        by_header = {column.header: column for column in kind.columns}
        positions = {by_header[name].key: index for index, name in enumerate(headers) if name in by_header}
        missing = [column.header for column in kind.columns if column.required and column.key not in positions]
        if missing:
            raise forms.ValidationError(f"第一行缺少列: {'、'.join(missing)}(请使用模板)")
        rows = []
        for line in lines:
            if not any(_text(cell) for cell in line):
                continue
            rows.append({key: (line[index] if index < len(line) else None) for key, index in positions.items()})
            if len(rows) > IMPORT_MAX_ROWS:
                raise forms.ValidationError(f"一次最多导入 {IMPORT_MAX_ROWS} 行, 请分批导入")
        if not rows:
            raise forms.ValidationError("表中没有数据行")
        return rows
    finally:
        book.close()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Outcome:
    rows: list[dict[str, Any]]
    errors: list[list[str]] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return sum(1 for errors in self.errors if errors)

    def lines(self, kind: ImportKind) -> list[dict[str, Any]]:
        return [
            {"number": index + 2, "cells": [_text(row.get(c.key)) for c in kind.columns], "errors": errors}
            for index, (row, errors) in enumerate(zip(self.rows, self.errors, strict=True))
        ]


def run_import(kind: ImportKind, rows: list[dict[str, Any]], actor: Any, place: Any, attested: bool, *, save: bool):
    """Every row through the app's services. Without `save` everything is rolled back (the preview);
    with it, one refused row rolls back the whole file: nothing is half-imported."""
    outcome = Outcome(rows=rows)
    try:
        with transaction.atomic():
            outcome.errors = kind.apply(rows, actor, place, attested)
            if not save or outcome.bad:
                raise _DryRun
    except _DryRun:
        pass
    return outcome


def _signer(request: HttpRequest, kind: ImportKind) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"console-import:{kind.slug}:{request.user.pk}")


def _template_workbook(kind: ImportKind) -> HttpResponse:
    book = Workbook()
    sheet = book.active
    sheet.title = kind.title
    sheet.append([column.header for column in kind.columns])
    sheet.append([column.example for column in kind.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(kind.columns):
        sheet.column_dimensions[chr(ord("A") + index)].width = max(12, len(column.header) * 2 + 4)
    sheet.freeze_panes = "A2"
    response = HttpResponse(workbook_bytes(book), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(kind.title + '模板.xlsx')}"
    return response


def import_index(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    kinds = list(IMPORTS.values())
    return _page(request, "console/import_index.html", "Excel 导入", kinds=kinds)


def import_view(request: HttpRequest, kind: str) -> HttpResponse:
    """Upload → a preview of every row with its errors (nothing saved) → confirm → saved."""
    kind = _import_kind(request, kind)
    if request.method == "GET" and request.GET.get("template"):
        return _template_workbook(kind)
    places = _place_choices(request, kind)
    context: dict[str, Any] = {"kind": kind, "headers": [column.header for column in kind.columns]}
    if request.method == "POST" and "payload" in request.POST:
        try:
            payload = json.loads(
                _signer(request, kind).unsign(request.POST["payload"], max_age=timedelta(seconds=PAYLOAD_MAX_AGE))
            )
        except (signing.BadSignature, ValueError):
            messages.error(request, "预览已过期或无效, 请重新上传")
            return HttpResponseRedirect(request.path)
        place = places.filter(pk=payload["place"]).first()
        if place is None:
            raise PermissionDenied
        outcome = run_import(kind, payload["rows"], request.user, place, payload["attested"], save=True)
        if not outcome.bad:
            messages.success(request, f"已导入 {len(outcome.rows)} 行")
            model = apps.get_model(kind.model)
            return HttpResponseRedirect(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
        form = ImportForm(kind=kind, places=places, initial={"place": place.pk})
        context.update(form=form, outcome=outcome, lines=outcome.lines(kind), place=place)
        messages.error(request, "数据已有变化, 以下行不能导入, 未保存任何数据")
        return _page(request, "console/import.html", kind.title, **context)
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES, kind=kind, places=places)
        if form.is_valid():
            try:
                rows = read_sheet(form.cleaned_data["file"].read(), kind)
            except forms.ValidationError as exc:
                form.add_error("file", exc)
            else:
                rows = [{key: _jsonable(value) for key, value in row.items()} for row in rows]
                place = form.cleaned_data["place"]
                attested = bool(form.cleaned_data.get("attested"))
                outcome = run_import(kind, rows, request.user, place, attested, save=False)
                context.update(outcome=outcome, lines=outcome.lines(kind), place=place)
                if not outcome.bad:
                    payload = json.dumps({"rows": rows, "place": place.pk, "attested": attested}, ensure_ascii=False)
                    context["payload"] = _signer(request, kind).sign(payload)
    else:
        form = ImportForm(kind=kind, places=places)
    context["form"] = form
    return _page(request, "console/import.html", kind.title, **context)


# URLs ---------------------------------------------------------------------------------------------------

urlpatterns = [
    path("checkin/", site.admin_view(checkin_index), name="console-checkin-index"),
    path("checkin/<int:activity_id>/", site.admin_view(checkin_screen), name="console-checkin-screen"),
    path("checkin/<int:activity_id>/counts/", site.admin_view(checkin_counts), name="console-checkin-counts"),
    path("socket-token/", site.admin_view(socket_token), name="console-socket-token"),
    path("import/", site.admin_view(import_index), name="console-import-index"),
    path("import/<slug:kind>/", site.admin_view(import_view), name="console-import"),
]


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
    scope = get_scope(request.user)
    if scope.is_superuser:
        streets = list(Street.objects.order_by("id"))
    else:
        streets = list(Street.objects.filter(id__in=scope.street_ids).order_by("id"))
    communities = list(visible_communities(request.user).select_related("street").order_by("street_id", "id"))
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


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    place = dashboard_scope(request)
    if place is None or not get_scope(request.user).is_staff:
        return {"dashboard": None}
    year = timezone.localdate().year
    period_text = request.GET.get("period") or str(year)
    try:
        period = parse_period(period_text)
    except InvalidPeriod:
        period_text = str(year)
        period = parse_period(period_text)
    figures = report_selectors.dashboard(
        user=request.user, period=period, community=place.community, street=place.street
    )

    coverage = figures["coverage"]
    coverage_rows = [
        {"label": label, **coverage[key], "percent": _percent(coverage[key])} for key, label in COVERAGE_LABELS
    ]
    coverage_chart = _chart(
        "bar",
        [row["label"] for row in coverage_rows],
        [{"label": "覆盖率 %", "data": [row["percent"] or 0 for row in coverage_rows]}],
        percent=True,
    )

    if place.street is not None:
        by_community = report_selectors.street_coverage(place.street).communities
        registration_rows = [
            {"name": row.community.name, **report_selectors.ratio_data(row.coverage.member_registration)}
            for row in by_community
        ]
        unit_rows = {
            row.community.name: report_selectors.ratio_data(row.coverage.unit_registration) for row in by_community
        }
    else:
        row = report_selectors.community_coverage(place.community).coverage
        registration_rows = [{"name": place.community.name, **report_selectors.ratio_data(row.member_registration)}]
        unit_rows = {place.community.name: report_selectors.ratio_data(row.unit_registration)}
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
    summary = figures["brand_plans"]["summary"]
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
        for row in figures["brand_plans"]["communities"]
    ]
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
    rates = [
        ("响应率", appeals["response_rate"]),
        ("解决率", appeals["resolution_rate"]),
        ("满意率", appeals["satisfaction_rate"]),
    ]
    return {
        "dashboard": {
            "place": place,
            "period": period_text,
            "coverage_rows": coverage_rows,
            "coverage_chart": coverage_chart,
            "registered_members": coverage["registered_members"],
            "registration_rows": registration_rows,
            "registration_chart": registration_chart,
            "activity_rows": list(zip(months, figures["activities"], strict=True)),
            "activities_chart": activities_chart,
            "hours_rows": list(zip(months, figures["volunteer_hours"], strict=True)),
            "hours_chart": hours_chart,
            "top_volunteers": figures["top_volunteers"],
            "appeal_rates": [{"label": label, **ratio, "percent": _percent(ratio)} for label, ratio in rates],
            "appeal_chart": appeal_chart,
            "appeal_rows": list(zip(months, appeals["submitted"], strict=True)),
            "overdue": overdue,
            "overdue_count": appeals["overdue_count"],
            "plan_year": figures["brand_plans"]["year"],
            "plan_rows": plan_rows,
            "plan_chart": plan_chart,
            "plan_summary": [(DeadlineStatus.LABELS[key], value) for key, value in summary.items()],
        }
    }


def dashboard_callback(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """Unfold's DASHBOARD_CALLBACK: the console's first page is the dashboard of the user's scope."""
    context.update(dashboard_context(request))
    return context
