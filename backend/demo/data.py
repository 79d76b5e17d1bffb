"""The demo map: streets, communities, grids, estates and party organisations.

Names marked "from the source" come from the documents the product was built from (街道 work
reports and plans); the rest are illustrative, chosen to look like the real thing, so that the
figures and lists are not empty. Household counts are illustrative everywhere.

The demo staff accounts and their passwords are for a development machine only: `seed_demo`
creates them only when DEBUG is on.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.accounts.models import Role
from backend.communities.models import PartyOrganization

Kind = PartyOrganization.Kind


@dataclass(frozen=True)
class EstateSpec:
    name: str
    households: int
    has_property_service: bool = True
    grid: str = ""  # the grid's name inside the community; "" for none


@dataclass(frozen=True)
class CommunitySpec:
    name: str
    committee_kind: str  # 党委 or 党总支
    grids: tuple[str, ...]
    branches: tuple[str, ...]  # branch names, after the community's name
    estates: tuple[EstateSpec, ...] = ()


@dataclass(frozen=True)
class StreetSpec:
    city: str
    name: str
    committee: str  # the street's working committee (党工委; in Tianjin 街道工委)
    communities: tuple[CommunitySpec, ...]


@dataclass(frozen=True)
class UnitSpec:
    name: str
    kind: str
    employer: str


@dataclass(frozen=True)
class AccountSpec:
    phone: str
    password: str
    role: Role
    real_name: str
    # The place by natural key: a street (city, street), a community (city, street, community),
    # a grid (city, street, community, grid) or a unit organisation (name,).
    place: tuple[str, ...]


GRIDS_2 = ("第一网格", "第二网格")
GRIDS_3 = ("第一网格", "第二网格", "第三网格")
BRANCHES_1 = ("第一党支部",)
BRANCHES_2 = ("第一党支部", "第二党支部")


def _community(
    name: str,
    kind: str = Kind.GENERAL_BRANCH,
    grids: tuple[str, ...] = GRIDS_2,
    branches: tuple[str, ...] = BRANCHES_1,
    estates: tuple[EstateSpec, ...] = (),
) -> CommunitySpec:
    return CommunitySpec(f"{name}社区", kind, grids, branches, estates)


YUEYANG = "岳阳市岳阳楼区"
SUIZHOU = "随州市曾都区"
TIANJIN = "天津市滨海新区"
DONGGUAN = "东莞市"

# 岳阳楼街道: the nine communities and the five estates without property service are from the
# source (the self-governance pilot: 九华山's 天润小区、磷化小区、北门新区, 岳阳楼's 新世苑家属区,
# 剪刀池's 迎奥小区). The estates with property service are illustrative.
YUEYANGLOU = StreetSpec(
    city=YUEYANG,
    name="岳阳楼街道",
    committee="岳阳楼街道党工委",
    communities=(
        _community(
            "岳阳楼",
            Kind.COMMITTEE,
            GRIDS_3,
            BRANCHES_2,
            (
                EstateSpec("新世苑家属区", 64, has_property_service=False, grid="第一网格"),
                EstateSpec("巴陵苑", 380, grid="第二网格"),
            ),
        ),
        _community(
            "东湖",
            Kind.COMMITTEE,
            GRIDS_3,
            BRANCHES_2,
            (
                EstateSpec("东湖雅苑", 420, grid="第一网格"),
                EstateSpec("湖滨花园", 360, grid="第二网格"),
            ),
        ),
        _community("郭亮", grids=GRIDS_3, estates=(EstateSpec("郭亮新村", 280, grid="第一网格"),)),
        _community("庙前街"),
        _community(
            "剪刀池",
            branches=BRANCHES_2,
            estates=(EstateSpec("迎奥小区", 150, has_property_service=False, grid="第一网格"),),
        ),
        _community(
            "九华山",
            Kind.COMMITTEE,
            GRIDS_3,
            BRANCHES_2,
            (
                EstateSpec("天润小区", 96, has_property_service=False, grid="第一网格"),
                EstateSpec("磷化小区", 240, has_property_service=False, grid="第一网格"),
                EstateSpec("北门新区", 180, has_property_service=False, grid="第二网格"),
            ),
        ),
        _community("洞庭", grids=GRIDS_3, estates=(EstateSpec("洞庭御景", 860, grid="第一网格"),)),
        _community("汴河", estates=(EstateSpec("汴河新城", 640, grid="第一网格"),)),
        _community("捕捞", estates=(EstateSpec("渔都佳苑", 720, grid="第二网格"),)),
    ),
)

# 随州 东城街道: the source names no community; these are illustrative.
SUIZHOU_DONGCHENG = StreetSpec(
    city=SUIZHOU,
    name="东城街道",
    committee="东城街道党工委",
    communities=(
        _community(
            "季梁",
            Kind.COMMITTEE,
            GRIDS_3,
            BRANCHES_2,
            (EstateSpec("季梁花园", 520, grid="第一网格"), EstateSpec("烈山新村", 210, False, "第二网格")),
        ),
        _community("沿河", estates=(EstateSpec("沿河景苑", 460, grid="第一网格"),)),
        _community("编钟", estates=(EstateSpec("编钟小区", 330, grid="第二网格"),)),
    ),
)

# 新河街道 of 天津市滨海新区 (the source's 滨城): no community is named there; these are illustrative.
XINHE = StreetSpec(
    city=TIANJIN,
    name="新河街道",
    committee="新河街道工委",
    communities=(
        _community(
            "新河东",
            Kind.COMMITTEE,
            GRIDS_3,
            BRANCHES_2,
            (EstateSpec("新河东里", 610, grid="第一网格"), EstateSpec("河畔家园", 380, grid="第二网格")),
        ),
        _community("新河西", estates=(EstateSpec("新河西里", 290, False, "第一网格"),)),
        _community("滨河", estates=(EstateSpec("滨河湾", 540, grid="第一网格"),)),
    ),
)

# 东莞 东城街道: the communities the source names as 社区 (牛山 appears there only as a 片区, so it
# is left out). The estates are illustrative.
DONGGUAN_DONGCHENG = StreetSpec(
    city=DONGGUAN,
    name="东城街道",
    committee="东城街道党工委",
    communities=(
        _community("樟村", Kind.COMMITTEE, GRIDS_3, BRANCHES_2, (EstateSpec("樟村花园", 680, grid="第一网格"),)),
        _community("下桥", estates=(EstateSpec("下桥新村", 350, grid="第一网格"),)),
        _community("鳌峙塘", branches=BRANCHES_2),
        _community("上桥"),
        _community("柏洲边"),
        _community("峡口"),
        _community("余屋", estates=(EstateSpec("余屋旧村", 120, False, "第二网格"),)),
        _community("周屋"),
        _community("温塘", Kind.COMMITTEE, GRIDS_3, BRANCHES_2, (EstateSpec("温塘雅居", 430, grid="第一网格"),)),
        _community("主山", estates=(EstateSpec("主山御苑", 560, grid="第一网格"),)),
        _community("石井"),
        _community("立新"),
    ),
)

STREETS: tuple[StreetSpec, ...] = (YUEYANGLOU, SUIZHOU_DONGCHENG, XINHE, DONGGUAN_DONGCHENG)

# Employers' organisations that co-build with communities (共建单位).
UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("岳阳楼区教育局机关党支部", Kind.BRANCH, "岳阳楼区教育局"),
    UnitSpec("岳阳市第一中学党总支", Kind.GENERAL_BRANCH, "岳阳市第一中学"),
    UnitSpec("国网岳阳供电公司党委", Kind.COMMITTEE, "国网岳阳供电公司"),
    UnitSpec("岳阳楼区住建局党支部", Kind.BRANCH, "岳阳楼区住房和城乡建设局"),
    UnitSpec("随州市曾都区人民医院党委", Kind.COMMITTEE, "随州市曾都区人民医院"),
)

# Demo only: fixed, readable passwords so a tester can sign in; never used with DEBUG off.
ACCOUNTS: tuple[AccountSpec, ...] = (
    AccountSpec("13800000001", "demo-street-2026", Role.STREET_ADMIN, "街道管理员(演示)", (YUEYANG, "岳阳楼街道")),
    AccountSpec(
        "13800000002",
        "demo-donghu-sec-2026",
        Role.COMMUNITY_SECRETARY,
        "东湖社区书记(演示)",
        (YUEYANG, "岳阳楼街道", "东湖社区"),
    ),
    AccountSpec(
        "13800000003",
        "demo-donghu-staff-2026",
        Role.COMMUNITY_STAFF,
        "东湖社区工作人员(演示)",
        (YUEYANG, "岳阳楼街道", "东湖社区"),
    ),
    AccountSpec(
        "13800000004",
        "demo-yylou-sec-2026",
        Role.COMMUNITY_SECRETARY,
        "岳阳楼社区书记(演示)",
        (YUEYANG, "岳阳楼街道", "岳阳楼社区"),
    ),
    AccountSpec(
        "13800000005",
        "demo-yylou-staff-2026",
        Role.COMMUNITY_STAFF,
        "岳阳楼社区工作人员(演示)",
        (YUEYANG, "岳阳楼街道", "岳阳楼社区"),
    ),
    AccountSpec(
        "13800000006",
        "demo-jiuhua-grid-2026",
        Role.GRID_WORKER,
        "九华山网格员(演示)",
        (YUEYANG, "岳阳楼街道", "九华山社区", "第一网格"),
    ),
    AccountSpec(
        "13800000007", "demo-edu-liaison-2026", Role.UNIT_LIAISON, "教育局联络员(演示)", ("岳阳楼区教育局机关党支部",)
    ),
)


@dataclass(frozen=True)
class TieSpec:
    """A unit's tie with a community (单位双报到) filed by a demo liaison and approved by a demo
    secretary: a liaison reaches the unit's members only through a tie they filed themselves."""

    filer: str  # demo accounts by phone
    approver: str
    unit: str
    community: tuple[str, str, str]  # (city, street, community)


TIES: tuple[TieSpec, ...] = (
    TieSpec("13800000007", "13800000004", "岳阳楼区教育局机关党支部", (YUEYANG, "岳阳楼街道", "岳阳楼社区")),
)
