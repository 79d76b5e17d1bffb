"""Totals, star levels at their edges, leaderboards with ties and the caller's rank, and their plans."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.core.periods import parse_period
from backend.volunteers import selectors
from backend.volunteers.models import ServiceRecord, Volunteer
from tests import factories
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, record

pytestmark = pytest.mark.django_db
URL = "/api/v1/volunteers/leaderboard/"


@pytest.mark.parametrize(
    ("hours", "stars"),
    [
        ("0", 0),
        ("99.99", 0),
        ("100", 1),
        ("299.99", 1),
        ("300", 2),
        ("600", 3),
        ("999.99", 3),
        ("1000", 4),
        ("1500", 5),
        ("9999", 5),
    ],
)
def test_star_levels_at_the_edges(hours, stars):
    assert selectors.star_level(Decimal(hours)) == stars


def test_thresholds_come_from_settings(settings):
    settings.VOLUNTEER_STAR_THRESHOLDS = ["50", "150"]
    assert selectors.star_level(Decimal("49.99")) == 0
    assert selectors.star_level(Decimal("150")) == 2
    assert selectors.next_star_hours(Decimal("150")) is None


def test_profile_shows_99_99_then_100_hours_as_no_star_then_one(as_user, volunteer):
    approved(volunteer, started_at=days_ago(30), hours="60")
    last = approved(volunteer, started_at=days_ago(20), hours="39.99")
    record(volunteer, started_at=days_ago(10), hours="5")  # pending: does not count
    me = as_user(volunteer.user).get("/api/v1/volunteers/me/").json()
    assert (me["total_hours"], me["star_level"], me["next_star_hours"]) == ("99.99", 0, "0.01")
    ServiceRecord.objects.filter(pk=last.pk).update(hours=Decimal("40.00"))
    me = as_user(volunteer.user).get("/api/v1/volunteers/me/").json()
    assert (me["total_hours"], me["star_level"], me["next_star_hours"]) == ("100.00", 1, "200.00")


def _board(community, hours_by_name: dict[str, list[str]], *, started_at=None) -> dict[str, Volunteer]:
    made = {}
    for name, hours_list in hours_by_name.items():
        volunteer = VolunteerFactory(community=community, real_name=name)
        for index, hours in enumerate(hours_list):
            approved(volunteer, started_at=started_at or days_ago(40 + index), hours=hours)
        made[name] = volunteer
    return made


def test_leaderboard_ranks_with_ties_competition_style(as_user, community):
    people = _board(community, {"张三": ["5", "5"], "李四": ["10"], "王五": ["8"], "赵六": ["3"], "钱七": ["10"]})
    record(people["赵六"], started_at=days_ago(5), hours="50")  # pending never counts
    response = as_user(people["王五"].user).get(URL, {"community": community.pk})
    assert response.status_code == 200, response.content
    body = response.json()
    ranks = [(row["name"], row["rank"], row["hours"]) for row in body["results"]]
    assert ranks == [
        ("张*", 1, "10.00"),
        ("李*", 1, "10.00"),
        ("钱*", 1, "10.00"),
        ("王*", 4, "8.00"),
        ("赵*", 5, "3.00"),
    ]
    assert body["count"] == 5 and body["ranking"] == "competition"
    assert body["me"] == {"rank": 4, "hours": "8.00"}
    assert [row["is_me"] for row in body["results"]] == [False, False, False, True, False]
    assert "张三" not in response.content.decode()


def test_the_callers_rank_on_a_later_page_and_when_absent(as_user, community):
    people = _board(community, {f"甲{i}": [str(10 + i)] for i in range(5)})
    last = people["甲0"]
    page = as_user(last.user).get(URL, {"community": community.pk, "page_size": 2, "page": 3}).json()
    assert [row["rank"] for row in page["results"]] == [5]
    assert page["me"] == {"rank": 5, "hours": "10.00"}
    assert page["previous"] is not None and page["next"] is None
    outsider = as_user(factories.UserFactory()).get(URL, {"community": community.pk}).json()
    assert outsider["me"] is None
    unranked = VolunteerFactory(community=community)
    assert as_user(unranked.user).get(URL, {"community": community.pk}).json()["me"] == {"rank": None, "hours": "0.00"}


@pytest.mark.parametrize("who", ["ranked", "unranked", "outsider"])
def test_the_leaderboard_answer_is_what_its_documented_serializer_writes(as_user, community, who):
    from backend.volunteers.serializers import LeaderboardPageSerializer, leaderboard_page_data

    people = _board(community, {"张三": ["5", "5"], "李四": ["10"], "王五": ["8.25"], "赵六": ["3.5"]})
    user = {
        "ranked": people["王五"].user,
        "unranked": VolunteerFactory(community=community).user,
        "outsider": factories.UserFactory(),
    }[who]
    board = selectors.leaderboard_page(
        period=parse_period("all"), offset=0, limit=20, community_id=community.pk, user_id=user.pk
    )
    body = {
        "count": board.ranked,
        "next": None,
        "previous": None,
        "period": "all",
        "ranking": "competition",
        "me": board.me,
        "results": board.rows,
    }
    expected = LeaderboardPageSerializer(body, context={"user_id": user.pk}).data
    assert leaderboard_page_data(body, user_id=user.pk) == expected
    assert as_user(user).get(URL, {"community": community.pk}).json() == json.loads(json.dumps(expected))


def test_the_period_and_the_organiser_decide_what_counts(as_user, community, other_community):
    march = timezone.make_aware(dt.datetime(2026, 3, 31, 23, 30))
    april = timezone.make_aware(dt.datetime(2026, 4, 1, 0, 30))
    volunteer = VolunteerFactory(community=community)
    approved(volunteer, started_at=march, hours="2")
    approved(volunteer, started_at=april, hours="3")
    approved(volunteer, community=other_community, started_at=april, hours="7")
    client = as_user(volunteer.user)

    def hours(**params):
        results = client.get(URL, params).json()["results"]
        return [row["hours"] for row in results]

    assert hours(community=community.pk, period="2026-03") == ["2.00"]
    assert hours(community=community.pk, period="2026-04") == ["3.00"]
    assert hours(community=community.pk, period="2026Q1") == ["2.00"]
    assert hours(community=community.pk, period="2026H1") == ["5.00"]
    assert hours(community=community.pk) == ["5.00"]
    assert hours(street=community.street_id, period="2026") == ["12.00"]
    row = client.get(URL, {"community": community.pk}).json()["results"][0]
    assert row["total_hours"] == "12.00" and row["star_level"] == 0


@pytest.mark.parametrize(
    "params",
    [{}, {"community": 1, "street": 1}, {"community": "x"}, {"street": 0}, {"period": "2026-13"}],
)
def test_bad_leaderboard_queries_are_400(as_user, resident, community, params):
    if params.get("period"):
        params = {**params, "community": community.pk}
    response = as_user(resident).get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_unknown_places_and_pages_past_the_end_are_404(as_user, resident, community):
    client = as_user(resident)
    assert client.get(URL, {"street": 999999}).json()["code"] == "not_found"
    assert client.get(URL, {"community": 999999}).status_code == 404
    assert client.get(URL, {"community": community.pk}).json()["count"] == 0
    assert client.get(URL, {"community": community.pk, "page": 2}).status_code == 404
    assert client.get(URL, {"community": community.pk, "page": "x"}).status_code == 404


def test_which_places_have_a_board_is_the_selectors(community):
    assert selectors.leaderboard_place_exists(community_id=community.pk)
    assert selectors.leaderboard_place_exists(street_id=community.street_id)
    assert not selectors.leaderboard_place_exists(community_id=999999)
    assert not selectors.leaderboard_place_exists(street_id=999999)


def test_anonymous_may_not_read_the_leaderboard(api, community):
    assert api.get(URL, {"community": community.pk}).status_code == 401


def test_leaderboard_query_count_does_not_grow_with_rows(as_user, community):
    viewer = VolunteerFactory(community=community)
    approved(viewer, hours="1")

    def count() -> int:
        client = as_user(viewer.user)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL, {"community": community.pk}).status_code == 200
        return len(ctx.captured_queries)

    _board(community, {f"乙{i}": ["2"] for i in range(2)})
    few = count()
    _board(community, {f"丙{i}": ["3", "1"] for i in range(12)})
    assert count() == few == 1  # the caller's account is read with the page


@pytest.mark.parametrize(
    "params",
    [{}, {"period": "2026-13"}, {"page": "x"}, {"page": "0"}, {"page": "9"}, {"community": 999999}],
    ids=["good", "bad period", "bad page", "page 0", "past the end", "no such community"],
)
@pytest.mark.parametrize("gone", [False, True], ids=["inactive", "gone"])
def test_a_gone_or_inactive_account_is_refused_before_anything_else(as_user, community, params, gone):
    user = VolunteerFactory(community=community).user if not gone else factories.UserFactory()
    approved(Volunteer.objects.get(user=user) if not gone else VolunteerFactory(community=community), hours="2")
    client = as_user(user)
    if gone:
        type(user).objects.filter(pk=user.pk).delete()
    else:
        type(user).objects.filter(pk=user.pk).update(is_active=False)
    response = client.get(URL, {"community": community.pk, **params})
    usual = client.get("/api/v1/notices/unread-count/")  # authenticated as usual: the account first
    assert (response.status_code, response.json()) == (usual.status_code, usual.json())
    assert response.status_code == 401


# The page's statement against the ranking it replaced ----------------------------------------------


def _former_page(*, period, offset: int, limit: int, user_id: int, **where) -> selectors.LeaderboardPage:
    """The answer as it was read before the page had a statement of its own: the ORM's ranking, the
    volunteers and each one's all-time total."""
    ranking = list(selectors.leaderboard(period=period, **where))
    page = ranking[offset : offset + limit]
    people = Volunteer.objects.in_bulk([row["volunteer_id"] for row in page])
    rows = []
    for row in page:
        person = people[row["volunteer_id"]]
        total = selectors.total_hours(person.pk)
        rows.append(
            selectors.LeaderboardRow(
                rank=row["rank"],
                volunteer=selectors.LeaderboardVolunteer(
                    pk=person.pk,
                    user_id=person.user_id,
                    real_name=person.real_name,
                    volunteer_number=person.volunteer_number,
                ),
                hours=Decimal(row["total"]).quantize(selectors.ZERO),
                total_hours=total,
                star_level=selectors.star_level(total),
            )
        )
    me = None
    caller = Volunteer.objects.filter(user_id=user_id).first()
    if caller is not None:
        mine = next((row for row in ranking if row["volunteer_id"] == caller.pk), None)
        me = (
            selectors.OwnRank(rank=None, hours=selectors.ZERO)
            if mine is None
            else selectors.OwnRank(rank=mine["rank"], hours=Decimal(mine["total"]).quantize(selectors.ZERO))
        )
    # Every caller here has an active account (the authentication read it first).
    return selectors.LeaderboardPage(rows=rows, ranked=len(ranking) if page else None, me=me, account_active=True)


