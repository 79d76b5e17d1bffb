"""Reads: who sees which appeals, who handles them, the overdue list and the three rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Case, Count, F, Prefetch, Q, QuerySet, When
from django.utils import timezone

from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.scoping import get_scope, scope_q
from backend.accounts.selectors import rows
from backend.communities.models import Community, Grid, Street
from backend.core.moderation import with_review
from backend.core.periods import Period

from .models import Appeal, AppealStep

OPEN = Appeal.OPEN_STATUSES


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


# Deadlines ------------------------------------------------------------------------------------


def deadlines_for(urgency: str) -> tuple[timedelta, timedelta]:
    """(respond, resolve) allowances for an urgency, from settings.APPEAL_DEADLINES."""
    allowance = settings.APPEAL_DEADLINES[urgency]
    return allowance["respond"], allowance["resolve"]


def rating_window() -> timedelta:
    return timedelta(days=int(settings.APPEAL_RATING_DAYS))


# Who sees, who handles ------------------------------------------------------------------------


def _handler_q(user: Any) -> Q:
    """Appeals a user works on: staff of their communities and streets, their grid, assigned to them."""
    in_scope = scope_q(user, community="community", street="community__street", grid="grid", include_grid_workers=True)
    return in_scope | Q(assignee=user)


def _with_details(qs: QuerySet[Appeal]) -> QuerySet[Appeal]:
    steps = AppealStep.objects.select_related("actor", "assignee").order_by("at", "id")
    # The content check's flag for the handlers (WeChat's "risky" or "review"), in the same statement.
    detailed = with_review(qs, holds=False)
    return detailed.select_related("community", "grid", "estate", "assignee", "filed_by").prefetch_related(
        Prefetch("steps", queryset=steps), "photos"
    )


def appeals_for(user: Any) -> QuerySet[Appeal]:
    """A resident's own appeals (filed by or for them), and those a handler works on; nothing else."""
    if not _signed_in(user):
        return Appeal.objects.none()
    visible = Q(resident=user) | Q(filed_by=user) | _handler_q(user)
    return _with_details(Appeal.objects.filter(visible)).order_by("-submitted_at", "-id")


def is_handler(user: Any) -> bool:
    """Holds a role that works on appeals somewhere: staff, or a grid worker."""
    scope = get_scope(user)
    return scope.is_staff or bool(scope.worker_grid_ids)


def may_handle(user: Any, appeal: Appeal) -> bool:
    """May take the workflow steps: the community's (street's) staff, the grid's worker, the assignee."""
    if not _signed_in(user):
        return False
    scope = get_scope(user)
    return (
        scope.is_superuser
        or appeal.community_id in scope.community_ids
        or (appeal.grid_id is not None and appeal.grid_id in scope.worker_grid_ids)
        or appeal.assignee_id == user.pk
    )


def may_read_rates(user: Any) -> bool:
    """响应率, 解决率, 满意率 are for street and community staff (of the places their scope covers)."""
    return get_scope(user).is_staff


def shows_contact_phone(user: Any, appeal: Appeal, *, opened: bool) -> bool:
    """The resident's contact phone is whole for the resident and the filer, and for a handler who
    opens the one appeal to call back (that read is audited); masked everywhere else."""
    viewer = getattr(user, "pk", None)
    return opened or (viewer is not None and viewer in (appeal.resident_id, appeal.filed_by_id))


def may_manage(user: Any, appeal: Appeal) -> bool:
    """May assign: staff whose scope covers the community (grid workers and assignees may not)."""
    scope = get_scope(user)
    return scope.is_superuser or appeal.community_id in scope.community_ids


def overdue_for(user: Any, *, now: datetime | None = None) -> QuerySet[Appeal]:
    """Open appeals a handler works on that are past a deadline still running, most overdue first.

    Computed from the deadlines, not from the flags, so the list is right between scheduler runs.
    """
    now = now or timezone.now()
    late = Q(status=Appeal.Status.SUBMITTED, respond_due_at__lt=now) | Q(status__in=OPEN, resolve_due_at__lt=now)
    # The deadline an appeal has missed: accepting it for one still waiting, else resolving it.
    missed = Case(When(status=Appeal.Status.SUBMITTED, then=F("respond_due_at")), default=F("resolve_due_at"))
    overdue = Appeal.objects.filter(_handler_q(user)).filter(late).annotate(overdue_since=missed)
    return _with_details(overdue).order_by("overdue_since", "id")


def assignable_user(user_id: int, community_id: int) -> User | None:
    """The user if they are on that community's staff or a worker of one of its grids, else None."""
    grants = RoleGrant.objects.filter(user_id=user_id, user__is_active=True, revoked_at__isnull=True).filter(
        Q(role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF], community_id=community_id)
        | Q(role=Role.GRID_WORKER, grid__community_id=community_id)
    )
    if not grants.exists():
        return None
    return User.objects.get(pk=user_id)


def handler_user_ids(appeal: Appeal) -> set[int]:
    """Who should hear of a new or overdue appeal: the community's staff, the grid's workers, the assignee."""
    places = Q(role__in=[Role.COMMUNITY_SECRETARY, Role.COMMUNITY_STAFF], community_id=appeal.community_id)
    if appeal.grid_id is not None:
        places |= Q(role=Role.GRID_WORKER, grid_id=appeal.grid_id)
    grants = RoleGrant.objects.filter(places, revoked_at__isnull=True, user__is_active=True)
    ids = set(grants.values_list("user_id", flat=True))
    if appeal.assignee_id is not None:
        ids.add(appeal.assignee_id)
    return ids


