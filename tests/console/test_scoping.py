"""A secretary sees only her community in every list and is refused another community's object URL;
a street admin sees his street and nothing of another; the sidebar offers only what a user may open."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from backend.accounts.models import Role
from backend.core.console import ConsoleSite, ScopedAdmin
from tests import factories
from tests.activities.factories import ActivityFactory
from tests.appeals.factories import AppealFactory
from tests.brands.factories import BrandFactory, PlanFactory
from tests.members.factories import RegistrationFactory, registered_member
from tests.volunteers.factories import VolunteerFactory, record

pytestmark = pytest.mark.django_db


def _fill(community, marker: str) -> dict:
    """Rows of most kinds in one community, each carrying the community's marker in its text."""
    estate = factories.EstateFactory(community=community, name=f"{marker}小区")
    grid = factories.GridFactory(community=community, name=f"{marker}网格")
    organization = factories.OrganizationFactory(community=community, name=f"{marker}党支部")
    activity = ActivityFactory(community=community, title=f"{marker}主题党日")
    registration = RegistrationFactory(community=community, member__real_name=f"{marker}党员")
    registered_member(community, organization=organization, real_name=f"{marker}报到党员")
    appeal = AppealFactory(community=community, content=f"{marker}楼道堆物", contact_name=f"{marker}居民")
    volunteer = VolunteerFactory(community=community, real_name=f"{marker}志愿者")
    service_record = record(volunteer, content=f"{marker}环境整治")
    brand = BrandFactory(community=community, name=f"{marker}品牌", active=True)
    plan = PlanFactory(brand=brand, content=f"{marker}方案")
    return {
        "communities.estate": estate,
        "communities.grid": grid,
        "activities.activity": activity,
        "members.memberregistration": registration,
        "appeals.appeal": appeal,
        "volunteers.volunteer": volunteer,
        "volunteers.servicerecord": service_record,
        "brands.brand": brand,
        "brands.brandplan": plan,
    }


@pytest.fixture
def world():
    street = factories.StreetFactory(name="岳阳楼街道")
    other_street = factories.StreetFactory(name="东城街道")
    home = factories.CommunityFactory(street=street, name="东湖社区")
    neighbour = factories.CommunityFactory(street=street, name="九华山社区")
    far = factories.CommunityFactory(street=other_street, name="樟村社区")
    return {
        "home": _fill(home, "东湖"),
        "neighbour": _fill(neighbour, "九华山"),
        "far": _fill(far, "樟村"),
        "secretary": factories.staff_of(home, Role.COMMUNITY_SECRETARY),
        "street_admin": factories.admin_of(street),
    }


def _visible_changelists(client, user):
    client.force_login(user)
    site = admin.site
    for model, model_admin in site._registry.items():
        request = client.get(reverse("admin:index")).wsgi_request
        if not model_admin.has_view_or_change_permission(request):
            continue
        try:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        except NoReverseMatch:
            continue
        yield model, url


def test_every_list_a_secretary_opens_shows_only_her_community(client, world):
    opened = 0
    for _model, url in _visible_changelists(client, world["secretary"]):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        for absent in ("九华山", "樟村", "东城街道"):
            assert absent not in page, f"{absent} shows in {url}"
        opened += 1
    assert opened >= 30
    # And her own rows are there: the lists are not simply empty.
    page = client.get(reverse("admin:activities_activity_changelist")).content.decode()
    assert "东湖主题党日" in page


def test_every_list_a_street_admin_opens_shows_his_street_only(client, world):
    seen_neighbour = False
    for _model, url in _visible_changelists(client, world["street_admin"]):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "樟村" not in page and "东城街道" not in page, url
        seen_neighbour |= "九华山" in page
    assert seen_neighbour
    page = client.get(reverse("admin:appeals_appeal_changelist")).content.decode()
    assert "东湖社区" in page and "九华山社区" in page


@pytest.mark.parametrize(
    "label",
    sorted(
        [
            "communities.estate",
            "activities.activity",
            "appeals.appeal",
            "members.memberregistration",
            "volunteers.servicerecord",
            "volunteers.volunteer",
            "brands.brand",
            "brands.brandplan",
        ]
    ),
)
def test_another_communitys_object_url_is_refused(client, world, label):
    app_label, model_name = label.split(".")
    client.force_login(world["secretary"])
    own = world["home"][label]
    assert client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[own.pk])).status_code == 200
    for place in ("neighbour", "far"):
        obj = world[place][label]
        response = client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]), follow=True)
        # Django's admin answers a missing object by going back to the index, saying it does not exist.
        assert response.redirect_chain and response.redirect_chain[-1][0] == reverse("admin:index")
        page = response.content.decode()
        assert str(obj) not in page


def test_the_site_is_unfolds_and_every_admin_is_scoped_or_superuser_only(client, world):
    assert isinstance(admin.site, ConsoleSite)
    from unfold.sites import UnfoldAdminSite

    assert isinstance(admin.site, UnfoldAdminSite)
    request = client.get(reverse("admin:login"), follow=True).wsgi_request
    request.user = world["secretary"]
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, ScopedAdmin):
            assert not model_admin.has_module_permission(request), f"{model} is not scoped but shown to staff"


def _sidebar(client, user) -> dict[str, list[str]]:
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        group["title"]: [item["title"] for item in group["items"]] for group in response.context["sidebar_navigation"]
    }


def test_the_sidebar_is_by_task_and_holds_only_what_the_user_may_open(client, world):
    sidebar = _sidebar(client, world["secretary"])
    assert list(sidebar)[:9] == [
        "工作台",
        "双报到审核",
        "活动与签到",
        "志愿时长审核",
        "品牌方案",
        "接诉即办",
        "红色物业",
        "通知公告",
        "报表",
    ]
    assert "党员报到" in sidebar["双报到审核"] and "签到屏" in sidebar["活动与签到"]
    # Deadlines are the street's; accounts and the audit log are the superusers'.
    assert "报送期限" not in sidebar["品牌方案"]
    assert "其他" not in sidebar, sidebar.get("其他")

    assert "报送期限" in _sidebar(client, world["street_admin"])["品牌方案"]

    worker = factories.UserFactory()
    grid = factories.GridFactory(community=world["home"]["communities.estate"].community)
    factories.grant(worker, Role.GRID_WORKER, grid)
    worker_sidebar = _sidebar(client, worker)
    assert "接诉即办" in worker_sidebar
    worker_items = [title for items in worker_sidebar.values() for title in items]
    assert "签到屏" not in worker_items and "Excel 导入" not in worker_items


def test_pages_load_nothing_from_another_host(client, world):
    client.force_login(world["secretary"])
    for url in (
        reverse("admin:index"),
        reverse("admin:activities_activity_changelist"),
        reverse("console-import-index"),
        reverse("console-checkin-index"),
    ):
        page = client.get(url).content.decode()
        for needle in ('src="http', "src='http", 'href="http', "fonts.googleapis", "cdn", "@import url(http"):
            assert needle not in page, f"{needle} in {url}"
    client.logout()
    login = client.get(reverse("admin:login"), follow=True).content.decode()
    assert 'src="http' not in login and 'href="http' not in login and "zh-hans" in login


def test_signing_in_from_the_bare_login_page_lands_on_the_dashboard(client, world):
    page = client.get(reverse("admin:login"), follow=True)
    assert page.redirect_chain[-1][0] == reverse("admin:login") + "?next=%2Fadmin%2F"
    response = client.post(
        page.redirect_chain[-1][0], {"username": world["secretary"].phone, "password": "pass-Word-123"}
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")