def test_every_page_of_every_board_is_what_the_former_ranking_answered(street, community, other_community):
    at = lambda *args: timezone.make_aware(dt.datetime(*args))  # noqa: E731
    people = _board(community, {"甲": [], "乙": [], "丙": [], "丁": [], "戊": [], "己": []})
    hours = [
        ("甲", community, at(2026, 3, 31, 23, 30), "2.25"),
        ("甲", community, at(2026, 4, 1, 0, 30), "1.5"),
        ("乙", community, at(2026, 3, 2, 9), "3.75"),
        ("丙", community, at(2026, 1, 15, 9), "3.75"),
        ("丙", other_community, at(2026, 4, 20, 9), "8"),
        ("丁", community, at(2025, 12, 31, 23, 59), "3.75"),
        ("丁", community, at(2026, 6, 30, 9), "0.25"),
        ("戊", other_community, at(2026, 3, 3, 9), "3.75"),
        ("戊", other_community, at(2026, 3, 4, 9), "1"),
    ]
    for name, place, started_at, amount in hours:
        approved(people[name], community=place, started_at=started_at, hours=amount)
    record(people["己"], started_at=at(2026, 3, 5, 9), hours="6")  # pending
    record(people["己"], started_at=at(2026, 3, 6, 9), hours="5", status=ServiceRecord.Status.REJECTED)
    elsewhere = factories.CommunityFactory()  # another street
    approved(VolunteerFactory(community=elsewhere), started_at=at(2026, 3, 7, 9), hours="20")
    callers = [people["甲"].user_id, people["己"].user_id, factories.UserFactory().pk]
    places = [
        {"community_id": community.pk},
        {"community_id": other_community.pk},
        {"street_id": street.pk},
        {"community_id": elsewhere.pk},
    ]
    pages = [(0, 20), (0, 2), (2, 2), (1, 3), (4, 3), (50, 20)]
    compared = 0
    for period in ("all", "2026", "2026H1", "2026Q1", "2026-03", "2026-04", "2025", "2024"):
        for where in places:
            for offset, limit in pages:
                for user_id in callers:
                    args = {"period": parse_period(period), "offset": offset, "limit": limit, "user_id": user_id}
                    expected = _former_page(**args, **where)
                    assert selectors.leaderboard_page(**args, **where) == expected, (period, where, offset, user_id)
                    compared += 1
    assert compared == 8 * 4 * 6 * 3
    whole = selectors.leaderboard_page(period=parse_period("all"), offset=0, limit=20, street_id=street.pk)
    # The street's whole board, all time: a tie shares a rank and the next skips (甲 and 乙 on 3.75).
    ranks = [(row.volunteer.real_name, row.rank, str(row.hours)) for row in whole.rows]
    assert ranks == [("丙", 1, "11.75"), ("戊", 2, "4.75"), ("丁", 3, "4.00"), ("甲", 4, "3.75"), ("乙", 4, "3.75")]


