"""The street's brand board: each community's brand, its plan against the year's deadline, figures and honours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from backend.brands.models import Brand, BrandDeadlineCommunity, BrandPlan, Honor
from backend.communities.models import Community, PartyOrganization, Street

from .brands import BrandFigures, brand_figures_by
from .common import pk


class DeadlineStatus:
    """How a community stands against its plan deadline for the year."""

    NO_DEADLINE = "no_deadline"
    PENDING = "pending"  # not handed in, not yet due
    OVERDUE = "overdue"  # not handed in, past due
    ON_TIME = "on_time"  # handed in by the due date
    LATE = "late"  # handed in after it

    CHOICES = (
        (NO_DEADLINE, "未设截止日期"),
        (PENDING, "未提交"),
        (OVERDUE, "已逾期"),
        (ON_TIME, "按时提交"),
        (LATE, "逾期提交"),
    )
    LABELS = dict(CHOICES)


@dataclass(frozen=True)
class BoardHonor:
    id: int
    title: str
    level: str
    issuer: str
    awarded_on: date
    recipient: str  # the brand's or the organisation's name

    @classmethod
    def of(cls, honor: Honor) -> BoardHonor:
        return cls(pk(honor), honor.title, honor.level, honor.issuer, honor.awarded_on, _recipient(honor).name)


def _recipient(honor: Honor) -> Brand | PartyOrganization:
    """The brand or the organisation honoured: exactly one of them (honor_exactly_one_recipient)."""
    recipient = honor.brand if honor.brand_id else honor.organization
    if recipient is None:
        raise ValueError(f"honour {honor.pk} names no recipient")
    return recipient


@dataclass(frozen=True)
class BoardRow:
    community: Community
    brand: Brand | None  # the published one, else the newest draft
    plan: BrandPlan | None  # the newest version for the year
    handed_in_at: datetime | None
    due_date: date | None
    deadline_title: str
    deadline_status: str
    days_left: int | None  # negative: days overdue
    figures: BrandFigures
    honors: tuple[BoardHonor, ...]
    brand_name: str | None  # the dashboard's row names the brand only
    plan_status: str | None  # and gives the plan's status only

    def as_data(self) -> dict[str, Any]:
        from ..serializers import BoardRowSerializer  # here: the serializers import the selectors

        return dict(BoardRowSerializer(self).data)


def deadline_status(*, due_date: date | None, handed_in_at: datetime | None, today: date) -> str:
    if due_date is None:
        return DeadlineStatus.NO_DEADLINE
    if handed_in_at is not None:
        return DeadlineStatus.ON_TIME if timezone.localdate(handed_in_at) <= due_date else DeadlineStatus.LATE
    return DeadlineStatus.PENDING if today <= due_date else DeadlineStatus.OVERDUE


def _brands(ids: list[int]) -> dict[int, Brand]:
    """community id → its brand: the published one, else the newest draft (retired ones never)."""
    shown: dict[int, Brand] = {}
    for brand in (
        Brand.objects.filter(community_id__in=ids).exclude(status=Brand.Status.RETIRED).order_by("community_id", "-id")
    ):
        current = shown.get(brand.community_id)
        if current is None or (brand.status == Brand.Status.ACTIVE and current.status != Brand.Status.ACTIVE):
            shown[brand.community_id] = brand
    return shown


def _plans(ids: list[int], year: int) -> tuple[dict[int, BrandPlan], dict[int, datetime]]:
    """community id → the newest plan version of the year, and when a version was first handed in
    (submitted, and not since returned), whenever that was."""
    newest: dict[int, BrandPlan] = {}
    handed_in: dict[int, datetime] = {}
    for plan in (
        BrandPlan.objects.filter(brand__community_id__in=ids, year=year)
        .select_related("brand")
        .order_by("created_at", "id")
    ):
        community_id = plan.brand.community_id
        newest[community_id] = plan
        if plan.status in BrandPlan.HANDED_IN_STATUSES and plan.submitted_at is not None:
            first = handed_in.get(community_id)
            if first is None or plan.submitted_at < first:
                handed_in[community_id] = plan.submitted_at
    return newest, handed_in


def _honors(ids: list[int]) -> dict[int, list[BoardHonor]]:
    """community id → the honours of its brands and organisations, the newest first."""
    found: dict[int, list[BoardHonor]] = {cid: [] for cid in ids}
    honors = Honor.objects.filter(
        Q(brand__community_id__in=ids) | Q(organization__community_id__in=ids)
    ).select_related("brand", "organization")
    for honor in honors.order_by("-awarded_on", "-id"):
        community_id = _recipient(honor).community_id
        if community_id is not None:  # an organisation of no community is found through its brand's
            found[community_id].append(BoardHonor.of(honor))
    return found


def brand_board(
    *, community_ids: list[int], year: int, today: date | None = None, now: datetime | None = None
) -> list[BoardRow]:
    """Each community's brand, its plan for `year` against the deadline, figures and honours.

    The brand shown is the published one, else the newest draft. The plan shown is the newest
    version of the year; the deadline is met by the first version handed in (submitted, and not
    since returned), whenever that was.
    """
    today = today or timezone.localdate()
    communities = list(Community.objects.filter(pk__in=community_ids).order_by("id"))
    ids = [pk(c) for c in communities]
    brands = _brands(ids)
    plans, handed_in = _plans(ids, year)
    deadlines = {
        entry.community_id: entry.deadline
        for entry in BrandDeadlineCommunity.objects.filter(community_id__in=ids, year=year).select_related("deadline")
    }
    brand_ids = [pk(brand) for brand in brands.values()]
    figures = brand_figures_by(brand_ids, by_year=False, now=now) if brand_ids else {}
    honors = _honors(ids)
    rows = []
    for cid, community in zip(ids, communities, strict=True):
        brand, deadline = brands.get(cid), deadlines.get(cid)
        due_date = deadline.due_date if deadline is not None else None
        rows.append(
            BoardRow(
                community=community,
                brand=brand,
                plan=plans.get(cid),
                handed_in_at=handed_in.get(cid),
                due_date=due_date,
                deadline_title=deadline.title if deadline is not None else "",
                deadline_status=deadline_status(due_date=due_date, handed_in_at=handed_in.get(cid), today=today),
                days_left=(due_date - today).days if due_date is not None else None,
                figures=figures.get((pk(brand),), BrandFigures()) if brand is not None else BrandFigures(),
                honors=tuple(honors[cid]),
                brand_name=brand.name if brand is not None else None,
                plan_status=plans[cid].status if cid in plans else None,
            )
        )
    return rows


def board_summary(rows: list[BoardRow]) -> dict[str, int]:
    """Communities per deadline status, every status named."""
    counts = dict.fromkeys(DeadlineStatus.LABELS, 0)
    for row in rows:
        counts[row.deadline_status] += 1
    return counts


@dataclass(frozen=True)
class BrandBoard:
    street: Street
    year: int
    today: date
    summary: dict[str, int]
    communities: list[BoardRow]

    def as_data(self) -> dict[str, Any]:
        from ..serializers import BrandBoardSerializer  # here: the serializers import the selectors

        return dict(BrandBoardSerializer(self).data)


def street_brand_board(street: Street, *, year: int, today: date | None = None) -> BrandBoard:
    """The street's brand board as the API and the console's export give it."""
    today = today or timezone.localdate()
    community_ids = list(Community.objects.filter(street=street).values_list("pk", flat=True))
    rows = brand_board(community_ids=community_ids, year=year, today=today)
    return BrandBoard(street=street, year=year, today=today, summary=board_summary(rows), communities=rows)
