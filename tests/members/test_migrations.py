"""The data migration that turns a member's organisation from a claim into what approval gives.

Migrated back to the migration before it, rows are written as the old code left them (the
organisation named at submission saved on the member at once), then migrated forward.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from backend.members.models import MemberRegistration, PartyMember, RegistrationStep
from tests import factories
from tests.members.factories import MemberFactory, RegistrationFactory
from tests.members.migrating import migrate, migrated_back_to

BEFORE = [("members", "0006_membership_from_approval")]
AFTER = [("members", "0007_membership_from_approved_registrations")]


@pytest.fixture
def before_the_migration(transactional_db):
    with migrated_back_to(BEFORE):
        yield


def claimed(status: str, **extra) -> PartyMember:
    """A member as the old code left them: the organisation of their latest filing, whatever its state."""
    organization = factories.OrganizationFactory()
    member = MemberFactory(organization=organization)
    RegistrationFactory(member=member, organization=organization, status=status, **extra)
    return member


def test_members_whose_organisation_came_only_from_a_claim_lose_it(before_the_migration):
    staff = factories.UserFactory()
    now = timezone.now()
    approved = claimed("approved", approved_at=now, decided_at=now, decided_by=staff)
    pending = claimed("pending")
    rejected = claimed("rejected", decided_at=now, decided_by=staff, reason="不是本社区居民")
    withdrawn = claimed("withdrawn", approved_at=now, decided_at=now, decided_by=staff, withdrawn_at=now)
    # Approved once with one branch, then filed again naming another: the claim had overwritten it.
    moved = claimed("withdrawn", approved_at=now, decided_at=now, decided_by=staff, withdrawn_at=now)
    first_branch = moved.organization
    moved.organization = factories.OrganizationFactory()
    moved.save(update_fields=["organization"])
    RegistrationFactory(member=moved, organization=moved.organization, status="pending")
    with_two = claimed("approved", approved_at=now, decided_at=now, decided_by=staff)
    no_registration = MemberFactory()

    migrate(AFTER)

    organizations = dict(PartyMember.objects.values_list("pk", "organization_id"))
    assert organizations[approved.pk] == approved.organization_id
    assert organizations[with_two.pk] == with_two.organization_id
    for lost in (pending, rejected, withdrawn, moved, no_registration):
        assert organizations[lost.pk] is None, lost
    assert first_branch.pk not in organizations.values()

    def history(member):
        registration = MemberRegistration.objects.filter(member=member).order_by("id").first()
        return list(
            RegistrationStep.objects.filter(registration=registration)
            .order_by("id")
            .values_list("from_status", "to_status", "actor_id")
        )

    assert history(approved) == [("", "pending", approved.user_id), ("pending", "approved", staff.pk)]
    assert history(rejected) == [("", "pending", rejected.user_id), ("pending", "rejected", staff.pk)]
    assert history(withdrawn) == [
        ("", "pending", withdrawn.user_id),
        ("pending", "approved", staff.pk),
        ("approved", "withdrawn", withdrawn.user_id),
    ]
    assert history(pending) == [("", "pending", pending.user_id)]
