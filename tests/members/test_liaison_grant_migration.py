"""The data migration that tells which liaison grant an approved unit registration made."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.accounts.models import Role, RoleGrant
from backend.members.models import UnitRegistration
from tests import factories
from tests.members.factories import unit_tie
from tests.members.migrating import migrate, migrated_back_to

BEFORE = [("members", "0008_unitregistration_liaison_grant")]
AFTER = [("members", "0009_unit_liaison_grant_provenance")]


@pytest.fixture
def before_the_migration(transactional_db):
    with migrated_back_to(BEFORE):
        yield


def approved(community, organization, filer, approver, at):
    tie = unit_tie(community, organization=organization, filed_by=filer)
    UnitRegistration.objects.filter(pk=tie.pk).update(approved_at=at, decided_at=at, decided_by=approver)
    return tie


def granted(user, organization, by, at):
    grant = RoleGrant.objects.create(user=user, role=Role.UNIT_LIAISON, organization=organization, granted_by=by)
    RoleGrant.objects.filter(pk=grant.pk).update(created_at=at)
    return grant


def test_approved_registrations_get_the_grant_their_approval_made(before_the_migration):
    now = timezone.now()
    unit, other_unit = factories.UnitOrganizationFactory(), factories.UnitOrganizationFactory()
    first_community, second_community = factories.CommunityFactory(), factories.CommunityFactory()
    secretary, admin = factories.UserFactory(), factories.UserFactory()

    # Approved, and the approval granted the role a moment later.
    filer = factories.UserFactory()
    made = approved(first_community, unit, filer, secretary, now - timedelta(days=3))
    grant = granted(filer, unit, secretary, now - timedelta(days=3) + timedelta(milliseconds=5))
    # The same filer's second tie, approved while the grant stood: it granted nothing new.
    shares = approved(second_community, unit, filer, admin, now - timedelta(days=1))

    # A liaison given the role by hand before their tie was approved.
    by_hand_holder = factories.UserFactory()
    by_hand = granted(by_hand_holder, other_unit, None, now - timedelta(days=10))
    before_tie = approved(first_community, other_unit, by_hand_holder, secretary, now - timedelta(days=2))
    # Granted by the approver, but a month after the approval: not the approval's doing.
    late_holder = factories.UserFactory()
    late_unit = factories.UnitOrganizationFactory()
    late = approved(second_community, late_unit, late_holder, secretary, now - timedelta(days=40))
    granted(late_holder, late_unit, secretary, now - timedelta(days=10))

    migrate(AFTER)

    assert UnitRegistration.objects.get(pk=made.pk).liaison_grant_id == grant.pk
    assert UnitRegistration.objects.get(pk=shares.pk).liaison_grant_id == grant.pk
    assert UnitRegistration.objects.get(pk=before_tie.pk).liaison_grant_id is None
    assert UnitRegistration.objects.get(pk=late.pk).liaison_grant_id is None
    assert RoleGrant.objects.filter(pk=by_hand.pk, revoked_at__isnull=True).exists()
