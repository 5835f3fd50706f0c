"""The safety reviewer and the statistician in a real Chromium: the run-in gate signed open (a wrong
password refused beside its field), an alert acknowledged, the safety report and the trial report
previewed and downloaded as PDF, in English and Chinese; coordinators are refused."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import BrowserFactory
from tests.browser.harness import TABLET
from tests.integration.api_helpers import PASSWORD
from tests.support.server import AppServer

TRIAL = "scr-escc-01"


def _token(server: AppServer, user: str) -> dict[str, str]:
    answer = httpx.post(server.url + "/api/auth/token", data={"username": user, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_safety_reviewer_signs_the_run_in_gate_open(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("safety", PASSWORD)
    browser.goto(f"/trials/{TRIAL}/gate")
    page = browser.page
    expect(page.get_by_role("heading", name=re.compile("Run-in gate"), level=1)).to_be_visible()
    expect(page.locator(".phase-now")).to_have_text("run-in open")
    expect(page.get_by_text("20 of the minimum 20")).to_be_visible()
    expect(
        page.get_by_role("table", name=re.compile("Probability that rule runin-grade5-trae"))
    ).to_contain_text("0.2642")
    browser.check("safety-gate-run-in")

    page.get_by_label("Reason").first.fill("run-in cohort complete")
    page.get_by_role("button", name="Move to safety review").click()
    expect(page.locator(".phase-now")).to_have_text("run-in under safety review")

    page.get_by_role("combobox", name="Decision").select_option("randomized_open")
    page.get_by_role("textbox", name="Reason").fill("no treatment-related death among 20 run-in subjects")
    expect(page.get_by_label("Meaning of your signature")).to_have_value(re.compile("I have reviewed"))
    page.get_by_label(re.compile("Your password")).fill("not my password")
    page.get_by_role("button", name="Sign", exact=True).click()
    password = page.get_by_label(re.compile("Your password"))
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#password-error")).to_contain_text("the password is wrong")
    expect(page.get_by_role("textbox", name="Reason")).to_have_value(re.compile("no treatment-related death"))
    browser.check("safety-gate-refused")

    password.fill(PASSWORD)
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("randomized phase open")
    expect(page.locator(".phase-now")).to_have_text("randomized phase open")
    expect(page.get_by_role("table", name="Phase history")).to_contain_text("safety")
    browser.check("safety-gate-signed")


def _grade5_on_a_run_in_subject(server: AppServer) -> None:
    """A grade-5 AE, attributed as unrelated to every component, recorded by the investigator through
    the JSON API (bearer token): it raises a grade-5 alert and leaves the stopping rule's count alone."""
    investigator = _token(server, "inv1")
    base = f"{server.url}/api/trials/{TRIAL}/subjects"
    subjects = httpx.get(base, headers=investigator).json()
    subject = next(s["id"] for s in subjects if s["screening_number"] == "RUNIN-000")
    body = {
        "term": "Death NOS",
        "grade": 5,
        "onset_date": "2026-06-01",
        "death_date": "2026-06-03",
        "site_aware_at": "2026-06-03T09:00:00+00:00",
        "attributions": {c: "unrelated" for c in ("pd1", "ldrt", "paclitaxel", "platinum", "cfrt")},
    }
    recorded = httpx.post(f"{base}/{subject}/adverse-events", json=body, headers=investigator)
    assert recorded.status_code == 201, recorded.text


def test_an_alert_is_acknowledged(open_browser: BrowserFactory, web_server: AppServer) -> None:
    _grade5_on_a_run_in_subject(web_server)
    browser = open_browser(viewport=TABLET)
    browser.sign_in("safety", PASSWORD)
    browser.goto(f"/trials/{TRIAL}/alerts")
    page = browser.page
    card = page.locator("section.alert-card", has_text="Grade-5 adverse event")
    expect(card).to_contain_text("Death NOS")
    browser.check("safety-alerts")
    card.get_by_label("Acknowledgement note").fill("x")
    card.get_by_role("button", name=re.compile("Acknowledge alert")).click()
    card = page.locator("section.alert-card", has_text="Grade-5 adverse event")
    expect(card.locator(".field-error")).to_contain_text("at least 3 characters")
    expect(card.get_by_label("Acknowledgement note")).to_have_value("x")
    card.get_by_label("Acknowledgement note").fill("Investigator called; DSMB chair informed")
    card.get_by_role("button", name=re.compile("Acknowledge alert")).click()
    expect(page.get_by_role("status")).to_contain_text("acknowledged")
    expect(page.locator("section.alert-card", has_text="Grade-5 adverse event")).to_have_count(0)
    expect(page.locator("section.alert-card", has_text="24-hour clock")).to_contain_text(
        "recorded"
    )  # still open
    page.get_by_role("link", name="All alerts").click()
    acknowledged = page.locator("section.alert-card", has_text="Grade-5 adverse event")
    expect(acknowledged).to_contain_text("DSMB chair informed")


def test_the_statistician_previews_and_downloads_the_trial_report(open_browser: BrowserFactory) -> None:
    for language in ("en", "zh_CN"):
        browser = open_browser(language)
        browser.sign_in("stat", PASSWORD)
        browser.goto(f"/trials/{TRIAL}/report")
        page = browser.page
        expect(
            page.get_by_role("img", name=re.compile("Kaplan-Meier estimate of progression-free")).first
        ).to_be_visible()
        expect(
            page.get_by_role("img", name=re.compile("Kaplan-Meier estimate of overall")).first
        ).to_be_visible()
        expect(page.get_by_role("table", name="Tumour response")).to_contain_text("Objective response rate")
        browser.check("trial-report")
        with page.expect_download() as download:
            page.get_by_role("link", name=re.compile("Download the PDF|下载 PDF")).click()
        content = Path(download.value.path()).read_bytes()
        reader = PdfReader(io.BytesIO(content))
        assert content.startswith(b"%PDF") and "trial report" in str(
            reader.metadata.title if reader.metadata else ""
        )


def test_the_safety_report_at_a_cutoff(open_browser: BrowserFactory) -> None:
    for language in ("en", "zh_CN"):
        browser = open_browser(language, viewport=TABLET if language == "zh_CN" else None)
        browser.sign_in("safety", PASSWORD)
        browser.goto(f"/trials/{TRIAL}/safety-report")
        page = browser.page
        cutoff = page.get_by_label(re.compile("Data cut-off|数据截止日期"))
        cutoff.fill("2026-06-30")
        page.get_by_role("button", name=re.compile("Show the report|显示此截止日期")).click()
        expect(page).to_have_url(re.compile(r"cutoff=2026-06-30"))
        expect(page.get_by_role("table", name=re.compile("Stopping rule"))).to_be_visible()
        link = page.get_by_role("link", name=re.compile("Download the PDF|下载 PDF"))
        expect(link).to_have_attribute("href", re.compile(r"safety-report\.pdf\?cutoff=2026-06-30"))
        browser.check("safety-report")
        browser.goto(f"/trials/{TRIAL}/gate")
        browser.check("safety-gate")
        browser.goto(f"/trials/{TRIAL}/alerts?show=all")
        browser.check("safety-alerts-all")


def test_coordinators_are_refused(open_browser: BrowserFactory) -> None:
    browser = open_browser()
    browser.sign_in("coord1", PASSWORD)
    for path in ("gate", "alerts", "safety-report", "report"):
        response = browser.page.goto(browser.url(f"/trials/{TRIAL}/{path}"))
        assert response is not None and response.status == 403
        expect(browser.page.get_by_role("heading", name="Not allowed")).to_be_visible()
    browser.check("safety-refused")
