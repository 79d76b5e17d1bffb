"""The console's notices: staff send inside their scope and see only their own places' notices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from backend.core.events import Audience
from backend.notices import services
from backend.notices.models import Notice, NoticeReceipt
from tests import factories
from tests.activities.factories import ActivityFactory, enrol

pytestmark = pytest.mark.django_db

ADD = "admin:notices_notice_add"


@pytest.fixture
def secretary(community):
    return factories.staff_of(community)


def listed(response) -> set[str]:
    return {str(obj) for obj in response.context["cl"].result_list}


def test_a_secretary_sends_to_their_community_from_the_console(client, secretary, community):
    resident = factories.UserFactory(community=community)
    client.force_login(secretary)
    assert client.get(reverse(ADD)).status_code == 200
    response = client.post(
        reverse(ADD),
        {
            "title": "消防演练",
            "body": "周五下午三点在小区广场。",
            "kind": "announcement",
            "audience_kind": "community",
            "community": str(community.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    notice = Notice.objects.get()
    assert (notice.sender, notice.community, notice.recipient_count) == (secretary, community, 2)
    assert set(notice.receipts.values_list("user_id", flat=True)) == {secretary.pk, resident.pk}


def test_the_send_form_offers_places_and_people_by_name_within_scope(client, secretary, community, other_community):
    factories.GridFactory(community=community, name="第一网格")
    factories.GridFactory(community=other_community, name="外社区网格")
    factories.UserFactory(community=community, real_name="王芳", phone="13800001234")
    factories.UserFactory(community=other_community, real_name="外社区居民")
    client.force_login(secretary)
    html = client.get(reverse(ADD)).content.decode()
    assert "范围 id" not in html
    assert f"{community.name}·第一网格" in html and "外社区网格" not in html
    assert "王芳（尾号 1234）" in html and "外社区居民" not in html
    assert other_community.name not in html


def test_a_notice_to_a_grid_chosen_by_name(client, secretary, community):
    grid = factories.GridFactory(community=community, name="第一网格")
    in_grid = factories.UserFactory(community=community)
    factories.grant(in_grid, Role.GRID_WORKER, grid)
    factories.UserFactory(community=community)
    client.force_login(secretary)
    response = client.post(
        reverse(ADD),
        {"title": "停水通知", "body": "周六停水。", "kind": "announcement", "audience_kind": "grid", "grid": grid.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    notice = Notice.objects.get()
    assert notice.audience_kind == "grid"
    assert in_grid.pk in set(notice.receipts.values_list("user_id", flat=True))


def test_a_notice_to_an_activitys_participants_chosen_by_name(client, secretary, community, other_community):
    activity = ActivityFactory(community=community, title="重阳敬老")
    ActivityFactory(community=other_community, title="别的社区活动")
    ActivityFactory(community=community, title="草稿活动", status="draft")
    signed_up = enrol(activity).user
    client.force_login(secretary)
    html = client.get(reverse(ADD)).content.decode()
    assert "重阳敬老" in html and "别的社区活动" not in html and "草稿活动" not in html
    response = client.post(
        reverse(ADD),
        {
            "title": "集合时间",
            "body": "b",
            "kind": "announcement",
            "audience_kind": "activity",
            "activity": activity.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert signed_up.pk in set(Notice.objects.get().receipts.values_list("user_id", flat=True))


def test_a_notice_to_people_chosen_by_name(client, secretary, community):
    first, second = factories.UserFactory(community=community), factories.UserFactory(community=community)
    factories.UserFactory(community=community)
    client.force_login(secretary)
    response = client.post(
        reverse(ADD),
        {
            "title": "请来社区",
            "body": "b",
            "kind": "announcement",
            "audience_kind": "users",
            "users": [first.pk, second.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(Notice.objects.get().receipts.values_list("user_id", flat=True)) == {first.pk, second.pk}


@pytest.mark.parametrize(
    ("kind", "picker", "value"),
    [
        ("community", "community", "OTHER"),
        ("community", "community", "abc"),
        ("community", "community", ""),
        ("street", "street", "STREET"),
        ("users", "users", "STRANGER"),
        ("grid", "grid", "FOREIGN_GRID"),
        ("grid", "grid", ""),
        ("activity", "activity", "FOREIGN_ACTIVITY"),
        ("activity", "activity", ""),
    ],
)
def test_the_console_refuses_audiences_outside_scope_and_writes_nothing(
    client, secretary, community, other_community, kind, picker, value
):
    stranger = factories.UserFactory(community=other_community)
    foreign_grid = factories.GridFactory(community=other_community)
    foreign_activity = ActivityFactory(community=other_community)
    value = {
        "FOREIGN_ACTIVITY": str(foreign_activity.pk),
        "OTHER": str(other_community.pk),
        "STREET": str(community.street_id),
        "STRANGER": str(stranger.pk),
        "FOREIGN_GRID": str(foreign_grid.pk),
    }.get(value, value)
    client.force_login(secretary)
    response = client.post(
        reverse(ADD), {"title": "t", "body": "b", "kind": "announcement", "audience_kind": kind, picker: value}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[picker]
    assert not Notice.objects.exists()
    assert not NoticeReceipt.objects.exists()


def test_staff_see_their_places_notices_and_nothing_else(client, secretary, community, other_community):
    services.create_notice(sender=secretary, title="本社区", body="b", audience=Audience.community(community))
    other = factories.staff_of(other_community)
    elsewhere = services.create_notice(
        sender=other, title="别的社区", body="b", audience=Audience.community(other_community)
    )
    resident = factories.UserFactory(community=community)
    services.create_notice(sender=secretary, title="个人", body="b", audience=Audience.user(resident))

    client.force_login(secretary)
    assert listed(client.get(reverse("admin:notices_notice_changelist"))) == {"本社区", "个人"}
    response = client.get(reverse("admin:notices_notice_change", args=[elsewhere.pk]))
    assert response.status_code == 302, "a notice outside scope reads as missing"
    receipts = client.get(reverse("admin:notices_noticereceipt_changelist")).context["cl"].result_list
    assert {r.notice.title for r in receipts} == {"本社区", "个人"}

    colleague = factories.staff_of(community, Role.COMMUNITY_STAFF)
    client.force_login(colleague)
    assert listed(client.get(reverse("admin:notices_notice_changelist"))) == {"本社区"}


def test_a_sent_notice_cannot_be_edited_and_deliveries_are_for_superusers(client, secretary, community):
    notice = services.create_notice(sender=secretary, title="已发", body="b", audience=Audience.community(community))
    client.force_login(secretary)
    response = client.post(reverse("admin:notices_notice_change", args=[notice.pk]), {"title": "改过"})
    assert response.status_code == 403
    notice.refresh_from_db()
    assert notice.title == "已发"
    assert client.get(reverse("admin:notices_subscribedelivery_changelist")).status_code == 403
    root = factories.UserFactory(is_superuser=True, is_staff=True)
    client.force_login(root)
    assert client.get(reverse("admin:notices_subscribedelivery_changelist")).status_code == 200
    assert client.get(reverse("admin:notices_notice_change", args=[notice.pk])).status_code == 200
