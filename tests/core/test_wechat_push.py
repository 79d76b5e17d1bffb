"""/api/v1/wechat/push/: WeChat's signed pushes, the image verdicts they carry, and the fake's side."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.core import moderation
from backend.core.models import ContentCheck
from backend.core.wechat import WeChatClient, WeChatError
from backend.members import services
from devtools.fake_wechat import FAILED_MEDIA_MARKER, REVIEW_MARKER, RISKY_MARKER, FakeWeChat
from tests.core.moderation_helpers import PUSH, checks_of, image, push_all, run_retries, with_openid

pytestmark = pytest.mark.django_db

Status = ContentCheck.Status


@pytest.fixture
def author(resident):
    return with_openid(resident, "bob")


def demand_with_photo(user, community, name="photo.jpg"):
    photo = image(user, name)
    demand = services.file_demand(by=user, kind="wish", community=community, title="需要轮椅", photos=[photo])
    return demand, photo


def media_check(demand) -> ContentCheck:
    return next(c for c in checks_of(demand) if c.kind == "media")


def sent(capture, user, community, name="photo.jpg"):
    with capture(execute=True):
        demand, _photo = demand_with_photo(user, community, name)
    return demand


def post_push(api, query: dict, body) -> object:
    from urllib.parse import urlencode

    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.post(f"{PUSH}?{urlencode(query)}", data=payload, content_type="application/json")


@pytest.mark.parametrize(
    ("name", "status", "suggest", "label"),
    [
        ("photo.jpg", Status.PASSED, "pass", 100),
        (f"{RISKY_MARKER}.jpg", Status.REJECTED, "risky", 20002),
        (f"{REVIEW_MARKER}.jpg", Status.REVIEW, "review", 21000),
    ],
)
def test_the_pushed_verdict_settles_the_image(
    content_checks, api, author, community, name, status, suggest, label, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community, name)
    assert media_check(demand).status == Status.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        assert push_all(api, content_checks) == [200]
    check = media_check(demand)
    assert (check.status, check.suggest, check.label, check.reason) == (status, suggest, label, "wechat")
    assert moderation.is_held(demand) == (status != Status.PASSED)


def test_the_endpoint_answers_success_in_plain_text(
    content_checks, api, author, community, django_capture_on_commit_callbacks
):
    sent(django_capture_on_commit_callbacks, author, community)
    ((query, body),) = content_checks.take_pushes()
    response = post_push(api, query, body)
    assert response.status_code == 200
    assert response.content == b"success" and response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "spoil",
    [
        lambda q: {**q, "signature": "0" * 40},
        lambda q: {k: v for k, v in q.items() if k != "signature"},
        lambda q: {**q, "nonce": q["nonce"] + "1"},
        lambda q: {**q, "timestamp": str(int(q["timestamp"]) + 1)},
        lambda q: {},
    ],
    ids=["wrong", "missing", "other-nonce", "other-timestamp", "unsigned"],
)
def test_a_bad_signature_is_refused_and_nothing_written(
    content_checks, api, author, community, spoil, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    before = media_check(demand)
    ((query, body),) = content_checks.take_pushes()
    response = post_push(api, spoil(query), body)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    after = media_check(demand)
    assert (after.status, after.updated_at) == (before.status, before.updated_at)


def test_a_push_signed_with_another_token_is_refused(
    content_checks, api, author, community, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    ((_query, body),) = content_checks.take_pushes()
    response = post_push(api, FakeWeChat.signed_query("someone-elses-token"), body)
    assert response.status_code == 403
    assert media_check(demand).status == Status.PENDING


def test_without_a_token_every_push_is_refused(
    settings, content_checks, api, author, community, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    settings.WECHAT_PUSH_TOKEN = ""
    ((_query, body),) = content_checks.take_pushes()
    assert post_push(api, FakeWeChat.signed_query(""), body).status_code == 403
    assert media_check(demand).status == Status.PENDING


def test_the_handshake_echoes_only_when_signed(content_checks, api):
    query = FakeWeChat.signed_query(content_checks.push_token)
    response = api.get(PUSH, {**query, "echostr": "4711abc"})
    assert response.status_code == 200 and response.content == b"4711abc"
    bad = api.get(PUSH, {**query, "signature": "f" * 40, "echostr": "4711abc"})
    assert bad.status_code == 403 and bad.json()["code"] == "permission_denied"
    assert api.get(PUSH).status_code == 403


def test_a_repeated_push_changes_nothing(content_checks, api, author, community, django_capture_on_commit_callbacks):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    ((query, body),) = content_checks.take_pushes()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_push(api, query, body).status_code == 200
    settled = media_check(demand)
    assert post_push(api, FakeWeChat.signed_query(content_checks.push_token), body).status_code == 200
    assert media_check(demand).updated_at == settled.updated_at


def test_other_events_and_unknown_traces_are_acknowledged_and_ignored(content_checks, api):
    token = content_checks.push_token
    other = {"MsgType": "event", "Event": "subscribe_msg_popup_event", "List": []}
    assert post_push(api, FakeWeChat.signed_query(token), other).status_code == 200
    stray = {
        "MsgType": "event",
        "Event": "wxa_media_check",
        "trace_id": "nobody-knows",
        "errcode": 0,
        "result": {"suggest": "risky"},
    }
    assert post_push(api, FakeWeChat.signed_query(token), stray).status_code == 200
    assert not ContentCheck.objects.exists()


def test_a_verdict_for_another_mini_program_is_ignored(
    content_checks, api, author, community, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    ((query, body),) = content_checks.take_pushes()
    event = {**json.loads(body), "appid": "wx-some-other-app"}
    assert post_push(api, query, event).status_code == 200
    assert media_check(demand).status == Status.PENDING


@pytest.mark.parametrize(
    ("body", "query", "code"),
    [
        (b"<xml></xml>", {}, "parse_error"),
        (b"[1, 2]", {}, "parse_error"),
        (b"{}", {"encrypt_type": "aes"}, "validation_error"),
    ],
)
def test_what_we_cannot_read_is_a_400(content_checks, api, body, query, code):
    response = post_push(api, {**FakeWeChat.signed_query(content_checks.push_token), **query}, body)
    assert response.status_code == 400 and response.json()["code"] == code


def test_a_superseded_trace_does_not_settle_the_image_sent_again(
    content_checks, api, author, community, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    ((old_query, old_body),) = content_checks.take_pushes()
    assert run_retries(after=timedelta(minutes=61)) == 1
    assert post_push(api, old_query, old_body).status_code == 200
    assert media_check(demand).status == Status.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        assert push_all(api, content_checks) == [200]
    assert media_check(demand).status == Status.PASSED


def test_a_check_wechat_could_not_make_is_sent_again_at_the_next_sweep(
    content_checks, api, author, community, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community, f"{FAILED_MEDIA_MARKER}.jpg")
    assert push_all(api, content_checks) == [200]
    check = media_check(demand)
    assert check.status == Status.PENDING and check.next_attempt_at <= timezone.now()
    assert run_retries(after=timedelta(seconds=1)) == 1
    assert len(content_checks.calls_to("/wxa/media_check_async")) == 2


@pytest.mark.django_db(transaction=True)
def test_the_fake_pushes_to_a_running_server(content_checks, live_server, resident, community):
    """End to end: the fake posts the signed event over HTTP to the server, as WeChat does."""
    author = with_openid(resident, "carol")
    content_checks.push_url = f"{live_server.url}{PUSH}"
    demand, _photo = demand_with_photo(author, community, f"{RISKY_MARKER}.jpg")
    assert media_check(demand).status == Status.PENDING
    assert content_checks.deliver_pushes() == [200]
    assert media_check(demand).status == Status.REJECTED


# The fake's media_check_async, as WeChat answers it ----------------------------------------------


def test_media_check_async_answers_a_trace_id(content_checks):
    trace_id = WeChatClient().media_check_async("o-openid", "https://example.org/a.jpg", 3)
    ((_query, body),) = content_checks.take_pushes()
    event = json.loads(body)
    assert event["trace_id"] == trace_id and event["Event"] == "wxa_media_check" and event["version"] == 2
    assert event["result"] == {"suggest": "pass", "label": "100"} and event["FromUserName"] == "o-openid"


@pytest.mark.parametrize(
    ("openid", "url", "scene", "errcode"),
    [
        ("err-61010", "https://example.org/a.jpg", 3, 61010),
        ("err--1", "https://example.org/a.jpg", 3, -1),
        ("o-openid", "ftp://example.org/a.jpg", 3, 47001),
        ("o-openid", "https://example.org/a.jpg", 7, 47001),
    ],
)
def test_media_check_async_errors_are_wechats(content_checks, openid, url, scene, errcode):
    with pytest.raises(WeChatError) as failure:
        WeChatClient().media_check_async(openid, url, scene)
    assert failure.value.errcode == errcode
    assert content_checks.take_pushes() == []


# Replay: a signature never expires by itself ------------------------------------------------------


def test_a_replayed_push_is_refused(content_checks, api, author, community, django_capture_on_commit_callbacks):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    ((query, body),) = content_checks.take_pushes()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_push(api, query, body).status_code == 200
    settled = media_check(demand)
    again = post_push(api, query, body)
    assert again.status_code == 403 and again.json()["code"] == "permission_denied"
    assert media_check(demand).updated_at == settled.updated_at
    # The handshake too: a nonce is good once.
    handshake = FakeWeChat.signed_query(content_checks.push_token)
    assert api.get(PUSH, {**handshake, "echostr": "1"}).status_code == 200
    assert api.get(PUSH, {**handshake, "echostr": "1"}).status_code == 403


@pytest.mark.parametrize("offset", [-310, 310, -86400 * 365])
def test_a_timestamp_outside_five_minutes_is_refused(content_checks, api, offset):
    stamp = str(int(time.time()) + offset)
    query = FakeWeChat.signed_query(content_checks.push_token, timestamp=stamp)
    response = api.get(PUSH, {**query, "echostr": "1"})
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


@pytest.mark.parametrize("stamp", ["-5", "1e9", "１７００００００００", "now"])
def test_a_timestamp_that_is_not_a_number_is_refused(content_checks, api, stamp):
    query = FakeWeChat.signed_query(content_checks.push_token, timestamp=stamp)
    assert api.get(PUSH, {**query, "echostr": "1"}).status_code == 403


def test_a_timestamp_inside_the_window_is_accepted(content_checks, api):
    query = FakeWeChat.signed_query(content_checks.push_token, timestamp=str(int(time.time()) - 290))
    assert api.get(PUSH, {**query, "echostr": "1"}).status_code == 200


@pytest.mark.parametrize(
    "spoil",
    [
        lambda event: {**event, "result": {**event["result"], "label": -1}},
        lambda event: {**event, "result": {**event["result"], "label": 2**70}},
        lambda event: {**event, "result": {**event["result"], "label": float("inf")}},
        lambda event: {**event, "result": {**event["result"], "suggest": ["pass"]}},
        lambda event: {**event, "errcode": float("inf")},
        lambda event: {**event, "trace_id": "\ud800"},
        lambda event: {**event, "trace_id": "t" * 500},
    ],
    ids=["negative-label", "huge-label", "infinite-label", "list-suggest", "infinite-errcode", "surrogate", "long"],
)
def test_a_signed_push_with_values_no_column_holds_answers_success_not_500(
    content_checks, api, author, community, spoil, django_capture_on_commit_callbacks
):
    demand = sent(django_capture_on_commit_callbacks, author, community)
    ((query, body),) = content_checks.take_pushes()
    event = spoil(json.loads(body))
    response = post_push(api, query, json.dumps(event).encode())
    # Infinity is not JSON and a lone surrogate no text: the parser refuses those bodies in the error
    # format before the push is read; the rest are read and answered "success".
    if any(token in json.dumps(event) for token in ("Infinity", "\\ud800")):
        assert response.status_code == 400 and response.json()["code"] in {"parse_error", "validation_error"}
    else:
        assert response.status_code == 200
    check = media_check(demand)
    # Stored as WeChat's verdict without the label, or left for the next attempt: never a broken row.
    assert check.label is None
