"""`members/me/` is read by statements written once (selectors.own_page) and written directly
(member_me_payload): held here to the former reading, rendered by MemberMeSerializer, over
histories that fill every field each way, and to a fixed number of statements."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from backend.accounts.models import User
from backend.communities.models import PartyOrganization
from backend.members import selectors
from backend.members.models import MemberRegistration, PointsEntry, PostAssignment, RegistrationStep, UnitRegistration
from tests import factories
from tests.members.factories import MemberFactory, PostFactory, RegistrationFactory, id_number, unit_tie
from tests.members.me_reference import former_page, written_page

pytestmark = pytest.mark.django_db

Status = MemberRegistration.Status


def _steps(registration, *moves, actor=None):
    """The registration's history: (from, to) pairs, a minute apart from its submission."""
    for n, (from_status, to_status) in enumerate(moves, start=1):
        RegistrationStep.objects.create(
            registration=registration,
            from_status=from_status,
            to_status=to_status,
            actor=actor if n > 1 else None,
            reason="材料不全" if to_status == Status.REJECTED else "",
            at=registration.submitted_at + dt.timedelta(minutes=n, microseconds=n),
        )


def _points(user, *entries):
    for n, (points, year) in enumerate(entries):
        kind = PointsEntry.Kind.CORRECTION if points < 0 else PointsEntry.Kind.AWARD
        PointsEntry.objects.create(
            user=user, kind=kind, source=f"test:{n}", points=points, requested_points=points, year=year
        )


def a_member_with_everything():
    """In a group of a branch (the organisation has a parent), with ID number, party date and
    employer; a refused, a withdrawn and a standing registration (with a grid, an address, a note,
    steps by staff and by the system, one registration without a phone); posts held, left and of a
    retired post; unit filings with and without an agreement date; points of two years."""
    community = factories.CommunityFactory()
    branch = factories.OrganizationFactory(community=community)
    group = factories.OrganizationFactory(community=community, parent=branch, kind=PartyOrganization.Kind.GROUP)
    staff = factories.staff_of(community)
    member = MemberFactory(organization=group, joined_on=dt.date(2001, 7, 1), employer="市财政局")
    member.set_id_number(id_number("43060219800101123"))
    member.save()
    now = timezone.now()
    refused = RegistrationFactory(
        member=member,
        community=factories.CommunityFactory(),
        status=Status.REJECTED,
        reason="不在本社区居住",
        decided_at=now - dt.timedelta(days=300),
        decided_by=staff,
        phone="",
    )
    _steps(refused, ("", Status.PENDING), (Status.PENDING, Status.REJECTED), actor=staff)
    withdrawn = RegistrationFactory(
        member=member,
        community=community,
        status=Status.WITHDRAWN,
        approved_at=now - dt.timedelta(days=200),
        decided_at=now - dt.timedelta(days=200),
        withdrawn_at=now - dt.timedelta(days=100),
        decided_by=staff,
    )
    _steps(
        withdrawn,
        ("", Status.PENDING),
        (Status.PENDING, Status.APPROVED),
        (Status.APPROVED, Status.WITHDRAWN),
        actor=staff,
    )
    standing = RegistrationFactory(
        member=member,
        community=community,
        grid=factories.GridFactory(community=community),
        organization=group,
        status=Status.APPROVED,
        approved_at=now - dt.timedelta(days=10, microseconds=7),
        decided_at=now,
        address="岳阳楼路1号",
        note="楼栋长",
        decided_by=staff,
    )
    _steps(standing, ("", Status.PENDING), (Status.PENDING, Status.APPROVED), actor=staff)
    for post, left_at in (
        (PostFactory(community=community), None),
        (PostFactory(community=community, is_active=False), None),
        (PostFactory(community=factories.CommunityFactory()), now - dt.timedelta(days=5)),
        (PostFactory(community=community), None),
    ):
        PostAssignment.objects.create(post=post, member=member, claimed_at=now - dt.timedelta(days=30), left_at=left_at)
    unit = factories.UnitOrganizationFactory()
    tie = unit_tie(community, organization=unit, filed_by=member.user)
    UnitRegistration.objects.filter(pk=tie.pk).update(
        agreement_date=dt.date(2025, 3, 1), resources="场地", decided_at=now
    )
    unit_tie(
        factories.CommunityFactory(), organization=unit, filed_by=member.user, status=UnitRegistration.Status.PENDING
    )
    refused_tie = unit_tie(
        factories.CommunityFactory(), organization=unit, filed_by=member.user, status=UnitRegistration.Status.REJECTED
    )
    UnitRegistration.objects.filter(pk=refused_tie.pk).update(reason="协议未签", decided_at=now, withdrawn_at=now)
    unit_tie(factories.CommunityFactory(), organization=unit, filed_by=factories.UserFactory())  # not theirs
    year = selectors.current_year()
    _points(member.user, (5, year), (3, year), (-2, year), (7, year - 1))
    # Someone else in their community: never on their page, though staff would see them in lists.
    RegistrationFactory(community=community, status=Status.APPROVED, approved_at=now)
    return member.user


def an_applicant():
    """No organisation yet (it comes with approval), one pending registration, nothing else."""
    member = MemberFactory(organization=None)
    RegistrationFactory(
        member=member, community=factories.CommunityFactory(), organization=factories.UnitOrganizationFactory()
    )
    return member.user


