"""Data queries and source data verification in the ODM copy (SQLite and PostgreSQL): each message of a
query's thread is an ``Annotation`` on the value questioned (comment said by the sponsor's side or
the site's, flags for the message's kind and the status after it), a record questioned as a whole is
annotated on its ``ItemGroupData``, a verified value carries an SDV annotation until it changes; the
documents are valid against the ODM 1.3.2 schema (CDISC's copy and odmlib's) and every flag's code is
in the code list it names."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import odmlib
from lxml import etree

from tests.integration.api_helpers import Api
from tests.integration.test_api_forms import DEMOGRAPHICS, _save
from trialdesk.adapters.odm.validation import SCHEMA_FILE

IVO = "ivo-shfrt-2l"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
SCHEMAS = [SCHEMA_FILE, Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"]


def export(api: Api, **params: str) -> Any:
    answer = api.get("monitor", f"/api/trials/{IVO}/export/odm", params=params)
    assert answer.status_code == 200, answer.text
    tree = etree.fromstring(answer.content)
    for schema_file in SCHEMAS:
        schema = etree.XMLSchema(etree.parse(str(schema_file)))
        assert schema.validate(tree), schema.error_log
    return tree


def annotations_of(element: Any) -> list[tuple[str, str, str | None, str, list[tuple[str, str | None]]]]:
    """(ID, SeqNum, SponsorOrSite, comment, [(flag value, flag type)]) of an element's annotations."""
    out = []
    for annotation in element.iterfind("odm:Annotation", NS):
        comment = annotation.find("odm:Comment", NS)
        flags = [
            (f.findtext("odm:FlagValue", namespaces=NS), f.findtext("odm:FlagType", namespaces=NS))
            for f in annotation.iterfind("odm:Flag", NS)
        ]
        out.append(
            (
                annotation.get("ID"),
                annotation.get("SeqNum"),
                None if comment is None else comment.get("SponsorOrSite"),
                "" if comment is None else comment.text or "",
                flags,
            )
        )
    return out


def codes_are_in_their_lists(tree: Any) -> None:
    lists = {
        c.get("OID"): {i.get("CodedValue") for i in c.iterfind("odm:CodeListItem", NS)}
        for c in tree.iterfind(".//odm:CodeList", NS)
    }
    for tag in ("FlagValue", "FlagType"):
        for element in tree.iterfind(f".//odm:{tag}", NS):
            assert element.text in lists[element.get("CodeListOID")], (tag, element.text)


def test_a_query_thread_and_sdv_marks_travel_with_the_values(api: Api) -> None:
    subject_id = api.enrolled_subject(IVO, "IVO-ANN-1")
    record_id = _save(api, subject_id, "demographics", DEMOGRAPHICS).json()["id"]
    sdv = f"/api/trials/{IVO}/subjects/{subject_id}/sdv"
    whole = {"table": "form_records", "record_id": str(record_id), "field": "*"}
    assert api.post("monitor", sdv, whole).status_code == 200
    queries = f"/api/trials/{IVO}/queries"
    on_weight = {"target_table": "form_records", "target_id": str(record_id), "field": "weight"}
    query_id = api.post("monitor", queries, {**on_weight, "text": "Weight from the clinic note?"}).json()[
        "id"
    ]
    assert api.post("coord1", f"{queries}/{query_id}/answer", {"text": "150 lb, as noted"}).status_code == 200
    assert api.post("monitor", f"{queries}/{query_id}/close", {"text": "Agreed"}).status_code == 200
    on_record = {"target_table": "form_records", "target_id": str(record_id), "text": "Form dated late?"}
    record_query = api.post("monitor", queries, on_record).json()["id"]

    tree = export(api)
    codes_are_in_their_lists(tree)
    subject = tree.xpath("//odm:SubjectData[@SubjectKey='IVO-ANN-1']", namespaces=NS)[0]
    group = subject.xpath(".//odm:FormData[@FormOID='F.demographics']/odm:ItemGroupData", namespaces=NS)[0]
    weight = group.xpath("odm:ItemData[@ItemOID='IT.demographics.weight']", namespaces=NS)[0]
    found = annotations_of(weight)
    assert [a[0] for a in found] == [
        f"Q.{query_id}.1",
        f"Q.{query_id}.2",
        f"Q.{query_id}.3",
        f"SDV.form_records.{record_id}.weight",
    ]
    assert [a[1] for a in found] == ["1", "2", "3", "4"]
    assert [a[2] for a in found] == ["Sponsor", "Site", "Sponsor", "Sponsor"]
    assert found[0][3].endswith("monitor question: Weight from the clinic note?")
    assert found[1][3].endswith("coord1 answer: 150 lb, as noted")
    assert [a[4] for a in found[:3]] == [
        [("question", "QUERY_MESSAGE"), ("open", "QUERY_STATUS")],
        [("answer", "QUERY_MESSAGE"), ("answered", "QUERY_STATUS")],
        [("close", "QUERY_MESSAGE"), ("closed", "QUERY_STATUS")],
    ]
    assert found[3][3].endswith("monitor verified the source data") and found[3][4] == [("VERIFIED", "SDV")]
    assert [a[0] for a in annotations_of(group)] == [f"Q.{record_query}.1"]  # the record as a whole
    assert annotations_of(subject) == []  # every annotation found its value or record

    changed = _save(api, subject_id, "demographics", {**DEMOGRAPHICS, "ecog": 2}, reason="typo found")
    assert changed.status_code == 200
    after = export(api)
    ids = set(after.xpath("//odm:Annotation/@ID", namespaces=NS))
    assert f"SDV.form_records.{record_id}.ecog" not in ids  # the value verified is gone
    assert f"SDV.form_records.{record_id}.weight" in ids
    today = export(api, as_of=dt.datetime.now(dt.UTC).date().isoformat())
    assert set(today.xpath("//odm:Annotation/@ID", namespaces=NS)) == ids


def test_a_query_text_with_a_control_character_is_refused_naming_the_field(api: Api) -> None:
    """A control character (pasted from a PDF, say) would make the ODM copy unwritable: refused up front."""
    subject_id = api.enrolled_subject(IVO, "IVO-ANN-2")
    record_id = _save(api, subject_id, "demographics", DEMOGRAPHICS).json()["id"]
    body = {"target_table": "form_records", "target_id": str(record_id), "field": "weight"}
    refused = api.post("monitor", f"/api/trials/{IVO}/queries", {**body, "text": "Weight\x0bfrom the note?"})
    assert refused.status_code == 422 and refused.json()["field"] == "text"
    assert "control character (U+000B)" in refused.json()["detail"]
    kept = api.post("monitor", f"/api/trials/{IVO}/queries", {**body, "text": "Weight?\r\nFrom the note."})
    assert kept.status_code == 201, kept.text  # a textarea's line breaks are text
    export(api)  # and the copy is written
