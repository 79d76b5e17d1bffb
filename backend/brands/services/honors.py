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
from .access import can_manage_street, denied

HONOR_FIELDS = {"level", "title", "issuer", "awarded_on", "brand", "organization"}


def _honor_street_id(*, brand: Brand | None, organization: PartyOrganization | None) -> int:
    if (brand is None) == (organization is None):
        raise field_error("non_field_errors", _("请在品牌和党组织中选择且只选择一个"))
    if brand is not None:
        if brand.status == Brand.Status.DRAFT:
            raise field_error("brand", _("品牌尚未发布"))
        return brand.community.street_id
    assert organization is not None
    if organization.street_id:
        return organization.street_id
    if organization.community_id:
        return organization.community.street_id
    raise field_error("organization", _("该党组织不属于任何街道, 请由其所在街道登记"))


def check_honor(*, by: User, brand: Brand | None, organization: PartyOrganization | None, awarded_on: date) -> int:
    street_id = _honor_street_id(brand=brand, organization=organization)
    if not can_manage_street(user=by, street_id=street_id):
        raise denied(_("只有本街道的管理员可以登记荣誉"))
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
    if not can_manage_street(user=by, street_id=honor.street_id):
        raise denied(_("只有本街道的管理员可以修改荣誉"))
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
    if not can_manage_street(user=by, street_id=honor.street_id):
        raise denied(_("只有本街道的管理员可以删除荣誉"))
    honor.delete()
