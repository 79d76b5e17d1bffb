"""WeChat subscribe messages for recipients without an open socket, against the fake WeChat server."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from backend.core.events import Audience
from backend.core.wechat import WeChatClient, WeChatError
from backend.notices import presence, services, subscribe, tasks
from backend.notices.models import Notice, SubscribeConsent, SubscribeDelivery
from tests import factories

pytestmark = pytest.mark.django_db

SEND_PATH = "/cgi-bin/message/subscribe/send"
LONG_TITLE = "关于开展二〇二六年度社区志愿服务星级评定及表彰活动的通知"


@pytest.fixture
def secretary(community):
    return factories.staff_of(community)


def person(community, openid: str | None = "o-resident-0001", consents: int = 1, template: str = "notice-default"):
    user = factories.UserFactory(community=community, wechat_openid=openid)
    if consents:
        SubscribeConsent.objects.create(user=user, template_id=template, remaining=consents, accepted_total=consents)
    return user


def remaining(user, template: str = "notice-default") -> int:
    return SubscribeConsent.objects.get(user=user, template_id=template).remaining


def publish(sender, audience, capture, title: str = LONG_TITLE, kind: str = "announcement") -> Notice:
    with capture(execute=True):
        return services.create_notice(sender=sender, title=title, body="请各位居民周知。", kind=kind, audience=audience)


def test_an_offline_recipient_with_a_consent_gets_one_message(
    fake_wechat, secretary, community, django_capture_on_commit_callbacks
):
    resident = person(community)
    notice = publish(secretary, Audience.community(community), django_capture_on_commit_callbacks)

    (message,) = fake_wechat.sent_messages
    assert message["touser"] == "o-resident-0001"
    assert message["template_id"] == "notice-default"
    assert message["page"] == f"pages/notices/detail?id={notice.pk}"
    title = message["data"]["thing1"]["value"]
    assert len(title) == 20 and title.endswith("…") and LONG_TITLE.startswith(title[:-1])
    assert message["data"]["thing2"]["value"] == secretary.real_name
    local = timezone.localtime(notice.created_at)
    assert message["data"]["time3"]["value"] == f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"

    delivery = SubscribeDelivery.objects.get()
    assert (delivery.user, delivery.status, delivery.attempts, delivery.errcode) == (resident, "sent", 1, None)
    assert remaining(resident) == 0


def test_nobody_is_messaged_who_is_online_without_consent_without_wechat_or_the_sender(
    fake_wechat, secretary, community, django_capture_on_commit_callbacks
):
    online = person(community, openid="o-online")
    presence.connected(online.pk)
    person(community, openid="o-no-consent", consents=0)
    person(community, openid="o-other-template", template="notice-activity")
    person(community, openid=None)
    secretary.wechat_openid = "o-secretary"
    secretary.save()
    SubscribeConsent.objects.create(user=secretary, template_id="notice-default", remaining=1)

    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks)

    assert fake_wechat.sent_messages == []
    assert not SubscribeDelivery.objects.exists()
    assert remaining(online) == 1


def test_the_kind_picks_the_template(fake_wechat, secretary, community, django_capture_on_commit_callbacks):
    resident = person(community, template="notice-activity")
    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks, kind="activity")
    (message,) = fake_wechat.sent_messages
    assert message["template_id"] == "notice-activity"
    assert message["data"]["thing2"]["value"] == "请各位居民周知。"
    assert remaining(resident, "notice-activity") == 0


def test_a_kind_without_a_template_sends_none(
    fake_wechat, settings, secretary, community, django_capture_on_commit_callbacks
):
    settings.WECHAT_SUBSCRIBE_TEMPLATES = {**settings.WECHAT_SUBSCRIBE_TEMPLATES, "announcement": None}
    person(community)
    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks)
    assert fake_wechat.sent_messages == []


def test_43101_spends_the_consent_and_is_not_retried(
    fake_wechat, secretary, community, django_capture_on_commit_callbacks
):
    refused = person(community, openid="err-43101", consents=3)
    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks)
    delivery = SubscribeDelivery.objects.get()
    assert (delivery.status, delivery.errcode, delivery.attempts) == ("refused", 43101, 1)
    assert len(fake_wechat.calls_to(SEND_PATH)) == 1
    # WeChat says none are left, whatever the client reported: our count follows WeChat.
    assert remaining(refused) == 0


def test_47003_bad_template_data_fails_once_and_gives_the_consent_back(
    fake_wechat, settings, secretary, community, django_capture_on_commit_callbacks
):
    # An `amount` key has no length we cut to; the fake refuses a value over its limit, as WeChat does.
    settings.WECHAT_SUBSCRIBE_TEMPLATES = {
        "default": {"template_id": "notice-default", "page": None, "fields": {"amount1": "title", "thing2": "title"}}
    }
    resident = person(community)
    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks, title="长" * 40)
    delivery = SubscribeDelivery.objects.get()
    assert (delivery.status, delivery.errcode, delivery.attempts) == ("failed", 47003, 1)
    assert fake_wechat.sent_messages == []
    assert remaining(resident) == 1


def test_system_busy_is_retried_and_then_sent_once(
    fake_wechat, monkeypatch, secretary, community, django_capture_on_commit_callbacks
):
    resident = person(community, consents=2)
    real_send = WeChatClient.send_subscribe_message
    calls = []

    def busy_once(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise WeChatError(errcode=-1)
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(WeChatClient, "send_subscribe_message", busy_once)
    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks)

    delivery = SubscribeDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.errcode) == ("sent", 2, None)
    assert len(fake_wechat.sent_messages) == 1
    assert remaining(resident) == 1, "one message spends one consent, however many attempts it took"


def test_system_busy_every_time_gives_up_after_the_last_attempt(
    fake_wechat, settings, secretary, community, django_capture_on_commit_callbacks
):
    settings.NOTICES_SUBSCRIBE_MAX_ATTEMPTS = 3
    resident = person(community, openid="err--1")
    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks)
    delivery = SubscribeDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.errcode) == ("failed", 3, -1)
    assert len(fake_wechat.calls_to(SEND_PATH)) == 3
    assert remaining(resident) == 1


def test_an_unreachable_wechat_is_retried_like_a_timeout(
    settings, secretary, community, django_capture_on_commit_callbacks
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.WECHAT_API_BASE = f"http://127.0.0.1:{port}"
    settings.NOTICES_SUBSCRIBE_MAX_ATTEMPTS = 2
    resident = person(community)
    publish(secretary, Audience.community(community), django_capture_on_commit_callbacks)
    delivery = SubscribeDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.errcode) == ("failed", 2, None)
    assert remaining(resident) == 1


def test_a_retry_is_deferred_on_a_backend_that_can_wait(fake_wechat, settings, secretary, community):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    resident = person(community, openid="err--1")
    notice = services.create_notice(sender=secretary, title="t", body="b", audience=Audience.user(resident))
    (delivery_id,) = services.plan_subscribe_deliveries(notice_id=notice.pk)
    before = timezone.now()

    assert tasks.send_subscribe_message.call(delivery_id) == "retrying"

    delivery = SubscribeDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("retrying", 1)
    (queued,) = tasks.send_subscribe_message.get_backend().results
    assert queued.args == [delivery_id]
    assert queued.task.run_after == delivery.next_attempt_at
    assert before + timedelta(seconds=25) < queued.task.run_after < before + timedelta(seconds=60)


def test_sending_twice_is_impossible(fake_wechat, settings, secretary, community):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    resident = person(community, consents=5)
    notice = services.create_notice(sender=secretary, title="t", body="b", audience=Audience.user(resident))
    planned = services.plan_subscribe_deliveries(notice_id=notice.pk)
    assert services.plan_subscribe_deliveries(notice_id=notice.pk) == planned, "planning again adds nobody"

    assert tasks.send_subscribe_message.call(planned[0]) == "sent"
    assert tasks.send_subscribe_message.call(planned[0]) == "not_claimed"
    assert services.plan_subscribe_deliveries(notice_id=notice.pk) == []
    assert len(fake_wechat.sent_messages) == 1
    assert remaining(resident) == 4


def test_a_notice_read_before_its_message_goes_is_not_sent(fake_wechat, settings, secretary, community):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    resident = person(community)
    notice = services.create_notice(sender=secretary, title="t", body="b", audience=Audience.user(resident))
    (delivery_id,) = services.plan_subscribe_deliveries(notice_id=notice.pk)
    services.mark_read(user=resident, notice=notice)
    assert tasks.send_subscribe_message.call(delivery_id) == "skipped"
    assert fake_wechat.sent_messages == []
    assert remaining(resident) == 1


def test_the_last_consent_goes_to_one_notice_only(fake_wechat, settings, secretary, community):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    resident = person(community, consents=1)
    planned = []
    for title in ("一", "二"):
        notice = services.create_notice(sender=secretary, title=title, body="b", audience=Audience.user(resident))
        planned += services.plan_subscribe_deliveries(notice_id=notice.pk)
    assert [tasks.send_subscribe_message.call(pk) for pk in planned] == ["sent", "skipped"]
    assert len(fake_wechat.sent_messages) == 1


# --- fitting values to WeChat's limits -------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("thing1", "短标题", "短标题"),
        ("thing1", "一二三四五六七八九十一二三四五六七八九十", "一二三四五六七八九十一二三四五六七八九十"),
        ("thing1", "一二三四五六七八九十一二三四五六七八九十一", "一二三四五六七八九十一二三四五六七八九…"),
        ("thing2", "第一行\n第二行\t  结束", "第一行 第二行 结束"),
        ("phrase3", "已经通过审核", "已经通过审"),
        ("name4", "欧阳建国欧阳建国欧阳建国", "欧阳建国欧阳建国欧阳"),
        ("name4", "Alexander Hamilton-Smith", "Alexander Hamilton-S"),
        ("character_string5", "A" * 40, "A" * 32),
        ("number6", "1" * 40, "1" * 32),
        ("letter7", "a" * 33, "a" * 32),
        ("symbol8", "+-*/%=", "+-*/%"),
        ("phone_number9", "+86 139 0000 0000 转 123", "+86 139 0000 0000"),
        ("car_number10", "湘F·12345学", "湘F·12345"),
        ("thing11", "", "-"),
        ("thing12", None, "-"),
    ],
)
def test_values_are_cut_to_wechats_limits(key, value, expected):
    assert subscribe.fit_value(key, value) == expected


def test_times_and_dates_are_written_the_way_wechat_reads_them():
    moment = datetime(2026, 3, 5, 1, 7, tzinfo=timezone.get_fixed_timezone(0))
    assert subscribe.fit_value("time2", moment) == "2026年3月5日 09:07"
    assert subscribe.fit_value("date3", moment) == "2026年3月5日"


def test_the_template_settings_are_checked(settings):
    assert subscribe.check_templates() == []
    settings.WECHAT_SUBSCRIBE_TEMPLATES = {
        "default": {"template_id": "t", "fields": {"thing1": "title", "colour2": "title", "thing3": "password"}},
        "activity": {"fields": {"thing1": "title"}},
        "appeal": {"template_id": "a", "fields": {}},
        "system": None,
    }
    assert sorted(problem.id for problem in subscribe.check_templates()) == [
        "notices.E001",
        "notices.E002",
        "notices.E003",
        "notices.E004",
    ]
