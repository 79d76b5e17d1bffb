"""Demo activities for `seed_demo`: every category in each community of 岳阳楼街道, some over, some
to come, at places around 岳阳楼 with GCJ-02 coordinates.

An activity is known by its community and title; one that exists is left as it is (its dates
were set when it was first seeded), so running the seed again changes nothing. Activities need an
organiser: they are seeded only where a staff account (a demo account on a development machine)
holds a role for the community or its street.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.db.models import Q
from django.utils import timezone

from backend.accounts.models import Role, RoleGrant, User
from backend.communities.models import Community, PartyOrganization

from .models import Activity

Status = Literal["created", "existing"]

STREET = ("岳阳市岳阳楼区", "岳阳楼街道")
# 岳阳楼 (GCJ-02); each community's places lie a few hundred metres apart around it.
CENTRE = (Decimal("29.372425"), Decimal("113.093627"))
STEP = Decimal("0.004")  # about 440 m of latitude


@dataclass(frozen=True)
class DemoActivity:
    category: str
    title: str
    place: str
    days: int  # from the day of seeding: negative is over
    hours: int = 2
    audience: str = Activity.Audience.COMMUNITY
    capacity: int | None = None
    counts_as_service: bool = False
    points: int = 0
    description: str = ""


ACTIVITIES = (
    DemoActivity(
        "party_day",
        "主题党日: 重温入党誓词",
        "{community}党群服务中心",
        -20,
        audience=Activity.Audience.PARTY_MEMBERS,
        points=2,
        description="全体党员重温入党誓词, 学习党章, 开展组织生活。",
    ),
    DemoActivity(
        "three_meetings_one_lesson",
        "第一党支部党员大会",
        "{community}党群服务中心二楼会议室",
        6,
        audience=Activity.Audience.BRANCH,
        points=1,
        description="通报支部工作, 讨论发展对象, 收缴党费。",
    ),
    DemoActivity(
        "party_lesson",
        "书记上讲台: 党建引领基层治理",
        "{community}新时代文明实践站",
        -8,
        audience=Activity.Audience.PARTY_MEMBERS,
        points=1,
        description="社区书记讲党课, 结合小区治理案例。",
    ),
    DemoActivity(
        "volunteer_service",
        "洞庭湖畔环保志愿服务",
        "岳阳楼景区南门",
        3,
        hours=3,
        capacity=30,
        counts_as_service=True,
        description="沿湖捡拾垃圾、劝导文明游览, 请穿志愿者马甲。",
    ),
    DemoActivity("study", "党员政治理论学习", "{community}党群服务中心", -2, audience=Activity.Audience.PARTY_MEMBERS),
    DemoActivity(
        "culture_sports",
        "邻里文化节广场舞展演",
        "{community}文化广场",
        10,
        hours=3,
        audience=Activity.Audience.PUBLIC,
        description="各小区舞蹈队展演, 欢迎居民观看。",
    ),
    DemoActivity("other", "红色物业议事会", "{community}居委会会议室", -35, capacity=20, description="三方联动议事。"),
)


def _organiser(community: Community) -> User | None:
    grant = (
        RoleGrant.objects.filter(revoked_at__isnull=True, user__is_active=True)
        .filter(
            Q(role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF], community=community)
            | Q(role=Role.STREET_ADMIN, street_id=community.street_id)
        )
        .select_related("user")
        .order_by("role", "id")
        .first()
    )
    return grant.user if grant is not None else None


def _start(days: int, now: datetime) -> datetime:
    local = timezone.localtime(now)
    hour = 9 if days % 2 else 15  # mornings and afternoons
    return local.replace(hour=hour, minute=0, second=0, microsecond=0) + timedelta(days=days)


def seed_activities(*, now: datetime | None = None) -> list[Status]:
    """Create the demo activities that are missing; one status per activity considered."""
    now = now or timezone.now()
    communities = Community.objects.filter(street__city=STREET[0], street__name=STREET[1]).order_by("id")
    statuses: list[Status] = []
    for index, community in enumerate(communities):
        organiser = _organiser(community)
        if organiser is None:
            continue
        branch = (
            PartyOrganization.objects.filter(community=community, kind=PartyOrganization.Kind.BRANCH)
            .order_by("id")
            .first()
        )
        base_lat = CENTRE[0] + STEP * (index % 3 - 1)
        base_lon = CENTRE[1] + STEP * (index // 3 - 1)
        for number, spec in enumerate(ACTIVITIES):
            title = spec.title
            if Activity.objects.filter(community=community, title=title).exists():
                statuses.append("existing")
                continue
            audience = spec.audience
            if audience == Activity.Audience.BRANCH and branch is None:
                audience = Activity.Audience.PARTY_MEMBERS
            starts_at = _start(spec.days, now)
            ends_at = starts_at + timedelta(hours=spec.hours)
            over = ends_at < now
            Activity.objects.create(
                community=community,
                organiser=organiser,
                title=title,
                category=spec.category,
                description=spec.description,
                starts_at=starts_at,
                ends_at=ends_at,
                place=spec.place.format(community=community.name),
                latitude=base_lat + Decimal("0.0006") * (number % 3),
                longitude=base_lon + Decimal("0.0006") * (number // 3),
                radius_m=300 if spec.category == "volunteer_service" else 150,
                capacity=spec.capacity,
                audience=audience,
                branch=branch if audience == Activity.Audience.BRANCH else None,
                counts_as_service=spec.counts_as_service,
                points=spec.points,
                status=Activity.Status.FINISHED if over else Activity.Status.PUBLISHED,
                published_at=starts_at - timedelta(days=7),
                finished_at=now if over else None,
            )
            statuses.append("created")
    return statuses
