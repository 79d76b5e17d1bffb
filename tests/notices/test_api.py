"""The notices API: inbox paging, sending, read marks, receipts, consents — and every refusal."""

from __future__ import annotations

import pytest

from backend.accounts.models import Role
from backend.core.events import Audience
from backend.notices import live, services
from backend.notices.models import Notice, NoticeReceipt, SubscribeConsent
from tests import factories
from tests.notices.helpers import LayerProbe, make_upload, use_private_channel_layer

pytestmark = pytest.mark.django_db

URL = "/api/v1/notices/"


@pytest.fixture
def secretary(community):
    return factories.staff_of(community)


@pytest.fixture
def neighbour(community):
    return factories.UserFactory(community=community)


@pytest.fixture
def mine(community):
    """A resident of the community: the inbox the tests read."""
    return factories.UserFactory(community=community)


def notify(sender, user, n: int, **kwargs) -> list[Notice]:
    return [
        services.create_notice(sender=sender, title=f"通知{i}", body="正文", audience=Audience.user(user), **kwargs)
        for i in range(n)
    ]


def ids_of(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def assert_nothing_written(before: tuple[int, int]) -> None:
    assert (Notice.objects.count(), NoticeReceipt.objects.count()) == before


# --- the inbox --------------------------------------------------------------------------------


def test_anonymous_callers_are_refused(api):
    for response in (
        api.get(URL),
        api.post(URL, {}),
        api.get(URL + "unread-count/"),
        api.post(URL + "1/read/"),
        api.post(URL + "subscriptions/", {}),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_my_notices_newest_first_then_older_by_before_id(as_user, secretary, mine, neighbour):
    notices = notify(secretary, mine, 5)
    notify(secretary, neighbour, 2)
    client = as_user(mine)

    first = client.get(URL, {"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    assert ids_of(first) == [notices[4].pk, notices[3].pk]
    assert body["count"] == 5
    assert body["previous"] is None
    assert body["results"][0]["read_at"] is None
    assert f"before_id={notices[3].pk}" in body["next"]

    second = client.get(body["next"])
    assert ids_of(second) == [notices[2].pk, notices[1].pk]
    third = client.get(second.json()["next"])
    assert ids_of(third) == [notices[0].pk]
    assert third.json()["next"] is None
    assert third.json()["count"] == 1


def test_after_id_gives_what_i_missed_oldest_first(as_user, secretary, mine):
    notices = notify(secretary, mine, 5)
    client = as_user(mine)
    page = client.get(URL, {"after_id": notices[0].pk, "limit": 3})
    assert ids_of(page) == [n.pk for n in notices[1:4]]
    assert page.json()["count"] == 4
    rest = client.get(page.json()["next"])
    assert ids_of(rest) == [notices[4].pk]
    assert rest.json()["next"] is None
    assert ids_of(client.get(URL, {"after_id": notices[1].pk, "before_id": notices[4].pk})) == [
        notices[2].pk,
        notices[3].pk,
    ]
    assert client.get(URL, {"after_id": notices[4].pk}).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


@pytest.mark.parametrize(
    "params",
    [
        {"after_id": "x"},
        {"after_id": -1},
        {"before_id": 0},
        {"page_size": 101},
        {"limit": 0},
        {"after_id": 2**64},
    ],
)
def test_bad_paging_parameters_are_validation_errors(as_user, mine, params):
    response = as_user(mine).get(URL, params)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert set(response.json()["fields"]) <= set(params)


def test_the_inbox_costs_the_same_queries_however_many_notices(
    as_user, secretary, mine, community, django_assert_num_queries
):
    upload = make_upload(secretary)
    client = as_user(mine)

    def send(n):
        for i in range(n):
            services.create_notice(
                sender=secretary,
                title=f"通知{i}",
                body="正文",
                audience=Audience.community(community),
                attachments=[upload.pk],
            )

    send(2)
    # The page with its count and the caller's account (notice and sender joined), the attachments.
    with django_assert_num_queries(2):
        assert len(client.get(URL).json()["results"]) == 2
    send(12)
    with django_assert_num_queries(2):
        assert len(client.get(URL).json()["results"]) == 14
    send(30)
    with django_assert_num_queries(2):
        assert len(client.get(URL, {"after_id": 0, "page_size": 100}).json()["results"]) == 44
    # The count with the caller's account, whatever the count.
    with django_assert_num_queries(1):
        assert client.get(URL + "unread-count/").json() == {"count": 44}


def test_an_empty_inbox_answers_without_the_account_read_apart(as_user, mine, django_assert_num_queries):
    client = as_user(mine)
    with django_assert_num_queries(1):
        assert client.get(URL).json() == {"count": 0, "next": None, "previous": None, "results": []}
    with django_assert_num_queries(1):
        assert client.get(URL + "unread-count/").json() == {"count": 0}


def test_a_deactivated_or_deleted_account_is_refused_with_its_token_still_valid(as_user, secretary, mine):
    notify(secretary, mine, 2)
    client = as_user(mine)
    assert client.get(URL).status_code == 200
    mine.is_active = False
    mine.save(update_fields=["is_active"])
    # The same answer as any other endpoint gives that token, before anything else (bad paging too).
    refused = client.get("/api/v1/auth/users/me/").json()
    assert refused["code"] == "token_invalid"
    for path, params in ((URL, {}), (URL, {"page_size": 2}), (URL, {"after_id": "x"}), (URL + "unread-count/", {})):
        response = client.get(path, params)
        assert (response.status_code, response.json()) == (401, refused), (path, params)

    ghost = factories.UserFactory(community=mine.community)
    ghost_client = as_user(ghost)
    ghost.delete()
    for path, params in ((URL, {}), (URL, {"limit": 0}), (URL + "unread-count/", {})):
        response = ghost_client.get(path, params)
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid"), (path, params)


def test_the_schema_names_the_inbox_reads_security_as_every_read(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    expected = paths["/api/v1/notices/{id}/"]["get"]["security"]
    assert expected == [{"jwtAuth": []}, {"cookieAuth": []}]
    assert paths[URL]["get"]["security"] == paths[URL + "unread-count/"]["get"]["security"] == expected


def test_one_notice_of_mine_and_nobody_elses(as_user, secretary, mine, neighbour):
    (notice,) = notify(secretary, mine, 1)
    assert as_user(mine).get(f"{URL}{notice.pk}/").json()["title"] == "通知0"
    response = as_user(neighbour).get(f"{URL}{notice.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert as_user(mine).get(f"{URL}{2**64}/").status_code == 404


# --- read marks and the unread count ---------------------------------------------------------


def test_read_is_idempotent_and_the_unread_count_follows(as_user, secretary, mine):
    notices = notify(secretary, mine, 3)
    client = as_user(mine)
    assert client.get(URL + "unread-count/").json() == {"count": 3}

    first = client.post(f"{URL}{notices[0].pk}/read/")
    assert first.status_code == 200
    assert first.json()["id"] == notices[0].pk
    again = client.post(f"{URL}{notices[0].pk}/read/")
    assert again.json()["read_at"] == first.json()["read_at"]
    assert client.get(URL + "unread-count/").json() == {"count": 2}
    listed = {row["id"]: row["read_at"] for row in client.get(URL).json()["results"]}
    assert listed[notices[0].pk] == first.json()["read_at"]
    assert listed[notices[1].pk] is None


def test_reading_someone_elses_notice_is_not_found_and_changes_nothing(as_user, secretary, mine, neighbour):
    (notice,) = notify(secretary, mine, 1)
    response = as_user(neighbour).post(f"{URL}{notice.pk}/read/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert NoticeReceipt.objects.get().read_at is None
    assert as_user(neighbour).post(f"{URL}999999/read/").status_code == 404


# --- sending ----------------------------------------------------------------------------------


def test_staff_send_to_their_community(as_user, secretary, mine, neighbour, community):
    upload = make_upload(secretary)
    response = as_user(secretary).post(
        URL,
        {
            "title": "垃圾分类宣传",
            "body": "本周六上午在社区广场开展垃圾分类宣传。",
            "kind": "activity",
            "attachments": [upload.pk],
            "audience": {"community": community.pk},
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "activity"
    assert body["audience"] == {"kind": "community", "ids": [community.pk]}
    assert body["sender"]["id"] == secretary.pk
    assert [a["id"] for a in body["attachments"]] == [upload.pk]
    notice = Notice.objects.get()
    assert set(notice.receipts.values_list("user_id", flat=True)) == {secretary.pk, mine.pk, neighbour.pk}
    assert ids_of(as_user(mine).get(URL)) == [notice.pk]


def test_staff_send_to_named_people(as_user, secretary, mine):
    response = as_user(secretary).post(URL, {"title": "约谈", "body": "请来社区一趟", "audience": {"users": [mine.pk]}})
    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "announcement"
    assert response.json()["audience"] == {"kind": "users", "ids": []}
    assert list(NoticeReceipt.objects.values_list("user_id", flat=True)) == [mine.pk]


def test_people_without_a_staff_role_may_not_send(as_user, mine, community):
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    for user in (mine, worker):
        response = as_user(user).post(URL, {"title": "t", "body": "b", "audience": {"community": community.pk}})
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert not Notice.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "b", "audience": {"community": "C"}}, "title"),
        ({"title": "", "body": "b", "audience": {"community": "C"}}, "title"),
        ({"title": "长" * 101, "body": "b", "audience": {"community": "C"}}, "title"),
        ({"title": "t", "audience": {"community": "C"}}, "body"),
        ({"title": "t", "body": "长" * 5001, "audience": {"community": "C"}}, "body"),
        ({"title": "t", "body": "b", "kind": "system", "audience": {"community": "C"}}, "kind"),
        ({"title": "t", "body": "b", "kind": "gossip", "audience": {"community": "C"}}, "kind"),
        ({"title": "t", "body": "b"}, "audience"),
        ({"title": "t", "body": "b", "audience": "C"}, "audience"),
        ({"title": "t", "body": "b", "audience": {}}, "audience"),
        ({"title": "t", "body": "b", "audience": {"community": "C", "street": 1}}, "audience"),
        ({"title": "t", "body": "b", "audience": {"planet": 3}}, "audience"),
        ({"title": "t", "body": "b", "audience": {"community": 0}}, "audience.community"),
        ({"title": "t", "body": "b", "audience": {"community": "abc"}}, "audience.community"),
        ({"title": "t", "body": "b", "audience": {"users": []}}, "audience.users"),
        ({"title": "t", "body": "b", "audience": {"users": "1"}}, "audience.users"),
        ({"title": "t", "body": "b", "audience": {"users": [-1]}}, "audience.users.0"),
        ({"title": "t", "body": "b", "audience": {"community": "O"}}, "audience"),
        ({"title": "t", "body": "b", "audience": {"street": "S"}}, "audience"),
        ({"title": "t", "body": "b", "audience": {"users": ["X"]}}, "audience"),
        ({"title": "t", "body": "b", "audience": {"activity": 5}}, "audience"),
        ({"title": "t", "body": "b", "audience": {"community": "C"}, "attachments": "1"}, "attachments"),
        ({"title": "t", "body": "b", "audience": {"community": "C"}, "attachments": ["U"]}, "attachments"),
        ({"title": "t", "body": "b", "audience": {"community": "C"}, "attachments": [999999]}, "attachments"),
        ({"title": "t", "body": "b", "audience": {"community": "C"}, "attachments": list(range(1, 11))}, "attachments"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(as_user, secretary, community, other_community, payload, field):
    stranger = factories.UserFactory(community=other_community)
    theirs = make_upload(stranger)
    names = {"C": community.pk, "O": other_community.pk, "S": community.street_id, "X": stranger.pk, "U": theirs.pk}

    def resolve(value):
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    before = (Notice.objects.count(), NoticeReceipt.objects.count())
    response = as_user(secretary).post(URL, resolve(payload))
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["fields"], body
    assert_nothing_written(before)


def test_the_write_stands_when_the_channel_layer_is_down(
    as_user, secretary, mine, community, monkeypatch, django_capture_on_commit_callbacks
):
    def unreachable():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(live, "get_channel_layer", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(secretary).post(URL, {"title": "t", "body": "b", "audience": {"community": community.pk}})
    assert response.status_code == 201
    assert ids_of(as_user(mine).get(URL)) == [response.json()["id"]]


@pytest.fixture
def probe(settings):
    use_private_channel_layer(settings)
    listener = LayerProbe()
    yield listener
    listener.close()


def test_a_sent_notice_reaches_open_sockets(
    as_user, secretary, mine, community, probe, django_capture_on_commit_callbacks
):
    probe.listen(mine)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(secretary).post(URL, {"title": "t", "body": "b", "audience": {"community": community.pk}})
    (message,) = probe.messages(mine)
    assert message == {"type": "notice.message", "notice": response.json()}


# --- receipts ---------------------------------------------------------------------------------


@pytest.fixture
def sent(secretary, mine, neighbour, community):
    notice = services.create_notice(sender=secretary, title="t", body="b", audience=Audience.community(community))
    services.mark_read(user=mine, notice=notice)
    return notice


def test_the_sender_sees_who_read_and_who_did_not(as_user, secretary, sent, mine, neighbour):
    response = as_user(secretary).get(f"{URL}{sent.pk}/receipts/")
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["read"], body["unread"], body["count"]) == (3, 1, 2, 3)
    assert body["results"][0]["user"]["id"] == mine.pk
    assert body["results"][0]["read_at"] is not None
    assert body["results"][0]["user"]["masked_phone"] == mine.masked_phone
    unread = as_user(secretary).get(f"{URL}{sent.pk}/receipts/", {"read": "false"}).json()
    assert {row["user"]["id"] for row in unread["results"]} == {secretary.pk, neighbour.pk}
    assert unread["count"] == 2
    read = as_user(secretary).get(f"{URL}{sent.pk}/receipts/", {"read": "true"}).json()
    assert [row["user"]["id"] for row in read["results"]] == [mine.pk]
    bad = as_user(secretary).get(f"{URL}{sent.pk}/receipts/", {"read": "maybe"})
    assert bad.status_code == 400
    assert "read" in bad.json()["fields"]


def test_colleagues_and_the_street_see_receipts(as_user, sent, community, street):
    colleague = factories.staff_of(community, Role.COMMUNITY_STAFF)
    assert as_user(colleague).get(f"{URL}{sent.pk}/receipts/").status_code == 200
    assert as_user(factories.admin_of(street)).get(f"{URL}{sent.pk}/receipts/").status_code == 200


def test_receipts_are_not_found_for_anyone_else(as_user, sent, mine, other_community, community):
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    for outsider in (mine, worker, factories.staff_of(other_community), factories.admin_of(factories.StreetFactory())):
        response = as_user(outsider).get(f"{URL}{sent.pk}/receipts/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_receipts_of_a_notice_to_named_people_are_the_senders_alone(as_user, secretary, mine, community):
    (notice,) = notify(secretary, mine, 1)
    assert as_user(secretary).get(f"{URL}{notice.pk}/receipts/").status_code == 200
    colleague = factories.staff_of(community, Role.COMMUNITY_STAFF)
    assert as_user(colleague).get(f"{URL}{notice.pk}/receipts/").status_code == 404


# --- subscribe-message consents ---------------------------------------------------------------


def test_consents_accumulate_per_template(as_user, mine, settings):
    client = as_user(mine)
    assert client.get(URL + "subscriptions/").json() == {
        "subscriptions": [
            {"template_id": "notice-default", "remaining": 0},
            {"template_id": "notice-activity", "remaining": 0},
        ]
    }
    client.post(URL + "subscriptions/", {"accepted": ["notice-default"], "rejected": ["notice-activity"]})
    response = client.post(URL + "subscriptions/", {"accepted": ["notice-default", "notice-default"]})
    assert response.status_code == 200
    assert response.json()["subscriptions"][0] == {"template_id": "notice-default", "remaining": 2}
    consent = SubscribeConsent.objects.get(user=mine, template_id="notice-default")
    assert (consent.remaining, consent.accepted_total) == (2, 2)
    assert SubscribeConsent.objects.get(user=mine, template_id="notice-activity").last_rejected_at is not None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"accepted": ["someone-elses-template"]}, "accepted"),
        ({"rejected": ["nope"]}, "rejected"),
        ({"accepted": ["notice-default"], "rejected": ["notice-default"]}, "rejected"),
        ({}, "accepted"),
        ({"accepted": "notice-default"}, "accepted"),
        ({"accepted": ["x" * 65]}, "accepted.0"),
    ],
)
def test_bad_consent_reports_are_refused_and_count_nothing(as_user, mine, payload, field):
    response = as_user(mine).post(URL + "subscriptions/", payload)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]
    assert not SubscribeConsent.objects.exists()
