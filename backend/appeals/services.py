"""接诉即办 writes: 有问题必答、有要求必回、有结果必复.

submitted → accepted → replied (again, for progress) → resolved → rated, or closed unrated once the
rating window passes; `rejected` (with a reason) before a reply. Every step locks the appeal,
stamps who and when in an AppealStep, and tells the resident (`appeal.updated`) after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community, get_scope
from backend.communities.models import Community, Estate, Grid
from backend.core import idempotency, moderation
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from . import selectors
from .models import Appeal, AppealStep

Status = Appeal.Status
Kind = AppealStep.Kind

# From which statuses each step may be taken; anything else is an invalid transition.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    Kind.ACCEPTED: (Status.SUBMITTED,),
    # A reply may be followed by further replies (progress) until the appeal is resolved.
    Kind.REPLIED: (Status.ACCEPTED, Status.REPLIED),
    Kind.RESOLVED: (Status.REPLIED,),
    Kind.REJECTED: (Status.SUBMITTED, Status.ACCEPTED),
    Kind.ASSIGNED: Appeal.OPEN_STATUSES,
    Kind.RATED: (Status.RESOLVED,),
    Kind.CLOSED: (Status.RESOLVED,),
}


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _clean(text: str | None) -> str:
    return (text or "").strip()


def _lock(appeal: Appeal) -> Appeal:
    return Appeal.objects.select_for_update().get(pk=appeal.pk)


def _require_step(appeal: Appeal, kind: str) -> None:
    if appeal.status not in ALLOWED_FROM[kind]:
        raise DomainError(
            "invalid_transition",
            _("诉求当前状态为“%(status)s”, 不能%(step)s")
            % {"status": appeal.get_status_display(), "step": Kind(kind).label},
        )


def check_may_take(*, appeal: Appeal, by: User, kind: str) -> None:
    """Who may take a step (403 otherwise), asked by each step first and by views before they read
    the input: assigning is for the community's staff, rating for the resident, the rest for the
    appeal's handlers."""
    if kind == Kind.ASSIGNED:
        if not selectors.may_manage(by, appeal):
            raise DomainError("permission_denied", _("只有本社区工作人员可以交办诉求"))
    elif kind == Kind.RATED:
        if appeal.resident_id is None or appeal.resident_id != by.pk:
            raise DomainError("permission_denied", _("只有诉求人可以评价"))
    elif not selectors.may_handle(by, appeal):
        raise DomainError("permission_denied", _("只有本社区工作人员、本网格网格员或承办人可以办理诉求"))
    elif appeal.resident_id is not None and appeal.resident_id == by.pk:
        # Staff with a complaint of their own are residents in it: handling and then rating it
        # themselves would count in the 接诉即办 rates as work done for someone else.
        raise DomainError("permission_denied", _("不能办理本人的诉求, 请由其他工作人员办理"))


def _step(
    appeal: Appeal,
    *,
    kind: str,
    actor: User | None,
    at: dt.datetime,
    content: str = "",
    assignee: User | None = None,
) -> AppealStep:
    return AppealStep.objects.create(appeal=appeal, kind=kind, actor=actor, assignee=assignee, content=content, at=at)


def _announce(appeal: Appeal, step: AppealStep, *, also: Iterable[int | None] = ()) -> None:
    """Tell the resident (and whoever else is named) about a step, once it is committed."""
    people = sorted(person for person in {appeal.resident_id, *also} if person is not None)
    if not people:
        return
    emit(
        event="appeal.updated",
        data={
            "id": appeal.pk,
            "status": appeal.status,
            "step": {"id": step.pk, "kind": step.kind, "content": step.content, "at": step.at.isoformat()},
        },
        audience=Audience.users(people),
    )


def _tell_handlers(appeal: Appeal, *, event: str) -> None:
    handlers = selectors.handler_user_ids(appeal)
    if handlers:
        emit(
            event=event,
            data={
                "id": appeal.pk,
                "status": appeal.status,
                "community": appeal.community_id,
                "grid": appeal.grid_id,
                "urgency": appeal.urgency,
                "respond_due_at": appeal.respond_due_at.isoformat(),
                "resolve_due_at": appeal.resolve_due_at.isoformat(),
                "respond_overdue": appeal.respond_overdue,
                "resolve_overdue": appeal.resolve_overdue,
            },
            audience=Audience.users(sorted(handlers)),
        )


# Filing -----------------------------------------------------------------------------------------


