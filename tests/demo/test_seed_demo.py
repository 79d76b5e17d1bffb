from io import StringIO

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command

from backend.accounts.models import Role, RoleGrant, User
from backend.communities.models import Community, Estate, Grid, PartyOrganization, Street
from backend.demo import data
from backend.demo.services import seed_demo

pytestmark = pytest.mark.django_db

MODELS = (Street, Community, Grid, Estate, PartyOrganization, User, RoleGrant)


def _snapshot() -> dict[str, list]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    # Seven accounts hashed and checked per run: the default hasher's cost would dominate the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


def test_second_run_changes_nothing(debug):
    first = seed_demo()
    assert first.counts["streets"].created == 4
    assert first.counts["accounts"].created == len(data.ACCOUNTS)
    assert first.accounts_seeded
    before = _snapshot()

    second = seed_demo()

    assert not second.changed
    for kind, tally in second.counts.items():
        assert (tally.created, tally.updated) == (0, 0), kind
        assert tally.existing == first.counts[kind].created, kind
    assert _snapshot() == before  # not even a password rehash or an updated_at


def test_rerun_restores_edited_rows(debug):
    seed_demo()
    Estate.objects.filter(name="天润小区").update(has_property_service=True, households=1)
    result = seed_demo()
    assert result.counts["estates"].updated == 1
    tianrun = Estate.objects.get(name="天润小区")
    assert (tianrun.has_property_service, tianrun.households) == (False, 96)


def test_named_places_exist(debug):
    seed_demo()
    yueyanglou = Street.objects.get(name="岳阳楼街道", city="岳阳市岳阳楼区")
    assert set(yueyanglou.communities.values_list("name", flat=True)) == {
        f"{name}社区" for name in ("岳阳楼", "东湖", "郭亮", "庙前街", "剪刀池", "九华山", "洞庭", "汴河", "捕捞")
    }
    for community in yueyanglou.communities.all():
        assert community.grids.count() in (2, 3)
        assert community.grids.filter(name="第一网格").exists()

    no_service = {
        "天润小区": "九华山社区",
        "磷化小区": "九华山社区",
        "北门新区": "九华山社区",
        "新世苑家属区": "岳阳楼社区",
        "迎奥小区": "剪刀池社区",
    }
    for estate_name, community_name in no_service.items():
        estate = Estate.objects.get(name=estate_name, community__street=yueyanglou)
        assert estate.community.name == community_name
        assert estate.has_property_service is False
        assert estate.grid.community_id == estate.community_id
    served = Estate.objects.filter(community__street=yueyanglou, has_property_service=True)
    assert served.count() >= 3
    assert all(e.households > 0 for e in served)

    suizhou = Street.objects.get(name="东城街道", city="随州市曾都区")
    dongguan = Street.objects.get(name="东城街道", city="东莞市")
    assert suizhou.communities.exists()
    assert Estate.objects.filter(community__street=suizhou).exists()
    assert Street.objects.get(name="新河街道").city == "天津市滨海新区"
    dongguan_names = set(dongguan.communities.values_list("name", flat=True))
    for name in ("樟村", "下桥", "鳌峙塘", "上桥", "柏洲边", "峡口", "余屋", "周屋", "温塘", "主山"):
        assert f"{name}社区" in dongguan_names


def test_party_organisation_tree(debug):
    seed_demo()
    Kind = PartyOrganization.Kind
    for street in Street.objects.all():
        committee = PartyOrganization.objects.get(street=street, kind=Kind.WORKING_COMMITTEE)
        assert committee.parent is None
        for community in street.communities.all():
            community_committee = PartyOrganization.objects.get(community=community, parent=committee)
            assert community_committee.kind in (Kind.COMMITTEE, Kind.GENERAL_BRANCH)
            branches = community_committee.children.all()
            assert 1 <= branches.count() <= 2
            assert all(b.kind == Kind.BRANCH and b.community_id == community.id for b in branches)
    # Two streets are called 东城街道: each has its own working committee.
    assert PartyOrganization.objects.filter(name="东城街道党工委", kind=Kind.WORKING_COMMITTEE).count() == 2

    units = PartyOrganization.objects.filter(is_unit=True)
    assert {
        "岳阳楼区教育局机关党支部",
        "岳阳市第一中学党总支",
        "国网岳阳供电公司党委",
        "岳阳楼区住建局党支部",
        "随州市曾都区人民医院党委",
    } <= set(units.values_list("name", flat=True))
    assert all(u.employer and u.street_id is None and u.community_id is None for u in units)


def test_demo_accounts_hold_their_roles_and_sign_in(debug, api):
    seed_demo()
    expected = {
        "13800000001": (Role.STREET_ADMIN, "street", "岳阳楼街道"),
        "13800000002": (Role.COMMUNITY_SECRETARY, "community", "东湖社区"),
        "13800000003": (Role.COMMUNITY_STAFF, "community", "东湖社区"),
        "13800000004": (Role.COMMUNITY_SECRETARY, "community", "岳阳楼社区"),
        "13800000005": (Role.COMMUNITY_STAFF, "community", "岳阳楼社区"),
        "13800000006": (Role.GRID_WORKER, "grid", "第一网格"),
        "13800000007": (Role.UNIT_LIAISON, "organization", "岳阳楼区教育局机关党支部"),
    }
    passwords = {a.phone: a.password for a in data.ACCOUNTS}
    assert set(passwords) == set(expected)
    for phone, (role, scope_field, place_name) in expected.items():
        grant = RoleGrant.objects.get(user__phone=phone, revoked_at__isnull=True)
        assert grant.role == role
        assert getattr(grant, scope_field).name == place_name
        password = passwords[phone]
        assert password.isascii() and len(password) >= 10
        validate_password(password, user=grant.user)
        response = api.post("/api/v1/auth/jwt/create/", {"phone": phone, "password": password}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["access"]
    grid = RoleGrant.objects.get(user__phone="13800000006").grid
    assert grid.community.name == "九华山社区"


def test_the_demo_liaison_reaches_the_community_of_the_tie_they_filed(debug):
    from backend.members.models import UnitRegistration
    from backend.members.selectors import liaison_community_ids

    seed_demo()
    liaison = User.objects.get(phone="13800000007")
    tie = UnitRegistration.objects.get(filed_by=liaison)
    assert tie.status == UnitRegistration.Status.APPROVED
    assert tie.decided_by.phone == "13800000004"
    assert liaison_community_ids(liaison) == {tie.community_id}
    assert tie.community.name == "岳阳楼社区"
    # The role was given with the account, not by the approval: ending the tie leaves it.
    assert tie.liaison_grant is None


def test_without_debug_no_accounts(settings):
    settings.DEBUG = False
    result = seed_demo()
    assert not result.accounts_seeded
    assert result.accounts == []
    assert not User.objects.exists()
    assert Street.objects.count() == 4
    assert Estate.objects.filter(has_property_service=False).count() >= 5


def test_command_prints_summary_and_accounts(debug):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert "小区" in text
    assert "13800000002" in text
    assert "demo-donghu-sec-2026" in text


def test_command_without_debug_says_no_accounts(settings):
    settings.DEBUG = False
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert "没有创建任何账号" in text
    assert "13800000" not in text
    assert not User.objects.exists()
