"""`volunteers/me` is read with one statement and written directly (selectors.own_profile,
serializers.own_profile_data): held here to what VolunteerProfileSerializer wrote from the former
ORM query, rendered, over profiles that fill every field each way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from backend.volunteers import selectors
from backend.volunteers.models import IdType, ServiceRecord, Volunteer, VolunteerTeam
from backend.volunteers.serializers import VolunteerProfileSerializer, own_profile_data
from tests import factories
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, record, with_id

pytestmark = pytest.mark.django_db
URL = "/api/v1/volunteers/me/"


def former_profile(user_id: int) -> Volunteer | None:
    """The query the profile was read with before: the volunteer, a prefetch of their teams and the
    approved total annotated."""
    return (
        Volunteer.objects.filter(user_id=user_id)
        .select_related("community")
        .prefetch_related("teams")
        .annotate(total_hours=selectors.total_hours_subquery())
        .first()
    )


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


def both(volunteer: Volunteer) -> tuple[bytes, bytes]:
    profile = selectors.own_profile(user_id=volunteer.user_id).profile
    assert profile is not None
    reference = former_profile(volunteer.user_id)
    return rendered(own_profile_data(profile)), rendered(VolunteerProfileSerializer(reference).data)


def test_a_new_volunteer_without_id_hours_or_teams(community):
    volunteer = VolunteerFactory(community=community, real_name="", skills="")
    written, reference = both(volunteer)
    assert written == reference
    assert b'"consent_at":null' in written and b'"teams":[]' in written and b'"total_hours":"0.00"' in written


def test_a_volunteer_with_everything_filled(community, other_community):
    volunteer = with_id(VolunteerFactory(community=community, real_name="欧阳娜娜", skills="急救, 手语"))
    Volunteer.objects.filter(pk=volunteer.pk).update(
        registered_via=Volunteer.RegisteredVia.CHECKOUT,
        registered_on=dt.date(2025, 2, 28),
        consent_at=timezone.make_aware(dt.datetime(2025, 12, 31, 23, 59, 59, 123456)),
    )
    # Teams in two communities, made so that neither their ids nor their names alone give the order.
    later = VolunteerTeam.objects.create(community=other_community, name="A 队")
    for name in ("乙队", "甲队", "B 队"):
        VolunteerTeam.objects.create(community=community, name=name).members.add(volunteer)
    later.members.add(volunteer)
    VolunteerTeam.objects.create(community=community, name="丙队")  # not theirs
    approved(volunteer, started_at=days_ago(30), hours="2.25")
    approved(volunteer, community=other_community, started_at=days_ago(20), hours="1.5")
    record(volunteer, started_at=days_ago(10), hours="7")  # pending: not counted
    record(volunteer, started_at=days_ago(5), hours="3", status=ServiceRecord.Status.REJECTED)
    approved(VolunteerFactory(community=community), started_at=days_ago(3), hours="9")  # someone else's

    written, reference = both(volunteer)
    assert written == reference
    body = selectors.own_profile(user_id=volunteer.user_id).profile
    assert body is not None and body.total_hours == Decimal("3.75") and len(body.teams) == 4
    assert b'"registered_via":"checkout"' in written and b'"consent_at":"2025-12-31T23:59:59.123456+08:00"' in written


@pytest.mark.parametrize("id_type", [choice for choice, _label in IdType.choices])
def test_each_kind_of_document(community, id_type):
    volunteer = VolunteerFactory(community=community)
    volunteer.id_type = id_type
    volunteer.id_number_masked = "AB****12"
    volunteer.save()
    written, reference = both(volunteer)
    assert written == reference


@pytest.mark.parametrize(
    ("hours", "stars", "next_star"),
    [("99.99", 0, "0.01"), ("100", 1, "200.00"), ("1499.99", 4, "0.01"), ("1500", 5, None), ("2000.5", 5, None)],
)
def test_totals_at_the_star_thresholds(community, hours, stars, next_star):
    volunteer = VolunteerFactory(community=community)
    # Approved records of at most 24 hours each, summing to the total.
    left = Decimal(hours)
    day = 1
    while left > 0:
        part = min(left, Decimal("23.75"))
        approved(volunteer, started_at=days_ago(day), hours=part)
        left -= part
        day += 1
    written, reference = both(volunteer)
    assert written == reference
    profile = selectors.own_profile(user_id=volunteer.user_id).profile
    assert profile is not None
    data = own_profile_data(profile)
    assert (data["total_hours"], data["star_level"], data["next_star_hours"]) == (
        f"{Decimal(hours):.2f}",
        stars,
        next_star,
    )


def test_no_volunteer_is_none_and_a_404(as_user, resident):
    assert selectors.own_profile(user_id=resident.pk) == selectors.OwnRead(account_active=True, profile=None)
    assert former_profile(resident.pk) is None
    assert as_user(resident).get(URL).status_code == 404


def test_the_endpoint_answers_what_the_serializer_wrote(as_user, community):
    volunteer = with_id(VolunteerFactory(community=community))
    VolunteerTeam.objects.create(community=community, name="巡逻队").members.add(volunteer)
    approved(volunteer, hours="4.5")
    body = as_user(volunteer.user).get(URL).content
    assert body == rendered(VolunteerProfileSerializer(former_profile(volunteer.user_id)).data)


def test_statements_do_not_grow_with_teams_and_records(as_user, community):
    volunteer = VolunteerFactory(community=community)

    def count() -> int:
        client = as_user(volunteer.user)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(4):
        VolunteerTeam.objects.create(community=community, name=f"队{n}").members.add(volunteer)
        approved(volunteer, started_at=days_ago(n + 1), hours="2")
    assert count() == few == 1  # the account is read with the profile


def test_another_users_volunteer_is_never_read(community):
    mine, theirs = VolunteerFactory(community=community), VolunteerFactory(community=community)
    VolunteerTeam.objects.create(community=community, name="他人的队").members.add(theirs)
    approved(theirs, hours="5")
    profile = selectors.own_profile(user_id=mine.user_id).profile
    assert profile is not None and profile.id == mine.pk and profile.teams == [] and profile.total_hours == 0
    assert factories.UserFactory().pk not in {mine.user_id, theirs.user_id}


# The account, read with the profile ---------------------------------------------------------------


def _standard_refusal(client) -> tuple[int, dict]:
    # The same token on a read authenticated as usual (JWTAuthentication reads the account first).
    response = client.get("/api/v1/notices/unread-count/")
    return response.status_code, response.json()


@pytest.mark.parametrize("volunteer_too", [True, False])
def test_an_inactive_account_is_refused_as_the_usual_authentication_refuses_it(as_user, community, volunteer_too):
    user = VolunteerFactory(community=community).user if volunteer_too else factories.UserFactory()
    client = as_user(user)
    assert client.get(URL).status_code == (200 if volunteer_too else 404)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert selectors.own_profile(user_id=user.pk).account_active is False
    response = client.get(URL)
    assert (response.status_code, response.json()) == _standard_refusal(client)
    assert response.status_code == 401


def test_a_gone_account_is_refused_as_the_usual_authentication_refuses_it(as_user):
    user = factories.UserFactory()
    client = as_user(user)
    type(user).objects.filter(pk=user.pk).delete()
    assert selectors.own_profile(user_id=user.pk) == selectors.OwnRead(account_active=None, profile=None)
    response = client.get(URL)
    assert (response.status_code, response.json()) == _standard_refusal(client)
    assert response.status_code == 401


def test_writes_authenticate_as_usual(as_user, community):
    user = factories.UserFactory(community=community)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    client = as_user(user)
    for method in (client.post, client.patch):
        response = method(URL, {"community": community.pk})
        assert (response.status_code, response.json()) == _standard_refusal(client)
    assert not Volunteer.objects.filter(user=user).exists()


def test_the_schema_shows_the_usual_bearer_token(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    usual = paths["/api/v1/notices/unread-count/"]["get"]["security"]
    assert paths["/api/v1/volunteers/me/"]["get"]["security"] == usual
    assert paths["/api/v1/volunteers/leaderboard/"]["get"]["security"] == usual
