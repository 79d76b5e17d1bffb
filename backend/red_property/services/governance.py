"""An estate's governance: its company, party organisation, committee rule and 示范小区 naming."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities import services as map_services
from backend.communities.models import Estate
from backend.core.errors import field_error

from .. import selectors
from ..models import (
    EstateGovernance,
)
from ._common import (
    check_fields,
    lock_estate,
    not_in_future,
    require_community,
    require_street_admin,
    user_or_none,
)

GOVERNANCE_FIELDS = {
    "property_company",
    "party_organization",
    "owners_committee_required_override",
    "is_red_property",
    "red_property_since",
    "notes",
    "has_property_service",
}
# Naming a 红色物业示范小区 is the street's call.
RED_PROPERTY_FIELDS = {"is_red_property", "red_property_since"}


def check_may_change_governance(*, by: User, estate: Estate, fields: Iterable[str]) -> None:
    """Who may change which parts of an estate's governance (403 otherwise), asked before the input
    is read: the staff of its community and the admins of its street; the 示范小区 naming only the
    street's admins."""
    require_community(by, estate.community_id)
    if RED_PROPERTY_FIELDS.intersection(fields):
        require_street_admin(by, estate.community.street_id)


@transaction.atomic
def update_estate_governance(*, by: User, estate: Estate, **changes: Any) -> EstateGovernance:
    """Change an estate's governance, creating it on first write.

    Keeping the map in agreement: a company recorded ⇒ the estate has property service; the
    company removed ⇒ 无物业小区, unless `has_property_service=True` comes with it (served by a
    company not on the register). `has_property_service=False` with a company is refused.
    """
    check_fields(changes, GOVERNANCE_FIELDS, "governance")
    estate = lock_estate(estate)
    check_may_change_governance(by=by, estate=estate, fields=changes)
    governance, _created = EstateGovernance.objects.select_for_update().get_or_create(estate=estate)
    had_company = governance.property_company_id is not None
    wanted_service = changes.pop("has_property_service", None)

    organization = changes.get("party_organization")
    if organization is not None and (organization.is_unit or organization.community_id != estate.community_id):
        raise field_error("party_organization", _("应为本小区所在社区的党组织"))

    for name, value in changes.items():
        setattr(governance, name, value)
    if governance.is_red_property and governance.red_property_since is None:
        governance.red_property_since = selectors.today()
    if not governance.is_red_property:
        if changes.get("red_property_since") is not None:
            raise field_error("red_property_since", _("未命名为示范小区, 不能填写命名日期"))
        governance.red_property_since = None
    not_in_future("red_property_since", governance.red_property_since)

    has_company = governance.property_company_id is not None
    if has_company and wanted_service is False:
        raise field_error("has_property_service", _("已登记物业公司的小区不能设为无物业小区"))
    if has_company:
        service = True
    elif wanted_service is not None:
        service = wanted_service
    elif had_company:
        service = False
    else:
        service = estate.has_property_service
    governance.updated_by = user_or_none(by)
    governance.save()
    if service != estate.has_property_service:
        map_services.update_estate(estate=estate, has_property_service=service)
    return governance
