"""三单: resources (资源清单) offered by units and members, and projects (项目清单) matching them."""

import pytest

from backend.members.models import Resource, ServiceProject
from tests import factories
from tests.members.factories import DemandFactory, registered_member, registered_unit

pytestmark = pytest.mark.django_db

RESOURCES = "/api/v1/resources/"
PROJECTS = "/api/v1/service-projects/"


def test_members_units_and_staff_offer_resources(community, as_user):
    member = registered_member(community)
    offered = as_user(member.user).post(
        RESOURCES, {"community": community.id, "title": "理发手艺", "category": "skill"}
    )
    assert offered.status_code == 201, offered.json()
    assert offered.json()["offered_by"] == member.user_id

    unit = registered_unit(community)
    as_unit = as_user(unit.filed_by).post(
        RESOURCES,
        {"community": community.id, "title": "会议室", "category": "venue", "organization": unit.organization_id},
    )
    assert as_unit.status_code == 201, as_unit.json()
    assert as_unit.json()["organization_name"] == unit.organization.name

    by_staff = as_user(factories.staff_of(community)).post(RESOURCES, {"community": community.id, "title": "活动室"})
    assert by_staff.status_code == 201
    assert Resource.objects.count() == 3


def test_who_may_not_offer(community, other_community, resident, as_user):
    response = as_user(resident).post(RESOURCES, {"community": community.id, "title": "旧衣物"})
    assert response.status_code == 403
    elsewhere = registered_member(other_community)
    assert as_user(elsewhere.user).post(RESOURCES, {"community": community.id, "title": "x"}).status_code == 403
    # A liaison cannot offer in the name of a unit not registered with that community.
    unit = registered_unit(other_community)
    registered_member(community, user=unit.filed_by)
    foreign = as_user(unit.filed_by).post(
        RESOURCES, {"community": community.id, "title": "车辆", "organization": unit.organization_id}
    )
    assert foreign.status_code == 400
    assert "organization" in foreign.json()["fields"]
    bad = as_user(registered_member(community).user).post(RESOURCES, {"community": community.id, "category": "gold"})
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"title", "category"}
    assert not Resource.objects.exists()


def test_resource_edit_and_withdraw(community, other_community, as_user):
    member = registered_member(community)
    resource_id = as_user(member.user).post(RESOURCES, {"community": community.id, "title": "修电脑"}).json()["id"]
    patched = as_user(member.user).patch(f"{RESOURCES}{resource_id}/", {"description": "周末可上门"})
    assert patched.status_code == 200
    assert patched.json()["description"] == "周末可上门"
    assert (
        as_user(registered_member(community).user).patch(f"{RESOURCES}{resource_id}/", {"title": "x"}).status_code
        == 404
    )
    assert as_user(factories.staff_of(other_community)).delete(f"{RESOURCES}{resource_id}/").status_code == 404
    assert as_user(member.user).delete(f"{RESOURCES}{resource_id}/").status_code == 204
    assert Resource.objects.get().is_active is False
    # Withdrawn offers leave the public list but stay visible to whoever offered them.
    assert as_user(factories.UserFactory()).get(RESOURCES).json()["count"] == 0
    assert as_user(member.user).get(RESOURCES).json()["count"] == 1


def test_projects_match_demands_with_resources(community, other_community, as_user):
    secretary = as_user(factories.staff_of(community))
    owner = registered_member(community)
    demand = DemandFactory(community=community)
    resource = Resource.objects.create(community=community, title="会议室", offered_by=owner.user)
    created = secretary.post(
        PROJECTS,
        {
            "community": community.id,
            "name": "助老送暖",
            "owner": owner.user_id,
            "demands": [demand.id],
            "resources": [resource.id],
            "starts_on": "2026-05-01",
        },
    )
    assert created.status_code == 201, created.json()
    project_id = created.json()["id"]
    assert created.json()["demands"] == [demand.id]
    assert created.json()["owner_name"] == owner.user.real_name

    by_owner = as_user(owner.user).patch(f"{PROJECTS}{project_id}/", {"status": "ongoing"})
    assert by_owner.status_code == 200
    assert by_owner.json()["status"] == "ongoing"
    owner_swap = as_user(owner.user).patch(f"{PROJECTS}{project_id}/", {"owner": owner.user_id})
    assert owner_swap.status_code == 403
    outsider = as_user(factories.staff_of(other_community)).patch(f"{PROJECTS}{project_id}/", {"status": "finished"})
    assert outsider.status_code == 404
    backwards = secretary.patch(f"{PROJECTS}{project_id}/", {"ends_on": "2026-04-01"})
    assert backwards.status_code == 400
    assert "ends_on" in backwards.json()["fields"]
    assert ServiceProject.objects.get().status == "ongoing"


def test_project_bad_links_and_owner(community, other_community, resident, as_user):
    secretary = as_user(factories.staff_of(community))
    owner = registered_member(community)
    foreign_demand = DemandFactory(community=other_community)
    base = {"community": community.id, "name": "项目", "owner": owner.user_id}
    # A demand the secretary cannot see is "not found", as a wrong id would be.
    unseen = secretary.post(PROJECTS, {**base, "demands": [foreign_demand.id]})
    assert unseen.status_code == 400
    assert "demands" in unseen.json()["fields"]
    outsider_owner = secretary.post(PROJECTS, {**base, "owner": resident.id})
    assert outsider_owner.status_code == 400
    assert "owner" in outsider_owner.json()["fields"]
    elsewhere = secretary.post(PROJECTS, {**base, "community": other_community.id})
    assert elsewhere.status_code == 400
    by_member = as_user(owner.user).post(PROJECTS, base)
    assert by_member.status_code == 403
    assert not ServiceProject.objects.exists()


def test_resource_and_project_lists_do_not_grow_in_queries(community, as_user, django_assert_max_num_queries):
    member = registered_member(community)
    client = as_user(member.user)
    secretary = factories.staff_of(community)

    def add(n):
        for i in range(n):
            resource = Resource.objects.create(community=community, title=f"资源{i}", offered_by=member.user)
            project = ServiceProject.objects.create(
                community=community, name=f"项目{i}", owner=member.user, created_by=secretary
            )
            project.resources.add(resource)
            project.demands.add(DemandFactory(community=community))

    add(2)
    with django_assert_max_num_queries(8) as few_resources:
        assert client.get(RESOURCES).status_code == 200
    with django_assert_max_num_queries(10) as few_projects:
        assert client.get(PROJECTS).status_code == 200
    add(15)
    with django_assert_max_num_queries(len(few_resources.captured_queries)):
        assert client.get(RESOURCES).json()["count"] == 17
    with django_assert_max_num_queries(len(few_projects.captured_queries)):
        assert client.get(PROJECTS).json()["count"] == 17


def test_a_resident_offering_a_resource_is_refused_before_the_body_is_read(community, as_user):
    # Authorization before validation: someone with no standing to list resources anywhere hears
    # 403, never what the body lacks; members, liaisons and staff still get their 400s.
    resident = factories.UserFactory(community=community)
    for body in ({}, {"community": "x", "title": ["x"]}):
        response = as_user(resident).post(RESOURCES, body, format="json")
        assert response.status_code == 403, response.content
    member = registered_member(community).user
    assert as_user(member).post(RESOURCES, {}, format="json").status_code == 400
    assert not Resource.objects.exists()
