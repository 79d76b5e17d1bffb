"""Many phones at once, on PostgreSQL: threads released together by a barrier, each its own
connection, through the whole HTTP stack. No duplicates, no overbooking, no 5xx."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from backend.activities.models import CheckIn, Enrollment
from tests import factories
from tests.activities.factories import ActivityFactory, enrol, position_body
from tests.concurrency import together
from tests.conftest import client_for

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite lets one writer in at a time, so there is no race to lose; run with a PostgreSQL DATABASE_URL",
    ),
    pytest.mark.django_db(transaction=True),
]

THREADS = 30


def post(client, url: str, body: dict | None = None) -> Callable[[], Any]:
    return lambda: client.post(url, body, format="json")


def statuses(responses: list[Any]) -> Counter:
    for response in responses:
        assert not isinstance(response, Exception), repr(response)
    return Counter(response.status_code for response in responses)


def test_distinct_members_checking_in_at_once_each_get_one_row(community):
    activity = ActivityFactory(community=community)
    members = [enrol(activity).user for _ in range(THREADS)]
    url = f"/api/v1/activities/{activity.pk}/check-in/"
    calls = [post(client_for(user), url, position_body(activity)) for user in members]
    responses = together(calls)
    assert statuses(responses) == Counter({201: THREADS})
    assert CheckIn.objects.filter(activity=activity).count() == THREADS
    assert set(CheckIn.objects.values_list("user_id", flat=True)) == {user.pk for user in members}


def test_one_client_id_retried_at_once_gives_one_row_and_one_answer(community):
    activity = ActivityFactory(community=community)
    member = enrol(activity).user
    client = client_for(member)
    body = position_body(activity)
    url = f"/api/v1/activities/{activity.pk}/check-in/"
    responses = together([post(client, url, body) for _ in range(THREADS)])
    assert statuses(responses) == Counter({201: 1, 200: THREADS - 1})
    assert len({str(response.json()) for response in responses}) == 1
    assert CheckIn.objects.filter(activity=activity, user=member).count() == 1


def test_different_attempts_at_once_give_one_row_and_conflicts(community):
    activity = ActivityFactory(community=community)
    member = enrol(activity).user
    client = client_for(member)
    url = f"/api/v1/activities/{activity.pk}/check-in/"
    responses = together([post(client, url, position_body(activity)) for _ in range(THREADS)])
    assert statuses(responses) == Counter({201: 1, 409: THREADS - 1})
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"already_checked_in"}
    assert CheckIn.objects.filter(activity=activity, user=member).count() == 1


def test_many_enrolling_for_the_last_seat_do_not_overbook(community):
    activity = ActivityFactory(community=community, capacity=5)
    for _ in range(4):
        enrol(activity)
    people = [factories.UserFactory(community=community) for _ in range(THREADS)]
    url = f"/api/v1/activities/{activity.pk}/enrollment/"
    responses = together([post(client_for(user), url) for user in people])
    assert statuses(responses) == Counter({201: THREADS})
    answers = Counter(response.json()["status"] for response in responses)
    assert answers == Counter({"enrolled": 1, "waitlisted": THREADS - 1})
    assert Enrollment.objects.filter(activity=activity, status="enrolled").count() == 5
    positions = sorted(r.json()["position"] for r in responses if r.json()["status"] == "waitlisted")
    assert positions == list(range(1, THREADS))


def test_one_person_enrolling_many_times_at_once_has_one_sign_up(community):
    activity = ActivityFactory(community=community, capacity=3)
    person = factories.UserFactory(community=community)
    client = client_for(person)
    url = f"/api/v1/activities/{activity.pk}/enrollment/"
    responses = together([post(client, url) for _ in range(THREADS)])
    assert statuses(responses) == Counter({201: 1, 200: THREADS - 1})
    assert Enrollment.objects.filter(activity=activity, user=person).count() == 1
