"""The socket against hostile frames and accounts that die while it is open.

Hostile frames: each answers `validation_error` and the socket stays usable (a `ping` still gets
`pong`). Dead accounts: an account deactivated, deleted or stripped of a role has its sockets
closed after the commit, and every `watch` checks the account and its scope as they are now,
not as they were when the socket opened.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from backend.accounts import services as accounts_services
from backend.accounts.models import RoleGrant, User
from backend.activities.selectors import may_watch
from backend.core.events import watch_permission
from tests import factories
from tests.activities.factories import ActivityFactory

from . import test_consumer
from .test_consumer import closed_with, connected

# The fixtures of the consumer's own tests: a private channel layer, sockets closed at teardown, a user.
private_channel_layer = test_consumer.private_channel_layer
sockets = test_consumer.sockets
user = test_consumer.user

pytestmark = pytest.mark.django_db(transaction=True)

NESTED_ARRAYS = "[" * 2000 + "]" * 2000
NESTED_OBJECTS = '[{"":' * 580 + "1" + "}]" * 580

HOSTILE = [
    json.dumps({"type": "resume", "after_id": 2**70}),
    json.dumps({"type": "resume", "after_id": 2**63}),
    json.dumps({"type": "watch", "activity_id": 2**70}),
    json.dumps({"type": "unwatch", "activity_id": 2**64}),
    NESTED_ARRAYS,
    NESTED_OBJECTS,
    json.dumps({"type": "resume", "after_id": json.loads("[" * 500 + "]" * 500)}),
]


@pytest.mark.parametrize("frame", HOSTILE, ids=range(len(HOSTILE)))
async def test_hostile_frames_under_the_cap_answer_validation_error_and_the_socket_stays(sockets, user, frame):
    assert len(frame) <= 4096
    communicator = await connected(sockets, user)
    await communicator.send_to(text_data=frame)
    answer = await communicator.receive_json_from()
    assert (answer["type"], answer["code"]) == ("error", "validation_error")
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}


async def test_a_lone_surrogate_in_an_unknown_type_is_not_echoed_into_the_frame(sockets, user):
    communicator = await connected(sockets, user)
    await communicator.send_to(text_data='{"type": "\\ud800x"}')
    answer = await communicator.receive_json_from()
    assert (answer["type"], answer["code"]) == ("error", "validation_error")
    answer["request"].encode("utf-8")  # what daphne must put on the wire
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from() == {"type": "pong"}


async def test_a_handler_that_fails_closes_with_4500_instead_of_crashing(sockets, user, monkeypatch):
    communicator = await connected(sockets, user)

    def broken(*, user_id, activity_id):
        raise RuntimeError("database gone")

    monkeypatch.setattr("backend.notices.consumers.watch_refusal", broken)
    await communicator.send_json_to({"type": "watch", "activity_id": 5})
    assert await closed_with(communicator) == 4500


# Accounts that die while the socket is open


@pytest.fixture
def real_watch_rule():
    """The activities app's rule, whatever another test left registered."""
    previous = watch_permission.get("activity")
    watch_permission.register("activity", may_watch)
    yield
    if previous is not None:
        watch_permission.register("activity", previous)


@pytest.fixture
def secretary(db):
    community = factories.CommunityFactory()
    staff = factories.staff_of(community)
    first = ActivityFactory(community=community, organiser=staff)
    second = ActivityFactory(community=community, organiser=staff)
    return staff, first, second


async def watch(communicator, activity_id: int) -> dict:
    await communicator.send_json_to({"type": "watch", "activity_id": activity_id})
    return await communicator.receive_json_from()


async def test_a_revoked_secretarys_sockets_close_and_cannot_watch_again(sockets, secretary, real_watch_rule):
    staff, first, second = secretary
    communicator = await connected(sockets, staff)
    assert await watch(communicator, first.pk) == {"type": "watching", "activity_id": first.pk}

    grant = await database_sync_to_async(RoleGrant.objects.get)(user=staff)
    await database_sync_to_async(accounts_services.revoke_role)(revoker=None, grant=grant)
    assert await closed_with(communicator) == 4401

    # Back with the same (still valid) token: the account is alive, its scope is gone.
    again = await connected(sockets, staff)
    answer = await watch(again, second.pk)
    assert (answer["type"], answer["code"]) == ("error", "not_found")


async def test_a_deleted_accounts_sockets_close(sockets, secretary):
    staff, _first, _second = secretary
    communicator = await connected(sockets, staff)
    await database_sync_to_async(accounts_services.anonymise_account)(user=staff)
    assert await closed_with(communicator) == 4401


async def test_every_watch_rereads_the_scope_not_the_one_cached_at_connect(sockets, secretary, real_watch_rule):
    staff, first, second = secretary
    communicator = await connected(sockets, staff)
    assert await watch(communicator, first.pk) == {"type": "watching", "activity_id": first.pk}
    # Behind the services' back, so no close is sent: only the check on `watch` stands in the way.
    await database_sync_to_async(lambda: RoleGrant.objects.filter(user=staff).delete())()
    answer = await watch(communicator, second.pk)
    assert (answer["type"], answer["code"], answer["activity_id"]) == ("error", "not_found", second.pk)


async def test_a_watch_from_a_deactivated_account_closes_the_socket(sockets, secretary, real_watch_rule):
    staff, _first, second = secretary
    communicator = await connected(sockets, staff)
    await database_sync_to_async(lambda: User.objects.filter(pk=staff.pk).update(is_active=False))()
    await communicator.send_json_to({"type": "watch", "activity_id": second.pk})
    assert await closed_with(communicator) == 4401


def test_closing_sessions_waits_for_the_commit_and_a_rollback_sends_nothing(db, monkeypatch):
    from backend.accounts.registry import session_closers

    closed: list[int] = []
    monkeypatch.setitem(session_closers._providers, "probe", closed.append)
    target = factories.UserFactory()
    grant = factories.grant(target, "community_staff", factories.CommunityFactory())
    from django.db import transaction

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        accounts_services.revoke_role(revoker=None, grant=grant)
        raise Undo
    assert closed == []
    accounts_services.revoke_role(revoker=None, grant=grant)
    assert closed == [target.pk]
