"""三单, resources and projects: offers of help, and the projects that match demands with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.accounts.scoping import can_act_on_community, get_scope
from backend.communities.models import Community, PartyOrganization
from backend.core import moderation
from backend.core.errors import DomainError, field_error

from .. import selectors
from ..models import Demand, Resource, ServiceProject
from ._common import _require_staff_of


def require_may_offer_resources(by: User) -> None:
    """Who may list a resource anywhere: staff, a unit's liaison or a registered member. Views ask
    before reading the body; offer_resource checks the community and unit it names."""
    scope = get_scope(by)
    if not (scope.is_staff or selectors.liaison_community_ids(by) or selectors.approved_member_anywhere(by)):
        raise DomainError("permission_denied", _("只有在本社区报到的党员、共建单位或社区工作人员可以登记资源"))


@transaction.atomic
def offer_resource(
    *,
    by: User,
    community: Community,
    title: str,
    category: str = Resource.Category.OTHER,
    description: str = "",
    organization: PartyOrganization | None = None,
) -> Resource:
    """资源清单: a registered unit (through its liaison), a registered member, or staff list an offer."""
    is_staff = can_act_on_community(by, community.pk)
    if organization is not None:
        is_liaison = selectors.liaison_reaches(by, organization_id=organization.pk, community_id=community.pk)
        if not (is_liaison or (is_staff and organization.is_unit)):
            raise field_error("organization", _("只能以已向本社区报到、且由您联络的单位名义登记"))
    elif not is_staff and selectors.approved_member_in(by, community.pk) is None:
        raise DomainError("permission_denied", _("只有在本社区报到的党员、共建单位或社区工作人员可以登记资源"))
    resource = Resource.objects.create(
        community=community,
        title=title,
        category=category,
        description=description,
        offered_by=by,
        organization=organization,
    )
    _check_resource(resource, by=by)
    return resource


def _check_resource(resource: Resource, *, by: User) -> None:
    moderation.submit(resource, author=by, community_id=resource.community_id, texts={"text": ("title", "description")})


RESOURCE_EDITABLE = {"title", "category", "description", "is_active"}


@transaction.atomic
def update_resource(*, resource: Resource, by: User, **changes: Any) -> Resource:
    unknown = set(changes) - RESOURCE_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    may = (
        resource.offered_by_id == by.pk
        or selectors.liaison_reaches(by, organization_id=resource.organization_id, community_id=resource.community_id)
        or can_act_on_community(by, resource.community_id)
    )
    if not may:
        raise DomainError("permission_denied", _("只能修改自己登记的资源"))
    for field, value in changes.items():
        setattr(resource, field, value)
    if changes:
        resource.save(update_fields=[*changes, "updated_at"])
    # Unchanged text keeps its verdict; changed text is checked again before others see it.
    _check_resource(resource, by=by)
    return resource


def _check_project_links(community_id: int, demands: Iterable[Demand], resources: Iterable[Resource]) -> None:
    if any(d.community_id != community_id for d in demands):
        raise field_error("demands", _("需求须属于本社区"))
    if any(r.community_id != community_id for r in resources):
        raise field_error("resources", _("资源须属于本社区"))


def _check_owner(owner: User, community_id: int) -> None:
    if not selectors.community_user_may_lead(owner, community_id):
        raise field_error("owner", _("负责人须为本社区工作人员、报到党员或共建单位联络员"))


@transaction.atomic
def create_project(
    *,
    by: User,
    community: Community,
    name: str,
    owner: User,
    description: str = "",
    status: str = ServiceProject.Status.PLANNED,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    demands: Iterable[Demand] = (),
    resources: Iterable[Resource] = (),
) -> ServiceProject:
    """项目清单: staff match demands with resources in a project and name its owner."""
    _require_staff_of(by, community.pk)
    demands, resources = list(demands), list(resources)
    _check_project_links(community.pk, demands, resources)
    _check_owner(owner, community.pk)
    if starts_on and ends_on and ends_on < starts_on:
        raise field_error("ends_on", _("结束日期不能早于开始日期"))
    project = ServiceProject.objects.create(
        community=community,
        name=name,
        owner=owner,
        description=description,
        status=status,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=by,
    )
    project.demands.set(demands)
    project.resources.set(resources)
    _check_project(project, by=by)
    return project


def _check_project(project: ServiceProject, *, by: User) -> None:
    moderation.submit(project, author=by, community_id=project.community_id, texts={"text": ("name", "description")})


PROJECT_EDITABLE = {"name", "description", "status", "starts_on", "ends_on", "owner", "demands", "resources"}


@transaction.atomic
def update_project(*, project: ServiceProject, by: User, **changes: Any) -> ServiceProject:
    unknown = set(changes) - PROJECT_EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    project = ServiceProject.objects.select_for_update().get(pk=project.pk)
    is_staff = can_act_on_community(by, project.community_id)
    if not is_staff and project.owner_id != by.pk:
        raise DomainError("permission_denied", _("只有负责人或社区工作人员可以修改项目"))
    if "owner" in changes and not is_staff:
        raise DomainError("permission_denied", _("只有社区工作人员可以更换负责人"))
    demands = changes.pop("demands", None)
    resources = changes.pop("resources", None)
    demands = list(demands) if demands is not None else None
    resources = list(resources) if resources is not None else None
    _check_project_links(project.community_id, demands or [], resources or [])
    if "owner" in changes:
        _check_owner(changes["owner"], project.community_id)
    starts_on = changes.get("starts_on", project.starts_on)
    ends_on = changes.get("ends_on", project.ends_on)
    if starts_on and ends_on and ends_on < starts_on:
        raise field_error("ends_on", _("结束日期不能早于开始日期"))
    for field, value in changes.items():
        setattr(project, field, value)
    project.save()
    if demands is not None:
        project.demands.set(demands)
    if resources is not None:
        project.resources.set(resources)
    _check_project(project, by=by)
    return project
