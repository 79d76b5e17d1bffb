"""members/me gives the member member_list's figures from the rows it reads anyway (with_own_figures):
the same answer as member_list's annotations and prefetch, and a bounded number of statements."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import timezone

from backend.members import selectors
from backend.members.models import MemberRegistration, PointsEntry, PostAssignment
from backend.members.serializers.members import MyMemberSerializer
from backend.members.serializers.registrations import RegistrationSerializer
from tests import factories
from tests.members.factories import MemberFactory, PostFactory, RegistrationFactory

pytestmark = pytest.mark.django_db

Status = MemberRegistration.Status


def _as_me(member):
    """MyMemberSerializer's answer for the member, both ways."""
    user = member.user
    context = {"request": RequestFactory().get("/")}
    former = selectors.member_list(user).filter(user=user).first()
    own = selectors.own_member(user)
    registrations = list(selectors.registrations_for(user).filter(member__user=user))
    assignments = list(selectors.my_assignments(user))
    selectors.with_own_figures(own, registrations=registrations, assignments=assignments)
    return MyMemberSerializer(former, context=context).data, MyMemberSerializer(own, context=context).data


@pytest.mark.parametrize(
    "statuses",
    [
        (),
        (Status.WITHDRAWN,),
        (Status.REJECTED, Status.PENDING),
        (Status.APPROVED,),
        (Status.WITHDRAWN, Status.APPROVED, Status.REJECTED),
        (Status.WITHDRAWN, Status.REJECTED, Status.PENDING),
    ],
)
def test_own_figures_answer_as_member_list_does(statuses):
    member = MemberFactory()
    for status in statuses:
        approved = timezone.now() if status in (Status.APPROVED, Status.WITHDRAWN) else None
        RegistrationFactory(member=member, community=factories.CommunityFactory(), status=status, approved_at=approved)
    active_post, inactive_post, left_post = PostFactory(), PostFactory(is_active=False), PostFactory()
    for post in (active_post, inactive_post):
        PostAssignment.objects.create(post=post, member=member)
    PostAssignment.objects.create(post=left_post, member=member, left_at=timezone.now())
    year = selectors.current_year()
    for points, in_year in ((5, year), (3, year), (7, year - 1)):
        PointsEntry.objects.create(
            user=member.user, source=f"test:{points}", points=points, requested_points=points, year=in_year
        )

    former, own = _as_me(member)
    assert own == former
    user = member.user
    former_registrations = selectors.registrations_for(user).filter(member__user=user).select_related("consent")
    own_registrations = selectors.own_registrations(selectors.own_member(user))
    assert (
        RegistrationSerializer(own_registrations, many=True).data
        == RegistrationSerializer(former_registrations, many=True).data
    )
    assert own["post_count"] == 1 and own["points_year"] == 8


def test_members_me_statements_do_not_grow_with_registrations_and_posts(as_user, django_assert_max_num_queries):
    member = MemberFactory()
    RegistrationFactory(
        member=member, community=factories.CommunityFactory(), status=Status.APPROVED, approved_at=timezone.now()
    )
    PostAssignment.objects.create(post=PostFactory(), member=member)
    with django_assert_max_num_queries(40) as few:
        assert as_user(member.user).get("/api/v1/members/me/").status_code == 200
    for _ in range(3):
        RegistrationFactory(member=member, community=factories.CommunityFactory(), status=Status.REJECTED)
        PostAssignment.objects.create(post=PostFactory(), member=member)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = as_user(member.user).get("/api/v1/members/me/").json()
    assert len(body["registrations"]) == 4 and body["member"]["post_count"] == 4
