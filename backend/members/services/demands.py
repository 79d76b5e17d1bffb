"""三单, demands: a resident files a need, a member or unit takes it (or staff assign it), it is done
and confirmed; confirmation awards the points."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community
from backend.communities.models import Community, Estate, Grid, PartyOrganization
from backend.core import idempotency, moderation
from backend.core.errors import DomainError, field_error
from backend.core.events import Audience, emit

from .. import selectors
from ..models import Demand, DemandStep, PartyMember
from ._common import _blank, _require_staff_of
from .points import award_points

DEMAND_COMPLETED_RULE = "demand_completed"


def _lock_demand(demand: Demand) -> Demand:
    return Demand.objects.select_for_update().select_related("community").get(pk=demand.pk)


def _step(
    demand: Demand,
    *,
    action: str,
    from_status: str,
    by: User | None,
    assignee: User | None = None,
    note: str = "",
    evidence: Iterable[Any] = (),
    at: dt.datetime | None = None,
) -> DemandStep:
    step = DemandStep.objects.create(
        demand=demand,
        action=action,
        from_status=from_status,
        to_status=demand.status,
        actor=by,
        assignee=assignee,
        note=note,
        at=at or timezone.now(),
    )
    evidence = list(evidence)
    if evidence:
        step.evidence.set(evidence)
    return step


def _announce(demand: Demand, *, action: str, by: User | None, also: Iterable[int | None] = ()) -> None:
    """Tell the people involved (who asked, who took it) about a step; not the one who took the step."""
    people = {demand.requester_id, demand.claimed_by_id, *also} - {None, getattr(by, "pk", None)}
    if not people:
        return
    emit(
        event=f"demand.{action}",
        data={
            "id": demand.pk,
            "kind": demand.kind,
            "title": demand.title,
            "status": demand.status,
            "community": demand.community_id,
            "actor": getattr(by, "pk", None),
        },
        audience=Audience.users(sorted(people)),
    )


def _transition_error(demand: Demand, action: str) -> DomainError:
    return DomainError(
        "invalid_transition",
        _("需求当前状态为“%(status)s”, 不能%(action)s")
        % {"status": demand.get_status_display(), "action": DemandStep.Action(action).label},
    )


@transaction.atomic
def file_demand(
    *,
    by: User,
    kind: str,
    community: Community,
    title: str,
    description: str = "",
    grid: Grid | None = None,
    estate: Estate | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    photos: Iterable[Any] = (),
    client_id: uuid.UUID | None = None,
) -> Demand:
    """群众点单: a resident (or a grid worker or staff on their behalf) files a need."""
    if grid is not None and grid.community_id != community.pk:
        raise field_error("grid", _("网格不属于该社区"))
    if estate is not None and estate.community_id != community.pk:
        raise field_error("estate", _("小区不属于该社区"))
    demand = Demand.objects.create(
        kind=kind,
        community=community,
        grid=grid,
        estate=estate,
        title=title,
        description=description,
        contact_name=contact_name,
        contact_phone=contact_phone,
        requester=by,
        client_id=client_id,
    )
    photos = list(photos)
    if photos:
        demand.photos.set(photos)
    _step(demand, action=DemandStep.Action.CREATED, from_status="", by=by, at=demand.created_at)
    # Members and units of the community see it (to claim it) only once WeChat has passed it.
    moderation.submit(
        demand,
        author=by,
        community_id=community.pk,
        texts={"text": ("title", "description")},
        images=photos,
    )
    return demand


@transaction.atomic
def submit_demand(*, by: User, client_id: uuid.UUID | None, **fields: Any) -> tuple[Demand, bool]:
    """`file_demand` for a phone that may retry: (demand, created). The same client_id from the same
    requester answers with the first demand and writes nothing; without one every call files anew."""
    existing = idempotency.replay(Demand.objects.all(), client_id=client_id, requester=by)
    if existing is not None:
        return existing, False
    return idempotency.insert_once(
        lambda: file_demand(by=by, client_id=client_id, **fields),
        Demand.objects.all(),
        client_id=client_id,
        requester=by,
    )


@transaction.atomic
def claim_demand(*, demand: Demand, by: User, organization: PartyOrganization | None = None) -> Demand:
    """党员接单: a registered member, or a registered unit through its liaison, takes an open demand."""
    demand = _lock_demand(demand)
    # The state first: a demand no longer open has nothing to claim, and two members racing for
    # one hear that it was taken (409), whoever they are.
    if demand.status != Demand.Status.OPEN:
        raise _transition_error(demand, DemandStep.Action.CLAIMED)
    if demand.requester_id == by.pk:
        raise DomainError("permission_denied", _("不能认领自己提出的需求"))
    moderation.require_visible(demand)
    if organization is not None:
        if not selectors.liaison_reaches(by, organization_id=organization.pk, community_id=demand.community_id):
            raise DomainError("permission_denied", _("只有已向本社区报到的共建单位联络员可以代表单位认领"))
    elif selectors.approved_member_in(by, demand.community_id) is None:
        raise DomainError("permission_denied", _("只有在本社区报到的党员或共建单位可以认领"))
    previous = demand.status
    demand.status = Demand.Status.CLAIMED
    demand.claimed_by = by
    demand.claimed_organization = organization
    demand.claimed_at = timezone.now()
    demand.save(update_fields=["status", "claimed_by", "claimed_organization", "claimed_at"])
    _step(demand, action=DemandStep.Action.CLAIMED, from_status=previous, by=by, assignee=by)
    _announce(demand, action="claimed", by=by)
    return demand


def require_assigner(by: User, demand: Demand) -> None:
    """The community's staff assign its demands (views ask before reading the body)."""
    _require_staff_of(by, demand.community_id)


