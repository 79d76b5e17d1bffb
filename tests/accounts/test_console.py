"""The console (Django admin) shows and changes only what the user's roles reach."""

import pytest
from django.urls import reverse

from backend.accounts.models import Role
from backend.communities.models import Community, Estate
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Word-123"  # the factories' password


@pytest.fixture
def places():
    yueyanglou = factories.StreetFactory(name="岳阳楼街道", city="岳阳市岳阳楼区")
    dongcheng = factories.StreetFactory(name="东城街道", city="东莞市")
    donghu = factories.CommunityFactory(street=yueyanglou, name="东湖社区")
    jiuhuashan = factories.CommunityFactory(street=yueyanglou, name="九华山社区")
    zhangcun = factories.CommunityFactory(street=dongcheng, name="樟村社区")
    return {
        "yueyanglou": yueyanglou,
        "dongcheng": dongcheng,
        "donghu": donghu,
        "jiuhuashan": jiuhuashan,
        "zhangcun": zhangcun,
        "donghu_grid": factories.GridFactory(community=donghu, name="第一网格"),
        "jiuhuashan_grid": factories.GridFactory(community=jiuhuashan, name="第一网格"),
        "donghu_estate": factories.EstateFactory(community=donghu, name="东湖雅苑"),
        "tianrun": factories.EstateFactory(community=jiuhuashan, name="天润小区", has_property_service=False),
        "zhangcun_estate": factories.EstateFactory(community=zhangcun, name="樟村花园"),
    }


@pytest.fixture
def secretary(places):
    return factories.staff_of(places["donghu"], Role.COMMUNITY_SECRETARY)


def _changelist_names(response) -> set[str]:
    return {str(obj) for obj in response.context["cl"].result_list}


def test_secretary_sees_only_own_communitys_estates(client, places, secretary):
    client.force_login(secretary)
    response = client.get(reverse("admin:communities_estate_changelist"))
    assert response.status_code == 200
    assert _changelist_names(response) == {"东湖雅苑"}
    page = response.content.decode()
    assert "东湖雅苑" in page
    # Nothing of other communities shows, not even their names in the sidebar filters.
    for absent in ("天润小区", "樟村花园", "九华山社区", "樟村社区", "东城街道"):
        assert absent not in page


def test_secretary_cannot_open_or_change_other_communitys_estate(client, places, secretary):
    tianrun = places["tianrun"]
    client.force_login(secretary)
    url = reverse("admin:communities_estate_change", args=[tianrun.pk])

    response = client.get(url, follow=True)
    assert response.redirect_chain[0] == (reverse("admin:index"), 302)
    assert "天润小区" not in response.content.decode()

    response = client.post(
        url,
        {"community": tianrun.community_id, "name": "改名小区", "households": 1, "has_property_service": "on"},
    )
    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    tianrun.refresh_from_db()
    assert (tianrun.name, tianrun.households, tianrun.has_property_service) == ("天润小区", 120, False)

    history = client.get(reverse("admin:communities_estate_history", args=[tianrun.pk]))
    assert history.status_code == 302


def test_secretary_edits_own_estate(client, places, secretary):
    estate = places["donghu_estate"]
    client.force_login(secretary)
    response = client.post(
        reverse("admin:communities_estate_change", args=[estate.pk]),
        {"community": places["donghu"].pk, "name": "东湖雅苑", "households": 432, "address": ""},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    estate.refresh_from_db()
    assert estate.households == 432
    assert estate.has_property_service is False


def test_estate_add_form_offers_only_own_community(client, places, secretary):
    client.force_login(secretary)
    url = reverse("admin:communities_estate_add")
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.fields["community"].queryset) == [places["donghu"]]
    assert list(form.fields["grid"].queryset) == [places["donghu_grid"]]
    assert "九华山社区" not in response.content.decode()

    response = client.post(url, {"community": places["jiuhuashan"].pk, "name": "新小区", "households": 10})
    assert response.status_code == 200
    assert "community" in response.context["adminform"].form.errors
    assert not Estate.objects.filter(name="新小区").exists()


def test_street_admin_sees_own_streets_communities_only(client, places):
    admin = factories.admin_of(places["yueyanglou"])
    client.force_login(admin)
    response = client.get(reverse("admin:communities_community_changelist"))
    assert response.status_code == 200
    assert _changelist_names(response) == {"东湖社区", "九华山社区"}
    assert "樟村社区" not in response.content.decode()
    assert "东城街道" not in response.content.decode()

    estates = client.get(reverse("admin:communities_estate_changelist"))
    assert _changelist_names(estates) == {"东湖雅苑", "天润小区"}

    other = client.get(reverse("admin:communities_community_change", args=[places["zhangcun"].pk]))
    assert other.status_code == 302
    assert other.url == reverse("admin:index")


def test_user_without_role_cannot_enter(client, places):
    nobody = factories.UserFactory()
    client.force_login(nobody)
    for url in (reverse("admin:index"), reverse("admin:communities_estate_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_login_form_lets_role_holders_in_and_keeps_others_out(client, places, secretary):
    # Staff are made by granting a role; none of them carries Django's is_staff flag.
    assert secretary.is_staff is False
    response = client.post(
        reverse("admin:login"), {"username": secretary.phone, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200

    client.logout()
    nobody = factories.UserFactory()
    response = client.post(reverse("admin:login"), {"username": nobody.phone, "password": PASSWORD})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(reverse("admin:index")).status_code == 302


def test_superuser_sees_everything(client, places):
    root = factories.UserFactory(is_superuser=True)
    client.force_login(root)
    estates = client.get(reverse("admin:communities_estate_changelist"))
    assert _changelist_names(estates) == {"东湖雅苑", "天润小区", "樟村花园"}
    communities = client.get(reverse("admin:communities_community_changelist"))
    assert _changelist_names(communities) == set(Community.objects.values_list("name", flat=True))
    other_street_estate = reverse("admin:communities_estate_change", args=[places["zhangcun_estate"].pk])
    assert client.get(other_street_estate).status_code == 200
