from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from backend.accounts.models import RoleGrant, User
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "Dongting-lake-2026"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def places(street, community):
    grid = factories.GridFactory(community=community, name="第一网格")
    unit = factories.UnitOrganizationFactory(name="岳阳楼区教育局机关党支部", employer="岳阳楼区教育局")
    return {"street": street, "community": community, "grid": grid, "organization": unit}


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_staff", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_street_admin(places, *, phone: str = "13900000001", password: str = PASSWORD) -> str:
    return run("--phone", phone, "--password", password, "--role", "street_admin", "--street", str(places["street"].pk))


def _nothing_written() -> bool:
    return not User.objects.exists() and not RoleGrant.objects.exists()


@pytest.mark.parametrize(
    ("role", "scope"),
    [
        ("street_admin", "street"),
        ("community_secretary", "community"),
        ("community_staff", "community"),
        ("grid_worker", "grid"),
        ("unit_liaison", "organization"),
    ],
)
def test_creates_account_with_role_and_scope(places, api, role, scope):
    place = places[scope]
    out = run("--phone", "13900000001", "--password", PASSWORD, "--role", role, f"--{scope}", str(place.pk))
    assert "已创建" in out
    user = User.objects.get(phone="13900000001")
    assert user.check_password(PASSWORD)
    assert not user.is_superuser
    grant = RoleGrant.objects.get(user=user)
    assert grant.role == role
    assert grant.scope_object == place
    assert grant.revoked_at is None
    response = api.post("/api/v1/auth/jwt/create/", {"phone": "13900000001", "password": PASSWORD}, format="json")
    assert response.status_code == 200


def test_real_name_is_stored(places):
    run(
        "--phone",
        "13900000001",
        "--password",
        PASSWORD,
        "--role",
        "community_secretary",
        "--community",
        str(places["community"].pk),
        "--real-name",
        "李书记",
    )
    assert User.objects.get(phone="13900000001").real_name == "李书记"


def test_rerun_resets_password_and_adds_missing_grant(places):
    community = str(places["community"].pk)
    run("--phone", "13900000001", "--password", PASSWORD, "--role", "community_staff", "--community", community)
    new_password = "Junshan-island-7"
    out = run(
        "--phone", "13900000001", "--password", new_password, "--role", "community_staff", "--community", community
    )
    assert "已更新" in out
    user = User.objects.get()
    assert user.check_password("Junshan-island-7")
    assert RoleGrant.objects.count() == 1

    run("--phone", "13900000001", "--password", PASSWORD, "--role", "grid_worker", "--grid", str(places["grid"].pk))
    assert User.objects.count() == 1
    assert set(RoleGrant.objects.values_list("role", flat=True)) == {"community_staff", "grid_worker"}


def test_existing_resident_becomes_staff(places):
    resident = factories.UserFactory(phone="13900000009", real_name="王芳")
    run_street_admin(places, phone="13900000009")
    resident.refresh_from_db()
    assert resident.check_password(PASSWORD)
    assert resident.real_name == "王芳"
    assert RoleGrant.objects.get(user=resident).street == places["street"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phone", "12345", "--role", "street_admin", "--street", "{street}"], "手机号"),
        (["--phone", "23800000000", "--role", "street_admin", "--street", "{street}"], "手机号"),
        (["--phone", "13900000001", "--role", "mayor", "--street", "{street}"], "未知角色"),
        (["--phone", "13900000001"], "--role 或 --superuser"),
        (["--phone", "13900000001", "--role", "street_admin", "--superuser"], "--role 或 --superuser"),
        (["--phone", "13900000001", "--role", "street_admin"], "--street"),
        (["--phone", "13900000001", "--role", "street_admin", "--community", "{community}"], "--street"),
        (
            ["--phone", "13900000001", "--role", "street_admin", "--street", "{street}", "--grid", "{grid}"],
            "多余的参数: --grid",
        ),
        (["--phone", "13900000001", "--role", "community_secretary", "--street", "{street}"], "--community"),
        (["--phone", "13900000001", "--role", "grid_worker", "--grid", "999999"], "网格 ID 999999 不存在"),
        (["--phone", "13900000001", "--role", "street_admin", "--street", "999999"], "街道 ID 999999 不存在"),
        (["--phone", "13900000001", "--role", "community_staff", "--community", "999999"], "社区 ID 999999 不存在"),
        (["--phone", "13900000001", "--role", "unit_liaison", "--organization", "999999"], "党组织 ID 999999 不存在"),
        (["--phone", "13900000001", "--role", "unit_liaison", "--organization", "{branch}"], "不是机关"),
        (["--phone", "13900000001", "--superuser", "--street", "{street}"], "范围参数"),
    ],
)
def test_bad_input_raises_and_writes_nothing(places, args, message):
    branch = factories.OrganizationFactory(community=places["community"])
    ids = {name: str(obj.pk) for name, obj in places.items()} | {"branch": str(branch.pk)}
    filled = [a.format(**ids) for a in args]
    with pytest.raises(CommandError, match=message):
        run(*filled, "--password", PASSWORD)
    assert _nothing_written()


@pytest.mark.parametrize("password", ["short1", "12345678901", "password123", "13900000001x"])
def test_weak_password_is_refused(places, password):
    with pytest.raises(CommandError, match="密码不符合要求"):
        run_street_admin(places, password=password)
    assert _nothing_written()


def test_weak_password_leaves_existing_account_alone(places):
    user = factories.UserFactory(phone="13900000001")
    old_hash = user.password
    with pytest.raises(CommandError):
        run_street_admin(places, password="short")
    user.refresh_from_db()
    assert user.password == old_hash
    assert not RoleGrant.objects.exists()


def test_superuser(client):
    out = run("--phone", "13900000001", "--password", PASSWORD, "--superuser", "--real-name", "运维")
    assert "超级管理员" in out
    user = User.objects.get()
    assert (user.is_superuser, user.is_staff, user.real_name) == (True, True, "运维")
    assert user.check_password(PASSWORD)
    assert not RoleGrant.objects.exists()
    assert client.login(phone="13900000001", password=PASSWORD)
    assert client.get("/admin/").status_code == 200

    run("--phone", "13900000001", "--password", "Yueyang-tower-88", "--superuser")
    user.refresh_from_db()
    assert User.objects.count() == 1
    assert user.is_superuser
    assert user.check_password("Yueyang-tower-88")


def test_superuser_promotes_existing_account(db):
    resident = factories.UserFactory(phone="13900000002")
    run("--phone", "13900000002", "--password", PASSWORD, "--superuser")
    resident.refresh_from_db()
    assert resident.is_superuser and resident.is_staff
    assert resident.check_password(PASSWORD)
