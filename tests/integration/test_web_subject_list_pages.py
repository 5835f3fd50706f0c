"""The trial page's subject list in pages of 100 (issue 17), in English and Simplified Chinese, on
SQLite: each page holds only the user's own site's subjects, in id order, with links to its
neighbours (the API's paging is tested on both databases in test_api_pagination.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.integration.api_helpers import PASSWORD, Api, build_api

SCR = "scr-escc-01"
OWN_SITE_SUBJECTS = 101  # one more than a page


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, list[int], list[int]]]:
    """An app with 101 subjects screened at S01 and 2 at S02 (ids of each)."""
    folder: Path = tmp_path_factory.mktemp("pages")
    built = build_api(f"sqlite:///{folder / 'web.sqlite3'}", folder)
    with built.client:
        own = [built.screen(SCR, f"P-{n:03d}").json()["id"] for n in range(OWN_SITE_SUBJECTS)]
        other = [built.screen(SCR, f"Q-{n}", user="coord2", site="S02").json()["id"] for n in range(2)]
        yield built, own, other


def _browser(api: Api, username: str, language: str | None = None) -> TestClient:
    client = TestClient(api.client.app)
    if language is not None:
        client.cookies.set("lang", language)
    html = client.get("/login").text
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert match
    data = {"username": username, "password": PASSWORD, "csrf_token": match.group(1)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return client


def _subject_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(rf'href="/trials/{SCR}/subjects/(\d+)"', html)]


def test_the_subject_list_pages_through_the_own_sites_subjects(
    screened: tuple[Api, list[int], list[int]],
) -> None:
    api, own, other = screened
    coordinator = _browser(api, "coord1")
    first = coordinator.get(f"/trials/{SCR}")
    assert first.status_code == 200
    assert _subject_ids(first.text) == own[:100]
    assert "Subjects 1-100 of 101" in first.text
    assert f'href="/trials/{SCR}?offset=100" rel="next"' in first.text and 'rel="prev"' not in first.text
    second = coordinator.get(f"/trials/{SCR}?offset=100")
    assert second.status_code == 200
    assert _subject_ids(second.text) == own[100:]
    assert "Subjects 101-101 of 101" in second.text
    assert f'href="/trials/{SCR}" rel="prev"' in second.text and 'rel="next"' not in second.text
    for page in (first.text, second.text):
        assert not set(_subject_ids(page)) & set(other)


def test_a_short_list_has_no_pager(screened: tuple[Api, list[int], list[int]]) -> None:
    api, _, other = screened
    page = _browser(api, "coord2").get(f"/trials/{SCR}").text
    assert _subject_ids(page) == other
    assert 'class="pager"' not in page


def test_the_pager_speaks_simplified_chinese(screened: tuple[Api, list[int], list[int]]) -> None:
    api, _, _ = screened
    page = _browser(api, "coord1", "zh_CN").get(f"/trials/{SCR}?offset=100").text
    assert "受试者 101-101，共 101 名" in page and "上一页" in page
    past = _browser(api, "coord1", "zh_CN").get(f"/trials/{SCR}?offset=500").text
    assert "本页已超出最后一名受试者。" in past and "上一页" in past


def test_a_negative_offset_is_refused(screened: tuple[Api, list[int], list[int]]) -> None:
    api, _, _ = screened
    assert _browser(api, "coord1").get(f"/trials/{SCR}?offset=-1").status_code == 422
