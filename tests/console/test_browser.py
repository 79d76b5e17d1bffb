"""The console in a real browser: Debian's chromium, headless, driven by Playwright, against daphne
serving the app (HTTP and the notices socket) on a file SQLite database of its own.

`make test-browser` installs chromium, its driver and a CJK font from Debian's packages when they are
missing; no browser is ever downloaded. The screenshots land in docs/img/ (the README shows one).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook

from tests.notices.test_socket_live import Daphne, manage, server_env

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "img"
CODE_PERIOD_SECONDS = 4
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "chromium is not installed: `make test-browser` installs Debian's chromium, chromium-driver and fonts-noto-cjk"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("console-browser")
    env = server_env(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        VAR_DIR=str(folder),
        CHECKIN_CODE_PERIOD_SECONDS=str(CODE_PERIOD_SECONDS),
    )
    manage(env, "migrate", "--noinput")
    out = manage(env, "shell", "-c", "from tests.console.browser_world import build; build()")
    world = json.loads(out.strip().splitlines()[-1])
    server = Daphne(env, folder / "daphne.log")
    world["base"] = server.http
    world["server"] = server
    yield world
    server.stop()


@contextmanager
def chromium_context(**options):
    """Debian's chromium in a profile of its own, in Chinese at a desktop size; `options` add to
    Playwright's launch_persistent_context (a geolocation, its permission)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="console-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_FLAGS,
            locale="zh-CN",
            viewport={"width": 1440, "height": 900},
            **options,
        )
        try:
            yield context
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser_context():
    with chromium_context() as context:
        yield context


class Console:
    """One page of the console with the errors its scripts raise."""

    def __init__(self, context, base: str) -> None:
        self.page = context.pages[0] if context.pages else context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def goto(self, path: str) -> None:
        self.errors.clear()
        self.page.goto(self.base + path)

    def run_action(self, row_text: str, action_label: str) -> None:
        row = self.page.locator("#result_list tbody tr", has_text=row_text)
        row.locator("input.action-select").check()
        self.page.select_option("select[name=action]", label=action_label)
        self.page.locator("button[name=index]").click()
        self.page.wait_for_load_state()


@pytest.fixture(scope="module")
def console(site, browser_context) -> Console:
    console = Console(browser_context, site["base"])
    console.goto("/admin/login/")
    console.page.fill("input[name=username]", site["secretary_phone"])
    console.page.fill("input[name=password]", site["password"])
    console.page.locator("button[type=submit], input[type=submit]").first.click()
    try:
        console.page.wait_for_url(re.compile(r".*/admin/$"), timeout=15000)
    except Exception:
        IMAGES.mkdir(parents=True, exist_ok=True)
        console.page.screenshot(path=str(Path(tempfile.gettempdir()) / "console-login-failed.png"))
        raise
    return console


def test_a_secretary_opens_on_her_todos(console):
    assert "社区党建工作台" in console.page.title()
    sidebar = console.page.locator("#nav-sidebar-apps").inner_text()
    for task in ("双报到审核", "活动与签到", "志愿时长审核", "品牌方案", "接诉即办", "红色物业", "通知公告", "报表"):
        assert task in sidebar
    todos = console.page.locator("#todos")
    registrations = todos.locator('[data-todo="member_registrations"] .count').inner_text()
    assert registrations == "2"  # hers, not the neighbour's
    assert todos.locator('[data-todo="leave"] .count').inner_text() == "2"
    assert todos.locator('[data-todo="content_review"] .count').inner_text() == "1"
    assert todos.locator('[data-todo="imports"] .count').inner_text() == "0"
    todos.locator('[data-todo="member_registrations"] a').click()
    console.page.wait_for_load_state()
    page_text = console.page.locator("#result_list").inner_text()
    assert "王建国" in page_text and "邻社区党员" not in page_text


