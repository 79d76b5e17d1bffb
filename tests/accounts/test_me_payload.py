"""`auth/users/me/` is written directly (me_payload): held here to MeSerializer's output, rendered."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from backend.accounts.models import Role, RoleGrant, User
from backend.accounts.selectors import account_with_grants, active_grants
from backend.accounts.serializers import MeSerializer, me_payload
from tests import factories

pytestmark = pytest.mark.django_db


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


def both(user: User) -> tuple[bytes, bytes]:
    # A fresh instance each: the scope is cached on the user object.
    written = rendered(me_payload(User.objects.get(pk=user.pk)))
    reference = rendered(MeSerializer(User.objects.get(pk=user.pk)).data)
    return written, reference


def test_a_resident_without_roles(community):
    user = factories.UserFactory(community=community, nickname="小李")
    written, reference = both(user)
    assert written == reference


def test_staff_with_live_and_revoked_grants_and_wechat(community, street):
    user = factories.UserFactory(wechat_openid="o-me-1", community=None)
    factories.grant(user, Role.COMMUNITY_SECRETARY, community)
    factories.grant(user, Role.GRID_WORKER, factories.GridFactory(community=community))
    factories.grant(user, Role.STREET_ADMIN, street)
    revoked = factories.grant(user, Role.COMMUNITY_STAFF, community)
    revoked.revoked_at = timezone.now()
    revoked.save()

    written, reference = both(user)
    assert written == reference
    assert b'"is_staff":true' in written and written.count(b'"role_display"') == 3


def test_a_superuser_and_an_account_without_phone():
    written, reference = both(User.objects.create_superuser(phone="13900000555", password="pass-Word-123"))
    assert written == reference
    written, reference = both(User.objects.create(phone=None, real_name="微信用户"))
    assert written == reference


def test_the_endpoint_answers_the_written_payload(community, as_user):
    user = factories.staff_of(community)
    body = as_user(user).get("/api/v1/auth/users/me/").content
    assert body == rendered(MeSerializer(User.objects.get(pk=user.pk)).data)


def test_the_live_grants_statement_reads_as_the_orm(community, street):
    user, other = factories.UserFactory(), factories.UserFactory()
    factories.grant(user, Role.STREET_ADMIN, street)
    revoked = factories.grant(user, Role.COMMUNITY_STAFF, community)
    revoked.revoked_at = timezone.now()
    revoked.save()
    factories.grant(user, Role.COMMUNITY_SECRETARY, community)
    factories.grant(other, Role.COMMUNITY_SECRETARY, community)

    read = active_grants(user)
    orm = list(user.role_grants.filter(revoked_at=None).order_by("id"))

    assert [grant.pk for grant in read] == [grant.pk for grant in orm] and len(read) == 2
    fields = [field.attname for field in RoleGrant._meta.concrete_fields]
    assert [[getattr(g, f) for f in fields] for g in read] == [[getattr(g, f) for f in fields] for g in orm]
    assert active_grants(factories.UserFactory()) == []


def test_the_endpoint_reads_the_account_and_its_grants_only(community, as_user, django_assert_num_queries):
    resident = as_user(factories.UserFactory(community=community))
    staff = as_user(factories.staff_of(community))
    with django_assert_num_queries(1):  # the account with its live grants, in one statement
        assert resident.get("/api/v1/auth/users/me/").status_code == 200
    with django_assert_num_queries(2):  # and for `is_staff`, the scope's grids
        assert staff.get("/api/v1/auth/users/me/").status_code == 200


def test_the_account_with_its_grants_reads_as_the_orm(community, street):
    user = factories.UserFactory(community=community, nickname="小王")
    factories.grant(user, Role.STREET_ADMIN, street)
    revoked = factories.grant(user, Role.COMMUNITY_STAFF, community)
    revoked.revoked_at = timezone.now()
    revoked.save()
    factories.grant(user, Role.COMMUNITY_SECRETARY, community)
    factories.grant(factories.UserFactory(), Role.COMMUNITY_SECRETARY, community)

    account, grants = account_with_grants(user.pk)
    orm = User.objects.get(pk=user.pk)
    fields = [field.attname for field in User._meta.concrete_fields]
    assert [getattr(account, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert not any(name.startswith("grant_") for name in vars(account))
    live = list(user.role_grants.filter(revoked_at=None).order_by("id"))
    shown = ("pk", "role", "street_id", "community_id", "grid_id", "organization_id")
    assert [[getattr(g, f) for f in shown] for g in grants] == [[getattr(g, f) for f in shown] for g in live]
    assert len(grants) == 2

    alone = factories.UserFactory()
    assert account_with_grants(alone.pk)[0] == alone and account_with_grants(alone.pk)[1] == []
    assert account_with_grants(alone.pk + 1000) == (None, [])


def test_an_inactive_or_deleted_account_is_refused_as_authentication_refuses_it(community, as_user):
    user = factories.UserFactory(community=community)
    factories.grant(user, Role.COMMUNITY_STAFF, community)
    client = as_user(user)
    user.is_active = False
    user.save()
    # As authentication answers it (PATCH reads the account first, the usual way): the same 401.
    refused = client.get("/api/v1/auth/users/me/")
    assert refused.status_code == 401 and refused.json()["code"] == "token_invalid"
    usual = client.patch("/api/v1/auth/users/me/", {"nickname": "x"})
    assert (usual.status_code, usual.json()) == (refused.status_code, refused.json())
    user.delete()
    refused = client.get("/api/v1/auth/users/me/")
    usual = client.patch("/api/v1/auth/users/me/", {"nickname": "x"})
    assert refused.status_code == 401 and (usual.status_code, usual.json()) == (refused.status_code, refused.json())
