"""The leaderboard's pages and each caller's place kept in the cache (selectors.kept_leaderboard_page):
read again with the account's state alone, and read afresh after every write that changes a board."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import User
from backend.accounts.services import anonymise_account
from backend.core.periods import parse_period
from backend.volunteers import selectors
from backend.volunteers.models import ServiceRecord
from backend.volunteers.services.corrections import correct_record
from backend.volunteers.services.review import approve_record, reject_record
from tests import factories
from tests.core.test_errors import assert_error
from tests.volunteers.factories import VolunteerFactory, approved, days_ago, record

# Committed, as in production: a connection with a change not yet committed keeps nothing (core.versioned).
pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/volunteers/leaderboard/"


@pytest.fixture
def board(community):
    people = {}
    for index, name in enumerate(["张三", "李四", "王五"]):
        people[name] = VolunteerFactory(community=community, real_name=name)
        approved(people[name], started_at=days_ago(40), hours=str(10 - index))
    return people


def read(client, community, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL, {"community": community.pk, **params})
    assert response.status_code == 200, response.content
    return response.json(), len(queries)


def test_a_page_read_again_costs_the_accounts_state_alone(as_user, community, board):
    client = as_user(board["王五"].user)
    first, computed = read(client, community)
    with CaptureQueriesContext(connection) as queries:
        again, kept = read(client, community)
    assert again == first and first["me"] == {"rank": 3, "hours": "8.00"}
    # The one statement is the account's state: no record is read.
    assert computed >= 1 and kept == 1 and ServiceRecord._meta.db_table not in queries[0]["sql"]
    # Another caller shares the page and has their place read once.
    other = as_user(board["张三"].user)
    theirs, _ = read(other, community)
    assert theirs["me"] == {"rank": 1, "hours": "10.00"} and theirs["results"] == [
        {**row, "is_me": row["rank"] == 1} for row in first["results"]
    ]
    assert read(other, community)[1] == 1


def test_every_write_that_changes_a_board_is_read_afresh(as_user, community, board):
    client = as_user(board["王五"].user)
    secretary = factories.staff_of(community)
    read(client, community)

    pending = record(board["王五"], started_at=days_ago(30), hours="5")
    assert read(client, community)[0]["me"] == {"rank": 3, "hours": "8.00"}
    approve_record(record=pending, by=secretary)
    body, _ = read(client, community)
    assert body["me"] == {"rank": 1, "hours": "13.00"}

    first = board["张三"].records.get()
    start = first.started_at
    correct_record(
        record=first, by=secretary, started_at=start, ended_at=start.replace(hour=start.hour + 4), reason="核对签到"
    )
    assert [row["hours"] for row in read(client, community)[0]["results"]] == ["13.00", "9.00", "4.00"]

    board["李四"].real_name = "周四"
    board["李四"].save()
    assert read(client, community)[0]["results"][1]["name"] == "周*"

    newcomer = VolunteerFactory(community=community, real_name="吴二")
    approved(newcomer, started_at=days_ago(20), hours="20")
    assert read(client, community)[0]["count"] == 4


def test_a_new_pending_record_keeps_the_boards_and_a_rejection_does_not(as_user, community, board):
    version = selectors.boards.find([]).versions
    pending = record(board["李四"], started_at=days_ago(3), hours="2")
    assert selectors.boards.find([]).versions == version
    reject_record(record=pending, by=factories.staff_of(community), reason="不符合")
    assert selectors.boards.find([]).versions != version


def test_a_street_board_follows_its_communities(as_user, community, board):
    client = as_user(board["王五"].user)
    street = {"street": community.street_id}
    first = client.get(URL, street).json()
    assert first["count"] == 3
    moved = factories.CommunityFactory()
    community.street = moved.street
    community.save()
    # The street has no community left: no such board.
    assert_error(client.get(URL, street), 404, "not_found")
    assert client.get(URL, {"street": moved.street_id}).json()["count"] == 3


def test_a_kept_page_refuses_a_gone_or_inactive_account(as_user, community, board):
    user = board["王五"].user
    client = as_user(user)
    read(client, community)
    # As an administrator's bulk change would: no signal, no new version.
    User.objects.filter(pk=user.pk).update(is_active=False)
    usual = client.get("/api/v1/members/")  # authenticated as always: the account first
    refused = client.get(URL, {"community": community.pk})
    assert refused.status_code == usual.status_code == 401 and refused.json() == usual.json()
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert read(client, community)[1] == 1
    other = factories.UserFactory()
    other_client = as_user(other)
    read(other_client, community)
    User.objects.filter(pk=other.pk).delete()
    usual = other_client.get("/api/v1/members/")
    refused = other_client.get(URL, {"community": community.pk})
    assert refused.status_code == usual.status_code == 401 and refused.json() == usual.json()


def test_the_star_thresholds_are_part_of_the_key(as_user, community, board, settings):
    client = as_user(board["王五"].user)
    assert [row["star_level"] for row in read(client, community)[0]["results"]] == [0, 0, 0]
    settings.VOLUNTEER_STAR_THRESHOLDS = ["9", "10"]
    assert [row["star_level"] for row in read(client, community)[0]["results"]] == [2, 1, 0]


def test_a_read_that_saw_a_write_not_yet_committed_is_not_kept(community, board):
    args = {"period": parse_period("all"), "offset": 0, "limit": 20, "community_id": community.pk}
    user_id = board["王五"].user_id
    before = selectors.kept_leaderboard_page(**args, user_id=user_id)
    with pytest.raises(RuntimeError), transaction.atomic():
        approved(board["王五"], started_at=days_ago(10), hours="30")
        assert selectors.kept_leaderboard_page(**args, user_id=user_id).me.rank == 1
        raise RuntimeError("rolled back")
    # No change follows a rollback: had the read inside kept its page, it would be served now.
    assert selectors.kept_leaderboard_page(**args, user_id=user_id) == before


def test_a_page_computed_before_a_commit_is_not_served_after_it(community, board):
    args = {"period": parse_period("all"), "offset": 0, "limit": 20, "community_id": community.pk}
    user_id = board["王五"].user_id
    stale = selectors.kept_leaderboard_page(**args, user_id=user_id)
    keys = selectors.board_keys(**args, user_id=user_id, street_id=None)
    with transaction.atomic():
        approved(board["王五"], started_at=days_ago(10), hours="30")
        # Another process that read before the write keeps its answer under the version the write made first.
        versions = selectors.boards.find([]).versions
        cache.set_many(
            {
                selectors.boards._key(key): (versions, value)
                for key, value in zip(keys, [(stale.rows, stale.ranked), stale.me], strict=True)
            }
        )
        assert selectors.kept_leaderboard_page(**args, user_id=user_id) == stale
    assert selectors.kept_leaderboard_page(**args, user_id=user_id).me.rank == 1


def test_a_deleted_accounts_name_leaves_the_kept_boards(as_user, community, board):
    # The eraser empties the name by one UPDATE: no signal.
    client = as_user(board["王五"].user)
    assert read(client, community)[0]["results"][0]["name"] == "张*"
    anonymise_account(user=board["张三"].user)
    assert read(client, community)[0]["results"][0]["name"] == ""


def test_a_page_past_any_offset_is_not_found(as_user, community, board):
    response = as_user(board["王五"].user).get(URL, {"community": community.pk, "page": "9" * 20})
    assert_error(response, 404, "not_found")
