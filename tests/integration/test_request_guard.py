"""Hostile request shapes are refused before any route runs, the same on SQLite and PostgreSQL, and
nothing is written (issue 15: resource limits; non-negotiable 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.integration.api_helpers import Api, patient
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, Subject
from trialdesk.entrypoints.api.request_guard import Refused, check_json

SCR = "scr-escc-01"


def _counts(api: Api) -> tuple[int, int]:
    with unit_of_work(api.client.app.state.engine, None, write=False) as session:  # type: ignore[attr-defined]
        audit = session.scalar(select(func.count()).select_from(AuditRecord)) or 0
        subjects = session.scalar(select(func.count()).select_from(Subject)) or 0
    return int(audit), int(subjects)


def _post_raw(api: Api, user: str, url: str, body: bytes, content_type: str = "application/json") -> Any:
    headers = {**api.headers(user), "Content-Type": content_type}
    return api.client.post(url, headers=headers, content=body)


def _screening(name: Any = "Zhang") -> dict[str, Any]:
    record = patient(SCR, "SCR-G1")
    record["name"] = name
    return {"site_code": "S01", "patient": record}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Zh\x00ang", "NUL"),
        ("Zh\ud800ang", "unpaired UTF-16 surrogate"),
        ("Zh\x0bang", "control character (U+000B)"),  # pasted from a PDF: XML cannot carry it
    ],
)
def test_nul_and_broken_unicode_are_refused_on_both_databases(api: Api, text: str, why: str) -> None:
    api.headers("coord1")
    before = _counts(api)
    body = json.dumps(_screening(text)).encode()  # ensure_ascii: \u0000 and \ud800 escapes
    response = _post_raw(api, "coord1", f"/api/trials/{SCR}/subjects", body)
    assert response.status_code == 422, response.text
    assert why in response.json()["detail"] and response.json()["field"] == "patient.name"
    assert _counts(api) == before


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(api: Api, constant: str) -> None:
    api.headers("coord1")
    before = _counts(api)
    body = json.dumps(_screening()).replace('"Zhang"', constant).encode()
    response = _post_raw(api, "coord1", f"/api/trials/{SCR}/subjects", body)
    assert response.status_code == 422 and constant.lstrip("-") in response.json()["detail"]
    assert _counts(api) == before


def test_a_body_over_the_limit_is_413_with_or_without_a_length(api: Api) -> None:
    api.headers("coord1")
    big = b'{"site_code": "S01", "patient": {"pad": "' + b"x" * 1_100_000 + b'"}}'
    response = _post_raw(api, "coord1", f"/api/trials/{SCR}/subjects", big)
    assert response.status_code == 413 and "smaller batches" in response.json()["detail"]

    def chunks() -> Any:  # streamed without Content-Length
        for _ in range(40):
            yield b"x" * 32_768

    headers = {**api.headers("coord1"), "Content-Type": "application/json"}
    streamed = api.client.post(f"/api/trials/{SCR}/subjects", headers=headers, content=chunks())
    assert streamed.status_code == 413


def test_deep_nesting_is_a_clear_error_not_a_recursion_error(api: Api) -> None:
    api.headers("coord1")
    deep = b'{"site_code": "S01", "patient": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = _post_raw(api, "coord1", f"/api/trials/{SCR}/subjects", deep)
    assert response.status_code == 422 and "nests deeper" in response.json()["detail"]


def test_ids_beyond_the_id_range_are_404_and_query_numbers_beyond_64_bits_422(api: Api) -> None:
    huge = str(2**70)
    response = api.get("coord1", f"/api/trials/{SCR}/subjects/{huge}")
    assert response.status_code == 404
    query = api.get("monitor", "/api/audit", params={"page_size": huge})
    assert query.status_code == 422 and query.json()["field"] == "page_size"
    for beyond_postgresql_integer in (2**31, 2**63 - 1):
        assert api.get("coord1", f"/api/trials/{SCR}/subjects/{beyond_postgresql_integer}").status_code == 404
    assert api.get("coord1", f"/api/trials/{SCR}/subjects/{2**31 - 1}").status_code == 404


def test_nul_in_a_query_or_a_page_form_is_refused(api: Api) -> None:
    assert api.get("monitor", "/api/audit", params={"table": "users\x00"}).status_code == 422
    page = api.client.post(
        "/login",
        content=b"username=coord1%00&password=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert page.status_code == 422 and "NUL" in page.text


def test_ordinary_requests_pass_untouched(api: Api) -> None:
    body = _screening()
    del body["patient"]["name"]
    response = api.post("coord1", f"/api/trials/{SCR}/subjects", body)
    assert response.status_code == 201, response.text


def test_paired_surrogates_and_chinese_text_are_valid() -> None:
    """An astral-plane character arrives as a surrogate PAIR in escaped JSON: that is valid text."""
    check_json(json.dumps({"reason": "随访 follow-up 😀"}).encode())  # \ud83d\ude00: a valid pair
    with pytest.raises(Refused):
        check_json(b'{"reason": "\\ud83d alone"}')