def a_member_without_registrations():
    return MemberFactory(organization=None).user


def a_liaison_who_is_no_member():
    """No member record: points and their unit's filings only."""
    user = factories.UserFactory()
    unit_tie(factories.CommunityFactory(), organization=factories.UnitOrganizationFactory(), filed_by=user)
    _points(user, (4, selectors.current_year()))
    return user


def staff_who_are_members():
    """A community's secretary registered there: their scope reaches everyone's registrations."""
    community = factories.CommunityFactory()
    staff = factories.staff_of(community)
    member = MemberFactory(user=staff)
    RegistrationFactory(member=member, community=community, status=Status.APPROVED, approved_at=timezone.now())
    RegistrationFactory(community=community, status=Status.PENDING)
    unit_tie(community, organization=factories.UnitOrganizationFactory(), filed_by=factories.UserFactory())
    return staff


PEOPLE = [
    a_member_with_everything,
    an_applicant,
    a_member_without_registrations,
    a_liaison_who_is_no_member,
    staff_who_are_members,
]


@pytest.mark.parametrize("person", PEOPLE, ids=lambda f: f.__name__)
def test_the_page_answers_as_the_former_reading(person):
    user = person()
    assert written_page(user, report=None) == former_page(user, report=None)
    line = {"period": "2026", "points": 3}  # the report line is the provider's; the page carries it
    assert written_page(user, report=line) == former_page(user, report=line)


def test_every_field_is_filled_each_way():
    """The rows above are worth comparing: each field of the page takes a value, and null or empty
    where it can, somewhere in them."""
    import json

    pages = [json.loads(written_page(person(), report=None)) for person in PEOPLE]
    members = [p["member"] for p in pages if p["member"] is not None]
    registrations = [r for p in pages for r in p["registrations"]]
    units = [u for p in pages for u in p["unit_registrations"]]
    for rows in (members, registrations, units, [r["registration"] for r in members if r["registration"]]):
        for field in rows[0]:
            values = [row[field] for row in rows]
            assert any(v not in (None, "", [], 0) for v in values), field
    for field in ("organization", "joined_on", "registration"):
        assert {m[field] is None for m in members} == {True, False}, field
    for field in ("grid", "decided_at", "approved_at", "withdrawn_at"):
        assert {r[field] is None for r in registrations} == {True, False}, field
    assert {r["phone"] == "" for r in registrations} == {True, False}
    assert {len(r["steps"]) for r in registrations} >= {0, 2, 3}
    assert {s["actor"] is None for r in registrations for s in r["steps"]} == {True, False}
    assert {u["agreement_date"] is None for u in units} == {True, False}
    assert {m["post_count"] for m in members} >= {0, 2}


def test_statements_do_not_grow_with_rows(as_user, django_assert_num_queries):
    """The person with their points and the account's state (authentication does not read the
    account first), registrations with steps, posts and unit filings in one statement, and the
    双报告 line: two statements for a member, one for anyone else, whatever their rows."""
    member = MemberFactory()
    RegistrationFactory(
        member=member, community=factories.CommunityFactory(), status=Status.APPROVED, approved_at=timezone.now()
    )
    client = as_user(member.user)
    with django_assert_num_queries(2):
        assert client.get("/api/v1/members/me/").status_code == 200
    client = as_user(a_member_with_everything())
    with django_assert_num_queries(2):
        body = client.get("/api/v1/members/me/").json()
    assert len(body["registrations"]) == 3 and len(body["posts"]) == 3 and len(body["unit_registrations"]) == 3
    client = as_user(a_liaison_who_is_no_member())
    with django_assert_num_queries(1):
        body = client.get("/api/v1/members/me/").json()
    assert body["member"] is None and body["report"] is None and len(body["unit_registrations"]) == 1


def test_the_page_reads_one_statement_for_anyone(django_assert_num_queries):
    member, other = a_member_with_everything(), a_liaison_who_is_no_member()
    with django_assert_num_queries(1):
        assert selectors.own_page(member).person is not None
    with django_assert_num_queries(1):
        assert selectors.own_page(other).person is None


def test_a_gone_or_inactive_account_is_refused_as_authentication_refuses_it(as_user, django_assert_num_queries):
    member = factories.UserFactory()  # no party member: nothing holds the account from being deleted
    client = as_user(member)
    assert client.get("/api/v1/members/me/").status_code == 200
    User.objects.filter(pk=member.pk).update(is_active=False)
    for account in ("inactive", "gone"):
        for query in ("", "?period=2024", "?period=bad"):
            refused = client.get(f"/api/v1/members/me/{query}")
            usual = client.get("/api/v1/members/")  # authenticated as always: the account read first
            assert refused.status_code == 401 and refused.json() == usual.json(), (account, query)
        User.objects.filter(pk=member.pk).delete()
    with django_assert_num_queries(1):  # nothing past the account's state
        assert client.get("/api/v1/members/me/").status_code == 401


def test_a_period_given_is_validated_and_an_empty_one_is_this_years(as_user):
    client = as_user(MemberFactory().user)
    response = client.get("/api/v1/members/me/", {"period": "2026Q5"})
    assert response.status_code == 400 and "period" in response.json()["fields"]
    year = str(selectors.current_year())
    assert client.get("/api/v1/members/me/", {"period": ""}).json()["report"]["period"] == year