def test_she_approves_and_rejects_from_the_registration_page(console, site):
    page = console.page
    console.goto(f"/admin/members/memberregistration/{site['registration_id']}/change/")
    content = page.locator("#content").inner_text()
    for needed in ("联系电话", "党员类别", "入党日期", "工作单位"):
        assert needed in content, needed
    page.locator('a[href$="/approve_one/"]').click()
    page.wait_for_selector("#decision-form")
    page.locator("#decision-submit").click()
    page.wait_for_load_state()
    assert "已通过报到" in page.content()
    assert "已报到" in page.locator("#content").inner_text()

    console.goto(f"/admin/members/memberregistration/{site['reject_id']}/change/")
    page.locator('a[href$="/reject_one/"]').click()
    page.wait_for_selector("#decision-form textarea[name=reason]")
    assert page.locator("textarea[name=reason]").is_visible()
    page.fill("textarea[name=reason]", "所在党组织填写有误")
    page.locator("#decision-submit").click()
    page.wait_for_load_state()
    assert "已驳回报到" in page.content()
    assert "所在党组织填写有误" in page.locator("#content").inner_text()
    assert console.errors == [], console.errors


def _decide_on_the_page(console, change: str, action: str, done: str, reason: str = "") -> None:
    """Open the row's page, click its decision button, give a reason where one is asked, submit."""
    page = console.page
    console.goto(change)
    page.locator(f'a[href$="/{action}/"]').first.click()
    page.wait_for_selector("#decision-form")
    if reason:
        page.fill("#decision-form textarea[name=reason]", reason)
    page.locator("#decision-submit").click()
    page.wait_for_load_state()
    assert done in page.content(), page.locator("#content").inner_text()[:500]


def test_she_decides_leave_and_content_with_one_button_each(console, site):
    page = console.page
    leave = f"/admin/activities/leaverequest/{site['leave_ids'][0]}/change/"
    console.goto(leave)
    assert page.locator('a[href$="/approve_one/"]').first.is_visible()
    assert page.locator('a[href$="/reject_one/"]').first.is_visible()
    page.screenshot(path=str(IMAGES / "decision-buttons.png"))
    _decide_on_the_page(console, leave, "approve_one", "已批准请假")
    assert "已批准" in page.locator("#content").inner_text()
    assert page.locator('a[href$="/approve_one/"]').count() == 0, "a decided request has no buttons"

    check = f"/admin/core/contentcheck/{site['check_id']}/change/"
    console.goto(check)
    assert "联系我 微信 abc123" in page.locator("#content").inner_text()
    _decide_on_the_page(console, check, "hold_one", "已设为不予展示", reason="含联系方式, 请删除后重新发布")
    assert "含联系方式" in page.locator("#content").inner_text()
    assert console.errors == [], console.errors


def _resident_id(first17: str = "43060219850315123") -> str:
    from backend.core import idcard

    return first17 + idcard.check_character(first17)


def test_she_records_a_volunteers_id_number_from_the_paper_form(console, site):
    page = console.page
    number = _resident_id()
    volunteer = f"/admin/volunteers/volunteer/{site['volunteer_id']}/change/"
    console.goto(volunteer)
    page.locator('a[href$="/record_id_number/"]').click()
    page.wait_for_selector("#decision-form")
    page.fill("input[name=id_number]", number[:-1] + "0" if number[-1] != "0" else number[:-1] + "1")
    page.check("input[name=consent]")
    page.locator("#decision-submit").click()
    page.wait_for_load_state()
    assert "身份证号校验位不正确" in page.locator("#decision-form").inner_text()
    page.fill("input[name=id_number]", number)
    page.check("input[name=consent]")
    page.locator("#decision-submit").click()
    page.wait_for_load_state()
    assert "已登记证件号码" in page.content()
    content = page.locator("#content").inner_text()
    assert f"{number[:3]}{'*' * 11}{number[-4:]}" in content and number not in content
    assert console.errors == [], console.errors


def test_she_publishes_the_activity(console, site):
    console.goto("/admin/activities/activity/")
    console.run_action("七一主题党日", "发布所选活动(通知面向对象)")
    assert "已发布 1 个活动" in console.page.content()
    assert "已发布" in console.page.locator("#result_list tbody tr", has_text="七一主题党日").inner_text()


