"""Notices through their services: who receives what, the scope rules, and what is sent when."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import transaction

from backend.accounts.models import Role
from backend.core.errors import DomainError
from backend.core.events import (
    Audience,
    audience_providers,
    emit,
    register_audience_provider,
    watch_permission,
)
from backend.notices import live, selectors, services
from backend.notices.models import Notice, NoticeReceipt
from tests import factories
from tests.notices.helpers import LayerProbe, make_upload, use_private_channel_layer

pytestmark = pytest.mark.django_db


@pytest.fixture
def probe(settings):
    use_private_channel_layer(settings)
    listener = LayerProbe()
    yield listener
    listener.close()


@pytest.fixture
def providers():
    """Register audience providers and watch rules for one test; the installed apps' own providers
    under the same keys are put back afterwards, so later tests still see them."""
    replaced: list[tuple[object, str, object]] = []

    class Providers:
        def audience(self, kind, app_label, user_ids):
            key = f"{kind}:{app_label}"
            replaced.append((audience_providers, key, audience_providers.get(key)))
            register_audience_provider(kind, app_label, lambda ids: list(user_ids))

        def watch(self, rule):
            replaced.append((watch_permission, "activity", watch_permission.get("activity")))
            watch_permission.register("activity", rule)

    yield Providers()
    for registry, key, previous in reversed(replaced):
        if previous is None:
            registry.unregister(key)
        else:
            registry.register(key, previous)


@pytest.fixture
def town(street, community, other_community):
    """A community with every kind of member, and people who must not be in its audience."""
    grid = factories.GridFactory(community=community)
    people = {
        "secretary": factories.staff_of(community),
        "staff": factories.staff_of(community, Role.COMMUNITY_STAFF),
        "street_admin": factories.admin_of(street),
        "worker": factories.UserFactory(),
        "resident": factories.UserFactory(community=community),
        "neighbour": factories.UserFactory(community=other_community),
        "neighbour_staff": factories.staff_of(other_community),
        "gone": factories.UserFactory(community=community, is_active=False),
        "elsewhere": factories.UserFactory(),
    }
    factories.grant(people["worker"], Role.GRID_WORKER, grid)
    people["grid"] = grid
    return people


def send(sender, audience, **kwargs):
    kwargs.setdefault("title", "停水通知")
    kwargs.setdefault("body", "明日9时至12时停水检修。")
    return services.create_notice(sender=sender, audience=audience, **kwargs)


def recipients(notice) -> set[int]:
    return set(NoticeReceipt.objects.filter(notice=notice).values_list("user_id", flat=True))


def ids(*users) -> set[int]:
    return {user.pk for user in users}


# --- who receives a notice -------------------------------------------------------------------


def test_a_community_notice_reaches_its_staff_street_admins_grid_workers_and_residents(town, community, providers):
    volunteer = factories.UserFactory()
    member = factories.UserFactory()
    # Two apps add people to the same kind of audience; both count.
    providers.audience("community", "volunteers", [volunteer.pk])
    providers.audience("community", "members", [member.pk, town["resident"].pk])

    notice = send(town["secretary"], Audience.community(community))

    expected = ids(
        town["secretary"], town["staff"], town["street_admin"], town["worker"], town["resident"], volunteer, member
    )
    assert recipients(notice) == expected
    assert notice.recipient_count == len(expected)
    assert (notice.audience_kind, notice.audience_ids) == ("community", [community.pk])
    assert (notice.community_id, notice.street_id) == (community.pk, community.street_id)


def test_providers_cannot_add_inactive_accounts(town, community, providers):
    providers.audience("community", "volunteers", [town["gone"].pk])
    notice = send(town["secretary"], Audience.community(community))
    assert town["gone"].pk not in recipients(notice)


def test_a_street_notice_reaches_every_community_of_the_street(town, street, other_community):
    notice = send(town["street_admin"], Audience.street(street))
    assert recipients(notice) == ids(
        town["secretary"],
        town["staff"],
        town["street_admin"],
        town["worker"],
        town["resident"],
        town["neighbour"],
        town["neighbour_staff"],
    )
    assert (notice.street_id, notice.community_id) == (street.pk, None)


def test_a_grid_notice_reaches_its_workers_and_what_providers_add(town, providers):
    household = factories.UserFactory(community=town["resident"].community)
    providers.audience("grid", "appeals", [household.pk])
    notice = send(town["secretary"], Audience.grid(town["grid"]))
    assert recipients(notice) == ids(town["worker"], household)


def test_a_users_notice_reaches_exactly_those_users(town):
    notice = send(town["secretary"], Audience.users([town["resident"], town["staff"]]))
    assert recipients(notice) == ids(town["resident"], town["staff"])


def test_receipts_are_written_in_batches(town, community, monkeypatch):
    monkeypatch.setattr(services, "FANOUT_BATCH", 2)
    notice = send(town["secretary"], Audience.community(community))
    assert len(recipients(notice)) == 5


def test_the_system_may_notify_anyone(town):
    notice = services.create_notice(
        sender=None, title="报到已通过", body="欢迎", kind="registration", audience=Audience.user(town["neighbour"])
    )
    assert recipients(notice) == ids(town["neighbour"])
    assert selectors.notice_payload(notice)["sender"] is None


# --- the scope rules --------------------------------------------------------------------------


def assert_refused(code, field, call):
    before = (Notice.objects.count(), NoticeReceipt.objects.count())
    with pytest.raises(DomainError) as caught:
        call()
    assert caught.value.code == code
    if field is not None:
        assert field in caught.value.fields
    assert (Notice.objects.count(), NoticeReceipt.objects.count()) == before
    return caught.value


def test_someone_without_a_staff_role_may_not_send(town, community):
    assert_refused("permission_denied", None, lambda: send(town["resident"], Audience.community(community)))
    # A grid worker looks after a grid but does not publish notices.
    assert_refused("permission_denied", None, lambda: send(town["worker"], Audience.grid(town["grid"])))


@pytest.mark.parametrize(
    "audience",
    [
        lambda t, c, o: Audience.community(o),
        lambda t, c, o: Audience.street(c.street),
        lambda t, c, o: Audience.grid(factories.GridFactory(community=o)),
        lambda t, c, o: Audience.community(999_999),
        lambda t, c, o: Audience.users([t["neighbour"]]),
        lambda t, c, o: Audience.users([t["neighbour_staff"]]),
        lambda t, c, o: Audience.users([t["resident"], 999_999]),
        lambda t, c, o: Audience.users([t["gone"]]),
        lambda t, c, o: Audience.activity(7),
        lambda t, c, o: Audience("users", ()),
    ],
    ids=[
        "other-community",
        "own-street",
        "other-grid",
        "missing-community",
        "other-resident",
        "other-staff",
        "missing-user",
        "inactive-user",
        "activity-without-rule",
        "nobody",
    ],
)
def test_a_secretary_may_not_send_outside_their_scope(town, community, other_community, audience):
    target = audience(town, community, other_community)
    assert_refused("validation_error", "audience", lambda: send(town["secretary"], target))


def test_a_secretary_may_write_to_people_in_their_community(town):
    notice = send(town["secretary"], Audience.users([town["resident"], town["worker"]]))
    assert recipients(notice) == ids(town["resident"], town["worker"])
    # The street admin holds a role above the community, outside a secretary's scope.
    assert_refused("validation_error", "audience", lambda: send(town["secretary"], Audience.user(town["street_admin"])))


def test_a_street_admin_reaches_the_whole_street(town, street, other_community):
    send(town["street_admin"], Audience.community(other_community))
    send(town["street_admin"], Audience.users([town["neighbour"], town["neighbour_staff"]]))
    assert Notice.objects.count() == 2


def test_a_superuser_may_send_to_any_place_that_exists(town, other_community):
    root = factories.UserFactory(is_superuser=True)
    send(root, Audience.community(other_community))
    assert_refused("validation_error", "audience", lambda: send(root, Audience.street(999_999)))


def test_an_activity_audience_needs_the_activities_rule_and_their_people(town, providers):
    participant = factories.UserFactory()
    providers.audience("activity", "activities", [participant.pk])
    providers.watch(lambda user, activity_id: activity_id == 41 and user.pk == town["secretary"].pk)
    notice = send(town["secretary"], Audience.activity(41))
    assert recipients(notice) == ids(participant)
    assert_refused("validation_error", "audience", lambda: send(town["secretary"], Audience.activity(42)))
    assert_refused("validation_error", "audience", lambda: send(town["staff"], Audience.activity(41)))


def test_attachments_must_be_the_senders_own_uploads(town, community):
    mine = make_upload(town["secretary"])
    theirs = make_upload(town["staff"])
    notice = send(town["secretary"], Audience.community(community), attachments=[mine.pk, mine.pk])
    assert notice.attachments == [mine.pk]
    assert selectors.notice_payload(notice)["attachments"][0]["name"] == "通知附件.pdf"
    for bad in ([theirs.pk], [999_999], ["x"], list(range(1, 12))):
        assert_refused(
            "validation_error",
            "attachments",
            lambda bad=bad: send(town["secretary"], Audience.community(community), attachments=bad),
        )


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("title", {"title": "  "}),
        ("title", {"title": "长" * 101}),
        ("body", {"body": ""}),
        ("kind", {"kind": "gossip"}),
    ],
)
def test_bad_fields_are_refused(town, community, field, changes):
    assert_refused("validation_error", field, lambda: send(town["secretary"], Audience.community(community), **changes))


# --- reading ----------------------------------------------------------------------------------


def test_mark_read_keeps_the_first_read_time(town, community):
    notice = send(town["secretary"], Audience.community(community))
    first = services.mark_read(user=town["resident"], notice=notice)
    time.sleep(0.01)
    again = services.mark_read(user=town["resident"], notice=notice)
    assert first.read_at is not None
    assert again.read_at == first.read_at
    assert selectors.unread_count(user_id=town["resident"].pk) == 0
    assert selectors.unread_count(user_id=town["staff"].pk) == 1


def test_mark_read_of_a_notice_not_received_is_not_found(town, community):
    notice = send(town["secretary"], Audience.community(community))
    with pytest.raises(DomainError) as caught:
        services.mark_read(user=town["neighbour"], notice=notice)
    assert caught.value.code == "not_found"
    assert not NoticeReceipt.objects.filter(user=town["neighbour"]).exists()


def test_the_payload_and_replay_selectors(town, community):
    upload = make_upload(town["secretary"])
    first = send(town["secretary"], Audience.community(community), title="一", attachments=[upload.pk])
    second = send(town["secretary"], Audience.user(town["resident"]), title="二")
    services.mark_read(user=town["resident"], notice=first)
    resident = town["resident"].pk

    replay = selectors.notices_after(user_id=resident, after_id=0)
    assert [n["id"] for n in replay] == [first.pk, second.pk]
    payload = replay[0]
    assert set(payload) == {"id", "title", "body", "kind", "created_at", "read_at", "attachments", "sender", "audience"}
    assert payload["created_at"].endswith("+08:00")
    assert datetime.fromisoformat(payload["read_at"]).utcoffset().total_seconds() == 8 * 3600
    assert payload["sender"] == {"id": town["secretary"].pk, "real_name": town["secretary"].real_name}
    assert payload["audience"] == {"kind": "community", "ids": [community.pk]}
    assert payload["attachments"][0]["id"] == upload.pk
    assert replay[1]["audience"] == {"kind": "users", "ids": []}, "a personal notice names no other recipient"
    assert replay[1]["read_at"] is None
    assert selectors.notices_after(user_id=resident, after_id=first.pk) == [replay[1]]
    assert selectors.notices_after(user_id=resident, after_id=0, limit=1) == [replay[0]]
    assert selectors.last_notice_id(user_id=resident) == second.pk
    assert selectors.last_notice_id(user_id=town["elsewhere"].pk) == 0


def test_replay_costs_the_same_queries_however_many_notices(town, community, django_assert_num_queries):
    upload = make_upload(town["secretary"])
    for n in range(3):
        send(town["secretary"], Audience.community(community), title=f"通知{n}", attachments=[upload.pk])
    with django_assert_num_queries(2):
        assert len(selectors.notices_after(user_id=town["resident"].pk, after_id=0)) == 3
    for n in range(7):
        send(town["secretary"], Audience.community(community), title=f"再{n}", attachments=[upload.pk])
    with django_assert_num_queries(2):
        assert len(selectors.notices_after(user_id=town["resident"].pk, after_id=0)) == 10


# --- what leaves, and when --------------------------------------------------------------------


def test_a_notice_goes_live_to_each_recipient_only_after_commit(
    town, community, probe, django_capture_on_commit_callbacks
):
    probe.listen(town["resident"], town["neighbour"])
    with django_capture_on_commit_callbacks(execute=True):
        notice = send(town["secretary"], Audience.community(community))
        assert probe.messages(town["resident"], timeout=0.05) == []
    assert probe.messages(town["resident"]) == [{"type": "notice.message", "notice": selectors.notice_payload(notice)}]
    assert probe.messages(town["neighbour"], timeout=0.05) == []


def test_a_rolled_back_notice_announces_nothing(town, community, probe, django_capture_on_commit_callbacks):
    probe.listen(town["resident"])
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        send(town["secretary"], Audience.community(community))
        raise RuntimeError("the surrounding write failed")
    assert callbacks == []
    assert not Notice.objects.exists()
    assert probe.messages(town["resident"], timeout=0.05) == []


def test_the_write_survives_a_channel_layer_that_is_down(
    town, community, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(live, "get_channel_layer", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        notice = send(town["secretary"], Audience.community(community))
    assert len(recipients(notice)) == 5


class StuckLayer:
    def __init__(self) -> None:
        self.calls = 0

    async def group_send(self, group, message):
        self.calls += 1
        await asyncio.sleep(30)


class FailingLayer:
    async def group_send(self, group, message):
        raise ConnectionError("connection reset")


def test_a_stuck_channel_layer_holds_the_request_only_briefly(town, community, monkeypatch, settings):
    settings.NOTICES_LIVE_SEND_TIMEOUT = 0.2
    layer = StuckLayer()
    monkeypatch.setattr(live, "get_channel_layer", lambda: layer)
    started = time.monotonic()
    assert live.publish_notice([town["resident"].pk, town["staff"].pk], {"id": 1}) == 0
    assert time.monotonic() - started < 2
    assert layer.calls == 2, "each recipient's group is sent to concurrently"


def test_failing_group_sends_are_logged_not_raised(monkeypatch, caplog):
    monkeypatch.setattr(live, "get_channel_layer", lambda: FailingLayer())
    assert live.publish_notice([1, 2, 3], {"id": 1}) == 0
    assert "3 of 3 group sends" in caplog.text


def test_emitted_events_reach_the_audiences_members(town, community, probe, django_capture_on_commit_callbacks):
    probe.listen(town["resident"], town["staff"], town["neighbour"])
    when = datetime(2026, 3, 5, 9, 30).astimezone()
    with django_capture_on_commit_callbacks(execute=True):
        emit(
            event="activity.published",
            data={"id": 3, "at": when, "points": Decimal("1.50")},
            audience=Audience.community(community),
        )
    expected = {
        "type": "event.message",
        "event": "activity.published",
        "data": {"id": 3, "at": when.isoformat(), "points": "1.50"},
    }
    assert probe.messages(town["resident"]) == [expected]
    assert probe.messages(town["staff"]) == [expected]
    assert probe.messages(town["neighbour"], timeout=0.05) == []


def test_attendance_changes_go_to_the_watchers_not_to_the_participants(
    town, probe, providers, django_capture_on_commit_callbacks
):
    providers.audience("activity", "activities", [town["resident"].pk])
    probe.listen(town["resident"])
    probe.join(live.attendance_group(41))
    with django_capture_on_commit_callbacks(execute=True):
        emit(event="attendance.changed", data={"activity": 41, "checked_in": 3}, audience=Audience.activity(41))
    assert probe.messages(live.attendance_group(41)) == [
        {"type": "event.message", "event": "attendance.changed", "data": {"activity": 41, "checked_in": 3}}
    ]
    assert probe.messages(town["resident"], timeout=0.05) == []


def test_reading_tells_the_readers_other_devices_once(town, community, probe, django_capture_on_commit_callbacks):
    notice = send(town["secretary"], Audience.community(community))
    probe.listen(town["resident"])
    with django_capture_on_commit_callbacks(execute=True):
        receipt = services.mark_read(user=town["resident"], notice=notice)
        services.mark_read(user=town["resident"], notice=notice)
    assert probe.messages(town["resident"]) == [
        {
            "type": "event.message",
            "event": "notice.read",
            "data": {"id": notice.pk, "read_at": selectors.iso_time(receipt.read_at)},
        }
    ]
