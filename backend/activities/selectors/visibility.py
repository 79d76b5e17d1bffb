"""Reads: who sees which activities, the caller's own standing in one (enrolment, check-in), who
belongs to an audience, leave requests, photos and a person's data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Count, Exists, IntegerField, Model, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community, get_scope, scope_q
from backend.accounts.selectors import rows
from backend.communities.models import PartyOrganization
from backend.core.events import Audience
from backend.core.moderation import visible_q, with_review
from backend.core.statements import ModelRead
from backend.core.statements import cursor as statement_cursor
from backend.members.models import MemberRegistration, PartyMember

from .. import registry
from ..models import Activity, ActivityPhoto, CheckIn, Enrollment, LeaveRequest, Minutes

_M = TypeVar("_M", bound=Model)
Status = Activity.Status
AudienceKind = Activity.Audience
APPROVED = MemberRegistration.Status.APPROVED
# Audiences that hold everyone signed in; party-member and branch activities are for their members.
OPEN_AUDIENCES = (AudienceKind.COMMUNITY, AudienceKind.PUBLIC, AudienceKind.VOLUNTEERS)


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def _staff_q(user: Any) -> Q:
    return scope_q(user, community="community", street="community__street")


# Who sees what -----------------------------------------------------------------------------------


def manageable_activities(user: Any) -> QuerySet[Activity]:
    """Activities the user acts on as staff: those of the communities in their scope."""
    if not _signed_in(user) or not get_scope(user).is_staff:
        return Activity.objects.none()
    return Activity.objects.filter(_staff_q(user))


def notice_audience_activities(user: Any) -> QuerySet[Activity]:
    """Activities whose participants a staff member may write to: published or finished, in scope."""
    return (
        manageable_activities(user)
        .filter(status__in=(Status.PUBLISHED, Status.FINISHED))
        .select_related("community")
        .order_by("-starts_at")
    )


def may_manage(user: Any, activity: Activity) -> bool:
    return can_act_on_community(user, activity.community_id)


# The caller's party facts: their organisation, its parent and community, and the community of each
# approved registration (any other registration joins as none). Table names from the models; every
# value is a parameter (PARTY_FACTS_PARAMS' order).
PARTY_FACTS_COLUMNS = "m.organization_id, o.parent_id, o.community_id, r.community_id"
PARTY_FACTS_FROM = (
    f"FROM {PartyMember._meta.db_table} m "
    f"LEFT JOIN {PartyOrganization._meta.db_table} o ON o.id = m.organization_id "
    f"LEFT JOIN {MemberRegistration._meta.db_table} r ON r.member_id = m.id AND r.status = %s "
    "WHERE m.user_id = %s"
)
_PARTY_FACTS_SQL = f"SELECT {PARTY_FACTS_COLUMNS} {PARTY_FACTS_FROM}"


def party_facts_params(user_id: int) -> list[Any]:
    return [APPROVED, user_id]


def facts_of(found: Iterable[Sequence[Any]]) -> tuple[set[int], set[int]]:
    """(communities whose party-member activities are for the user, branches whose branch
    activities are) from the rows of PARTY_FACTS_COLUMNS: the communities they are registered
    (approved) with or whose organisation they belong to; their organisation and its parent (a
    党小组's branch)."""
    communities: set[int] = set()
    branches: set[int] = set()
    for organization_id, parent_id, organization_community_id, registered_id in found:
        branches.update(pk for pk in (organization_id, parent_id) if pk is not None)
        communities.update(pk for pk in (organization_community_id, registered_id) if pk is not None)
    return communities, branches


def party_facts(user_id: int) -> tuple[set[int], set[int]]:
    """The user's facts_of, in one small statement.

    Read first rather than nested as subqueries in the activities' statements: the nested form cost
    more to build and compile than the whole page's rows, and more for PostgreSQL to plan than this
    statement costs to run. Written as SQL because the ORM took longer to compile it than the
    database to answer it, on the page everyone opens."""
    with statement_cursor(connection) as cursor:
        cursor.execute(_PARTY_FACTS_SQL, party_facts_params(user_id))
        return facts_of(cursor.fetchall())


def visible_activities(user: Any) -> QuerySet[Activity]:
    """Published, finished and cancelled activities to anyone signed in, except that party-member and
    branch activities show only to those they are for (and to whoever holds a place); drafts only to staff."""
    if not _signed_in(user):
        return Activity.objects.none()
    # A place given up confers nothing: who left a meeting they are no longer for sees it no more.
    enrolled = Enrollment.objects.filter(activity=OuterRef("pk"), user=user).exclude(status=Enrollment.Status.WITHDRAWN)
    visible_to_member = Q(audience__in=OPEN_AUDIENCES)
    communities, branches = party_facts(user.pk)
    if communities:
        visible_to_member |= Q(audience=AudienceKind.PARTY_MEMBERS, community_id__in=sorted(communities))
    if branches:
        visible_to_member |= Q(audience=AudienceKind.BRANCH, branch_id__in=sorted(branches))
    visible = ~Q(status=Status.DRAFT) & (visible_to_member | Q(Exists(enrolled)))
    if get_scope(user).is_staff:
        visible |= _staff_q(user)
    return Activity.objects.filter(visible)


def _count_of(queryset: QuerySet[_M], path: str = "activity") -> Coalesce:
    counted = queryset.filter(**{path: OuterRef("pk")}).order_by().values(path).annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_counts(queryset: QuerySet[Activity], *, user: Any = None) -> QuerySet[Activity]:
    """Each row with its enrolment and check-in counts and, for `user`, their own enrolment: one query."""
    queryset = queryset.select_related("community", "brand", "cover", "branch").annotate(
        enrolled_count=_count_of(Enrollment.objects.filter(status=Enrollment.Status.ENROLLED)),
        waitlisted_count=_count_of(Enrollment.objects.filter(status=Enrollment.Status.WAITLISTED)),
        checked_in_count=_count_of(CheckIn.objects.filter(kind=CheckIn.Kind.IN)),
    )
    if _signed_in(user):
        mine = Enrollment.objects.filter(
            activity=OuterRef("pk"), user=user, status__in=Enrollment.ACTIVE_STATUSES
        ).values("status")[:1]
        checked_in = CheckIn.objects.filter(activity=OuterRef("pk"), user=user, kind=CheckIn.Kind.IN)
        queryset = queryset.annotate(my_enrollment=Subquery(mine), my_checked_in=Exists(checked_in))
    return queryset


def filter_mine(queryset: QuerySet[Activity], *, user: Any, mine: str) -> QuerySet[Activity]:
    """`enrolled`: activities the user is signed up for (or waiting for); `attended`: checked in at."""
    if mine == "enrolled":
        return queryset.filter(
            Exists(Enrollment.objects.filter(activity=OuterRef("pk"), user=user, status__in=Enrollment.ACTIVE_STATUSES))
        )
    if mine == "attended":
        return queryset.filter(Exists(CheckIn.objects.filter(activity=OuterRef("pk"), user=user, kind=CheckIn.Kind.IN)))
    return queryset


def _check_in_sql(columns: str, quote: Callable[[str], str]) -> str:
    activity, enrollment = quote(Activity._meta.db_table), quote(Enrollment._meta.db_table)
    checkin, user = quote(CheckIn._meta.db_table), quote(User._meta.db_table)
    return (
        f"SELECT {columns}, "  # noqa: S608
        f"(SELECT e.status FROM {enrollment} e WHERE e.activity_id = a.id AND e.user_id = %s "
        f"AND e.status IN (%s, %s) LIMIT 1), "
        f"EXISTS (SELECT 1 FROM {checkin} c WHERE c.activity_id = a.id AND c.user_id = %s AND c.kind = %s), "
        f"EXISTS (SELECT 1 FROM {user} u WHERE u.id = %s AND u.is_active) "
        f"FROM {activity} a WHERE a.id = %s AND a.status <> %s"
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


_check_in_statement = ModelRead(
    Activity,
    _check_in_sql,
    alias="a",
    extras=(("caller_enrollment", _optional_str), ("caller_checked_in", bool), ("caller_active", bool)),
)


def activity_for_check_in(*, pk: Any, user: Any) -> Activity:
    """The activity (never a draft) with the caller's enrolment status, whether they have checked
    in and whether their account is active, in one query: check-in is the busiest request there is
    (its authentication leaves the account to this query). DoesNotExist if absent.

    Written once (core.statements) because compiling the same query from the ORM's Subquery and
    Exists cost about four times the CPU of running it (1.5 ms against 0.4 ms per check-in), and
    Django's raw() still worked out its columns again on each call.
    """
    params = [
        user.pk,
        Enrollment.Status.ENROLLED,
        Enrollment.Status.WAITLISTED,
        user.pk,
        CheckIn.Kind.IN,
        user.pk,
        int(pk),
        Status.DRAFT,
    ]
    activity = _check_in_statement.first(params)
    if activity is None:
        raise Activity.DoesNotExist
    activity.caller_id = user.pk
    return activity


def _caller_fact(activity: Activity, user: Any, name: str) -> tuple[bool, Any]:
    """(known, value) of a fact `activity_for_check_in` read for this very user."""
    if getattr(activity, "caller_id", None) == getattr(user, "pk", None) and hasattr(activity, name):
        return True, getattr(activity, name)
    return False, None


def enrollment_status(activity: Activity, user: Any) -> str | None:
    """The user's active enrolment status (enrolled / waitlisted) or None."""
    known, status = _caller_fact(activity, user, "caller_enrollment")
    if known:
        return None if status is None else str(status)
    return (
        Enrollment.objects.filter(activity=activity, user=user, status__in=Enrollment.ACTIVE_STATUSES)
        .values_list("status", flat=True)
        .first()
    )


def has_checked_in(activity: Activity, user: Any) -> bool:
    known, checked_in = _caller_fact(activity, user, "caller_checked_in")
    if known:
        return bool(checked_in)
    return CheckIn.objects.filter(activity=activity, user=user, kind=CheckIn.Kind.IN).exists()


# Audiences ------------------------------------------------------------------------------------


def branch_member_user_ids(branch_id: int) -> set[int]:
    """Members whose organisation is the branch or one of its groups (党小组)."""
    return set(
        PartyMember.objects.filter(Q(organization_id=branch_id) | Q(organization__parent_id=branch_id)).values_list(
            "user_id", flat=True
        )
    )


def community_party_member_user_ids(community_id: int) -> set[int]:
    """Party members registered (双报到) with the community or belonging to one of its organisations."""
    return set(
        PartyMember.objects.filter(
            Q(registrations__community_id=community_id, registrations__status=APPROVED)
            | Q(organization__community_id=community_id)
        ).values_list("user_id", flat=True)
    )


def in_audience(activity: Activity, user: Any) -> bool:
    """Whether the activity is for this user. Staff of its community belong to every audience."""
    if not _signed_in(user):
        return False
    kind = activity.audience
    if kind == AudienceKind.PUBLIC:
        return True
    if kind == AudienceKind.COMMUNITY:
        if user.community_id == activity.community_id:
            return True
        if MemberRegistration.objects.filter(
            member__user=user, community_id=activity.community_id, status=APPROVED
        ).exists():
            return True
    elif kind == AudienceKind.PARTY_MEMBERS:
        if (
            PartyMember.objects.filter(user=user)
            .filter(
                Q(registrations__community_id=activity.community_id, registrations__status=APPROVED)
                | Q(organization__community_id=activity.community_id)
            )
            .exists()
        ):
            return True
    elif kind == AudienceKind.BRANCH:
        if (
            activity.branch_id is not None
            and PartyMember.objects.filter(user=user)
            .filter(Q(organization_id=activity.branch_id) | Q(organization__parent_id=activity.branch_id))
            .exists()
        ):
            return True
    else:
        provider = registry.audience_members.get(kind)
        if provider is not None and provider(user, activity):
            return True
    return may_manage(user, activity)


def announcement_audience(activity: Activity) -> Audience:
    """Who hears that the activity was published: the people it is for."""
    kind = activity.audience
    if kind in (AudienceKind.COMMUNITY, AudienceKind.PUBLIC):
        return Audience.community(activity.community_id)
    if kind == AudienceKind.PARTY_MEMBERS:
        return Audience.users(sorted(community_party_member_user_ids(activity.community_id)))
    if kind == AudienceKind.BRANCH and activity.branch_id is not None:
        return Audience.users(sorted(branch_member_user_ids(activity.branch_id)))
    provider = registry.audience_user_ids.get(kind)
    return Audience.users(sorted(int(pk) for pk in provider(activity)) if provider is not None else [])


def signed_up_user_ids(activity_ids: Iterable[int]) -> set[int]:
    """The `activity` audience of notices: whoever is enrolled or on the waiting list."""
    return set(
        Enrollment.objects.filter(
            activity_id__in=list(activity_ids), status__in=Enrollment.ACTIVE_STATUSES
        ).values_list("user_id", flat=True)
    )


def may_watch(user: Any, activity_id: int) -> bool:
    """Staff in scope may follow an activity's attendance live."""
    return manageable_activities(user).filter(pk=activity_id).exists()


# Enrolment -------------------------------------------------------------------------------------


def active_enrollment(activity: Activity, user: Any) -> Enrollment | None:
    if not _signed_in(user):
        return None
    return Enrollment.objects.filter(activity=activity, user=user, status__in=Enrollment.ACTIVE_STATUSES).first()


def waitlist_position(enrollment: Enrollment) -> int | None:
    """1 for the first in line; None for anyone not waiting."""
    if enrollment.status != Enrollment.Status.WAITLISTED:
        return None
    return Enrollment.objects.filter(
        activity_id=enrollment.activity_id, status=Enrollment.Status.WAITLISTED, pk__lte=enrollment.pk
    ).count()


def enrolled_count(activity: Activity) -> int:
    return Enrollment.objects.filter(activity=activity, status=Enrollment.Status.ENROLLED).count()


def is_participant(activity: Activity, user: Any) -> bool:
    """Signed up (not waiting) or checked in: may add photos to the record."""
    return (
        Enrollment.objects.filter(activity=activity, user=user, status=Enrollment.Status.ENROLLED).exists()
        or CheckIn.objects.filter(activity=activity, user=user).exists()
    )


# Leave, photos ----------------------------------------------------------------------------------


def leave_requests_for(user: Any) -> QuerySet[LeaveRequest]:
    """Staff see their communities' requests; everyone sees their own."""
    if not _signed_in(user):
        return LeaveRequest.objects.none()
    visible = Q(user=user)
    if get_scope(user).is_staff:
        visible |= scope_q(user, community="activity__community", street="activity__community__street")
    return LeaveRequest.objects.filter(visible).select_related("activity", "user", "decided_by")


def minutes_for(activity: Activity, *, viewer: Any) -> Minutes | None:
    """A meeting's minutes with their attachments, for its staff and participants; None for anyone
    else, as when there are none."""
    if not (may_manage(viewer, activity) or is_participant(activity, viewer)):
        return None
    return Minutes.objects.filter(activity=activity).prefetch_related("attachments").first()


def photos_of(activity: Activity, *, viewer: Any) -> QuerySet[ActivityPhoto]:
    """An activity's photos; one WeChat has not passed yet only to whoever added it and its staff."""
    photos = with_review(ActivityPhoto.objects.filter(activity=activity)).select_related("upload").order_by("id")
    if may_manage(viewer, activity):
        return photos
    return photos.filter(visible_q() | Q(added_by_id=getattr(viewer, "pk", None)))


# Personal data (accounts.registry) ------------------------------------------------------------


def personal_data(user: User) -> dict[str, Any]:
    """The user's enrolments, check-ins and leave requests (their own export). A check-in holds the
    distance from the venue and whether it was inside the geofence: no position was ever kept."""
    return {
        "enrollments": rows(
            Enrollment.objects.filter(user=user).order_by("id"),
            "id",
            "activity_id",
            "activity__title",
            "activity__starts_at",
            "status",
            "created_at",
            "promoted_at",
            "withdrawn_at",
        ),
        "check_ins": rows(
            CheckIn.objects.filter(user=user).order_by("id"),
            "id",
            "activity_id",
            "activity__title",
            "kind",
            "at",
            "distance_m",
            "accuracy_m",
            "inside",
            "manual",
            "reason",
        ),
        "leave_requests": rows(
            LeaveRequest.objects.filter(user=user).order_by("id"),
            "id",
            "activity_id",
            "activity__title",
            "reason",
            "status",
            "requested_at",
            "decided_at",
            "decision_note",
        ),
    }
