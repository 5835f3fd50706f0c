"""Drive Debian's headless Chromium with Playwright against the real server, and check each page.

Every page visited through :class:`Browser` is watched: a request to another origin or a console
error fails the test at the end, and :meth:`Browser.check` runs axe-core (installed from the npm
registry into ``tests/browser/node_modules`` by ``make test``) and fails on serious or critical
violations, then writes a screenshot to ``test-output/screenshots`` (ignored by git).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser as PlaywrightBrowser
from playwright.sync_api import ConsoleMessage, Page, Playwright, Request, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = HERE.parents[1] / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
QUIET_SECONDS = 0.1
"""How long no request may be in flight before a page counts as settled (:meth:`Browser.settle`)."""
DOCUMENT_REFUSAL = "Failed to load resource: the server responded with a status of 4"
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 900}


def require_tools() -> None:
    """Fail (never skip) with the command that installs what is missing."""
    import pytest

    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is not installed: run `make system-deps` (make test does)", pytrace=False
        )
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run `make browser-deps` (make test does)", pytrace=False)


@contextmanager
def chromium() -> Iterator[tuple[Playwright, PlaywrightBrowser]]:
    """Playwright with Debian's Chromium (Playwright's own browser download is never used)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield playwright, browser
        finally:
            browser.close()


@dataclass
class Browser:
    """One signed-in (or anonymous) browser context on the server at ``base_url``."""

    page: Page
    base_url: str
    language: str = "en"
    foreign_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    in_flight: int = 0
    last_network_change: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        origin = urlsplit(self.base_url).netloc
        self.page.set_default_timeout(15_000)

        def watch_request(request: Request) -> None:
            parts = urlsplit(request.url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != origin:
                self.foreign_requests.append(request.url)

        def watch_console(message: ConsoleMessage) -> None:
            if message.type != "error":
                return
            document_refusal = (
                message.text.startswith(DOCUMENT_REFUSAL)
                and message.location.get("url") == self.page.url.split("#")[0]
            )
            if not document_refusal:  # a 4xx page is a deliberate answer (a form error, a 404 page)
                self.console_errors.append(f"{self.page.url}: {message.text}")

        def network_change(delta: int) -> None:
            self.in_flight += delta
            self.last_network_change = time.monotonic()

        self.page.on("request", watch_request)
        self.page.on("request", lambda _: network_change(+1))
        self.page.on("requestfinished", lambda _: network_change(-1))
        self.page.on("requestfailed", lambda _: network_change(-1))
        self.page.on("console", watch_console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"{self.page.url}: {error}"))

    def url(self, path: str) -> str:
        return self.base_url + path

    def settle(self, timeout: float = 15.0) -> None:
        """Wait until the page has loaded and no request has been in flight for :data:`QUIET_SECONDS`,
        so that the fragments htmx fetches with the page (``hx-trigger="load"``) are in.

        Playwright's ``networkidle`` waits for 500 ms without a request after every navigation; with
        about 120 waits that was a fifth of the browser tests' time. Requests that start later than
        the quiet window (a typed search's ``delay:400ms``) were never waited for by either: tests
        wait for what such a request shows.
        """
        self.page.wait_for_load_state("load")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.in_flight <= 0 and time.monotonic() - self.last_network_change >= QUIET_SECONDS:
                return
            self.page.wait_for_timeout(20)  # lets Playwright deliver the request events
        raise AssertionError(f"{self.page.url}: {self.in_flight} requests still in flight after {timeout} s")

    def goto(self, path: str) -> None:
        self.page.goto(self.url(path))

    def sign_in(self, username: str, password: str) -> None:
        """Use the sign-in form as a person would."""
        self.goto("/login")
        self.page.get_by_label(re.compile("Username|用户名")).fill(username)
        self.page.get_by_label(re.compile("Password|密码")).fill(password)
        self.page.get_by_role("button", name=re.compile("Sign in|登录")).click()
        self.settle()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name=re.compile("Sign out|退出登录")).click()
        self.page.wait_for_url(re.compile(r"/login"))

    def axe_violations(self) -> list[dict[str, object]]:
        """axe-core's serious and critical violations on the current page (WCAG 2 A/AA rules)."""
        self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
        result = self.page.evaluate(
            """async () => {
                const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
            }"""
        )
        return [v for v in result if v["impact"] in ("serious", "critical")]

    def check(self, name: str, *, full_page: bool = True) -> None:
        """The current page passes axe-core (no serious/critical violation); save its screenshot."""
        self.settle()
        violations = self.axe_violations()
        assert not violations, f"{name}: axe-core violations:\n{json.dumps(violations, indent=2)}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}-{self.language}.png"), full_page=full_page)

    def assert_clean(self) -> None:
        """No request left the origin and the console stayed free of errors."""
        assert not self.foreign_requests, f"requests to other origins: {self.foreign_requests}"
        assert not self.console_errors, f"console errors: {self.console_errors}"
