"""The WeChat client against the fake WeChat server: answers, error mapping, the shared token."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from django.core.cache import cache

from backend.core.wechat import WeChatClient, WeChatError
from devtools.fake_wechat import OTHER_APPID, REVIEW_MARKER, RISKY_MARKER, FakeWeChat


def test_code2session_gives_the_identity_and_hides_the_session_key(fake_wechat):
    with WeChatClient() as client:
        session = client.code2session("alice")
    assert session.openid == FakeWeChat.openid_for("alice")
    assert session.unionid == FakeWeChat.unionid_for("alice")
    assert session.session_key == fake_wechat.issued_session_keys[-1]
    assert session.session_key not in repr(session)


def test_the_same_person_gets_the_same_openid_from_a_new_code(fake_wechat):
    with WeChatClient() as client:
        first = client.code2session("bob")
        second = client.code2session("bob:2")
        other = client.code2session("carol")
    assert first.openid == second.openid != other.openid


def test_no_unionid_when_wechat_gives_none(fake_wechat):
    fake_wechat.give_unionid = False
    with WeChatClient() as client:
        assert client.code2session("dora").unionid is None


@pytest.mark.parametrize(
    ("code", "status", "error_code", "errcode"),
    [
        ("err-40029", 400, "invalid_code", 40029),
        ("err-40163", 400, "invalid_code", 40163),
        ("err-45011", 429, "wechat_rate_limited", 45011),
        ("err-40226", 403, "wechat_user_blocked", 40226),
        ("err--1", 503, "wechat_unavailable", -1),
        ("err-40999", 503, "wechat_unavailable", 40999),
        ("garbage", 503, "wechat_unavailable", None),
    ],
)
def test_errcodes_map_to_our_codes(fake_wechat, code, status, error_code, errcode):
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.code2session(code)
    assert (caught.value.status, caught.value.code, caught.value.errcode) == (status, error_code, errcode)


def test_a_code_used_twice_is_refused_as_wechat_does(fake_wechat):
    with WeChatClient() as client:
        client.code2session("erin")
        with pytest.raises(WeChatError) as caught:
            client.code2session("erin")
    assert (caught.value.code, caught.value.errcode) == ("invalid_code", 40163)


def test_a_slow_wechat_times_out_as_unavailable(fake_wechat, settings):
    settings.WECHAT_TIMEOUT = 0.3
    started = time.monotonic()
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.code2session("slow")
    assert time.monotonic() - started < 5
    assert (caught.value.status, caught.value.code, caught.value.errcode) == (503, "wechat_unavailable", None)


def test_a_delayed_call_the_client_gave_up_on_is_never_acted_on(fake_wechat, settings):
    settings.WECHAT_TIMEOUT = 0.3
    fake_wechat.delay_seconds = 1.0
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.code2session("fay")
    assert caught.value.code == "wechat_unavailable"
    time.sleep(1.2)  # the fake's delay runs out after the client left
    fake_wechat.delay_seconds = 0
    with WeChatClient() as client:
        # The first call never reached "WeChat": the code is still unused.
        assert client.code2session("fay").openid == FakeWeChat.openid_for("fay")


def test_a_delay_shorter_than_the_timeout_only_slows_the_answer(fake_wechat, settings):
    settings.WECHAT_TIMEOUT = 2
    fake_wechat.delay_seconds = 0.3
    started = time.monotonic()
    with WeChatClient() as client:
        client.code2session("gus")
    assert time.monotonic() - started >= 0.3


def test_an_unreachable_wechat_is_unavailable(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{port}"
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.code2session("alice")
    assert caught.value.code == "wechat_unavailable"


def test_without_appid_nothing_is_sent(fake_wechat, settings):
    settings.WECHAT_APPID = ""
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.code2session("alice")
    assert caught.value.code == "wechat_unavailable"
    assert fake_wechat.requests == []


def test_a_wrong_secret_is_unavailable_not_the_users_fault(fake_wechat, settings):
    settings.WECHAT_SECRET = "not-the-secret"
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.code2session("alice")
    assert (caught.value.code, caught.value.errcode) == ("wechat_unavailable", 40125)


def test_the_secret_code_and_token_stay_out_of_httpx_logs(fake_wechat, caplog):
    for name in ("", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    with WeChatClient() as client:
        client.code2session("secret-code-123")
        token = client.get_access_token()
        client.msg_sec_check(FakeWeChat.openid_for("x"), "你好", 2)
    assert "HTTP Request: GET" in caplog.text  # httpx did log the calls…
    for secret in (fake_wechat.secret, "secret-code-123", token):
        assert secret not in caplog.text  # …without what they carried


def test_access_token_is_fetched_once_and_shared_through_the_cache(fake_wechat):
    with WeChatClient() as first, WeChatClient() as second:
        token = first.get_access_token()
        second.send_subscribe_message("o-reader", "tpl-notice", {"thing1": "社区通知"})
        assert second.get_access_token() == token
    assert len(fake_wechat.token_calls) == 1
    assert fake_wechat.token_calls[0].body["force_refresh"] is False
    sent = fake_wechat.calls_to("/cgi-bin/message/subscribe/send")
    assert [r.query["access_token"] for r in sent] == [token]
    assert cache.get(WeChatClient().token_cache_key) == token


@pytest.mark.parametrize("errcode", [40001, 42001])
def test_a_rejected_token_is_refreshed_once_and_the_call_retried(fake_wechat, errcode):
    with WeChatClient() as client:
        stale = client.get_access_token()
        fake_wechat.expire_tokens(errcode)
        verdict = client.msg_sec_check(FakeWeChat.openid_for("x"), "你好", 2)
    assert verdict.suggest == "pass"
    calls = fake_wechat.token_calls
    assert [c.body["force_refresh"] for c in calls] == [False, True]
    checks = fake_wechat.calls_to("/wxa/msg_sec_check")
    assert len(checks) == 2
    assert checks[0].query["access_token"] == stale != checks[1].query["access_token"]
    assert cache.get(WeChatClient().token_cache_key) == checks[1].query["access_token"]


def test_a_token_refused_again_after_the_refresh_gives_up(fake_wechat):
    fake_wechat.reject_all_tokens = 40001
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.get_phone_number("phone-13800000000")
    assert (caught.value.code, caught.value.errcode) == ("wechat_unavailable", 40001)
    assert [c.body["force_refresh"] for c in fake_wechat.token_calls] == [False, True]
    assert len(fake_wechat.calls_to("/wxa/business/getuserphonenumber")) == 2


def test_a_token_another_process_already_refreshed_is_used_without_forcing(fake_wechat):
    # force_refresh is limited to about 20 a day: a client whose token was rejected first looks
    # whether another process has stored a new one meanwhile.
    with WeChatClient() as ours, WeChatClient() as theirs:
        stale = ours.get_access_token()
        fake_wechat.expire_tokens(42001)
        fresh = theirs.get_access_token(force_refresh=True)
        cache.set(ours.token_cache_key, stale)  # as it was when our call started

        def other_process_stores_fresh(received):
            if received.path == "/wxa/msg_sec_check":
                cache.set(ours.token_cache_key, fresh)

        fake_wechat.on_request = other_process_stores_fresh
        before = len(fake_wechat.token_calls)
        verdict = ours.msg_sec_check(FakeWeChat.openid_for("x"), "你好", 2)
    assert verdict.suggest == "pass"
    assert len(fake_wechat.token_calls) == before
    assert [c.query["access_token"] for c in fake_wechat.calls_to("/wxa/msg_sec_check")] == [stale, fresh]


def test_phone_number_with_its_watermark(fake_wechat):
    with WeChatClient() as client:
        ours = client.get_phone_number("phone-13800000000")
        theirs = client.get_phone_number("phone-wrongapp-13900000000")
    assert (ours.pure_phone_number, ours.country_code, ours.watermark_appid) == ("13800000000", "86", fake_wechat.appid)
    assert (theirs.pure_phone_number, theirs.watermark_appid) == ("13900000000", OTHER_APPID)


def test_a_phone_code_is_single_use(fake_wechat):
    with WeChatClient() as client:
        client.get_phone_number("phone-13800000000")
        with pytest.raises(WeChatError) as caught:
            client.get_phone_number("phone-13800000000")
    assert (caught.value.code, caught.value.errcode) == ("invalid_code", 40029)


def test_subscribe_message_is_sent_as_wechat_expects(fake_wechat):
    with WeChatClient() as client:
        answer = client.send_subscribe_message(
            "o-reader",
            "tpl-notice",
            {"thing1": "社区通知", "time2": {"value": "2026-03-01 09:00"}},
            page="pages/notices/detail?id=7",
        )
    assert answer["errcode"] == 0
    assert fake_wechat.sent_messages == [
        {
            "touser": "o-reader",
            "template_id": "tpl-notice",
            "data": {"thing1": {"value": "社区通知"}, "time2": {"value": "2026-03-01 09:00"}},
            "lang": "zh_CN",
            "page": "pages/notices/detail?id=7",
        }
    ]


@pytest.mark.parametrize(
    ("openid", "template_id", "data", "errcode"),
    [
        ("err-43101", "tpl-notice", {"thing1": "通知"}, 43101),
        ("o-reader", "tpl-notice", {"thing1": "这是一段远远超过二十个字符限制的活动通知标题文字"}, 47003),
        ("err-40003", "tpl-notice", {"thing1": "通知"}, 40003),
        ("o-reader", "err-40037", {"thing1": "通知"}, 40037),
        ("o-reader", "err--1", {"thing1": "通知"}, -1),
    ],
)
def test_subscribe_message_errors_carry_the_errcode(fake_wechat, openid, template_id, data, errcode):
    with WeChatClient() as client, pytest.raises(WeChatError) as caught:
        client.send_subscribe_message(openid, template_id, data)
    assert (caught.value.code, caught.value.errcode) == ("wechat_unavailable", errcode)
    assert fake_wechat.sent_messages == []


@pytest.mark.parametrize(
    ("content", "suggest"),
    [("今天的活动很好", "pass"), (f"这里有{RISKY_MARKER}", "risky"), (f"这里{REVIEW_MARKER}一下", "review")],
)
def test_msg_sec_check_verdicts(fake_wechat, content, suggest):
    with WeChatClient() as client:
        verdict = client.msg_sec_check(FakeWeChat.openid_for("x"), content, 2)
    assert verdict.suggest == suggest
    assert verdict.trace_id
    sent = fake_wechat.calls_to("/wxa/msg_sec_check")[-1].body
    assert sent == {"version": 2, "openid": FakeWeChat.openid_for("x"), "scene": 2, "content": content}
