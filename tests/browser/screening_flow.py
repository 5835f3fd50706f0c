"""Shared steps of the screening browser tests: patient files dated around today, the JSON API against
the running server (bearer tokens) for set-up, and the randomization flow (run on SQLite and
PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.harness import Browser
from tests.integration.api_helpers import EXAMPLES, PASSWORD


def recent_patient(protocol_id: str, number: str, *, keep_attestations: bool = True) -> dict[str, Any]:
    """The protocol's eligible example patient, screened today, every date shifted to stay current."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{protocol_id}-eligible.json").read_text(encoding="utf-8"))
    shift = dt.date.today() - dt.date.fromisoformat(data["screening_date"])
    text = json.dumps(data)
    for found in sorted(set(re.findall(r'"(\d{4}-\d{2}-\d{2})', text)), reverse=True):
        moved = (dt.date.fromisoformat(found) + shift).isoformat()
        text = text.replace(f'"{found}', f'"{moved}')
    shifted: dict[str, Any] = json.loads(text)
    shifted["birth_date"] = data["birth_date"]
    shifted["id"] = number
    for answer in shifted.get("attestations", {}).values():
        answer["at"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    if not keep_attestations:
        shifted["attestations"] = {}
    return shifted


def patient_file(tmp: Path, protocol_id: str, number: str) -> Path:
    path = tmp / f"{number}.json"
    path.write_text(json.dumps(recent_patient(protocol_id, number)), encoding="utf-8")
    return path


class ServerApi:
    """The JSON API of the running server with each user's bearer token."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=30)
        self.tokens: dict[str, str] = {}

    def call(self, method: str, user: str, path: str, body: Any = None) -> Any:
        if user not in self.tokens:
            answer = self.client.post("/api/auth/token", data={"username": user, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            self.tokens[user] = answer.json()["access_token"]
        response = self.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {self.tokens[user]}"}
        )
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def open_randomized_phase(self, protocol_id: str = "scr-escc-01") -> None:
        """The safety reviewer signs the run-in gate open; the statistician generates the list."""
        base = f"/api/trials/{protocol_id}"
        self.call("POST", "safety", f"{base}/phase", {"target": "run_in_review", "reason": "run-in done"})
        evidence = self.call("GET", "safety", f"{base}/gate-evidence")
        self.call(
            "POST",
            "safety",
            f"{base}/phase",
            {
                "target": "randomized_open",
                "reason": "fewer than 2 related deaths",
                "password": PASSWORD,
                "meaning": "I approve opening phase IIb",
                "evidence_sha256": evidence["evidence_sha256"],
            },
        )
        self.call("POST", "stat", f"{base}/randomization-lists", {"slots_per_stratum": 8})

    def enrolled_subject(self, protocol_id: str, number: str) -> int:
        """Screened by coord1, attested and enrolled by inv1 (site S01), today."""
        record = recent_patient(protocol_id, number, keep_attestations=False)
        base = f"/api/trials/{protocol_id}/subjects"
        subject_id: int = self.call("POST", "coord1", base, {"site_code": "S01", "patient": record})["id"]
        answers = recent_patient(protocol_id, number)["attestations"]
        for criterion_id, answer in answers.items():
            self.call(
                "POST",
                "inv1",
                f"{base}/{subject_id}/attestations",
                {"criterion_id": criterion_id, "answer": answer["answer"]},
            )
        body = {"consent_date": record["consent"]["signed_date"], "password": PASSWORD}
        self.call("POST", "inv1", f"{base}/{subject_id}/enrol", body)
        return subject_id

    def run_in_subject(self, protocol_id: str = "scr-escc-01") -> int:
        """A run-in subject (enrolled in phase IIa) visible to coord1."""
        subjects = self.call("GET", "coord1", f"/api/trials/{protocol_id}/subjects")
        return int(next(s["id"] for s in subjects if s["phase_id"] == "iia"))


def randomization_flow(browser: Browser, api: ServerApi, *, screenshots: bool = True) -> None:
    """Refused while the run-in is open (reason shown); after the gate opens, randomize a phase-IIb
    subject in the browser: the strata come from the record and the arm is shown."""
    page = browser.page
    run_in = api.run_in_subject()
    browser.goto(f"/trials/scr-escc-01/subjects/{run_in}/randomize")
    expect(page.get_by_text("ECOG performance status")).to_be_visible()
    page.get_by_role("button", name="Confirm and randomize").click()
    expect(page.get_by_role("alert")).to_contain_text("randomization is closed")
    expect(page.get_by_role("alert")).to_contain_text("run_in_open")
    if screenshots:
        browser.check("randomize-refused")

    api.open_randomized_phase()
    subject_id = api.enrolled_subject("scr-escc-01", "WEB-IIB-001")
    browser.goto(f"/trials/scr-escc-01/subjects/{subject_id}/randomize")
    strata = page.locator("dl.facts").last
    expect(strata).to_contain_text("S01")
    expect(strata).to_contain_text("ECOG performance status")
    if screenshots:
        browser.check("randomize-confirm")
    page.get_by_role("button", name="Confirm and randomize").click()
    expect(page.locator("p.arm")).to_have_text(re.compile(r"Arm: (A|B)"))
    if screenshots:
        browser.check("randomized")
