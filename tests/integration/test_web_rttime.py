"""Subject page: the radiotherapy dose corrected for overall treatment time (protocol
rt_quality.time_correction; Fowler 1989), shown when the protocol enables it and a fraction is given."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.api_helpers import Api, build_api
from tests.integration.test_web_subject import _browser

MONDAY = dt.date(2026, 4, 20)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    built = build_api(f"sqlite:///{tmp_path / 'web.sqlite3'}", tmp_path)
    with built.client:
        yield built


def _give(api: Api, protocol_id: str, subject_id: int, course: str, count: int, dose: float) -> None:
    day, number = MONDAY, 0
    while number < count:
        if day.weekday() < 5:
            number += 1
            body = {
                "intervention": course,
                "fraction_number": number,
                "date": day.isoformat(),
                "dose_gy": dose,
            }
            response = api.post(
                "coord1", f"/api/trials/{protocol_id}/subjects/{subject_id}/rt-fractions", body
            )
            assert response.status_code == 201, response.text
        day += dt.timedelta(days=1)


def test_seed_002_subject_page_shows_the_time_corrected_dose_in_both_languages(api: Api) -> None:
    """CFRT 25 x 2 Gy from a Monday: T 32 days, BED10 60.0, corrected 51.5 Gy, EQD2 corrected 42.9 Gy."""
    subject_id = api.enrolled_subject("scr-escc-01", "WEB-RTT-1")
    page_url = f"/trials/scr-escc-01/subjects/{subject_id}"
    monitor = _browser(api, "monitor")
    assert "corrected for overall treatment time" not in monitor.get(page_url).text  # nothing given yet
    _give(api, "scr-escc-01", subject_id, "cfrt", 25, 2.0)
    page = monitor.get(page_url)
    assert page.status_code == 200
    section = page.text.split('id="rt-time"')[1].split("</section>")[0]
    assert "Radiotherapy dose corrected for overall treatment time" in page.text
    for cell in ("cfrt", ">32<", ">60.0<", ">51.5<", ">42.9<", "Tk 21 days", "Tpot 3 days"):
        assert cell in section, cell
    chinese = monitor.get(page_url, headers={"Accept-Language": "zh-CN"}).text
    assert "经总治疗时间校正的放疗剂量" in chinese


def test_seed_000_subject_page_has_no_time_corrected_section(api: Api) -> None:
    subject_id = api.enrolled_subject("ivo-shfrt-2l", "WEB-RTT-2")
    _give(api, "ivo-shfrt-2l", subject_id, "shfrt", 5, 5.0)
    page = _browser(api, "monitor").get(f"/trials/ivo-shfrt-2l/subjects/{subject_id}")
    assert page.status_code == 200 and 'id="rt-time"' not in page.text
