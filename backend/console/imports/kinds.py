"""The sheets the console imports: party members (paper 双报到 forms), estates, property companies and
residents' committees, each row through the same service as the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import admin
from django.db import models, transaction

from backend.accounts import selectors as account_selectors
from backend.accounts import services as account_services
from backend.accounts.models import User
from backend.accounts.scoping import (
    can_act_on_community,
    staff_organizations,
)
from backend.communities import services as map_services
from backend.communities.models import Community, Grid, PartyOrganization, Street
from backend.core.errors import DomainError
from backend.core.phones import phone_validator
from backend.members import selectors as member_selectors
from backend.members import services as member_services
from backend.members.models import PartyMember
from backend.red_property import services as property_services
from backend.red_property.models import CommitteeRole, PropertyCompany

from .cells import (
    Column,
    ImportKind,
    RowError,
    _bool,
    _check,
    _choice,
    _collect,
    _date,
    _domain_messages,
    _id_number,
    _int,
    _length,
    _mobile,
    _text,
)

site = admin.site

Parsers = dict[str, Callable[[dict[str, Any]], Any]]


def _cells(raw: dict[str, Any], parsers: Parsers) -> dict[str, Any]:
    """The row's values, one parser per key; every complaint of the row at once (RowError)."""
    errors: list[str] = []
    values = {key: _collect(errors, partial(parse, raw)) for key, parse in parsers.items()}
    if errors:
        raise RowError(errors)
    return values


def _each_row(
    rows: list[dict[str, Any]],
    parse: Callable[[dict[str, Any]], dict[str, Any]],
    apply: Callable[[dict[str, Any]], Any],
    headers: dict[str, str],
) -> list[list[str]]:
    """The shape every one-row-one-record sheet shares: each row's cells parsed (all its complaints
    at once), then its service in a savepoint of its own, whose refusal becomes the row's messages
    under the sheet's headers. Returns each row's messages, [] for a row that went in."""
    results: list[list[str]] = []
    for raw in rows:
        try:
            values = parse(raw)
            with transaction.atomic():
                apply(values)
        except RowError as exc:
            results.append(exc.messages)
        except DomainError as exc:
            results.append(_domain_messages(exc, headers))
        else:
            results.append([])
    return results


# Party members: each row is a paper 双报到 form the member signed, taken in for them.

