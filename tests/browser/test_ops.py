"""The statistician, monitor and admin pages in a real Chromium: allocation lists, the design check, a
background simulation with its progress bar, the audit trail with filters and CSV download, sites and
users; the roles that may not see them; every page in English and Chinese (screenshots, axe-core)."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET
from tests.integration.api_helpers import PASSWORD

SCR = "scr-escc-01"
IVO = "ivo-shfrt-2l"


def test_statistician_generates_and_views_an_allocation_list(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("stat", PASSWORD)
    browser.goto(f"/trials/{SCR}/allocation-lists")
    page = browser.page
    expect(page.get_by_role("heading", name="Allocation lists", level=1)).to_be_visible()
    expect(page.get_by_text("No allocation list has been generated yet.")).to_be_visible()
    browser.check("allocation-lists-empty")

    page.get_by_label("Slots per stratum").fill("4")
    page.get_by_label("Seed (hexadecimal, optional)").fill("abcd")
    page.get_by_role("button", name="Generate the list").click()
    expect(page.get_by_text("the seed must have at least 32 bytes")).to_be_visible()
    expect(page.get_by_label("Slots per stratum")).to_have_value("4")  # nothing typed is lost
    page.get_by_label("Seed (hexadecimal, optional)").fill("")
    page.get_by_role("button", name="Generate the list").click()

    expect(page.get_by_role("heading", name=re.compile(r"Allocation list \d+"), level=1)).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("recorded in the audit trail")
    expect(page.get_by_role("table", name="Slots")).to_contain_text("S01")
    browser.check("allocation-list")
    page.get_by_role("link", name="Allocation lists").click()
    expect(page.get_by_role("link", name=re.compile(r"View list \d+"))).to_be_visible()
    browser.check("allocation-lists")


def test_design_check_and_a_background_simulation(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("stat", PASSWORD)
    page = browser.page
    browser.goto(f"/trials/{SCR}/design")
    expect(page.get_by_role("heading", name="Computed size beside the target of phase iib")).to_be_visible()
    browser.check("design")
    browser.goto(f"/trials/{IVO}/design")
    page.get_by_label("Trials per run").fill("1000")
    page.get_by_role("button", name="Simulate the test").click()
    expect(page.get_by_role("row", name=re.compile("calibrated under H0"))).to_be_visible()
    browser.check("design-single-arm")

    browser.goto(f"/trials/{SCR}/simulate")
    expect(page.get_by_label("Arm A: hazard ratio against the control arm")).to_have_value("0.667")
    browser.check("simulate")
    page.get_by_label("Number of simulated trials").fill("200")
    page.get_by_label("Arm A: hazard ratio against the control arm").fill("-1")
    page.get_by_role("button", name="Start the simulation").click()
    expect(page.get_by_text("Input should be greater than 0")).to_be_visible()
    expect(page.get_by_label("Number of simulated trials")).to_have_value("200")
    page.get_by_label("Arm A: hazard ratio against the control arm").fill("0.667")
    page.get_by_role("button", name="Start the simulation").click()

    progress = page.locator("progress#simulation-progress")
    expect(progress).to_be_visible()
    expect(progress).to_have_attribute("value", "100")
    expect(page.get_by_role("status")).to_contain_text("Finished")
    expect(page.get_by_role("table", name="Probabilities")).to_contain_text("P(run-in terminates)")
    expect(page.get_by_role("table", name="Probabilities")).to_contain_text("Power")
    browser.check("simulation")


def test_monitor_filters_the_audit_trail_and_downloads_it(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("monitor", PASSWORD)
    page = browser.page
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()
    page.get_by_label("User").fill("bootstrap")
    page.get_by_label("Table").select_option("users")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"user=bootstrap.*table=users"))
    rows = page.get_by_role("table", name="Audit rows").locator("tbody tr")
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts():
        assert "bootstrap" in text and "users" in text
    browser.check("audit")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("audit-trail-")
    path = download.path()
    records = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert (
        records
        and {r["user"] for r in records} == {"bootstrap"}
        and {r["table"] for r in records} == {"users"}
    )


def test_admin_creates_a_user_and_deactivates_them(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("admin", PASSWORD)
    page = browser.page
    page.get_by_role("link", name="Sites and users").click()
    expect(page.get_by_role("heading", name="Sites and users", level=1)).to_be_visible()
    browser.check("admin")

    page.get_by_label("Username").fill("coord7")
    page.get_by_label("Full name").fill("Wang Fang")
    page.get_by_label("Role").select_option("coordinator")
    page.get_by_label("Initial password").fill(PASSWORD)
    page.get_by_role("button", name="Create the user").click()
    expect(page.get_by_text("must belong to at least one site")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Wang Fang")
    page.get_by_label("Initial password").fill(PASSWORD)
    page.get_by_label(re.compile(f"{SCR} · S01")).check()
    page.get_by_role("button", name="Create the user").click()
    expect(page.get_by_role("status")).to_contain_text("coord7")

    page.get_by_role("link", name="coord7").click()
    expect(page.get_by_role("heading", name="User coord7")).to_be_visible()
    browser.check("admin-user")
    page.get_by_label("Reason").first.fill("left the study team")
    page.get_by_role("button", name="Deactivate the user").click()
    expect(page.get_by_role("status")).to_contain_text("can no longer sign in")

    newcomer = open_browser()
    newcomer.sign_in("coord7", PASSWORD)
    expect(newcomer.page.get_by_role("alert")).to_contain_text("Wrong username or password")


def test_other_roles_get_refusal_pages(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    for path in ("/audit", "/admin", f"/trials/{SCR}/allocation-lists", f"/trials/{SCR}/simulate"):
        response = browser.page.goto(browser.url(path))
        assert response is not None and response.status == 403, path
        expect(browser.page.get_by_role("heading", name="Not allowed")).to_be_visible()
    browser.goto("/")
    expect(browser.page.get_by_role("link", name="Audit trail")).to_have_count(0)
    stat = open_browser()
    stat.sign_in("stat", PASSWORD)
    response = stat.page.goto(stat.url(f"/trials/{SCR}/simulate/0123456789abcdef"))
    assert response is not None and response.status == 404


def test_pages_in_chinese_at_tablet_width(open_browser: BrowserFactory) -> None:
    stat = open_browser("zh_CN", viewport=TABLET)
    stat.sign_in("stat", PASSWORD)
    for name, path in (
        ("allocation-lists", f"/trials/{SCR}/allocation-lists"),
        ("design", f"/trials/{SCR}/design"),
        ("simulate", f"/trials/{SCR}/simulate"),
    ):
        stat.goto(path)
        stat.check(name)
    expect(stat.page.get_by_role("heading", level=1)).to_have_text("运行特征模拟")
    stat.page.get_by_label("模拟试验数").fill("200")
    stat.page.get_by_role("button", name="开始模拟").click()
    expect(stat.page.get_by_role("status")).to_contain_text("已完成")
    stat.check("simulation")

    monitor = open_browser("zh_CN", viewport=TABLET)
    monitor.sign_in("monitor", PASSWORD)
    monitor.goto("/audit?table=users")
    expect(monitor.page.get_by_role("heading", level=1)).to_have_text("稽查轨迹")
    monitor.check("audit")

    admin = open_browser("zh_CN", viewport=TABLET)
    admin.sign_in("admin", PASSWORD)
    admin.goto("/admin")
    expect(admin.page.get_by_role("heading", level=1)).to_have_text("中心与用户")
    admin.check("admin")
    admin.page.get_by_role("link", name="coord1").click()
    admin.check("admin-user")