def test_ties_across_every_page_boundary_rank_as_the_former_ranking(community):
    # Runs of equal totals at the top, in the middle and at the end, cut by pages of every size.
    totals = {f"丙{n}": [hours] for n, hours in enumerate(["5", "5", "5", "3", "3", "2.5", "2", "2", "2", "1"])}
    people = _board(community, totals)
    unranked = VolunteerFactory(community=community)
    callers = [people["丙0"].user_id, people["丙4"].user_id, people["丙9"].user_id, unranked.user_id]
    period = parse_period("all")
    for limit in range(1, 5):
        for offset in range(11):
            for user_id in callers:
                args = {"period": period, "offset": offset, "limit": limit, "user_id": user_id}
                expected = _former_page(**args, community_id=community.pk)
                assert selectors.leaderboard_page(**args, community_id=community.pk) == expected, (limit, offset)


@pytest.mark.parametrize(
    "params",
    [
        {"community": "5"},
        {"street": "7"},
        {"community": "5", "period": "2026-03"},
        {"community": "5", "period": "all"},
        {"community": "5", "period": "ALL"},
        {"community": "5", "period": "2026q1"},
        {"community": "5", "period": "2026H2", "page": "2", "page_size": "3", "other": "x"},
        {"community": "5", "period": " 2026 "},
        {"community": "5", "period": ""},
        {"community": "5", "period": "2026-13"},
        {"community": "5", "period": "1999"},
        {"community": "5", "period": "2026\n"},
        {"community": "5", "period": "2026\x00"},
        {"community": "05"},
        {"community": "5.0"},
        {"community": " 5"},
        {"community": "١٢"},
        {"community": ""},
        {"community": "", "street": "3"},
        {"community": "0"},
        {"community": "-1"},
        {"community": "x"},
        {"community": str(2**63 - 1)},
        {"community": str(2**63)},
        {"community": "5", "street": "3"},
        {"street": "3", "period": "2026-04"},
        {"period": "2026"},
        {},
        "community=1&community=2",
        "community=1&street=2&street=",
    ],
)
def test_the_query_read_directly_is_what_the_serializer_validates(params):
    from django.http import QueryDict
    from django.utils.http import urlencode
    from rest_framework.exceptions import ValidationError

    from backend.volunteers.serializers import LeaderboardQuerySerializer, leaderboard_query

    query = QueryDict(params if isinstance(params, str) else urlencode(params))
    serializer = LeaderboardQuerySerializer(data=query)
    try:
        answer = leaderboard_query(query)
    except ValidationError as exc:
        assert not serializer.is_valid()
        assert exc.detail == serializer.errors
    else:
        assert serializer.is_valid(), serializer.errors
        assert answer == dict(serializer.validated_data)