def test_the_checkin_screen_rotates_its_code_and_counts_a_checkin_live(console, site):
    page = console.page
    console.goto(f"/admin/console/checkin/{site['activity_id']}/")
    qr = page.locator("#qr")
    first = qr.get_attribute("src")
    assert first.startswith("data:image/png;base64,")
    page.wait_for_function("document.getElementById('live').dataset.state === 'live'", timeout=15000)
    assert page.locator("#count-checked-in").inner_text() == "0"

    # The code changes by itself once its period is over.
    page.wait_for_function(
        "(first) => document.getElementById('qr').getAttribute('src') !== first",
        arg=first,
        timeout=(CODE_PERIOD_SECONDS * 2 + 5) * 1000,
    )
    assert qr.is_visible()

    # A member checks in with the phone (the API); the screen's count rises over the socket.
    with httpx.Client(base_url=site["base"], timeout=20) as http:
        code = http.get(
            f"/api/v1/activities/{site['activity_id']}/checkin-code/",
            headers={"Authorization": f"Bearer {site['secretary_token']}"},
        )
        assert code.status_code == 200, code.text
        latitude, longitude = site["venue"]
        checked_in = http.post(
            f"/api/v1/activities/{site['activity_id']}/check-in/",
            json={
                "client_id": str(uuid.uuid4()),
                "token": code.json()["token"],
                "latitude": latitude,
                "longitude": longitude,
                "accuracy": 10,
            },
            headers={"Authorization": f"Bearer {site['member_token']}"},
        )
        assert checked_in.status_code == 201, checked_in.text
    page.wait_for_function("document.getElementById('count-checked-in').textContent === '1'", timeout=10000)

    # Back from a sleep: a code past its expiry is hidden at once and a new one fetched.
    before = qr.get_attribute("src")
    page.evaluate(
        "(shift) => { const real = Date.now; window.realNow = real; Date.now = () => real.call(Date) + shift;"
        " document.dispatchEvent(new Event('visibilitychange')); }",
        3 * CODE_PERIOD_SECONDS * 1000,
    )
    page.wait_for_function(
        "(before) => document.getElementById('qr').getAttribute('src') !== before", arg=before, timeout=10000
    )
    page.evaluate("() => { Date.now = window.realNow; }")
    time.sleep(0.5)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "checkin-screen.png"))
    assert console.errors == [], console.errors


def _members_sheet() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "党员类别", "组织关系所在党组织", "网格", "入党日期", "工作单位", "身份证号"])
    sheet.append(["陈红", "13700000011", "正式党员", "岳阳市自来水公司党支部", "第一网格", "2012-07-01", "自来水公司"])
    sheet.append(["刘强", "1370000", "党员", "岳阳市自来水公司党支部", "", "", "", ""])
    sheet.append(["", "13700000013", "预备党员", "不存在的党支部", "", "明天", "", ""])
    sheet.append(["吴静", "13700000014", "正式党员", "岳阳市自来水公司党支部", "", "", "", "43060219900101123"])
    sheet.append(["周敏", "13700000015", "预备党员", "岳阳市自来水公司党支部", "", "", "", ""])
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_members_sheet_with_three_bad_rows_reports_them_all_at_once(console):
    page = console.page
    console.goto("/admin/console/import/members/")
    page.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": "党员台账.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": _members_sheet(),
            }
        ],
    )
    page.check("input[name=attested]")
    page.locator("#import-form button[type=submit]").click()
    page.wait_for_selector("#import-preview")
    bad = page.locator("#import-rows tr.row-error")
    assert bad.count() == 3
    text = bad.all_inner_texts()
    assert "请输入有效的中国大陆手机号" in text[0] and "党员类别" in text[0]
    assert "姓名: 必填" in text[1] and "不存在的党支部" in text[1] and "入党日期" in text[1]
    assert "身份证号应为18位" in text[2]
    assert page.locator("#import-rows tr.row-ok").count() == 2
    assert page.locator("#import-confirm").count() == 0  # nothing is saved while a row is wrong
    assert console.errors == [], console.errors


def test_the_sheet_waits_in_her_todos_until_it_is_put_right(console):
    page = console.page
    console.goto("/admin/")
    todos = page.locator("#todos")
    assert todos.locator('[data-todo="imports"] .count').inner_text() == "1"
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "workbench.png"))
    todos.locator('[data-todo="imports"] a').click()
    page.wait_for_load_state()
    listed = page.locator("#result_list").inner_text()
    assert "党员台账.xlsx" in listed and "3 行有错误" in listed
    assert "第 3 行 手机号: 请输入有效的中国大陆手机号" in listed
    assert console.errors == [], console.errors


