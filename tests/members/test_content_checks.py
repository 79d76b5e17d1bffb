"""三单 and content checks: demands, resources and projects reach other users only once WeChat (or
staff, where WeChat cannot decide) has passed them; their authors and the staff in scope see them
all along, marked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.accounts.models import Role
from backend.core import moderation
from backend.core.errors import DomainError
from backend.core.models import ContentCheck
from backend.members import services
from backend.members.models import Demand, DemandStep, Resource, ServiceProject
from devtools.fake_wechat import REVIEW_MARKER, RISKY_MARKER
from tests import factories
from tests.core.moderation_helpers import checks_of, image, push_all, run_retries, take_wechat_down, with_openid
from tests.members.factories import registered_member

pytestmark = pytest.mark.django_db

DEMANDS = "/api/v1/demands/"
RESOURCES = "/api/v1/resources/"
PROJECTS = "/api/v1/service-projects/"


@pytest.fixture
def author(resident):
    return with_openid(resident, "dora")


@pytest.fixture
def member(community):
    return registered_member(community)


def listed(client, url) -> dict[int, dict]:
    response = client.get(url)
    assert response.status_code == 200, response.json()
    return {row["id"]: row for row in response.json()["results"]}


def file_demand(as_user, user, community, capture, **extra) -> dict:
    with capture(execute=True):
        response = as_user(user).post(
            DEMANDS, {"kind": "wish", "community": community.id, "title": "想要一台收音机", **extra}
        )
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_demand_waits_for_wechat_and_shows_once_passed(
    content_checks, settings, as_user, author, member, community, django_capture_on_commit_callbacks
):
    working = take_wechat_down(settings)
    body = file_demand(as_user, author, community, django_capture_on_commit_callbacks)
    assert body["content_review"] == "pending"
    demand_id = body["id"]

    assert demand_id not in listed(as_user(member.user), DEMANDS)
    assert as_user(member.user).get(f"{DEMANDS}{demand_id}/").status_code == 404
    claim = as_user(member.user).post(f"{DEMANDS}{demand_id}/claim/", {})
    assert claim.status_code == 404
    assert Demand.objects.get(pk=demand_id).status == Demand.Status.OPEN

    assert listed(as_user(author), DEMANDS)[demand_id]["content_review"] == "pending"
    secretary = factories.staff_of(community)
    assert listed(as_user(secretary), DEMANDS)[demand_id]["content_review"] == "pending"
    worker = factories.UserFactory()
    factories.grant(worker, Role.GRID_WORKER, factories.GridFactory(community=community))
    outsider = factories.staff_of(factories.CommunityFactory(street=community.street))
    assert demand_id not in listed(as_user(outsider), DEMANDS)

    settings.WECHAT_API_BASE = working
    with django_capture_on_commit_callbacks(execute=True):
        run_retries(after=timedelta(minutes=5))
    shown = listed(as_user(member.user), DEMANDS)[demand_id]
    assert shown["content_review"] is None
    assert as_user(member.user).post(f"{DEMANDS}{demand_id}/claim/", {}).status_code == 200


def test_a_risky_demand_is_never_shown_to_others_and_its_author_sees_why(
    content_checks, as_user, author, member, community, django_capture_on_commit_callbacks
):
    body = file_demand(as_user, author, community, django_capture_on_commit_callbacks, description=RISKY_MARKER)
    # The answer leaves before the check, which runs once the demand is committed.
    assert body["content_review"] == "pending"
    assert body["id"] not in listed(as_user(member.user), DEMANDS)
    assert listed(as_user(author), DEMANDS)[body["id"]]["content_review"] == "rejected"
    assert ContentCheck.objects.get().status == ContentCheck.Status.REJECTED


def test_a_held_demand_cannot_be_assigned(
    content_checks, as_user, author, member, community, django_capture_on_commit_callbacks
):
    body = file_demand(as_user, author, community, django_capture_on_commit_callbacks, description=REVIEW_MARKER)
    secretary = factories.staff_of(community)
    response = as_user(secretary).post(f"{DEMANDS}{body['id']}/assign/", {"member": member.pk})
    assert response.status_code == 409 and response.json()["code"] == "content_held"
    assert Demand.objects.get(pk=body["id"]).status == Demand.Status.OPEN
    assert not DemandStep.objects.filter(action=DemandStep.Action.ASSIGNED).exists()

    (check,) = checks_of(Demand.objects.get(pk=body["id"]))
    moderation.decide(check=check, by=secretary, approve=True)
    assert as_user(secretary).post(f"{DEMANDS}{body['id']}/assign/", {"member": member.pk}).status_code == 200


def test_a_held_demand_cannot_be_claimed_even_by_id(content_checks, author, member, community):
    demand = services.file_demand(by=author, kind="wish", community=community, title="待检测")
    with pytest.raises(DomainError) as refused:
        services.claim_demand(demand=demand, by=member.user)
    assert refused.value.code == "content_held"


def test_a_demands_photo_holds_it_until_its_verdict_is_pushed(
    content_checks, api, as_user, author, member, community, django_capture_on_commit_callbacks
):
    photo = image(author)
    body = file_demand(as_user, author, community, django_capture_on_commit_callbacks, photos=[photo.pk])
    assert body["content_review"] == "pending"
    assert body["id"] not in listed(as_user(member.user), DEMANDS)
    with django_capture_on_commit_callbacks(execute=True):
        assert push_all(api, content_checks) == [200]
    assert listed(as_user(member.user), DEMANDS)[body["id"]]["content_review"] is None


def test_a_resource_is_public_once_passed_and_held_again_when_its_text_changes(
    content_checks, settings, as_user, author, member, community, django_capture_on_commit_callbacks
):
    offerer = with_openid(member.user, "ed")
    other = factories.UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        created = as_user(offerer).post(
            RESOURCES, {"community": community.id, "title": "活动室", "description": "周末开放"}
        )
    assert created.status_code == 201 and created.json()["content_review"] == "pending"
    resource_id = created.json()["id"]
    assert resource_id in listed(as_user(other), RESOURCES)

    take_wechat_down(settings)
    with django_capture_on_commit_callbacks(execute=True):
        changed = as_user(offerer).patch(f"{RESOURCES}{resource_id}/", {"description": "周末和晚上开放"})
    assert changed.status_code == 200 and changed.json()["content_review"] == "pending"
    assert resource_id not in listed(as_user(other), RESOURCES)
    assert listed(as_user(offerer), RESOURCES)[resource_id]["content_review"] == "pending"
    assert listed(as_user(factories.staff_of(community)), RESOURCES)[resource_id]["content_review"] == "pending"

    # Withdrawing changes no text: nothing new to check.
    with django_capture_on_commit_callbacks(execute=True):
        assert as_user(offerer).delete(f"{RESOURCES}{resource_id}/").status_code == 204
    assert ContentCheck.objects.get().attempts == 1


def test_a_project_by_staff_is_published_on_their_authority(
    content_checks, as_user, member, community, street, django_capture_on_commit_callbacks
):
    """Staff write in the console, with no openid to check under: what they publish in their own
    community is public at once, recorded as passed by them; a second staff member clears nothing."""
    secretary = factories.staff_of(community)
    with django_capture_on_commit_callbacks(execute=True):
        created = as_user(secretary).post(
            PROJECTS,
            {"community": community.id, "name": "助老项目", "owner": member.user_id, "description": "每周上门"},
        )
    assert created.status_code == 201 and created.json()["content_review"] is None
    project_id = created.json()["id"]
    assert listed(as_user(factories.UserFactory()), PROJECTS)[project_id]["content_review"] is None
    (check,) = checks_of(ServiceProject.objects.get(pk=project_id))
    assert (check.status, check.reason, check.decided_by) == (ContentCheck.Status.PASSED, "staff_authority", secretary)
    assert content_checks.calls_to("/wxa/msg_sec_check") == []


def test_demand_list_queries_stay_flat_with_checks(
    content_checks, settings, as_user, author, member, community, django_assert_max_num_queries
):
    take_wechat_down(settings)
    secretary = as_user(factories.staff_of(community))

    def add(n):
        for i in range(n):
            services.file_demand(by=author, kind="wish", community=community, title=f"需求{i}", photos=[image(author)])

    add(2)
    with django_assert_max_num_queries(12) as few:
        assert secretary.get(DEMANDS).json()["count"] == 2
    add(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = secretary.get(DEMANDS).json()
    assert rows["count"] == 12 and {row["content_review"] for row in rows["results"]} == {"pending"}


def test_resource_and_project_list_queries_stay_flat_with_checks(
    content_checks, settings, as_user, member, community, django_assert_max_num_queries
):
    take_wechat_down(settings)
    secretary = factories.staff_of(community)
    client = as_user(secretary)

    def add(n):
        for i in range(n):
            services.offer_resource(by=member.user, community=community, title=f"资源{i}")
            services.create_project(by=secretary, community=community, name=f"项目{i}", owner=member.user)

    add(2)
    with django_assert_max_num_queries(10) as few_resources:
        assert client.get(RESOURCES).status_code == 200
    with django_assert_max_num_queries(12) as few_projects:
        assert client.get(PROJECTS).status_code == 200
    add(10)
    assert Resource.objects.count() == 12
    with django_assert_max_num_queries(len(few_resources.captured_queries)):
        assert client.get(RESOURCES).json()["count"] == 12
    with django_assert_max_num_queries(len(few_projects.captured_queries)):
        assert client.get(PROJECTS).json()["count"] == 12