@transaction.atomic
def assign_demand(*, demand: Demand, by: User, member: PartyMember, note: str = "") -> Demand:
    """社区派单: staff give an open (or re-give a claimed) demand to a member registered there."""
    demand = _lock_demand(demand)
    require_assigner(by, demand)
    if member.user_id == by.pk:
        # Completing a demand earns points: staff who are members claim like anyone else, so that
        # the assigning and the earning are never the same person's.
        raise DomainError("permission_denied", _("不能把需求派给本人"))
    if demand.status not in (Demand.Status.OPEN, Demand.Status.CLAIMED):
        raise _transition_error(demand, DemandStep.Action.ASSIGNED)
    if selectors.approved_member_in(member.user, demand.community_id) is None:
        raise field_error("member", _("该党员未在本社区报到"))
    if member.user_id == demand.requester_id:
        raise field_error("member", _("不能派给提出需求的人"))
    moderation.require_visible(demand)
    previous_status, previous_holder = demand.status, demand.claimed_by_id
    demand.status = Demand.Status.CLAIMED
    demand.claimed_by = member.user
    demand.claimed_organization = None
    demand.claimed_at = timezone.now()
    demand.save(update_fields=["status", "claimed_by", "claimed_organization", "claimed_at"])
    _step(
        demand,
        action=DemandStep.Action.ASSIGNED,
        from_status=previous_status,
        by=by,
        assignee=member.user,
        note=note,
    )
    _announce(demand, action="assigned", by=by, also=[previous_holder])
    return demand


def _may_work_on(user: User, demand: Demand) -> bool:
    return (
        demand.claimed_by_id == user.pk
        # The unit's liaison works on its claim only through their own tie with that community.
        or selectors.liaison_reaches(
            user, organization_id=demand.claimed_organization_id, community_id=demand.community_id
        )
        or can_act_on_community(user, demand.community_id)
    )


def require_worker(by: User, demand: Demand) -> None:
    """Who may complete the demand (views ask before reading the body). The state first: who may
    work on a demand is whoever holds it, and only a claimed one has a holder."""
    if demand.status != Demand.Status.CLAIMED:
        raise _transition_error(demand, DemandStep.Action.DONE)
    if not _may_work_on(by, demand):
        raise DomainError("permission_denied", _("只有认领人或社区工作人员可以办结"))


