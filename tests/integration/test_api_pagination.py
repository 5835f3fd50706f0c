"""Paginated list endpoints (issue 17): ``limit``/``offset``, ``X-Total-Count`` and RFC 8288 ``Link``.

Each test runs on SQLite and on PostgreSQL (the ``api`` fixture). The expected pages are worked out
from what the test created (subjects, users), not from the endpoint itself, and the ``Link`` header
is read with httpx's own RFC 8288 parser (``Response.links``), an independent reader.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.api_helpers import ROLES_AT_SITE, Api
from tests.integration.test_api_queries import _open, _queries, _subject_with_demographics

ESCC = "scr-escc-01"
SUBJECTS = f"/api/trials/{ESCC}/subjects"


def _screen_at_both_sites(api: Api, per_site: int) -> dict[str, list[int]]:
    """Screen ``per_site`` subjects at S01 and S02, alternating sites; their ids per site."""
    ids: dict[str, list[int]] = {"S01": [], "S02": []}
    for n in range(per_site):
        for site, user in (("S01", "coord1"), ("S02", "coord2")):
            response = api.screen(ESCC, f"{site}-{n:03d}", user=user, site=site)
            assert response.status_code == 201, response.text
            ids[site].append(response.json()["id"])
    return ids


def _walk(api: Api, user: str, url: str, limit: int) -> tuple[list[list[dict[str, Any]]], list[Any]]:
    """Every page of ``url`` following ``rel="next"`` from offset 0; the pages and their responses."""
    pages: list[list[dict[str, Any]]] = []
    responses: list[Any] = []
    target: str | None = f"{url}{'&' if '?' in url else '?'}limit={limit}"
    while target is not None:
        response = api.get(user, target)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        responses.append(response)
        target = response.links.get("next", {}).get("url")
        assert len(pages) <= 100, "the next links never end"
    return pages, responses


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_subject_pages_are_in_id_order_with_total_and_links(api: Api) -> None:
    ids = _screen_at_both_sites(api, 4)
    every = sorted(ids["S01"] + ids["S02"])
    pages, responses = _walk(api, "monitor", SUBJECTS, limit=3)
    assert [[s["id"] for s in page] for page in pages] == [every[0:3], every[3:6], every[6:8]]
    assert {r.headers["X-Total-Count"] for r in responses} == {"8"}
    first, second, last = responses
    assert "prev" not in first.links
    assert _query(first.links["next"]["url"]) == {"limit": ["3"], "offset": ["3"]}
    assert _query(second.links["prev"]["url"]) == {"limit": ["3"], "offset": ["0"]}
    assert _query(second.links["next"]["url"]) == {"limit": ["3"], "offset": ["6"]}
    assert "next" not in last.links
    assert _query(last.links["prev"]["url"]) == {"limit": ["3"], "offset": ["3"]}


def test_the_default_page_is_the_whole_small_list_without_links(api: Api) -> None:
    ids = _screen_at_both_sites(api, 2)
    response = api.get("monitor", SUBJECTS)
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == sorted(ids["S01"] + ids["S02"])
    assert response.headers["X-Total-Count"] == "4"
    assert "Link" not in response.headers


def test_an_offset_past_the_end_is_an_empty_page_with_the_total(api: Api) -> None:
    _screen_at_both_sites(api, 1)
    response = api.get("monitor", f"{SUBJECTS}?limit=5&offset=50")
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "2"
    assert _query(response.links["prev"]["url"]) == {"limit": ["5"], "offset": ["45"]}


@pytest.mark.parametrize("coordinator,site,other", [("coord1", "S01", "S02"), ("coord2", "S02", "S01")])
def test_a_coordinator_never_sees_another_sites_subject_on_any_page(
    api: Api, coordinator: str, site: str, other: str
) -> None:
    ids = _screen_at_both_sites(api, 5)
    pages, responses = _walk(api, coordinator, SUBJECTS, limit=2)
    seen = [s["id"] for page in pages for s in page]
    assert seen == ids[site]  # all of their own site, in id order, each once
    assert not set(seen) & set(ids[other])
    assert {r.headers["X-Total-Count"] for r in responses} == {"5"}
    assert [len(page) for page in pages] == [2, 2, 1]


def test_other_query_parameters_carry_over_into_the_links(api: Api) -> None:
    url = f"/api/protocols/{ESCC}/forms"
    response = api.get("monitor", f"{url}?note=kept&limit=2&offset=2")
    assert response.status_code == 200
    assert len(response.json()) == 2
    assert _query(response.links["next"]["url"]) == {"note": ["kept"], "limit": ["2"], "offset": ["4"]}
    assert _query(response.links["prev"]["url"]) == {"note": ["kept"], "limit": ["2"], "offset": ["0"]}
    assert urlsplit(response.links["next"]["url"]).path == url


def test_users_pages_cover_every_user_once(api: Api) -> None:
    pages, responses = _walk(api, "admin", "/api/users", limit=4)
    names = [u["username"] for page in pages for u in page]
    assert sorted(names) == sorted(ROLES_AT_SITE)
    ids = [u["id"] for page in pages for u in page]
    assert ids == sorted(ids)
    assert {r.headers["X-Total-Count"] for r in responses} == {str(len(ROLES_AT_SITE))}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=-3", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_a_limit_or_offset_out_of_range_is_422_naming_it(api: Api, query: str, field: str) -> None:
    response = api.get("monitor", f"{SUBJECTS}?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == field
    assert body["detail"].startswith(f"{field}: ")


def test_the_largest_page_is_accepted(api: Api) -> None:
    response = api.get("monitor", f"{SUBJECTS}?limit=500")
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "0"


def test_every_list_endpoint_documents_the_page_parameters_and_headers(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    lists = [
        (path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method == "get"
        and operation.get("responses", {})
        .get("200", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
        .get("type")
        == "array"
    ]
    assert len(lists) >= 20
    for path, operation in lists:
        parameters = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        assert parameters["limit"]["schema"]["maximum"] == 500, path
        assert parameters["limit"]["schema"]["minimum"] == 1, path
        assert parameters["offset"]["schema"]["minimum"] == 0, path
        assert set(operation["responses"]["200"]["headers"]) == {"X-Total-Count", "Link"}, path


def test_a_coordinator_pages_only_their_own_sites(api: Api) -> None:
    own = sorted(sid for (_, code), sid in api.site_ids.items() if code == "S01")
    pages, responses = _walk(api, "coord1", "/api/sites", limit=1)
    assert [site["id"] for page in pages for site in page] == own
    assert {site["code"] for page in pages for site in page} == {"S01"}
    assert {r.headers["X-Total-Count"] for r in responses} == {str(len(own))}
    everyone = api.get("admin", "/api/sites?limit=1")
    assert everyone.headers["X-Total-Count"] == str(len(api.site_ids))
    assert "next" in everyone.links


def test_query_pages_keep_the_filter_and_count_only_matching_visible_queries(api: Api) -> None:
    _, record_id = _subject_with_demographics(api)  # an ivo-shfrt-2l subject of site S01
    opened = []
    for field in ("weight", "height", "ecog"):
        response = _open(api, record_id, field=field)
        assert response.status_code == 201, response.text
        opened.append(response.json()["id"])
    url = _queries("ivo-shfrt-2l")
    pages, responses = _walk(api, "monitor", f"{url}?status=open", limit=2)
    assert [[q["id"] for q in page] for page in pages] == [sorted(opened)[:2], sorted(opened)[2:]]
    assert {r.headers["X-Total-Count"] for r in responses} == {"3"}
    assert _query(responses[0].links["next"]["url"]) == {"status": ["open"], "limit": ["2"], "offset": ["2"]}
    assert api.get("monitor", f"{url}?status=closed").headers["X-Total-Count"] == "0"
    other_site = api.get("coord2", f"{url}?limit=1")
    assert other_site.status_code == 200
    assert other_site.json() == [] and other_site.headers["X-Total-Count"] == "0"
