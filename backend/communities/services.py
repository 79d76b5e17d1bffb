"""Writes to the map. Staff keep their estates and places; the rest of the map is set up in the console."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from backend.core import geo
from backend.core.errors import DomainError

from .models import Community, Estate, Grid, Place

ESTATE_FIELDS = {"name", "address", "households", "has_property_service", "grid", "community"}


def _save_estate(estate: Estate) -> Estate:
    try:
        if estate._state.adding and not transaction.get_connection().in_atomic_block:
            # One INSERT is atomic by itself: no BEGIN, savepoint and COMMIT around it.
            estate.save()
        else:
            # A savepoint keeps the caller's transaction usable when the name is taken.
            with transaction.atomic():
                estate.save()
    except IntegrityError:
        raise DomainError("validation_error", _("输入有误"), fields={"name": [_("该社区已有同名小区")]}) from None
    return estate


def create_estate(
    *,
    community: Community,
    name: str,
    address: str = "",
    households: int = 0,
    has_property_service: bool = True,
    grid: Grid | None = None,
) -> Estate:
    # Not atomic of its own: it reads nothing, and writes one row (_save_estate).
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
def update_estate(*, estate: Estate, **changes: object) -> Estate:
    unknown = set(changes) - ESTATE_FIELDS
    if unknown:
        raise ValueError(f"not estate fields: {sorted(unknown)}")
    estate = Estate.objects.select_for_update().get(pk=estate.pk)
    for name, value in changes.items():
        setattr(estate, name, value)
    if estate.grid is not None and estate.grid.community_id != estate.community_id:
        raise DomainError("validation_error", _("输入有误"), fields={"grid": [_("网格不属于该社区")]})
    return _save_estate(estate)


PLACE_FIELDS = ("name", "kind", "address", "latitude", "longitude", "radius_m")


def validate_place(place: Place) -> None:
    """The rules a place must meet before it is saved (the console's form checks with them too)."""
    place.latitude, place.longitude = geo.quantize_degrees(place.latitude), geo.quantize_degrees(place.longitude)
    if not geo.valid_position(place.latitude, place.longitude):
        raise DomainError("validation_error", _("输入有误"), fields={"latitude": [_("坐标无效, 请在地图上选点")]})
    try:
        place.full_clean(exclude=["community"], validate_constraints=False)
    except ValidationError as exc:
        raise DomainError(
            "validation_error", _("输入有误"), fields={k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        ) from None
    if Place.objects.filter(community_id=place.community_id, name=place.name).exclude(pk=place.pk).exists():
        raise DomainError("validation_error", _("输入有误"), fields={"name": [_("该社区已有同名场所")]})


def _save_place(place: Place) -> Place:
    validate_place(place)
    try:
        # Two saving the same name at once: the constraint decides, the loser hears why.
        with transaction.atomic():
            place.save()
    except IntegrityError:
        raise DomainError("validation_error", _("输入有误"), fields={"name": [_("该社区已有同名场所")]}) from None
    return place


@transaction.atomic
def create_place(
    *,
    community: Community,
    name: str,
    latitude: Decimal | float,
    longitude: Decimal | float,
    kind: str = Place.Kind.SERVICE_CENTRE,
    address: str = "",
    radius_m: int = 200,
) -> Place:
    """A place of the community (GCJ-02 position, as picked on the console's map)."""
    place = Place(
        community=community,
        name=(name or "").strip(),
        kind=kind,
        address=(address or "").strip(),
        latitude=latitude,
        longitude=longitude,
        radius_m=radius_m,
    )
    return _save_place(place)


@transaction.atomic
def update_place(*, place: Place, **changes: Any) -> Place:
    """Change a place; activities held there keep the position they were saved with."""
    unknown = set(changes) - set(PLACE_FIELDS)
    if unknown:
        raise ValueError(f"not place fields: {sorted(unknown)}")
    place = Place.objects.select_for_update().get(pk=place.pk)
    for name, value in changes.items():
        setattr(place, name, value)
    return _save_place(place)
