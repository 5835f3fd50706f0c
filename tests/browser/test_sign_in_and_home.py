"""Sign in, the home page with each trial's state in words, the language switch and sign-out, in a
real Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET
from tests.integration.api_helpers import PASSWORD


def test_sign_in_shows_each_trial_in_words_and_signs_out(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.goto("/")
    expect(browser.page).to_have_url(re.compile(r"/login\?next=/"))
    browser.check("login")

    browser.sign_in("coord1", "not the password")
    expect(browser.page.get_by_role("alert")).to_contain_text("Wrong username or password")
    expect(browser.page.get_by_label("Username")).to_have_value("coord1")  # nothing typed is lost

    browser.sign_in("coord1", PASSWORD)
    expect(browser.page.get_by_role("heading", name="Trials", level=1)).to_be_visible()
    trial = browser.page.locator("section.trial", has_text="SCR-ESCC-01")
    expect(trial).to_contain_text("run-in open")
    expect(trial).to_contain_text("20 of 20-25 enrolled")
    expect(trial).to_contain_text("0 treatment-related deaths")
    expect(trial.get_by_role("table", name="Enrolment by site")).to_contain_text("S01")
    expect(trial.get_by_role("table", name="Enrolment by site")).not_to_contain_text("S02")  # own site only
    browser.check("home")

    cookie = next(c for c in browser.page.context.cookies() if c["name"] == "trialdesk_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    browser.sign_out()
    browser.goto("/")
    expect(browser.page).to_have_url(re.compile(r"/login"))


def test_language_follows_the_browser_and_the_switch(open_browser: BrowserFactory) -> None:
    browser = open_browser("zh_CN", viewport=TABLET)
    browser.goto("/login")
    expect(browser.page.get_by_role("heading", name="登录")).to_be_visible()
    browser.sign_in("safety", PASSWORD)
    expect(browser.page.get_by_role("heading", name="试验", level=1)).to_be_visible()
    expect(browser.page.locator("html")).to_have_attribute("lang", "zh-CN")
    browser.check("home")

    browser.page.get_by_role("link", name="English").click()
    expect(browser.page.get_by_role("heading", name="Trials", level=1)).to_be_visible()
    browser.page.get_by_role("link", name="简体中文").click()
    expect(browser.page.get_by_role("heading", name="试验", level=1)).to_be_visible()


def test_an_unknown_page_is_a_404_page_not_json(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("monitor", PASSWORD)
    response = browser.page.goto(browser.url("/no/such/page"))
    assert response is not None and response.status == 404
    expect(browser.page.get_by_role("heading", name="Not found")).to_be_visible()
