"""The console's sign-in form is held to the API login's limits (10 a minute per account phone, 20 a
minute per client address), on the same counters: guessing a password cannot alternate between the
two, and a throttled attempt is refused on the login page, right password or not."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backend.accounts.models import Role
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Word-123"
API_LOGIN = "/api/v1/auth/jwt/create/"
THROTTLED = "登录尝试过于频繁"


def console_login(client, phone: str, password: str, address: str = "198.51.100.7"):
    return client.post(
        reverse("admin:login"),
        {"username": phone, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def refused_as_throttled(response) -> bool:
    return response.status_code == 200 and THROTTLED in response.content.decode()


@pytest.fixture
def secretary(db):
    return factories.staff_of(factories.CommunityFactory(), Role.COMMUNITY_SECRETARY)


def test_wrong_passwords_for_one_phone_lock_it_and_the_right_one_is_refused_too(client, secretary):
    for _ in range(10):
        response = console_login(client, secretary.phone, "wrong")
        assert response.status_code == 200 and not refused_as_throttled(response)
    assert refused_as_throttled(console_login(client, secretary.phone, "wrong"))

    # From another address too: the count is the account's.
    response = console_login(client, secretary.phone, PASSWORD, address="203.0.113.9")
    assert refused_as_throttled(response)
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_phone_is_counted_as_the_form_reads_it(client, secretary):
    """Spaces around it, or full-width digits, are the same account to the form: the same count."""
    spellings = [
        secretary.phone,
        f" {secretary.phone} ",
        secretary.phone.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ]
    for index in range(10):
        console_login(client, spellings[index % 3], "wrong")
    assert refused_as_throttled(console_login(client, secretary.phone, PASSWORD))


def test_the_console_and_the_api_share_the_counters(client, secretary):
    api = APIClient()
    for _ in range(5):
        assert console_login(client, secretary.phone, "wrong").status_code == 200
        assert api.post(API_LOGIN, {"phone": secretary.phone, "password": "wrong"}).status_code == 401
    assert api.post(API_LOGIN, {"phone": secretary.phone, "password": PASSWORD}).status_code == 429
    assert refused_as_throttled(console_login(client, secretary.phone, PASSWORD))


def test_one_address_trying_many_phones_is_throttled(client, secretary):
    for index in range(20):
        console_login(client, f"1370000{index:04d}", "wrong", address="198.51.100.20")
    assert refused_as_throttled(console_login(client, secretary.phone, PASSWORD, address="198.51.100.20"))
    # Another address is not held back.
    assert console_login(client, secretary.phone, PASSWORD, address="198.51.100.21").status_code == 302


def test_a_success_does_not_reset_another_phones_count(client, secretary):
    other = factories.staff_of(factories.CommunityFactory(), Role.COMMUNITY_SECRETARY)
    for _ in range(10):
        console_login(client, other.phone, "wrong", address="198.51.100.30")
    assert console_login(client, secretary.phone, PASSWORD, address="198.51.100.31").status_code == 302
    client.logout()
    assert refused_as_throttled(console_login(client, other.phone, PASSWORD, address="198.51.100.32"))


def test_a_locked_login_page_is_the_console_page_not_an_error(client, secretary, settings):
    settings.DEBUG = False
    for _ in range(11):
        response = console_login(client, secretary.phone, "wrong")
    assert response.status_code == 200
    page = response.content.decode()
    assert THROTTLED in page and "秒后再试" in page
    assert "Traceback" not in page
