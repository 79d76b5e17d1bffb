"""Seeding the demo map (and, on a development machine, demo staff accounts).

Every row is found by its natural key and only written when it is missing or differs from the
data, so running the seed again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from django.conf import settings
from django.db import models, transaction

from backend.accounts.models import SCOPE_FIELD_BY_ROLE, Role, RoleGrant, User
from backend.accounts.services import create_staff_account
from backend.activities.demo import seed_activities
from backend.brands.demo import seed_brand_demo
from backend.communities.models import Community, Estate, Grid, PartyOrganization, Street
from backend.members import services as member_services
from backend.members.models import UnitRegistration
from backend.red_property.demo import seed_red_property

from . import data

Status = Literal["created", "updated", "existing"]
M = TypeVar("M", bound=models.Model)

KINDS = ("streets", "communities", "grids", "estates", "organizations", "accounts")


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    existing: int = 0

    def add(self, status: Status) -> None:
        setattr(self, status, getattr(self, status) + 1)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.existing


@dataclass(frozen=True)
class DemoAccount:
    phone: str
    password: str
    role: Role
    real_name: str
    scope: str
    status: Status


@dataclass
class SeedResult:
    counts: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    accounts: list[DemoAccount] = field(default_factory=list)
    accounts_seeded: bool = False  # False when DEBUG is off: the map only
    brands_changed: bool = False  # 岳阳楼社区's brand and the street's plan deadlines (brands/demo.py)
    red_property_changed: bool = False  # companies, governance, self-governance groups (red_property/demo.py)
    activities_changed: bool = False  # activities of every category around 岳阳楼 (activities/demo.py)
    ties_changed: bool = False  # the demo liaison's approved tie (data.TIES)

    @property
    def changed(self) -> bool:
        return (
            self.brands_changed
            or self.red_property_changed
            or self.activities_changed
            or self.ties_changed
            or any(t.created or t.updated for t in self.counts.values())
        )


def _differs(obj: models.Model, name: str, value: Any) -> bool:
    if isinstance(value, models.Model) or value is None:
        field_ = obj._meta.get_field(name)
        if isinstance(field_, models.Field) and field_.is_relation:
            return bool(getattr(obj, field_.attname) != (value.pk if value is not None else None))
    return bool(getattr(obj, name) != value)


def _upsert(model: type[M], lookup: dict[str, Any], values: dict[str, Any]) -> tuple[M, Status]:
    obj, created = model._default_manager.get_or_create(**lookup, defaults=values)
    if created:
        return obj, "created"
    changed = [name for name, value in values.items() if _differs(obj, name, value)]
    if not changed:
        return obj, "existing"
    for name in changed:
        setattr(obj, name, values[name])
    obj.save()
    return obj, "updated"


def _seed_street(spec: data.StreetSpec, result: SeedResult) -> None:
    counts = result.counts
    street, status = _upsert(Street, {"city": spec.city, "name": spec.name}, {})
    counts["streets"].add(status)
    committee, status = _upsert(
        PartyOrganization,
        # Both 东城街道 have a "东城街道党工委": a working committee is known by its street, not its name.
        {"parent": None, "street": street, "kind": PartyOrganization.Kind.WORKING_COMMITTEE, "is_unit": False},
        {"name": spec.committee, "community": None},
    )
    counts["organizations"].add(status)
    for c_spec in spec.communities:
        community, status = _upsert(Community, {"street": street, "name": c_spec.name}, {})
        counts["communities"].add(status)
        grids: dict[str, Grid] = {}
        for grid_name in c_spec.grids:
            grids[grid_name], status = _upsert(Grid, {"community": community, "name": grid_name}, {})
            counts["grids"].add(status)
        for e_spec in c_spec.estates:
            _estate, status = _upsert(
                Estate,
                {"community": community, "name": e_spec.name},
                {
                    "grid": grids[e_spec.grid] if e_spec.grid else None,
                    "households": e_spec.households,
                    "has_property_service": e_spec.has_property_service,
                },
            )
            counts["estates"].add(status)
        kind_label = PartyOrganization.Kind(c_spec.committee_kind).label
        community_committee, status = _upsert(
            PartyOrganization,
            {"parent": committee, "name": f"{c_spec.name}{kind_label}"},
            {"kind": c_spec.committee_kind, "street": None, "community": community, "is_unit": False},
        )
        counts["organizations"].add(status)
        for branch in c_spec.branches:
            _branch, status = _upsert(
                PartyOrganization,
                {"parent": community_committee, "name": f"{c_spec.name}{branch}"},
                {"kind": PartyOrganization.Kind.BRANCH, "street": None, "community": community, "is_unit": False},
            )
            counts["organizations"].add(status)


def _seed_unit(spec: data.UnitSpec, result: SeedResult) -> None:
    _unit, status = _upsert(
        PartyOrganization,
        {"parent": None, "is_unit": True, "name": spec.name},
        {"kind": spec.kind, "employer": spec.employer, "street": None, "community": None},
    )
    result.counts["organizations"].add(status)


def _place(spec: data.AccountSpec) -> Street | Community | Grid | PartyOrganization:
    scope_field = SCOPE_FIELD_BY_ROLE[spec.role]
    if scope_field == "organization":
        (name,) = spec.place
        return PartyOrganization.objects.get(parent=None, is_unit=True, name=name)
    city, street, *rest = spec.place
    if scope_field == "street":
        return Street.objects.get(city=city, name=street)
    if scope_field == "community":
        return Community.objects.get(street__city=city, street__name=street, name=rest[0])
    return Grid.objects.get(
        community__street__city=city, community__street__name=street, community__name=rest[0], name=rest[1]
    )


def _seed_account(spec: data.AccountSpec, result: SeedResult) -> None:
    place = _place(spec)
    scope_field = SCOPE_FIELD_BY_ROLE[spec.role]
    user = User.objects.filter(phone=spec.phone).first()
    status: Status
    if user is None:
        status = "created"
    else:
        granted = RoleGrant.objects.filter(
            user=user, role=spec.role, revoked_at__isnull=True, **{scope_field: place}
        ).exists()
        # Resetting an unchanged password would still rewrite the row (a new salt): skip it.
        status = "existing" if granted and user.check_password(spec.password) else "updated"
    if status != "existing":
        create_staff_account(
            phone=spec.phone,
            password=spec.password,
            role=spec.role,
            real_name=spec.real_name,
            # The place is of the kind scope_field names (_place looked it up by that field).
            **{scope_field: place},  # type: ignore[arg-type]
        )
    result.counts["accounts"].add(status)
    scope = f"{place.street.name}{place}" if isinstance(place, Community) else str(place)
    result.accounts.append(DemoAccount(spec.phone, spec.password, spec.role, spec.real_name, scope, status))


def _seed_tie(spec: data.TieSpec) -> bool:
    """Files and approves the tie through the services, as a liaison and a secretary would; a tie
    already approved, or pending on someone else's filing, is left as it is."""
    filer = User.objects.get(phone=spec.filer)
    unit = PartyOrganization.objects.get(parent=None, is_unit=True, name=spec.unit)
    city, street, name = spec.community
    community = Community.objects.get(street__city=city, street__name=street, name=name)
    standing = UnitRegistration.objects.filter(
        organization=unit, community=community, status__in=UnitRegistration.ACTIVE_STATUSES
    ).first()
    if standing is None:
        standing = member_services.register_unit(
            by=filer,
            organization=unit,
            community=community,
            contact_name=filer.real_name,
            contact_phone=spec.filer,
        )
    if standing.status != UnitRegistration.Status.PENDING or standing.filed_by_id != filer.pk:
        return False
    member_services.approve_unit_registration(registration=standing, by=User.objects.get(phone=spec.approver))
    return True


@transaction.atomic
def seed_demo() -> SeedResult:
    """Create or complete the demo map; with DEBUG on, the demo staff accounts as well."""
    result = SeedResult()
    for street in data.STREETS:
        _seed_street(street, result)
    for unit in data.UNITS:
        _seed_unit(unit, result)
    result.brands_changed = seed_brand_demo().changed
    result.red_property_changed = seed_red_property().changed
    if settings.DEBUG:
        result.accounts_seeded = True
        for account in data.ACCOUNTS:
            _seed_account(account, result)
        # The liaison's grant alone reaches nothing: the tie they filed is what lets them work.
        # Every tie is seeded (a list, not a short-circuiting generator).
        seeded = [_seed_tie(tie) for tie in data.TIES]
        result.ties_changed = any(seeded)
    # After the accounts: an activity needs a staff member of its community or street to organise it.
    result.activities_changed = "created" in seed_activities()
    return result
