"""The console's notices: staff send inside their scope and see only their own places' notices."""

from __future__ import annotations

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from backend.core.events import Audience
from backend.notices import services
from backend.notices.models import Notice, NoticeReceipt
from tests import factories

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
            "audience_text": str(community.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    notice = Notice.objects.get()
    assert (notice.sender, notice.community, notice.recipient_count) == (secretary, community, 2)
    assert set(notice.receipts.values_list("user_id", flat=True)) == {secretary.pk, resident.pk}


@pytest.mark.parametrize(
    ("kind", "text"),
    [("community", "OTHER"), ("community", "abc"), ("community", ""), ("street", "STREET"), ("users", "STRANGER")],
)
def test_the_console_refuses_audiences_outside_scope_and_writes_nothing(
    client, secretary, community, other_community, kind, text
):
    stranger = factories.UserFactory(community=other_community)
    text = {"OTHER": str(other_community.pk), "STREET": str(community.street_id), "STRANGER": str(stranger.pk)}.get(
        text, text
    )
    client.force_login(secretary)
    response = client.post(
        reverse(ADD), {"title": "t", "body": "b", "kind": "announcement", "audience_kind": kind, "audience_text": text}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["audience_text"]
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
