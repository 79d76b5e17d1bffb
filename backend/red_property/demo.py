"""Demo governance for the seeded estates of 岳阳楼街道 (called by `seed_demo`).

From the source: the five estates without property service that pilot residents' self-governance
(九华山's 天润小区、磷化小区、北门新区, 岳阳楼's 新世苑家属区, 剪刀池's 迎奥小区). Illustrative: the
two property companies (their names and credit codes are made up, with valid check characters),
which estates they serve, the demonstration estate, the groups' members and the scoring sheet.

Rows are found by natural keys and written only when missing or different, so a second run
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models, transaction

from backend.communities.models import Estate, PartyOrganization, Street
from backend.core.credit_code import check_character

from .models import (
    AssessmentItem,
    AssessmentStandard,
    EstateGovernance,
    PropertyCompany,
    SelfGovernanceGroup,
    SelfGovernanceMember,
)

CITY = "岳阳市岳阳楼区"
STREET = "岳阳楼街道"


def _code(body: str) -> str:
    return body + check_character(body)


# (name, credit code, with a party branch, party members on staff)
COMPANIES = (
    ("岳阳红枫物业服务有限公司", _code("91430602MA4PH0F01"), True, 6),
    ("岳阳洞庭湖畔物业管理有限公司", _code("91430602MA4PD0T02"), False, 1),
)

# estate, community, company (index into COMPANIES), estate party branch (after the community's name)
SERVED = (
    ("巴陵苑", "岳阳楼社区", 0, "第一党支部"),
    ("东湖雅苑", "东湖社区", 0, "第一党支部"),
    ("湖滨花园", "东湖社区", 0, None),
    ("郭亮新村", "郭亮社区", 1, None),
    ("洞庭御景", "洞庭社区", 1, "第一党支部"),
)
DEMONSTRATION = {"巴陵苑": dt.date(2024, 7, 1)}

# The self-governance pilot: estate, community, members (name, role, party member).
PILOTS = (
    ("天润小区", "九华山社区", (("刘组长(演示)", "leader", True), ("周组员(演示)", "member", False))),
    ("磷化小区", "九华山社区", (("陈组长(演示)", "leader", True), ("吴组员(演示)", "member", True))),
    ("北门新区", "九华山社区", (("黄组长(演示)", "leader", False), ("孙组员(演示)", "member", False))),
    ("新世苑家属区", "岳阳楼社区", (("胡组长(演示)", "leader", True), ("郑组员(演示)", "member", False))),
    ("迎奥小区", "剪刀池社区", (("罗组长(演示)", "leader", True), ("谢组员(演示)", "member", False))),
)
PILOT_TERM = (dt.date(2024, 3, 1), dt.date(2027, 2, 28))

# The street's 2025 sheet, after the example: 党建引领 30 points, 服务质量 70.
SHEET_YEAR = 2025
SHEET = (
    ("党建引领", "小区成立党组织", "5", "成立党支部得 5 分, 成立党小组得 3 分"),
    ("党建引领", "物业企业员工中的党员", "5", "1-2 人得 1 分, 3-5 人得 3 分, 6 人以上得 5 分"),
    ("党建引领", "交叉任职", "5", "业委会成员中有小区党组织成员得 5 分"),
    ("党建引领", "三方联动", "15", "每季度召开一次三方均到齐的联动会议得 15 分, 缺一次扣 4 分"),
    ("服务质量", "业主满意度", "40", "按满意度测评得分折算"),
    ("服务质量", "环境卫生与设施维护", "30", "按街道季度检查结果折算"),
)
DEMONSTRATION_THRESHOLD = Decimal("85")


@dataclass
class RedPropertySeedResult:
    tally: Counter = field(default_factory=Counter)  # created / updated / existing rows

    @property
    def changed(self) -> bool:
        return bool(self.tally["created"] or self.tally["updated"])


def _upsert(model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any], tally: Counter) -> Any:
    obj, created = model._default_manager.get_or_create(**lookup, defaults=values)
    if created:
        tally["created"] += 1
        return obj
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, values[name])
        obj.save()
        tally["updated"] += 1
    else:
        tally["existing"] += 1
    return obj


@transaction.atomic
def seed_red_property() -> RedPropertySeedResult:
    """Seed the demo governance; a no-op where 岳阳楼街道 has not been seeded."""
    result = RedPropertySeedResult()
    tally = result.tally
    street = Street.objects.filter(city=CITY, name=STREET).first()
    if street is None:
        return result
    estates = {
        (e.community.name, e.name): e
        for e in Estate.objects.filter(community__street=street).select_related("community")
    }
    committee = PartyOrganization.objects.filter(
        street=street, parent=None, kind=PartyOrganization.Kind.WORKING_COMMITTEE
    ).first()

    companies = _seed_companies(street, committee, tally)
    _seed_served(estates, companies, tally)
    _seed_pilots(estates, tally)
    _seed_sheet(street, tally)
    return result


Estates = dict[tuple[str, str], Estate]


def _seed_companies(street: Street, committee: PartyOrganization | None, tally: Counter) -> list[PropertyCompany]:
    companies = []
    for name, code, with_branch, party_members in COMPANIES:
        branch = None
        if with_branch and committee is not None:
            branch = _upsert(
                PartyOrganization,
                {"parent": committee, "name": f"{name}党支部"},
                {"kind": PartyOrganization.Kind.BRANCH, "street": street, "community": None, "is_unit": False},
                tally,
            )
        companies.append(
            _upsert(
                PropertyCompany,
                {"credit_code": code},
                {"name": name, "street": street, "party_organization": branch, "party_member_count": party_members},
                tally,
            )
        )
    return companies


def _seed_served(estates: Estates, companies: list[PropertyCompany], tally: Counter) -> None:
    for estate_name, community_name, company_index, branch_name in SERVED:
        estate = estates.get((community_name, estate_name))
        if estate is None:
            continue
        branch = None
        if branch_name:
            branch = PartyOrganization.objects.filter(
                community=estate.community, name=f"{community_name}{branch_name}"
            ).first()
        since = DEMONSTRATION.get(estate_name)
        _upsert(
            EstateGovernance,
            {"estate": estate},
            {
                "property_company": companies[company_index],
                "party_organization": branch,
                "is_red_property": since is not None,
                "red_property_since": since,
            },
            tally,
        )


def _seed_pilots(estates: Estates, tally: Counter) -> None:
    for estate_name, community_name, members in PILOTS:
        estate = estates.get((community_name, estate_name))
        if estate is None or estate.has_property_service:
            continue
        _upsert(EstateGovernance, {"estate": estate}, {"property_company": None}, tally)
        group = _upsert(
            SelfGovernanceGroup,
            {"estate": estate, "term_start": PILOT_TERM[0]},
            {"name": f"{estate_name}居民自治小组", "term_end": PILOT_TERM[1]},
            tally,
        )
        for member_name, role, is_party_member in members:
            _upsert(
                SelfGovernanceMember,
                {"group": group, "name": member_name},
                {"role": role, "is_party_member": is_party_member},
                tally,
            )


def _seed_sheet(street: Street, tally: Counter) -> None:
    for position, (category, item_name, max_points, guidance) in enumerate(SHEET, start=1):
        _upsert(
            AssessmentItem,
            {"street": street, "year": SHEET_YEAR, "category": category, "name": item_name},
            {"max_points": Decimal(max_points), "guidance": guidance, "position": position},
            tally,
        )
    _upsert(
        AssessmentStandard,
        {"street": street, "year": SHEET_YEAR},
        {"demonstration_threshold": DEMONSTRATION_THRESHOLD},
        tally,
    )
