"""The statistician, monitor and admin pages over HTTP: allocation lists (each view audited), the
design check, background simulations, the audit trail with its CSV export, sites and users, and the
roles that may not see them."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import PASSWORD, Api, build_api
from tests.integration.web_helpers import csrf_token as _csrf

SCR = "scr-escc-01"
IVO = "ivo-shfrt-2l"


@pytest.fixture
def api(tmp_path: Path) -> Api:
    return build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)


def browser(api: Api, username: str) -> tuple[TestClient, str]:
    """A signed-in browser session (its own cookies) and its CSRF token."""
    client = TestClient(api.client.app)
    token = _csrf(client.get("/login").text)
    data = {"username": username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return client, _csrf(client.get("/").text)


def _audit_actions(api: Api, table: str) -> list[str]:
    headers = api.headers("monitor")
    rows = api.client.get("/api/audit", params={"table": table, "page_size": 1000}, headers=headers).json()
    return [f"{row['action']}:{row['record_id']}" for row in rows["items"]]


def test_statistician_generates_and_views_an_allocation_list(api: Api) -> None:
    client, csrf = browser(api, "stat")
    page = client.get(f"/trials/{SCR}/allocation-lists")
    assert page.status_code == 200 and "No allocation list has been generated yet." in page.text

    refused = client.post(
        f"/trials/{SCR}/allocation-lists",
        data={"slots_per_stratum": "4", "seed_hex": "abcd", "csrf_token": csrf},
    )
    assert refused.status_code == 422
    assert "the seed must have at least 32 bytes" in refused.text  # the service's words, beside the field
    assert 'value="abcd"' in refused.text and 'value="4"' in refused.text  # nothing typed is lost

    created = client.post(
        f"/trials/{SCR}/allocation-lists",
        data={"slots_per_stratum": "4", "seed_hex": "ab" * 32, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert created.status_code == 303
    view = client.get(created.headers["location"])
    assert view.status_code == 200 and "ab" * 32 in view.text and "recorded in the audit trail" in view.text
    assert "export:" + SCR in _audit_actions(api, "randomization_lists")

    again = client.post(
        f"/trials/{SCR}/allocation-lists", data={"slots_per_stratum": "4", "csrf_token": csrf}
    )
    assert again.status_code == 409 and "already has an active allocation list" in again.text


def test_allocation_lists_are_for_statisticians_only(api: Api) -> None:
    for user in ("coord1", "monitor", "admin"):
        client, _ = browser(api, user)
        response = client.get(f"/trials/{SCR}/allocation-lists")
        assert response.status_code == 403, user
        assert "<h1>Not allowed</h1>" in response.text
    client, _ = browser(api, "stat")
    assert client.get("/trials/no-such-trial/allocation-lists").status_code == 404


def test_design_check_shows_the_computed_size_beside_the_targets(api: Api) -> None:
    client, csrf = browser(api, "stat")
    page = client.get(f"/trials/{SCR}/design")
    assert page.status_code == 200
    assert "Computed size beside the target of phase iib" in page.text and "hazard_ratio" in page.text
    single = client.post(f"/trials/{IVO}/design", data={"sims": "1000", "seed": "7", "csrf_token": csrf})
    assert single.status_code == 200 and "calibrated under H0" in single.text
    refused = client.post(f"/trials/{IVO}/design", data={"sims": "10", "seed": "7", "csrf_token": csrf})
    assert refused.status_code == 422 and 'value="10"' in refused.text
    coordinator, _ = browser(api, "coord1")
    assert coordinator.get(f"/trials/{SCR}/design").status_code == 403


def test_a_simulation_runs_in_the_background_and_shows_its_results(api: Api) -> None:
    client, csrf = browser(api, "stat")
    form = client.get(f"/trials/{SCR}/simulate").text
    assert 'name="arms.A.hazard_ratio"' in form and 'value="0.667"' in form
    data = {
        "sims": "200",
        "seed": "3",
        "accrual.duration_months": "24",
        "arms.B.median_months": "6",
        "arms.A.hazard_ratio": "0",
        "run_in.grade5_rate": "0.05",
        "run_in.observation_months": "2",
        "dropout.proportion": "0.05",
        "analysis.cutoff.months_after_last_patient": "18",
        "csrf_token": csrf,
    }
    refused = client.post(f"/trials/{SCR}/simulate", data=data)
    assert refused.status_code == 422 and "greater than 0" in refused.text
    assert 'aria-invalid="true"' in refused.text and 'value="0"' in refused.text
    started = client.post(f"/trials/{SCR}/simulate", data={**data, "arms.A.hazard_ratio": "0.667"})
    assert started.status_code == 200 and "simulated trials, seed 3" in started.text  # followed the redirect
    progress_url = str(started.url) + "/progress"
    for _ in range(100):
        fragment = client.get(progress_url).text
        if "hx-trigger" not in fragment:
            break
        time.sleep(0.1)
    assert "Finished" in fragment and "P(run-in terminates)" in fragment and "Power" in fragment
    other, _ = browser(api, "safety")
    assert other.get(progress_url).status_code == 404  # a user's own simulations only


def test_monitor_filters_the_audit_trail_and_downloads_the_csv(api: Api) -> None:
    client, _ = browser(api, "monitor")
    page = client.get("/audit", params={"user": "bootstrap", "table": "sites"})
    assert page.status_code == 200
    rows = re.findall(r"<tr>\s*<td class=\"num\">\d+</td>.*?</tr>", page.text, flags=re.S)
    assert rows and all(">bootstrap<" in row and ">sites<" in row for row in rows)
    bad = client.get("/audit", params={"since": "yesterday"})
    assert bad.status_code == 422 and 'value="yesterday"' in bad.text

    export = client.get("/audit.csv", params={"user": "bootstrap", "table": "sites"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    records = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert (
        records
        and {r["user"] for r in records} == {"bootstrap"}
        and {r["table"] for r in records} == {"sites"}
    )
    assert "export:export" in _audit_actions(api, "audit_log")

    coordinator, _ = browser(api, "coord1")
    assert coordinator.get("/audit").status_code == 403
    assert coordinator.get("/audit.csv").status_code == 403


def test_admin_creates_a_site_and_a_user_then_deactivates_them(api: Api) -> None:
    client, csrf = browser(api, "admin")
    page = client.get("/admin")
    assert page.status_code == 200 and "S01" in page.text

    duplicate = client.post(
        "/admin/sites", data={"protocol_id": SCR, "code": "S01", "name": "Again", "csrf_token": csrf}
    )
    assert duplicate.status_code == 409 and "already exists" in duplicate.text
    site = client.post(
        "/admin/sites",
        data={"protocol_id": SCR, "code": "S03", "name": "Third hospital", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert site.status_code == 303

    user = {"username": "coord9", "full_name": "New Coordinator", "role": "coordinator", "password": PASSWORD}
    no_site = client.post("/admin/users", data={**user, "csrf_token": csrf})
    assert no_site.status_code == 422 and "must belong to at least one site" in no_site.text
    assert 'value="New Coordinator"' in no_site.text and PASSWORD not in no_site.text
    site_id = re.search(r'name="site_ids" value="(\d+)"', no_site.text)
    assert site_id
    created = client.post(
        "/admin/users",
        data={**user, "site_ids": site_id.group(1), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert created.status_code == 303
    new_user, _ = browser(api, "coord9")  # can sign in, and must first choose their own password
    first = new_user.get("/", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/account/password"
    user_id = re.search(r'href="/admin/users/(\d+)">coord9<', client.get("/admin").text)
    assert user_id

    short = client.post(
        f"/admin/users/{user_id.group(1)}/deactivate", data={"reason": "", "csrf_token": csrf}
    )
    assert short.status_code == 422
    done = client.post(
        f"/admin/users/{user_id.group(1)}/deactivate",
        data={"reason": "left the study team", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    ended = new_user.get("/", follow_redirects=False)  # the open session ended
    assert ended.status_code == 303 and ended.headers["location"].startswith("/login")
    login = TestClient(api.client.app)
    token = _csrf(login.get("/login").text)
    refused = login.post("/login", data={"username": "coord9", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 401 and "Wrong username or password" in refused.text

    reset = client.post(
        f"/admin/users/{user_id.group(1)}/password",
        data={"password": "short", "password_reason": "forgotten", "csrf_token": csrf},
    )
    assert reset.status_code == 422 and "at least 12 characters" in reset.text


def test_admin_pages_are_for_admins_only(api: Api) -> None:
    for user in ("coord1", "monitor", "stat"):
        client, csrf = browser(api, user)
        assert client.get("/admin").status_code == 403, user
        response = client.post(
            "/admin/sites", data={"protocol_id": SCR, "code": "X1", "name": "X", "csrf_token": csrf}
        )
        assert response.status_code == 403, user


def test_the_api_deactivates_and_resets_passwords_through_the_same_service(api: Api) -> None:
    users = {u["username"]: u["id"] for u in api.get("admin", "/api/users").json()}
    api.headers("inv2")  # an open session, ended by the password reset
    reset = api.post("admin", f"/api/users/{users['inv2']}/password", {"password": "x", "reason": "forgot"})
    assert reset.status_code == 422 and "at least 12 characters" in reset.text
    new_password = "another horse battery"
    reset = api.post(
        "admin", f"/api/users/{users['inv2']}/password", {"password": new_password, "reason": "forgot"}
    )
    assert reset.status_code == 200
    assert api.get("inv2", "/api/auth/me").status_code == 401
    login = {"username": "inv2", "password": new_password}
    assert api.client.post("/api/auth/token", data=login).status_code == 200

    own = api.post("admin", f"/api/users/{users['admin']}/deactivate", {"reason": "testing"})
    assert own.status_code == 409
    done = api.post("admin", f"/api/users/{users['coord2']}/deactivate", {"reason": "left the team"})
    assert done.status_code == 200 and done.json()["active"] is False
    again = api.post("admin", f"/api/users/{users['coord2']}/deactivate", {"reason": "left the team"})
    assert again.status_code == 409
    assert api.post("coord1", f"/api/users/{users['inv1']}/deactivate", {"reason": "nope"}).status_code == 403
    security = api.get("monitor", "/api/audit", params={"table": "users", "page_size": 1000}).json()["items"]
    actions = {row["action"] for row in security}
    assert {"password_reset", "user_deactivated"} <= actions
    assert not any("argon2" in (row["new_value"] or "") for row in security)  # no hash in the trail
