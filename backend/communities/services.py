"""Writes to the map. Staff keep their estates; the rest of the map is set up in the console."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.core.errors import DomainError

from .models import Community, Estate, Grid

ESTATE_FIELDS = {"name", "address", "households", "has_property_service", "grid", "community"}


def _save_estate(estate: Estate) -> Estate:
    try:
        with transaction.atomic():
            estate.save()
    except IntegrityError:
        raise DomainError("validation_error", _("输入有误"), fields={"name": [_("该社区已有同名小区")]}) from None
    return estate


@transaction.atomic
def create_estate(
    *,
    community: Community,
    name: str,
    address: str = "",
    households: int = 0,
    has_property_service: bool = True,
    grid: Grid | None = None,
) -> Estate:
    if grid is not None and grid.community_id != community.pk:
        raise DomainError("validation_error", _("输入有误"), fields={"grid": [_("网格不属于该社区")]})
    estate = Estate(
        community=community,
        grid=grid,
        name=name,
        address=address,
        households=households,
        has_property_service=has_property_service,
    )
    return _save_estate(estate)


@transaction.atomic
def update_estate(*, estate: Estate, **changes) -> Estate:
    unknown = set(changes) - ESTATE_FIELDS
    if unknown:
        raise ValueError(f"not estate fields: {sorted(unknown)}")
    estate = Estate.objects.select_for_update().get(pk=estate.pk)
    for name, value in changes.items():
        setattr(estate, name, value)
    if estate.grid is not None and estate.grid.community_id != estate.community_id:
        raise DomainError("validation_error", _("输入有误"), fields={"grid": [_("网格不属于该社区")]})
    return _save_estate(estate)