def resident_for_phone(phone: str) -> User | None:
    """The active account holding this phone, so an appeal filed for someone reaches them in the app."""
    if not phone:
        return None
    return User.objects.filter(phone=phone, is_active=True).first()


# For the scheduler ----------------------------------------------------------------------------


def appeals_to_flag_overdue(*, now: datetime) -> QuerySet[Appeal]:
    missed_response = Q(status=Appeal.Status.SUBMITTED, respond_overdue=False, respond_due_at__lt=now)
    missed_resolution = Q(status__in=OPEN, resolve_overdue=False, resolve_due_at__lt=now)
    return Appeal.objects.filter(missed_response | missed_resolution).order_by("id")


def appeals_to_close_unrated(*, now: datetime) -> QuerySet[Appeal]:
    return Appeal.objects.filter(status=Appeal.Status.RESOLVED, resolved_at__lte=now - rating_window()).order_by("id")


# The three rates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None


@dataclass(frozen=True)
class AppealRates:
    response: Ratio
    resolution: Ratio
    satisfaction: Ratio


def appeal_rates(appeals: QuerySet[Appeal], *, period: Period) -> AppealRates:
    """响应率, 解决率, 满意率 of the appeals submitted in the period, in one query.

    response: accepted by the respond deadline / submitted;
    resolution: resolved by the resolve deadline / accepted;
    satisfaction: rated 4 or 5 / rated.
    """
    counts = appeals.filter(period.q("submitted_at")).aggregate(
        submitted=Count("id"),
        accepted=Count("id", filter=Q(accepted_at__isnull=False)),
        accepted_in_time=Count("id", filter=Q(accepted_at__isnull=False, accepted_at__lte=F("respond_due_at"))),
        resolved_in_time=Count(
            "id",
            filter=Q(accepted_at__isnull=False, resolved_at__isnull=False, resolved_at__lte=F("resolve_due_at")),
        ),
        rated=Count("id", filter=Q(score__isnull=False)),
        satisfied=Count("id", filter=Q(score__gte=4)),
    )
    return AppealRates(
        response=Ratio(counts["accepted_in_time"], counts["submitted"]),
        resolution=Ratio(counts["resolved_in_time"], counts["accepted"]),
        satisfaction=Ratio(counts["satisfied"], counts["rated"]),
    )


def appeals_for_rates(
    user: Any, *, community_id: int | None = None, grid_id: int | None = None, street_id: int | None = None
) -> QuerySet[Appeal] | None:
    """The appeals whose rates a staff member asks for: one place, or their whole scope when none is named.

    None when the place does not exist or lies outside their scope (the caller answers 404).
    """
    scope = get_scope(user)
    if grid_id is not None:
        community_of_grid = Grid.objects.filter(pk=grid_id).values_list("community_id", flat=True).first()
        if community_of_grid is None or not (scope.is_superuser or community_of_grid in scope.community_ids):
            return None
        return Appeal.objects.filter(grid_id=grid_id)
    if community_id is not None:
        if not (scope.is_superuser or community_id in scope.community_ids):
            return None
        if not Community.objects.filter(pk=community_id).exists():
            return None
        return Appeal.objects.filter(community_id=community_id)
    if street_id is not None:
        if not (scope.is_superuser or street_id in scope.street_ids):
            return None
        if not Street.objects.filter(pk=street_id).exists():
            return None
        return Appeal.objects.filter(community__street_id=street_id)
    return Appeal.objects.filter(scope_q(user, community="community", street="community__street"))


# Personal data (accounts.registry) ------------------------------------------------------------


def appeals_about(user: Any) -> QuerySet[Appeal]:
    """The appeals that are the person's own: those for them, and those they filed in the app.
    (Appeals a grid worker filed on someone's behalf are that someone's.)"""
    return Appeal.objects.filter(Q(resident=user) | Q(filed_by=user, source=Appeal.Source.APP))


def personal_data(user: Any) -> dict[str, Any]:
    """The person's appeals with every step (their own export; contact details unmasked)."""
    appeals = rows(
        appeals_about(user).order_by("id"),
        "id",
        "source",
        "ticket_number",
        "community_id",
        "community__name",
        "estate__name",
        "place",
        "category",
        "urgency",
        "content",
        "contact_name",
        "contact_phone",
        "status",
        "submitted_at",
        "accepted_at",
        "replied_at",
        "resolved_at",
        "rated_at",
        "rejected_at",
        "closed_at",
        "score",
        "comment",
    )
    steps: dict[int, list[dict[str, Any]]] = {appeal["id"]: [] for appeal in appeals}
    if steps:
        for step in rows(
            AppealStep.objects.filter(appeal_id__in=list(steps)).order_by("at", "id"),
            "appeal_id",
            "kind",
            "content",
            "at",
        ):
            steps[step.pop("appeal_id")].append(step)
    for appeal in appeals:
        appeal["steps"] = steps[appeal["id"]]
    return {"appeals": appeals}