def _grid_of_filing(*, by: User, source: str, community: Community, estate: Estate | None) -> int | None:
    if estate is not None and estate.grid_id is not None:
        return estate.grid_id
    if source == Appeal.Source.GRID_WORKER:
        # A grid worker's own grid in that community, when the place does not name one.
        worker_grids = Grid.objects.filter(pk__in=get_scope(by).worker_grid_ids, community=community)
        return worker_grids.values_list("id", flat=True).order_by("id").first()
    return None


def _check_may_file(*, by: User, source: str, community: Community) -> None:
    """Anyone files for themselves in the app; for a resident, only the community's staff (the
    12345 hotline) or its grid workers and staff (on the resident's behalf)."""
    if source == Appeal.Source.HOTLINE and not can_act_on_community(by, community.pk):
        raise DomainError("permission_denied", _("只有本社区工作人员可以登记 12345 热线工单"))
    if source == Appeal.Source.GRID_WORKER:
        grids_here = community.grids.filter(pk__in=get_scope(by).worker_grid_ids).exists()
        if not (grids_here or can_act_on_community(by, community.pk)):
            raise DomainError("permission_denied", _("只有本社区的网格员或工作人员可以代居民提交"))


def _check_source_fields(*, source: str, ticket_number: str, contact_phone: str) -> None:
    if source == Appeal.Source.HOTLINE:
        if not ticket_number:
            raise field_error("ticket_number", _("热线工单须填写工单号"))
    elif ticket_number:
        raise field_error("ticket_number", _("只有 12345 热线工单有工单号"))
    if source != Appeal.Source.APP and not contact_phone:
        raise field_error("contact_phone", _("代居民提交时须填写居民的联系电话"))


@transaction.atomic
def submit_appeal(
    *,
    by: User,
    client_id: UUID,
    community: Community,
    category: str,
    content: str,
    urgency: str = Appeal.Urgency.GENERAL,
    estate: Estate | None = None,
    place: str = "",
    photos: Iterable[Any] = (),
    source: str = Appeal.Source.APP,
    ticket_number: str | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    now: dt.datetime | None = None,
) -> tuple[Appeal, bool]:
    """File an appeal; (appeal, created). The same client_id from the same filer (`by`) returns the
    first one.

    In the app the filer is the resident. A grid worker (source `grid_worker`) or staff (source
    `hotline`, with the 12345 ticket number) file for a resident given by their phone.

    Length: a third of it is the signature, the appeal form's fields as keyword arguments; the
    checks themselves are the named helpers it calls.
    """
    existing = idempotency.replay(Appeal.objects.all(), filed_by=by, client_id=client_id)
    if existing is not None:
        return existing, False
    _check_may_file(by=by, source=source, community=community)
    content, place = _clean(content), _clean(place)
    ticket_number = _clean(ticket_number) or None
    contact_name, contact_phone = _clean(contact_name), _clean(contact_phone)
    if not content:
        raise field_error("content", _("请填写诉求内容"))
    if estate is not None and estate.community_id != community.pk:
        raise field_error("estate", _("小区不属于该社区"))
    _check_source_fields(source=source, ticket_number=ticket_number or "", contact_phone=contact_phone)
    resident, contact_name, contact_phone = _for_whom(
        by=by, source=source, contact_name=contact_name, contact_phone=contact_phone
    )
    if ticket_number and Appeal.objects.filter(ticket_number=ticket_number).exists():
        raise _duplicate_ticket(ticket_number)

    submitted_at = _now(now)
    respond, resolve = selectors.deadlines_for(urgency)
    local = timezone.localtime(submitted_at)
    appeal, created = _insert_once(
        by=by,
        client_id=client_id,
        ticket_number=ticket_number,
        source=source,
        resident=resident,
        contact_name=contact_name[:50],
        contact_phone=contact_phone,
        community=community,
        grid_id=_grid_of_filing(by=by, source=source, community=community, estate=estate),
        estate=estate,
        place=place,
        category=category,
        urgency=urgency,
        content=content,
        submitted_at=submitted_at,
        respond_due_at=local + respond,
        resolve_due_at=local + resolve,
    )
    if created:
        _announce_filing(appeal, by=by, photos=list(photos))
    return appeal, created


def _for_whom(*, by: User, source: str, contact_name: str, contact_phone: str) -> tuple[User | None, str, str]:
    """(resident, contact name, contact phone): the filer in the app, else whoever has that phone."""
    if source == Appeal.Source.APP:
        return by, contact_name or by.real_name or by.nickname, contact_phone or by.phone or ""
    return selectors.resident_for_phone(contact_phone), contact_name, contact_phone


def _duplicate_ticket(number: str) -> DomainError:
    return DomainError("duplicate_ticket", _("工单号 %(number)s 已登记") % {"number": number})


