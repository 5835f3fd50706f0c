"""``GET /api/trials/{id}/export/odm`` (issue 16): the role matrix on SQLite and PostgreSQL.

Monitors, data managers and statisticians get every site (or one); coordinators and investigators
only their own site's copy; administrators and safety reviewers nothing. The answer is schema-valid
ODM 1.3.2 (checked here against the CDISC schema), ``application/xml`` and never cached.
"""

from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import select

from tests.integration.api_helpers import Api
from tests.integration.web_helpers import signed_in
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import AuditRecord, User, UserSite
from trialdesk.adapters.odm.validation import SCHEMA_FILE

SCR = "scr-escc-01"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
URL = f"/api/trials/{SCR}/export/odm"


def _subjects(content: bytes) -> dict[str, str]:
    tree = etree.fromstring(content)
    assert etree.XMLSchema(etree.parse(str(SCHEMA_FILE))).validate(tree)
    return {
        s.get("SubjectKey"): s.find("odm:SiteRef", NS).get("LocationOID")
        for s in tree.iterfind("odm:ClinicalData/odm:SubjectData", NS)
    }


@pytest.fixture
def two_sites(api: Api) -> Api:
    for number, user, site in (("SCR-ODM-1", "coord1", "S01"), ("SCR-ODM-2", "coord2", "S02")):
        assert api.screen(SCR, number, user, site).status_code == 201
    return api


def test_role_matrix_of_the_odm_export(two_sites: Api) -> None:
    api = two_sites
    everything = {"SCR-ODM-1": "L.S01", "SCR-ODM-2": "L.S02"}
    for user in ("monitor", "dm", "stat"):
        answer = api.get(user, URL)
        assert answer.status_code == 200, (user, answer.text)
        assert answer.headers["content-type"].startswith("application/xml")
        assert answer.headers["cache-control"] == "no-store"
        assert _subjects(answer.content) == everything
        assert _subjects(api.get(user, URL, params={"site": "S02"}).content) == {"SCR-ODM-2": "L.S02"}
    for user, own, other in (("coord1", "S01", "S02"), ("inv1", "S01", "S02"), ("inv2", "S02", "S01")):
        answer = api.get(user, URL, params={"with_audit": "true"})
        assert answer.status_code == 200, (user, answer.text)
        expected = {k: v for k, v in everything.items() if v == f"L.{own}"}
        assert _subjects(answer.content) == expected
        locations = set(
            etree.fromstring(answer.content).xpath("//odm:LocationRef/@LocationOID", namespaces=NS)
        )
        assert locations == {f"L.{own}"}
        assert api.get(user, URL, params={"site": other}).status_code == 404
    for user in ("admin", "safety"):
        assert api.get(user, URL).status_code == 403, user
    refused = api.get("monitor", URL, params={"as_of": "2999-01-01"})
    assert refused.status_code == 422 and refused.json()["field"] == "as_of"
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, None, write=False) as session:
        readers = list(
            session.scalars(
                select(AuditRecord.username).where(
                    AuditRecord.table_name == "odm", AuditRecord.action == "export"
                )
            )
        )
    assert sorted(set(readers)) == ["coord1", "dm", "inv1", "inv2", "monitor", "stat"]


def test_a_site_role_at_two_sites_names_the_site(two_sites: Api) -> None:
    api = two_sites
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "admin") as session:
        coordinator = session.scalars(select(User).where(User.username == "coord1")).one()
        session.add(UserSite(user_id=coordinator.id, site_id=api.site_ids[(SCR, "S02")]))
    refused = api.get("coord1", URL)
    assert refused.status_code == 422 and refused.json()["field"] == "site"
    assert "S01, S02" in refused.json()["detail"]
    answer = api.get("coord1", URL, params={"site": "S02"})
    assert answer.status_code == 200 and _subjects(answer.content) == {"SCR-ODM-2": "L.S02"}


def test_the_trial_page_offers_the_site_copy_and_it_downloads_with_its_audit_trail(two_sites: Api) -> None:
    coordinator = signed_in(two_sites, "coord1")
    page = coordinator.get(f"/trials/{SCR}", headers={"Accept-Language": "zh-CN"})
    assert f'href="/trials/{SCR}/odm.xml"' in page.text and "含稽查轨迹的数据副本" in page.text
    copy = coordinator.get(f"/trials/{SCR}/odm.xml")
    assert copy.status_code == 200 and copy.headers["content-type"].startswith("application/xml")
    assert "-S01-" in copy.headers["content-disposition"]
    assert set(_subjects(copy.content)) == {"SCR-ODM-1"}  # its own site only
    assert etree.fromstring(copy.content).xpath("//odm:AuditRecord", namespaces=NS)  # with the audit trail
    admin = signed_in(two_sites, "admin")
    assert "odm.xml" not in admin.get(f"/trials/{SCR}").text
    assert admin.get(f"/trials/{SCR}/odm.xml").status_code == 403


def test_a_coordinator_at_two_sites_gets_one_copy_link_per_site_from_the_trial_page(two_sites: Api) -> None:
    """One link without a site would answer "name one of your sites": a user of two sites gets a link
    per site, each downloading that site's copy; another trial's site or a bad code is refused."""
    api = two_sites
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with unit_of_work(engine, "admin") as session:
        coordinator = session.scalars(select(User).where(User.username == "coord1")).one()
        session.add(UserSite(user_id=coordinator.id, site_id=api.site_ids[(SCR, "S02")]))
    page = signed_in(api, "coord1")
    text = page.get(f"/trials/{SCR}").text
    assert f'href="/trials/{SCR}/odm.xml"' not in text
    for code, number in (("S01", "SCR-ODM-1"), ("S02", "SCR-ODM-2")):
        assert f'href="/trials/{SCR}/odm.xml?site={code}"' in text
        copy = page.get(f"/trials/{SCR}/odm.xml", params={"site": code})
        assert copy.status_code == 200 and f"-{code}-" in copy.headers["content-disposition"]
        assert set(_subjects(copy.content)) == {number}
    assert page.get(f"/trials/{SCR}/odm.xml", params={"site": "S99"}).status_code == 404
    assert page.get(f"/trials/{SCR}/odm.xml", params={"site": "x" * 65}).status_code == 422
    monitor = signed_in(api, "monitor").get(f"/trials/{SCR}").text
    assert f'href="/trials/{SCR}/odm.xml"' in monitor and "odm.xml?site=" not in monitor
