"""The console's 内容审核 list: staff in scope decide what waits for them, never on their own content."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from backend.accounts.models import Role
from backend.core.models import ContentCheck
from backend.members import services
from backend.notices.models import NoticeReceipt
from devtools.fake_wechat import REVIEW_MARKER
from tests import factories
from tests.core.moderation_helpers import checks_of, with_openid

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:core_contentcheck_changelist")
Status = ContentCheck.Status


@pytest.fixture
def held(content_checks, resident, community, django_capture_on_commit_callbacks) -> ContentCheck:
    """A demand WeChat wants a person to look at."""
    author = with_openid(resident, "ivy")
    with django_capture_on_commit_callbacks(execute=True):
        demand = services.file_demand(
            by=author, kind="wish", community=community, title="求助", description=f"内容{REVIEW_MARKER}"
        )
    (check,) = checks_of(demand)
    assert check.status == Status.REVIEW
    return check


def act(client, action: str, check: ContentCheck, **extra):
    return client.post(CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [check.pk], **extra}, follow=True)


def test_staff_see_their_communitys_checks_only(client, held, community, other_community):
    client.force_login(factories.staff_of(community))
    page = client.get(CHANGELIST)
    assert page.status_code == 200 and list(page.context["cl"].result_list) == [held]
    detail = client.get(reverse("admin:core_contentcheck_change", args=[held.pk]))
    assert detail.status_code == 200 and f"内容{REVIEW_MARKER}" in detail.content.decode()

    client.force_login(factories.staff_of(other_community))
    assert list(client.get(CHANGELIST).context["cl"].result_list) == []
    assert client.get(reverse("admin:core_contentcheck_change", args=[held.pk])).status_code in (302, 404)


def test_grid_workers_do_not_get_the_list(client, held, community):
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    client.force_login(worker)
    assert client.get(CHANGELIST).status_code == 403


def test_approving_shows_the_content_to_others(client, held, community, django_capture_on_commit_callbacks):
    client.force_login(factories.staff_of(community))
    with django_capture_on_commit_callbacks(execute=True):
        response = act(client, "approve", held)
    assert response.status_code == 200
    held.refresh_from_db()
    assert held.status == Status.PASSED and held.decided_by is not None


def test_rejecting_asks_for_a_note_and_tells_the_author(client, held, community, django_capture_on_commit_callbacks):
    client.force_login(factories.staff_of(community))
    form = act(client, "reject", held)
    assert "复核意见" in form.content.decode()
    assert ContentCheck.objects.get(pk=held.pk).status == Status.REVIEW
    with django_capture_on_commit_callbacks(execute=True):
        act(client, "reject", held, apply="1", note="与需求无关")
    held.refresh_from_db()
    assert (held.status, held.decision_note) == (Status.REJECTED, "与需求无关")
    (receipt,) = NoticeReceipt.objects.filter(user=held.author).select_related("notice")
    assert "与需求无关" in receipt.notice.body


def test_nobody_approves_their_own_content(client, held, community):
    author = held.author
    factories.grant(author, Role.COMMUNITY_STAFF, community)
    client.force_login(author)
    response = act(client, "approve", held)
    assert "不能复核自己发布的内容" in response.content.decode()
    assert ContentCheck.objects.get(pk=held.pk).status == Status.REVIEW


def test_the_list_is_in_the_sidebar_under_its_task(client, community):
    client.force_login(factories.staff_of(community))
    groups = {
        g["title"]: [i["title"] for i in g["items"]]
        for g in client.get(reverse("admin:index")).context["sidebar_navigation"]
    }
    assert groups["内容审核"] == ["内容安全检测"]
