"""visible_activities reads the caller's party facts first and filters on them: it shows exactly the
activities the former predicate (the same facts nested as subqueries) showed, to every kind of caller."""

from __future__ import annotations

import itertools

import pytest
from django.db.models import Exists, OuterRef, Q

from backend.activities.models import Activity, Enrollment
from backend.activities.selectors import visible_activities
from backend.communities.models import PartyOrganization
from backend.members.models import MemberRegistration, PartyMember
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, party_member

pytestmark = pytest.mark.django_db

APPROVED = MemberRegistration.Status.APPROVED


def former_visible(user) -> set[int]:
    """The predicate as it was written before, with its subqueries (signed-in, non-staff callers)."""
    own = PartyMember.objects.filter(user=user).values("organization_id")
    parents = PartyOrganization.objects.filter(pk__in=own).values("parent_id")
    registered = MemberRegistration.objects.filter(member__user=user, status=APPROVED).values("community_id")
    organised = PartyOrganization.objects.filter(pk__in=own).values("community_id")
    enrolled = Enrollment.objects.filter(activity=OuterRef("pk"), user=user).exclude(status=Enrollment.Status.WITHDRAWN)
    open_to_all = Q(audience__in=[Activity.Audience.COMMUNITY, Activity.Audience.PUBLIC, Activity.Audience.VOLUNTEERS])
    for_member = (
        Q(audience=Activity.Audience.PARTY_MEMBERS) & (Q(community_id__in=registered) | Q(community_id__in=organised))
    ) | (Q(audience=Activity.Audience.BRANCH) & (Q(branch_id__in=own) | Q(branch_id__in=parents)))
    visible = ~Q(status=Activity.Status.DRAFT) & (open_to_all | for_member | Q(Exists(enrolled)))
    return set(Activity.objects.filter(visible).values_list("pk", flat=True))


def test_visible_activities_answers_as_the_nested_predicate_did():
    here, there, elsewhere = factories.CommunityFactory(), factories.CommunityFactory(), factories.CommunityFactory()
    branch = factories.OrganizationFactory(community=here)
    group = factories.OrganizationFactory(community=there, parent=branch, kind=PartyOrganization.Kind.GROUP)
    other_branch = factories.OrganizationFactory(community=elsewhere)

    registered_there = party_member(there, organization=group).user  # in a group of a branch
    in_branch = party_member(organization=branch).user  # not registered, organisation in `here`
    unit_member = party_member().user  # a unit organisation with no community, not registered
    pending = party_member(organization=other_branch).user
    MemberRegistration.objects.create(
        member=pending.party_member,
        community=here,
        organization=other_branch,
        real_name="待审",
        phone="13800000001",
        consent=pending.party_member.consent,
        status=MemberRegistration.Status.PENDING,
    )
    resident = factories.UserFactory(community=here)

    activities = []
    for community, audience, status in itertools.product(
        (here, there, elsewhere), Activity.Audience.values, Activity.Status.values
    ):
        branch_of = {Activity.Audience.BRANCH: {here: branch, there: group, elsewhere: other_branch}[community]}
        activities.append(
            ActivityFactory(
                community=community,
                audience=audience,
                status=status,
                branch=branch_of.get(audience),
                cancel_reason="改期" if status == Activity.Status.CANCELLED else "",
            )
        )
    # A place held shows an activity the caller is not otherwise for; a place given up does not.
    hidden = [a for a in activities if a.audience == Activity.Audience.BRANCH and a.branch_id == other_branch.pk]
    enrol(hidden[0], resident)
    enrol(hidden[1], unit_member, status=Enrollment.Status.WITHDRAWN)

    for user in (registered_there, in_branch, unit_member, pending, resident):
        expected = former_visible(user)
        assert set(visible_activities(user).values_list("pk", flat=True)) == expected, user.real_name
        assert expected  # each caller sees something, so the comparison means something
