"""Factories and helpers for the members app (kept here, beside its tests)."""

from __future__ import annotations

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from backend.core import idcard
from backend.members.models import (
    Demand,
    DemandStep,
    MemberRegistration,
    PartyMember,
    PrivacyConsent,
    ServicePost,
    UnitRegistration,
)
from tests import factories


def id_number(prefix17: str) -> str:
    """A valid ID number from its first 17 digits."""
    return prefix17 + idcard.check_character(prefix17)


class ConsentFactory(DjangoModelFactory):
    class Meta:
        model = PrivacyConsent

    user = factory.SubFactory(factories.UserFactory)
    purpose = PrivacyConsent.Purpose.PARTY_MEMBER
    version = "2026-01"


class MemberFactory(DjangoModelFactory):
    class Meta:
        model = PartyMember

    user = factory.SubFactory(factories.UserFactory)
    organization = factory.SubFactory(factories.UnitOrganizationFactory)
    status = PartyMember.Status.FULL
    real_name = factory.LazyAttribute(lambda o: o.user.real_name or "党员")
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    consent = factory.LazyAttribute(lambda o: ConsentFactory(user=o.user))


class RegistrationFactory(DjangoModelFactory):
    class Meta:
        model = MemberRegistration

    member = factory.SubFactory(MemberFactory)
    community = factory.SubFactory(factories.CommunityFactory)
    organization = factory.LazyAttribute(lambda o: o.member.organization)
    real_name = factory.LazyAttribute(lambda o: o.member.real_name)
    phone = factory.LazyAttribute(lambda o: o.member.phone)
    consent = factory.LazyAttribute(lambda o: o.member.consent)
    status = MemberRegistration.Status.PENDING


def registered_member(community, *, organization=None, grid=None, **member_kwargs) -> PartyMember:
    """A member whose registration with `community` is approved."""
    if organization is not None:
        member_kwargs["organization"] = organization
    member = MemberFactory(**member_kwargs)
    RegistrationFactory(
        member=member,
        community=community,
        grid=grid,
        status=MemberRegistration.Status.APPROVED,
        approved_at=timezone.now(),
    )
    return member


def file_registration(user, community, organization, *, grid=None, phone="13912345678") -> MemberRegistration:
    """A registration filed through the service, as the mini-program files it (pending)."""
    from backend.members import services

    return services.register_member(
        by=user,
        community=community,
        organization=organization,
        grid=grid,
        real_name=user.real_name or "党员",
        phone=phone,
        status=PartyMember.Status.FULL,
        consent=True,
    )


def registered_unit(community, *, liaison=None, organization=None) -> UnitRegistration:
    """A unit registered (approved) with `community`, with `liaison` holding its liaison role."""
    from backend.accounts.models import Role

    organization = organization or factories.UnitOrganizationFactory()
    liaison = liaison or factories.UserFactory()
    factories.grant(liaison, Role.UNIT_LIAISON, organization)
    return unit_tie(community, organization=organization, filed_by=liaison)


def unit_tie(community, *, organization, filed_by, status=UnitRegistration.Status.APPROVED) -> UnitRegistration:
    """A unit registration alone (approved unless `status` says otherwise), granting no role."""
    return UnitRegistration.objects.create(
        organization=organization,
        community=community,
        filed_by=filed_by,
        contact_name="联络员",
        contact_phone="13600000000",
        status=status,
        approved_at=timezone.now() if status == UnitRegistration.Status.APPROVED else None,
    )


class PostFactory(DjangoModelFactory):
    class Meta:
        model = ServicePost

    community = factory.SubFactory(factories.CommunityFactory)
    name = factory.Sequence(lambda n: f"楼栋长{n}")
    capacity = 2


class DemandFactory(DjangoModelFactory):
    class Meta:
        model = Demand
        skip_postgeneration_save = True

    kind = Demand.Kind.WISH
    community = factory.SubFactory(factories.CommunityFactory)
    title = factory.Sequence(lambda n: f"微心愿{n}")
    description = "想要一台收音机"
    contact_name = "王奶奶"
    contact_phone = "13512345678"
    requester = factory.SubFactory(factories.UserFactory)

    @factory.post_generation
    def created_step(obj, create, extracted, **kwargs):
        if create:
            DemandStep.objects.create(demand=obj, action="created", to_status=obj.status, actor=obj.requester)