def test_the_dashboard_draws_its_charts_with_the_figures_beside_them(console):
    page = console.page
    console.goto("/admin/")
    page.wait_for_selector("#dashboard")
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas.chart')].length === 6"
        " && [...document.querySelectorAll('canvas.chart')].every((c) => window.Chart && Chart.getChart(c))"
    )
    sizes = page.evaluate("() => [...document.querySelectorAll('canvas.chart')].map((c) => c.width * c.height)")
    assert all(size > 0 for size in sizes)
    text = page.locator("#dashboard").inner_text()
    for figure in ("五个全覆盖", "东湖社区", "刘芳", "东湖红心", "超期未办"):
        assert figure in text, figure
    assert "九华山社区" not in text  # her community's figures only
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "dashboard.png"), full_page=True)
    assert console.errors == [], console.errors


def test_a_street_admin_opens_on_the_streets_todos_and_compares_communities(console, site, browser_context):
    page = console.page
    browser_context.clear_cookies()
    console.goto("/admin/login/")
    page.fill("input[name=username]", site["street_admin_phone"])
    page.fill("input[name=password]", site["password"])
    page.locator("button[type=submit], input[type=submit]").first.click()
    page.wait_for_url(re.compile(r".*/admin/$"), timeout=15000)
    todos = page.locator("#todos")
    assert todos.locator('[data-todo="plans_to_review"] .count').inner_text() == "1"
    assert todos.locator('[data-todo="member_registrations"] .count').inner_text() == "2"  # the neighbour's
    assert todos.locator('[data-todo="imports"] .count').inner_text() == "1"  # the secretary's sheet, his street

    console.goto("/admin/console/street/")
    page.wait_for_selector("#street-compare")
    rows = page.locator("#coverage-compare tr[data-community]").all_inner_texts()
    assert [row.split()[0] for row in rows] == ["东湖社区", "九华山社区"]
    assert "东湖红心" in page.locator("#board-compare").inner_text()
    page.screenshot(path=str(IMAGES / "street-compare.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#export-coverage").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert console.errors == [], console.errors


def test_the_street_admin_decides_from_the_detail_pages(console, site):
    page = console.page
    registrations = "/admin/members/memberregistration/{}/change/"
    _decide_on_the_page(console, registrations.format(site["neighbour_approve_id"]), "approve_one", "已通过报到")
    _decide_on_the_page(
        console, registrations.format(site["neighbour_reject_id"]), "reject_one", "已驳回报到", reason="不在本街道居住"
    )
    assert "不在本街道居住" in page.locator("#content").inner_text()
    leave = f"/admin/activities/leaverequest/{site['leave_ids'][1]}/change/"
    _decide_on_the_page(console, leave, "reject_one", "已不批准请假", reason="支部大会须本人参加")
    assert "支部大会须本人参加" in page.locator("#content").inner_text()
    console.goto("/admin/")
    todos = page.locator("#todos")
    assert todos.locator('[data-todo="member_registrations"] .count').inner_text() == "0"
    assert todos.locator('[data-todo="leave"] .count').inner_text() == "0"
    assert console.errors == [], console.errors


def test_the_street_admin_imports_a_sheet_with_three_bad_rows_for_a_community(console):
    page = console.page
    console.goto("/admin/console/import/members/")
    page.select_option("#id_place", label="东湖社区")
    page.set_input_files(
        "input[name=file]",
        files=[
            {
                "name": "街道汇总.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": _members_sheet(),
            }
        ],
    )
    page.check("input[name=attested]")
    page.locator("#import-form button[type=submit]").click()
    page.wait_for_selector("#import-preview")
    assert page.locator("#import-rows tr.row-error").count() == 3
    assert page.locator("#import-confirm").count() == 0
    console.goto("/admin/console/importrun/")
    assert "街道汇总.xlsx" in page.locator("#result_list").inner_text()
    assert console.errors == [], console.errors


def test_the_workbench_fits_a_phone(console):
    page = console.page
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        console.goto("/admin/")
        page.wait_for_selector("#todos")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px wider than the phone"
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})
