"""The workbench in headless chromium against a make-run-like server (daphne with the task worker
inside, SQLite, in-memory channel layer, the database task backend; tests/core/test_embedded.py), run
once as the secretary of 东湖社区 and once as the admin of its street: a place saved with 使用我的位置
(the street admin picks the community), a 主题党日 created at a saved place (only places of the
communities in scope are offered) and published, a member checking in by scan without enrolling, the
check-in screen following a burst of ten check-ins within two seconds, a notice sent to a grid chosen
by name, and a manual check-in for someone without a phone.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from backend.core import geo
from tests.console.test_browser import IMAGES, Console, chromium_context
from tests.core.embedded_world import BURST
from tests.core.test_embedded import Server, make_run_env
from tests.notices.test_socket_live import manage

pytestmark = pytest.mark.browser

# Where her phone says she stands (WGS-84), near 岳阳楼.
BROWSER_POSITION = (29.3685, 113.0881)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workbench-browser")
    env = make_run_env(folder)
    manage(env, "migrate", "--noinput")
    out = manage(env, "shell", "-c", "from tests.core.embedded_world import build; build(activities=0)")
    world = json.loads(out.strip().splitlines()[-1])
    server = Server(env, folder, embedded=True)
    world["base"] = server.http
    yield world
    server.stop()


@dataclass(frozen=True)
class Role:
    key: str  # the world's `<key>_phone` and `<key>_token`
    place_community: str  # where she saves a place with 使用我的位置
    place_name: str
    activity_title: str
    venue: str  # the saved place the activity is held at, as the form offers it
    offered: tuple[str, ...]  # places the activity form must offer
    not_offered: tuple[str, ...]  # and must not
    notice_title: str


ROLES = {
    "secretary": Role(
        "secretary",
        "东湖社区",
        "东湖社区党群服务中心",
        "七一主题党日",
        "东湖社区·东湖社区党群服务中心",
        offered=("东湖社区·东湖文化广场",),
        not_offered=("九华山社区·九华山广场", "外街道社区·外街道广场"),
        notice_title="网格停水通知",
    ),
    "street_admin": Role(
        "street_admin",
        "九华山社区",
        "九华山社区党群服务中心",
        "街道七一主题党日",
        "东湖社区·东湖文化广场",
        offered=("九华山社区·九华山广场", "九华山社区·九华山社区党群服务中心"),
        not_offered=("外街道社区·外街道广场",),
        notice_title="网格停电通知",
    ),
}


@pytest.fixture(scope="module", params=list(ROLES))
def role(request) -> Role:
    return ROLES[request.param]


@pytest.fixture(scope="module")
def console(site, role):
    position = {"latitude": BROWSER_POSITION[0], "longitude": BROWSER_POSITION[1], "accuracy": 20}
    with chromium_context(geolocation=position, permissions=["geolocation"]) as context:
        # Map tiles come from the internet, which the test does not reach: refuse them at once.
        context.route(re.compile(r"https?://(?!127\.0\.0\.1).*"), lambda route: route.abort())
        console = Console(context, site["base"])
        console.goto("/admin/login/")
        console.page.fill("input[name=username]", site[f"{role.key}_phone"])
        console.page.fill("input[name=password]", site["password"])
        console.page.locator("button[type=submit], input[type=submit]").first.click()
        console.page.wait_for_url(re.compile(r".*/admin/$"), timeout=15000)
        yield console


def app_errors(console: Console) -> list[str]:
    # The refused tiles log as failed loads; anything else is the page's own error.
    return [text for text in console.errors if "net::ERR_FAILED" not in text and "Failed to load resource" not in text]


def test_a_place_is_saved_with_use_my_location(console, role):
    page = console.page
    console.goto("/admin/communities/place/add/")
    page.select_option("#id_community", label=role.place_community)
    page.fill("#id_name", role.place_name)
    page.fill("#id_radius_m", "150")
    page.wait_for_selector(".leaflet-container")
    page.get_by_role("button", name="使用我的位置").click()
    page.wait_for_function("document.getElementById('id_latitude').value !== ''", timeout=10000)
    expected = geo.wgs84_to_gcj02(*BROWSER_POSITION)
    assert float(page.input_value("#id_latitude")) == pytest.approx(expected[0], abs=1e-6)
    assert float(page.input_value("#id_longitude")) == pytest.approx(expected[1], abs=1e-6)
    assert page.locator(".leaflet-marker-icon").count() == 1
    assert "已定位" in page.locator("[data-place-status]").inner_text()
    if role.key == "secretary":
        IMAGES.mkdir(parents=True, exist_ok=True)
        page.locator("#place_form").screenshot(path=str(IMAGES / "place-picker.png"))
    page.locator("button[name=_save], input[name=_save]").first.click()
    page.wait_for_load_state()
    listed = page.locator("#result_list").inner_text()
    assert role.place_name in listed
    # Places of the communities in scope only: the street's for its admin, her own for the secretary.
    assert "外街道广场" not in listed
    assert ("九华山广场" in listed) == (role.key == "street_admin")
    assert app_errors(console) == []


def _fill_moment(page, name: str, moment) -> None:
    local = timezone.localtime(moment)
    page.fill(f"#id_{name}_0", local.strftime("%Y-%m-%d"))
    page.fill(f"#id_{name}_1", local.strftime("%H:%M:%S"))


def _venues(page) -> list[str]:
    return [text.strip() for text in page.locator("#id_venue option").all_inner_texts()]


def test_a_party_day_at_the_saved_place_is_published_and_a_member_checks_in_without_enrolling(console, site, role):
    page = console.page
    console.goto("/admin/activities/activity/add/")
    page.select_option("#id_community", label="东湖社区")
    page.fill("#id_title", role.activity_title)
    assert page.is_checked("#id_enrollment_required")
    page.select_option("#id_category", value="party_day")
    assert not page.is_checked("#id_enrollment_required"), "须报名 is off for 主题党日"
    venues = _venues(page)
    assert all(place in venues for place in role.offered), venues
    assert not any(place in venues for place in role.not_offered), venues
    page.select_option("#id_venue", label=role.venue)
    start = timezone.now() + timedelta(minutes=5)
    _fill_moment(page, "starts_at", start)
    _fill_moment(page, "ends_at", start + timedelta(hours=2))
    page.locator("button[name=_save], input[name=_save]").first.click()
    page.wait_for_load_state()
    row = page.locator("#result_list tbody tr", has_text=role.activity_title)
    assert row.count() == 1, page.content()[:3000]
    console.run_action(role.activity_title, "发布所选活动(通知面向对象)")
    assert "已发布 1 个活动" in page.content()
    activity_id = int(re.search(r"/activity/(\d+)/change/", row.locator("a").first.get_attribute("href")).group(1))
    site[f"{role.key}_activity_id"] = activity_id

    with httpx.Client(base_url=site["base"], timeout=20) as http:
        auth = {"Authorization": f"Bearer {site[f'{role.key}_token']}"}
        code = http.get(f"/api/v1/activities/{activity_id}/checkin-code/", headers=auth)
        detail = http.get(f"/api/v1/activities/{activity_id}/", headers=auth).json()
        assert detail["enrollment_required"] is False and detail["place"] == role.venue.split("·")[1]
        checked_in = http.post(
            f"/api/v1/activities/{activity_id}/check-in/",
            json={
                "client_id": str(uuid.uuid4()),
                "token": code.json()["token"],
                "latitude": detail["latitude"],
                "longitude": detail["longitude"],
                "accuracy": 10,
            },
            headers={"Authorization": f"Bearer {site['scanner_token']}"},
        )
        assert checked_in.status_code == 201, checked_in.text
    assert app_errors(console) == []


def test_the_checkin_screen_follows_a_burst_of_ten_within_two_seconds(console, site, role):
    page = console.page
    activity_id = site[f"{role.key}_activity_id"]
    console.goto(f"/admin/console/checkin/{activity_id}/")
    page.wait_for_function("document.getElementById('live').dataset.state === 'live'", timeout=15000)
    page.wait_for_function("document.getElementById('count-checked-in').textContent === '1'", timeout=10000)
    with httpx.Client(base_url=site["base"], timeout=20) as http:
        auth = {"Authorization": f"Bearer {site[f'{role.key}_token']}"}
        code = http.get(f"/api/v1/activities/{activity_id}/checkin-code/", headers=auth).json()["token"]
        detail = http.get(f"/api/v1/activities/{activity_id}/", headers=auth).json()
    statuses: list[int] = []

    def check_in(index: int, token: str) -> None:
        time.sleep(index * 0.15)
        with httpx.Client(base_url=site["base"], timeout=20) as client:
            response = client.post(
                f"/api/v1/activities/{activity_id}/check-in/",
                json={
                    "client_id": str(uuid.uuid4()),
                    "token": code,
                    "latitude": detail["latitude"],
                    "longitude": detail["longitude"],
                    "accuracy": 10,
                },
                headers={"Authorization": f"Bearer {token}"},
            )
        statuses.append(response.status_code)

    started = time.monotonic()
    threads = [threading.Thread(target=check_in, args=pair) for pair in enumerate(site["member_tokens"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * BURST and time.monotonic() - started < 2.5
    # No reload: the count follows over the socket (it froze for 30 s before the worker moved in).
    page.wait_for_function(f"document.getElementById('count-checked-in').textContent === '{BURST + 1}'", timeout=5000)
    assert page.locator("#live").get_attribute("data-state") == "live"
    assert app_errors(console) == []


def test_a_notice_goes_to_a_grid_chosen_by_name(console, role):
    page = console.page
    console.goto("/admin/notices/notice/add/")
    assert "范围 id" not in page.content()
    page.fill("#id_title", role.notice_title)
    page.fill("#id_body", "周六上午九点至十二点停水。")
    page.select_option("#id_audience_kind", value="grid")
    page.select_option("#id_grid", label="东湖社区·第一网格")
    page.locator("button[name=_save], input[name=_save]").first.click()
    page.wait_for_load_state()
    assert role.notice_title in page.locator("#result_list").inner_text()
    assert "网格" in page.locator("#result_list tbody tr", has_text=role.notice_title).inner_text()
    assert app_errors(console) == []


def test_she_checks_in_someone_without_a_phone(console, site, role):
    page = console.page
    console.goto(f"/admin/console/attendance/{site[f'{role.key}_activity_id']}/")
    assert page.locator("[data-figure=实到] .value").inner_text() == str(BURST + 1)
    # The person picker is a searchable select; choose 王奶奶 as the select itself holds her.
    page.evaluate(
        """() => {
            const select = document.getElementById('id_user');
            const option = [...select.options].find((o) => o.textContent.startsWith('王奶奶'));
            select.value = option.value;
            select.dispatchEvent(new Event('change', { bubbles: true }));
        }"""
    )
    page.select_option("#id_kind", value="in")
    page.fill("#id_reason", "老人无智能手机, 由工作人员代为签到")
    page.locator("#manual-form button[type=submit]").click()
    page.wait_for_load_state()
    assert "已为 王奶奶（尾号 2468） 人工登记签到" in page.content()
    assert page.locator("[data-figure=实到] .value").inner_text() == str(BURST + 2)
    row = page.locator("#attendance-rows tbody tr", has_text="王奶奶")
    assert "人工: 老人无智能手机" in row.inner_text() and "补签退" in row.inner_text()
    assert app_errors(console) == []
