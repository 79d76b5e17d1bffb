"""Honours a street records for a published brand or a party organisation."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.communities.models import PartyOrganization
from backend.core.errors import field_error

from ..models import (
    Brand,
    Honor,
)
from .access import denied, is_street_admin, require_honor_keeper, require_street_admin

HONOR_FIELDS = {"level", "title", "issuer", "awarded_on", "brand", "organization"}


ONE_RECIPIENT = _("请在品牌和党组织中选择且只选择一个")


def _organization_street_id(organization: PartyOrganization) -> int | None:
    if organization.street_id:
        return organization.street_id
    if organization.community is not None:
        return organization.community.street_id
    return None


def _streets_named(*, brand: Brand | None, organization: PartyOrganization | None) -> list[int]:
    """The streets of the recipients named, as far as they are known."""
    streets = [brand.community.street_id] if brand is not None else []
    organization_street = _organization_street_id(organization) if organization is not None else None
    if organization_street is not None:
        streets.append(organization_street)
    return streets


def _honor_street_id(*, brand: Brand | None, organization: PartyOrganization | None) -> int:
    if brand is not None and organization is None:
        if brand.status == Brand.Status.DRAFT:
            raise field_error("brand", _("品牌尚未发布"))
        return brand.community.street_id
    if organization is None or brand is not None:
        raise field_error("non_field_errors", ONE_RECIPIENT)
    street_id = _organization_street_id(organization)
    if street_id is None:
        raise field_error("organization", _("该党组织不属于任何街道, 请由其所在街道登记"))
    return street_id


def check_honor(*, by: User, brand: Brand | None, organization: PartyOrganization | None, awarded_on: date) -> int:
    """The street the honour is recorded in, once `by` may record it there and the input holds.

    Who may act is asked first: the admins of the street of each recipient named (of some street
    when no recipient's street is known), then what is wrong with the input.
    """
    detail = _("只有本街道的管理员可以登记荣誉")
    streets = _streets_named(brand=brand, organization=organization)
    for street_id in streets:
        require_street_admin(by=by, street_id=street_id, detail=detail)
    if not streets and not is_street_admin(by):
        raise denied(detail)
    street_id = _honor_street_id(brand=brand, organization=organization)
    if awarded_on > timezone.localdate():
        raise field_error("awarded_on", _("授予日期不能晚于今天"))
    return street_id


@transaction.atomic
def create_honor(
    *,
    by: User,
    level: str,
    title: str,
    issuer: str,
    awarded_on: date,
    brand: Brand | None = None,
    organization: PartyOrganization | None = None,
) -> Honor:
    street_id = check_honor(by=by, brand=brand, organization=organization, awarded_on=awarded_on)
    return Honor.objects.create(
        street_id=street_id,
        brand=brand,
        organization=organization,
        level=level,
        title=title,
        issuer=issuer,
        awarded_on=awarded_on,
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )


@transaction.atomic
def update_honor(*, by: User, honor: Honor, **changes: Any) -> Honor:
    unknown = set(changes) - HONOR_FIELDS
    if unknown:
        raise ValueError(f"not honor fields: {sorted(unknown)}")
    honor = Honor.objects.select_for_update().get(pk=honor.pk)
    require_honor_keeper(by=by, street_id=honor.street_id)
    if changes.get("brand") is not None and changes.get("organization") is not None:
        raise field_error("non_field_errors", ONE_RECIPIENT)
    # Naming one recipient replaces the other.
    if changes.get("brand") is not None:
        changes["organization"] = None
    elif changes.get("organization") is not None:
        changes["brand"] = None
    for name, value in changes.items():
        setattr(honor, name, value)
    honor.street_id = check_honor(
        by=by, brand=honor.brand, organization=honor.organization, awarded_on=honor.awarded_on
    )
    honor.save()
    return honor


@transaction.atomic
def delete_honor(*, by: User, honor: Honor) -> None:
    require_honor_keeper(by=by, street_id=honor.street_id, detail=_("只有本街道的管理员可以删除荣誉"))
    honor.delete()
