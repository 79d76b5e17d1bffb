from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from backend.accounts.models import Role, RoleGrant, User
from backend.communities.models import Community, Estate, Grid, PartyOrganization, Street


class StreetFactory(DjangoModelFactory):
    class Meta:
        model = Street

    name = factory.Sequence(lambda n: f"测试街道{n}")
    city = "岳阳市岳阳楼区"


class CommunityFactory(DjangoModelFactory):
    class Meta:
        model = Community

    street = factory.SubFactory(StreetFactory)
    name = factory.Sequence(lambda n: f"测试社区{n}")


class GridFactory(DjangoModelFactory):
    class Meta:
        model = Grid

    community = factory.SubFactory(CommunityFactory)
    name = factory.Sequence(lambda n: f"第{n}网格")


class EstateFactory(DjangoModelFactory):
    class Meta:
        model = Estate

    community = factory.SubFactory(CommunityFactory)
    name = factory.Sequence(lambda n: f"小区{n}")
    address = "某路1号"
    households = 120
    has_property_service = True


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = PartyOrganization

    name = factory.Sequence(lambda n: f"党支部{n}")
    kind = PartyOrganization.Kind.BRANCH
    community = factory.SubFactory(CommunityFactory)


class UnitOrganizationFactory(DjangoModelFactory):
    class Meta:
        model = PartyOrganization

    name = factory.Sequence(lambda n: f"单位党支部{n}")
    kind = PartyOrganization.Kind.BRANCH
    is_unit = True
    employer = factory.Sequence(lambda n: f"某单位{n}")
    community = None


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"139{n:08d}")
    real_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", "pass-Word-123")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create and results:
            instance.save()


def grant(user: User, role: Role | str, place) -> RoleGrant:
    field = {
        Role.STREET_ADMIN: "street",
        Role.COMMUNITY_SECRETARY: "community",
        Role.COMMUNITY_STAFF: "community",
        Role.GRID_WORKER: "grid",
        Role.UNIT_LIAISON: "organization",
    }[Role(role)]
    return RoleGrant.objects.create(user=user, role=role, **{field: place})


def staff_of(community: Community, role: Role = Role.COMMUNITY_SECRETARY) -> User:
    user = UserFactory()
    grant(user, role, community)
    return user


def admin_of(street: Street) -> User:
    user = UserFactory()
    grant(user, Role.STREET_ADMIN, street)
    return user