def _insert_once(*, by: User, client_id: UUID, ticket_number: str | None, **fields: Any) -> tuple[Appeal, bool]:
    try:
        # A concurrent retry may win the race to the constraint (answered with its row), or a
        # concurrent ticket with the same number (refused below).
        return idempotency.insert_once(
            lambda: Appeal.objects.create(client_id=client_id, filed_by=by, ticket_number=ticket_number, **fields),
            Appeal.objects.all(),
            filed_by=by,
            client_id=client_id,
        )
    except IntegrityError:
        if ticket_number and Appeal.objects.filter(ticket_number=ticket_number).exists():
            raise _duplicate_ticket(ticket_number) from None
        raise


def _announce_filing(appeal: Appeal, *, by: User, photos: list[Any]) -> None:
    """A new appeal's photos, its content check, its first step, and who hears of it."""
    if photos:
        appeal.photos.set(photos)
    # Only its handlers read it: checked and flagged for them, never held from them.
    moderation.submit(
        appeal,
        author=by,
        community_id=appeal.community_id,
        texts={"text": ("content", "place")},
        images=photos,
        holds=False,
    )
    step = _step(appeal, kind=Kind.SUBMITTED, actor=by, at=appeal.submitted_at, content=appeal.content)
    _announce(appeal, step)
    _tell_handlers(appeal, event="appeal.submitted")


# The workflow -----------------------------------------------------------------------------------


@transaction.atomic
def accept(*, appeal: Appeal, by: User, content: str = "", now: dt.datetime | None = None) -> Appeal:
    """受理: the response the respond deadline asks for."""
    appeal = _lock(appeal)
    check_may_take(appeal=appeal, by=by, kind=Kind.ACCEPTED)
    _require_step(appeal, Kind.ACCEPTED)
    at = _now(now)
    appeal.status = Status.ACCEPTED
    appeal.accepted_at = at
    appeal.respond_overdue = appeal.respond_overdue or at > appeal.respond_due_at
    appeal.save(update_fields=["status", "accepted_at", "respond_overdue", "updated_at"])
    _announce(appeal, _step(appeal, kind=Kind.ACCEPTED, actor=by, at=at, content=_clean(content)))
    return appeal


@transaction.atomic
def reply(*, appeal: Appeal, by: User, content: str, now: dt.datetime | None = None) -> Appeal:
    """答复: what is being done; later replies report progress and keep the first reply's time."""
    appeal = _lock(appeal)
    check_may_take(appeal=appeal, by=by, kind=Kind.REPLIED)
    content = _clean(content)
    if not content:
        raise field_error("content", _("请填写答复内容"))
    _require_step(appeal, Kind.REPLIED)
    at = _now(now)
    if appeal.status == Status.ACCEPTED:
        appeal.status = Status.REPLIED
        appeal.replied_at = at
        appeal.save(update_fields=["status", "replied_at", "updated_at"])
    _announce(appeal, _step(appeal, kind=Kind.REPLIED, actor=by, at=at, content=content))
    return appeal


@transaction.atomic
def resolve(*, appeal: Appeal, by: User, content: str = "", now: dt.datetime | None = None) -> Appeal:
    """办结: the result; the resident may now rate it."""
    appeal = _lock(appeal)
    check_may_take(appeal=appeal, by=by, kind=Kind.RESOLVED)
    _require_step(appeal, Kind.RESOLVED)
    at = _now(now)
    appeal.status = Status.RESOLVED
    appeal.resolved_at = at
    appeal.resolve_overdue = appeal.resolve_overdue or at > appeal.resolve_due_at
    appeal.save(update_fields=["status", "resolved_at", "resolve_overdue", "updated_at"])
    _announce(appeal, _step(appeal, kind=Kind.RESOLVED, actor=by, at=at, content=_clean(content)))
    return appeal


@transaction.atomic
def reject(*, appeal: Appeal, by: User, reason: str, now: dt.datetime | None = None) -> Appeal:
    """不予受理, always with the reason the resident reads."""
    appeal = _lock(appeal)
    check_may_take(appeal=appeal, by=by, kind=Kind.REJECTED)
    reason = _clean(reason)
    if not reason:
        raise field_error("content", _("请填写不予受理的理由"))
    _require_step(appeal, Kind.REJECTED)
    at = _now(now)
    appeal.status = Status.REJECTED
    appeal.rejected_at = at
    appeal.save(update_fields=["status", "rejected_at", "updated_at"])
    _announce(appeal, _step(appeal, kind=Kind.REJECTED, actor=by, at=at, content=reason))
    return appeal


