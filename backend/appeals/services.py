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


def require_handler(user: User, appeal: Appeal) -> None:
    """The workflow steps' check, which views also ask before reading the body."""
    if not selectors.may_handle(user, appeal):
        raise DomainError("permission_denied", _("只有本社区工作人员、本网格网格员或承办人可以办理诉求"))


def require_rater(user: User, appeal: Appeal) -> None:
    """Only the resident rates their appeal (views ask before reading the body)."""
    if appeal.resident_id is None or appeal.resident_id != user.pk:
        raise DomainError("permission_denied", _("只有诉求人可以评价"))


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
    people = sorted({appeal.resident_id, *also} - {None})
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


def _grid_of_filing(*, filer: User, source: str, community: Community, estate: Estate | None) -> int | None:
    if estate is not None and estate.grid_id is not None:
        return estate.grid_id
    if source == Appeal.Source.GRID_WORKER:
        # A grid worker's own grid in that community, when the place does not name one.
        worker_grids = Grid.objects.filter(pk__in=get_scope(filer).worker_grid_ids, community=community)
        return worker_grids.values_list("id", flat=True).order_by("id").first()
    return None


def _check_source(*, filer: User, source: str, community: Community, ticket_number: str, contact_phone: str) -> None:
    if source == Appeal.Source.HOTLINE:
        if not can_act_on_community(filer, community.pk):
            raise DomainError("permission_denied", _("只有本社区工作人员可以登记 12345 热线工单"))
        if not ticket_number:
            raise field_error("ticket_number", _("热线工单须填写工单号"))
    elif ticket_number:
        raise field_error("ticket_number", _("只有 12345 热线工单有工单号"))
    if source == Appeal.Source.GRID_WORKER:
        grids_here = community.grids.filter(pk__in=get_scope(filer).worker_grid_ids).exists()
        if not (grids_here or can_act_on_community(filer, community.pk)):
            raise DomainError("permission_denied", _("只有本社区的网格员或工作人员可以代居民提交"))
    if source != Appeal.Source.APP and not contact_phone:
        raise field_error("contact_phone", _("代居民提交时须填写居民的联系电话"))


@transaction.atomic
def submit_appeal(
    *,
    filer: User,
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
    """File an appeal; (appeal, created). The same client_id from the same filer returns the first one.

    In the app the filer is the resident. A grid worker (source `grid_worker`) or staff (source
    `hotline`, with the 12345 ticket number) file for a resident given by their phone.
    """
    existing = idempotency.replay(Appeal.objects, filed_by=filer, client_id=client_id)
    if existing is not None:
        return existing, False
    content, place = _clean(content), _clean(place)
    ticket_number = _clean(ticket_number) or None
    contact_name, contact_phone = _clean(contact_name), _clean(contact_phone)
    if not content:
        raise field_error("content", _("请填写诉求内容"))
    if estate is not None and estate.community_id != community.pk:
        raise field_error("estate", _("小区不属于该社区"))
    _check_source(
        filer=filer, source=source, community=community, ticket_number=ticket_number or "", contact_phone=contact_phone
    )
    if source == Appeal.Source.APP:
        resident: User | None = filer
        contact_name = contact_name or filer.real_name or filer.nickname
        contact_phone = contact_phone or filer.phone or ""
    else:
        resident = selectors.resident_for_phone(contact_phone)
    if ticket_number and Appeal.objects.filter(ticket_number=ticket_number).exists():
        raise DomainError("duplicate_ticket", _("工单号 %(number)s 已登记") % {"number": ticket_number})

    submitted_at = _now(now)
    respond, resolve = selectors.deadlines_for(urgency)
    local = timezone.localtime(submitted_at)
    try:
        # A concurrent retry may win the race to the constraint (answered with its row), or a
        # concurrent ticket with the same number (refused below).
        appeal, created = idempotency.insert_once(
            lambda: Appeal.objects.create(
                client_id=client_id,
                source=source,
                ticket_number=ticket_number,
                filed_by=filer,
                resident=resident,
                contact_name=contact_name[:50],
                contact_phone=contact_phone,
                community=community,
                grid_id=_grid_of_filing(filer=filer, source=source, community=community, estate=estate),
                estate=estate,
                place=place,
                category=category,
                urgency=urgency,
                content=content,
                submitted_at=submitted_at,
                respond_due_at=local + respond,
                resolve_due_at=local + resolve,
            ),
            Appeal.objects,
            filed_by=filer,
            client_id=client_id,
        )
    except IntegrityError:
        if ticket_number and Appeal.objects.filter(ticket_number=ticket_number).exists():
            raise DomainError("duplicate_ticket", _("工单号 %(number)s 已登记") % {"number": ticket_number}) from None
        raise
    if not created:
        return appeal, False
    photos = list(photos)
    if photos:
        appeal.photos.set(photos)
    # Only its handlers read it: checked and flagged for them, never held from them.
    moderation.submit(
        appeal,
        author=filer,
        community_id=community.pk,
        texts={"text": ("content", "place")},
        images=photos,
        holds=False,
    )
    step = _step(appeal, kind=Kind.SUBMITTED, actor=filer, at=submitted_at, content=content)
    _announce(appeal, step)
    _tell_handlers(appeal, event="appeal.submitted")
    return appeal, True


# The workflow -----------------------------------------------------------------------------------


@transaction.atomic
def accept(*, appeal: Appeal, by: User, content: str = "", now: dt.datetime | None = None) -> Appeal:
    """受理: the response the respond deadline asks for."""
    appeal = _lock(appeal)
    require_handler(by, appeal)
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
    require_handler(by, appeal)
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
    require_handler(by, appeal)
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
    require_handler(by, appeal)
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
    if not selectors.may_manage(by, appeal):
        raise DomainError("permission_denied", _("只有本社区工作人员可以交办诉求"))
    _require_step(appeal, Kind.ASSIGNED)
    if selectors.assignable_user(assignee.pk, appeal.community_id) is None:
        raise field_error("assignee", _("承办人须为本社区工作人员或本社区网格员"))
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
    require_rater(by, appeal)
    if not 1 <= int(score) <= 5:
        raise field_error("score", _("评分须在 1 到 5 之间"))
    _require_step(appeal, Kind.RATED)
    at = _now(now)
    if at > appeal.resolved_at + selectors.rating_window():
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
            if appeal.status != Status.RESOLVED or appeal.resolved_at > cutoff:
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