@transaction.atomic
def complete_demand(*, demand: Demand, by: User, note: str = "", evidence: Iterable[Any] = ()) -> Demand:
    demand = _lock_demand(demand)
    require_worker(by, demand)
    evidence = list(evidence)
    if _blank(note) and not evidence:
        raise field_error("note", _("请填写完成情况或上传佐证材料"))
    demand.status = Demand.Status.DONE
    demand.done_at = timezone.now()
    demand.save(update_fields=["status", "done_at"])
    _step(
        demand,
        action=DemandStep.Action.DONE,
        from_status=Demand.Status.CLAIMED,
        by=by,
        note=note.strip(),
        evidence=evidence,
    )
    _announce(demand, action="done", by=by)
    return demand


def auto_confirm_after() -> timedelta:
    return timedelta(days=int(settings.DEMAND_AUTO_CONFIRM_DAYS))


def _confirm(demand: Demand, *, by: User | None, note: str) -> Demand:
    demand.status = Demand.Status.CONFIRMED
    demand.confirmed_at = timezone.now()
    demand.save(update_fields=["status", "confirmed_at"])
    _step(demand, action=DemandStep.Action.CONFIRMED, from_status=Demand.Status.DONE, by=by, note=note)
    if demand.claimed_by_id is not None:
        award_points(
            user=demand.claimed_by,
            rule_code=DEMAND_COMPLETED_RULE,
            source=f"demand:{demand.pk}",
            community=demand.community,
        )
    _announce(demand, action="confirmed", by=by)
    return demand


@transaction.atomic
def confirm_demand(*, demand: Demand, by: User, note: str = "") -> Demand:
    """Whoever asked confirms the result; staff may confirm for them once the waiting period has passed."""
    demand = _lock_demand(demand)
    require_confirmer(by, demand)
    on_behalf = demand.requester_id != by.pk
    if demand.status != Demand.Status.DONE:
        raise _transition_error(demand, DemandStep.Action.CONFIRMED)
    if on_behalf and (demand.done_at is None or demand.done_at > timezone.now() - auto_confirm_after()):
        raise DomainError(
            "invalid_transition",
            _("办结未满 %(days)s 天, 需由提出人确认") % {"days": settings.DEMAND_AUTO_CONFIRM_DAYS},
        )
    return _confirm(demand, by=by, note=note.strip())


def auto_confirm_due_demands(*, now: dt.datetime | None = None) -> int:
    """Confirm demands done longer ago than the waiting period; safe to run twice (each re-checks under lock)."""
    confirmed = 0
    for demand_id in list(selectors.demands_due_for_auto_confirmation(now=now).values_list("id", flat=True)):
        with transaction.atomic():
            demand = _lock_demand(Demand(pk=demand_id))
            cutoff = (now or timezone.now()) - auto_confirm_after()
            if demand.status != Demand.Status.DONE or demand.done_at is None or demand.done_at > cutoff:
                continue
            _confirm(demand, by=None, note=_("办结后逾期未确认, 系统自动确认"))
            confirmed += 1
    return confirmed


def require_confirmer(by: User, demand: Demand) -> None:
    """Whoever asked, or the community's staff on their behalf (views ask before reading the body)."""
    if demand.requester_id != by.pk and not can_act_on_community(by, demand.community_id):
        raise DomainError("permission_denied", _("只有提出人可以确认"))


def require_canceller(by: User, demand: Demand) -> None:
    """The requester or the community's staff cancel a demand (views ask before reading the body)."""
    if demand.requester_id != by.pk and not can_act_on_community(by, demand.community_id):
        raise DomainError("permission_denied", _("只有提出人或社区工作人员可以取消"))


@transaction.atomic
def cancel_demand(*, demand: Demand, by: User, reason: str = "") -> Demand:
    demand = _lock_demand(demand)
    require_canceller(by, demand)
    if demand.status not in (Demand.Status.OPEN, Demand.Status.CLAIMED):
        raise _transition_error(demand, DemandStep.Action.CANCELLED)
    previous = demand.status
    demand.status = Demand.Status.CANCELLED
    demand.cancelled_at = timezone.now()
    demand.save(update_fields=["status", "cancelled_at"])
    _step(demand, action=DemandStep.Action.CANCELLED, from_status=previous, by=by, note=reason.strip())
    _announce(demand, action="cancelled", by=by)
    return demand