@transaction.atomic
def assign(*, appeal: Appeal, by: User, assignee: User, content: str = "", now: dt.datetime | None = None) -> Appeal:
    """交办: staff hand an open appeal to a staff member or grid worker of its community."""
    appeal = _lock(appeal)
    check_may_take(appeal=appeal, by=by, kind=Kind.ASSIGNED)
    _require_step(appeal, Kind.ASSIGNED)
    if selectors.assignable_user(assignee.pk, appeal.community_id) is None:
        raise field_error("assignee", _("承办人须为本社区工作人员或本社区网格员"))
    if appeal.resident_id is not None and assignee.pk == appeal.resident_id:
        raise field_error("assignee", _("不能交办给诉求人本人"))
    at = _now(now)
    appeal.assignee = assignee
    appeal.save(update_fields=["assignee", "updated_at"])
    step = _step(appeal, kind=Kind.ASSIGNED, actor=by, at=at, content=_clean(content), assignee=assignee)
    _announce(appeal, step, also=[assignee.pk])
    return appeal


@transaction.atomic
def rate(*, appeal: Appeal, by: User, score: int, comment: str = "", now: dt.datetime | None = None) -> Appeal:
    """The resident rates a resolved appeal 1–5, which closes it; only within the rating window."""
    appeal = _lock(appeal)
    check_may_take(appeal=appeal, by=by, kind=Kind.RATED)
    if not 1 <= int(score) <= 5:
        raise field_error("score", _("评分须在 1 到 5 之间"))
    _require_step(appeal, Kind.RATED)
    at = _now(now)
    # A resolved appeal always has its resolved_at (the step above holds only from `resolved`).
    if appeal.resolved_at is None or at > appeal.resolved_at + selectors.rating_window():
        raise DomainError("invalid_transition", _("已超过评价期限"))
    comment = _clean(comment)
    appeal.status = Status.RATED
    appeal.score = int(score)
    appeal.comment = comment
    appeal.rated_at = at
    appeal.closed_at = at
    appeal.save(update_fields=["status", "score", "comment", "rated_at", "closed_at", "updated_at"])
    moderation.submit(
        appeal,
        author=by,
        community_id=appeal.community_id,
        texts={"comment": ("comment",)},
        holds=False,
        scene=moderation.SCENE_COMMENT,
    )
    _announce(appeal, _step(appeal, kind=Kind.RATED, actor=by, at=at, content=comment))
    return appeal


# Scheduled --------------------------------------------------------------------------------------


def flag_overdue(*, now: dt.datetime | None = None) -> int:
    """Flag open appeals past a deadline still running; tell their handlers. Safe to run twice."""
    now = _now(now)
    flagged = 0
    for appeal_id in list(selectors.appeals_to_flag_overdue(now=now).values_list("id", flat=True)):
        with transaction.atomic():
            appeal = Appeal.objects.select_for_update().get(pk=appeal_id)
            changed: list[str] = []
            if appeal.status == Status.SUBMITTED and not appeal.respond_overdue and now > appeal.respond_due_at:
                appeal.respond_overdue = True
                changed.append("respond_overdue")
            if appeal.is_open and not appeal.resolve_overdue and now > appeal.resolve_due_at:
                appeal.resolve_overdue = True
                changed.append("resolve_overdue")
            if not changed:
                continue
            appeal.save(update_fields=[*changed, "updated_at"])
            _tell_handlers(appeal, event="appeal.overdue")
            flagged += 1
    return flagged


def close_unrated(*, now: dt.datetime | None = None) -> int:
    """Close resolved appeals left unrated past the rating window. Safe to run twice."""
    now = _now(now)
    closed = 0
    cutoff = now - selectors.rating_window()
    for appeal_id in list(selectors.appeals_to_close_unrated(now=now).values_list("id", flat=True)):
        with transaction.atomic():
            appeal = Appeal.objects.select_for_update().get(pk=appeal_id)
            if appeal.status != Status.RESOLVED or appeal.resolved_at is None or appeal.resolved_at > cutoff:
                continue
            appeal.status = Status.CLOSED
            appeal.closed_at = now
            appeal.save(update_fields=["status", "closed_at", "updated_at"])
            step = _step(appeal, kind=Kind.CLOSED, actor=None, at=now, content=_("评价期满未评价, 自动关闭"))
            _announce(appeal, step)
            closed += 1
    return closed


# Personal data (accounts.registry) ------------------------------------------------------------


def erase_personal_data(user: User, *, now: dt.datetime) -> None:
    """Account deletion: the contact name and phone on the person's own appeals go; the appeal, its
    steps and its rating stay (the rates are computed from them)."""
    selectors.appeals_about(user).exclude(contact_name="", contact_phone="").update(contact_name="", contact_phone="")