# Plans at about 20,000 rows ----------------------------------------------------------------------


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(" ".join(str(part) for part in row) for row in cursor.fetchall())


@pytest.fixture
def many_records(street):
    """About 20,000 approved records over 40 communities and 2,000 volunteers, inserted in bulk."""
    communities = [factories.CommunityFactory(street=street) for _ in range(40)]
    users = factories.UserFactory._meta.model.objects.bulk_create(
        factories.UserFactory._meta.model(phone=f"137{n:08d}", real_name=f"志愿者{n}") for n in range(2000)
    )
    volunteers = Volunteer.objects.bulk_create(
        Volunteer(user=user, community=communities[n % 40], volunteer_number=f"P{n:09d}", real_name=user.real_name)
        for n, user in enumerate(users)
    )
    approver = factories.UserFactory()
    base = timezone.make_aware(dt.datetime(2025, 1, 1, 9))
    rows = []
    for n in range(20_000):
        volunteer = volunteers[n % 2000]
        start = base + dt.timedelta(days=(n * 7) % 700, hours=n % 5)
        rows.append(
            ServiceRecord(
                volunteer=volunteer,
                community_id=volunteer.community_id,
                content="巡逻",
                reported_started_at=start,
                reported_ended_at=start + dt.timedelta(hours=2),
                started_at=start,
                ended_at=start + dt.timedelta(hours=2),
                hours=Decimal("2.00"),
                source="manual",
                status="approved" if n % 10 else "pending",
                approved_by=approver if n % 10 else None,
                approved_at=start if n % 10 else None,
            )
        )
    ServiceRecord.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return communities, volunteers


def _assert_indexed(plan: str) -> None:
    if connection.vendor == "postgresql":
        assert "Seq Scan on volunteers_servicerecord" not in plan, plan
    assert "record_" in plan, plan


def _captured(call) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        call()
    return [query["sql"] for query in ctx.captured_queries if "volunteers_servicerecord" in query["sql"]]


def test_the_monthly_leaderboard_and_a_total_use_indexes_at_20000_rows(many_records):
    communities, volunteers = many_records
    period = parse_period("2025-06")
    where = {"period": period, "community_id": communities[3].pk}
    page = _captured(lambda: selectors.leaderboard_page(offset=0, limit=20, user_id=volunteers[3].user_id, **where))
    total = _captured(lambda: selectors.total_hours(volunteers[7].pk))
    assert page and total
    for sql in page + total:
        _assert_indexed(_plan(sql, None))
    assert selectors.total_hours(volunteers[7].pk) > 0
    assert selectors.leaderboard(**where)[0]["rank"] == 1