MEMBER_COLUMNS = [
    Column("姓名", "real_name", True, "张三"),
    Column("手机号", "phone", True, "13800000000", text=True),
    Column("党员类别", "status", True, "正式党员", choices=tuple(label for _key, label in PartyMember.Status.choices)),
    Column("组织关系所在党组织", "organization", True, "某某公司党支部"),
    Column("网格", "grid", False, "第一网格"),
    Column("入党日期", "joined_on", False, "2010-07-01"),
    Column("工作单位", "employer", False, "某某公司"),
    Column("身份证号", "id_number", False, "", text=True),
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
    return _cells(
        raw,
        {
            "real_name": lambda raw: _length(raw.get("real_name"), "姓名", 50, required=True),
            "phone": lambda raw: _mobile(raw.get("phone"), "手机号"),
            "status": lambda raw: _choice(raw.get("status"), "党员类别", PartyMember.Status.choices),
            "organization": lambda raw: _organization(
                _length(raw.get("organization"), "组织关系所在党组织", 200, required=True), actor
            ),
            "grid": lambda raw: _grid(_text(raw.get("grid")), community),
            "joined_on": lambda raw: _date(raw.get("joined_on"), "入党日期"),
            "employer": lambda raw: _length(raw.get("employer"), "工作单位", 150),
            "id_number": lambda raw: _id_number(raw.get("id_number"), "身份证号"),
            "address": lambda raw: _length(raw.get("address"), "居住地址", 200),
        },
    )


# One answer for every phone a row may not reach, so the preview is no way to find out who holds a
# number, who is a party member or where they have registered.
UNREACHABLE_PHONE = "手机号: 无法为该手机号导入, 请本人在小程序中报到"


def _member_account(row: dict[str, Any], actor: Any) -> User:
    """The account a member row files for: a new one for a phone no account holds, else an existing
    one only if the secretary can already see it (it lives in or holds a role in her scope, or is a
    member there), and whose party record, if any, the row neither renames nor re-classifies."""
    existing = User.objects.filter(phone=row["phone"]).first()
    if existing is None:
        user, _created = account_services.get_or_create_user_by_phone(phone=row["phone"], real_name=row["real_name"])
        return user
    member = PartyMember.objects.filter(user=existing).first()
    visible = account_selectors.grantable_account(granter=actor, phone=row["phone"]) is not None or (
        member is not None and existing.is_active and member_selectors.member_in_staff_scope(actor, member)
    )
    if not visible or (member is not None and (member.real_name, member.status) != (row["real_name"], row["status"])):
        raise RowError([UNREACHABLE_PHONE])
    return existing


def import_members(rows: list[dict[str, Any]], actor: Any, community: Community, attested: bool) -> list[list[str]]:
    def apply(row: dict[str, Any]) -> None:
        user = _member_account(row, actor)
        registration = member_services.register_member(
            by=user,
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

    return _each_row(rows, lambda raw: _member_row(raw, community, actor), apply, MEMBER_HEADERS)


# Estates

ESTATE_COLUMNS = [
    Column("小区名称", "name", True, "东湖雅苑"),
    Column("地址", "address", False, "东湖路 1 号"),
    Column("户数", "households", False, "320"),
    Column("有无物业", "has_property_service", False, "有", choices=("有", "无")),
    Column("网格", "grid", False, "第一网格"),
]
ESTATE_HEADERS = {column.key: column.header for column in ESTATE_COLUMNS}


def import_estates(rows: list[dict[str, Any]], actor: Any, community: Community, attested: bool) -> list[list[str]]:
    parsers: Parsers = {
        "name": lambda raw: _length(raw.get("name"), "小区名称", 100, required=True),
        "address": lambda raw: _length(raw.get("address"), "地址", 200),
        "households": lambda raw: _int(raw.get("households"), "户数"),
        "has_property_service": lambda raw: _bool(raw.get("has_property_service"), "有无物业", default=True),
        "grid": lambda raw: _grid(_text(raw.get("grid")), community),
    }

    def apply(values: dict[str, Any]) -> None:
        if not can_act_on_community(actor, community.pk):
            raise RowError(["只能导入本社区的小区"])
        map_services.create_estate(community=community, **values)

    return _each_row(rows, lambda raw: _cells(raw, parsers), apply, ESTATE_HEADERS)


# Property companies: the street's register

COMPANY_COLUMNS = [
    Column("企业名称", "name", True, "某某物业服务有限公司"),
    Column("统一社会信用代码", "credit_code", True, "91430600MA4L0XXXXX", text=True),
    Column("地址", "address", False, ""),
    Column("联系人", "contact_name", False, ""),
    Column("联系电话", "contact_phone", False, "", text=True),
    Column("党员人数", "party_member_count", False, "0"),
]
COMPANY_HEADERS = {column.key: column.header for column in COMPANY_COLUMNS}


def _company_length(raw: dict[str, Any], key: str, required: bool = False) -> str:
    field = PropertyCompany._meta.get_field(key)
    most = field.max_length if isinstance(field, models.CharField) else None
    if most is None:
        raise TypeError(f"{key} is not a text column of PropertyCompany")
    return _length(raw.get(key), COMPANY_HEADERS[key], most, required=required)


def _optional_phone(value: Any, header: str) -> str:
    text = _text(value)
    return _check(text, phone_validator, header) if text else ""


def import_companies(rows: list[dict[str, Any]], actor: Any, street: Street, attested: bool) -> list[list[str]]:
    parsers: Parsers = {
        "name": lambda raw: _company_length(raw, "name", required=True),
        "credit_code": lambda raw: _company_length(raw, "credit_code", required=True),
        "address": lambda raw: _company_length(raw, "address"),
        "contact_name": lambda raw: _company_length(raw, "contact_name"),
        "contact_phone": lambda raw: _optional_phone(raw.get("contact_phone"), "联系电话"),
        "party_member_count": lambda raw: _int(raw.get("party_member_count"), "党员人数"),
    }

    def apply(values: dict[str, Any]) -> None:
        property_services.create_property_company(by=actor, street=street, **values)

    return _each_row(rows, lambda raw: _cells(raw, parsers), apply, COMPANY_HEADERS)


# Residents' committees: one row per member; consecutive rows with the same term are one committee.

COMMITTEE_COLUMNS = [
    Column("任期开始", "term_start", True, "2024-01-01"),
    Column("任期结束", "term_end", True, "2028-12-31"),
    Column("姓名", "name", True, "李四"),
    Column("职务", "role", True, "主任", choices=tuple(label for _key, label in CommitteeRole.choices)),
    Column("联系电话", "phone", False, "", text=True),
    Column("是否党员", "is_party_member", False, "是", choices=("是", "否")),
    Column("交叉任职", "also_in_party_organisation", False, "否", choices=("是", "否")),
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
        "phone": _collect(errors, lambda: _optional_phone(raw.get("phone"), "联系电话")),
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
        if errors or term is None:
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
                    by=actor, community=community, term_start=start, term_end=end, members=members
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
