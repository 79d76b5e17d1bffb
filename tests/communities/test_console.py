"""The map in the console: estates through the same service as the API, the rest read-only for staff."""

import pytest

from backend.communities.models import Estate, Grid, PartyOrganization
from tests import factories

pytestmark = pytest.mark.django_db

ESTATE_ADD = "/admin/communities/estate/add/"


def estate_form(community, grid, **extra):
    return {
        "community": community.pk,
        "grid": grid.pk if grid else "",
        "name": "东湖雅苑",
        "address": "东湖路 1 号",
        "households": 120,
        "has_property_service": "on",
        **extra,
    }


def test_a_street_admin_adds_an_estate_through_the_service(client, street, community):
    grid = factories.GridFactory(community=community)
    client.force_login(factories.admin_of(street))
    response = client.post(ESTATE_ADD, estate_form(community, grid))
    assert response.status_code == 302, response.content.decode()[:2000]
    estate = Estate.objects.get()
    assert (estate.community, estate.grid, estate.households) == (community, grid, 120)


def test_an_estate_in_one_community_with_a_grid_of_another_is_refused(client, street, community):
    # Both communities are in the admin's street, so the form offers both grids: the service says no.
    neighbour = factories.CommunityFactory(street=street)
    their_grid = factories.GridFactory(community=neighbour)
    client.force_login(factories.admin_of(street))
    response = client.post(ESTATE_ADD, estate_form(community, their_grid), follow=True)
    assert response.status_code == 200
    assert "网格不属于该社区" in response.content.decode()
    assert not Estate.objects.exists()

    estate = factories.EstateFactory(community=community, grid=None)
    changed = client.post(
        f"/admin/communities/estate/{estate.pk}/change/", estate_form(community, their_grid, name=estate.name)
    )
    assert changed.status_code == 302
    estate.refresh_from_db()
    assert estate.grid is None


@pytest.mark.parametrize(
    ("url", "model"),
    [
        ("/admin/communities/grid/add/", Grid),
        ("/admin/communities/partyorganization/add/", PartyOrganization),
    ],
)
def test_grids_and_organisations_are_read_only_for_staff(client, street, community, url, model):
    # No service writes them: a plain model form would skip every rule, so staff only read them.
    before = model.objects.count()
    for staff in (factories.admin_of(street), factories.staff_of(community)):
        client.force_login(staff)
        assert client.get(url).status_code == 403
        assert client.post(url, {"name": "新网格", "community": community.pk}).status_code == 403
    assert model.objects.count() == before


def test_a_superuser_still_sets_up_the_map(client, community):
    client.force_login(factories.UserFactory(is_superuser=True, is_staff=True))
    response = client.post("/admin/communities/grid/add/", {"name": "第九网格", "community": community.pk})
    assert response.status_code == 302
    assert Grid.objects.filter(name="第九网格", community=community).exists()
