"""ODM values and histories (issue 16): the texts the ODM export writes are in the lexical space of the
XML Schema datatypes ODM 1.3.2 builds on (W3C XML Schema Part 2, checked by libxml2 through lxml),
visit ids map to the schedule's events, and audit rows become per-value histories."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from lxml import etree

from trialdesk.adapters.db.models import AuditRecord
from trialdesk.adapters.odm import model
from trialdesk.adapters.odm.validation import InvalidOdm, errors_of, parse
from trialdesk.adapters.odm.writer import ODM_NS, to_xml
from trialdesk.services.odm_history import form_value_text, inserted_at, item_changes, odm_text, until
from trialdesk.services.odm_metadata import visit_event

XSD_TYPES = {"float": "xs:decimal", "integer": "xs:integer", "date": "xs:date", "datetime": "xs:dateTime"}
"""ODM 1.3.2 ``float`` restricts xs:decimal, ``datetime`` xs:dateTime (ODM1-3-2-foundation.xsd)."""


def _valid(text: str, xsd_type: str) -> bool:
    schema = etree.XMLSchema(
        etree.fromstring(
            '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
            f'<xs:element name="v" type="{xsd_type}"/></xs:schema>'
        )
    )
    element = etree.Element("v")
    element.text = text
    return bool(schema.validate(etree.ElementTree(element)))


@pytest.mark.parametrize(
    ("value", "data_type", "expected"),
    [
        (72.5, "float", "72.5"),
        (1e-05, "float", "0.00001"),
        (2, "float", "2.0"),
        ("2", "float", "2.0"),
        (1.5e16, "float", "15000000000000000"),
        (3, "integer", "3"),
        ("3", "integer", "3"),
        (dt.date(2026, 2, 28), "date", "2026-02-28"),
        (dt.datetime(2026, 5, 3, 9, 0), "datetime", "2026-05-03T09:00:00+00:00"),
        ("2026-05-03T11:00:00.250000+02:00", "datetime", "2026-05-03T09:00:00.250000+00:00"),
    ],
)
def test_values_are_in_the_xml_schema_lexical_space(value: object, data_type: str, expected: str) -> None:
    text = odm_text(value, data_type)  # type: ignore[arg-type]
    assert text == expected
    assert _valid(text, XSD_TYPES[data_type])


def test_booleans_text_and_missing_values() -> None:
    assert [odm_text(v, "boolean") for v in (True, False, "true", "false", 1)] == [
        "true",
        "false",
        "true",
        "false",
        "true",
    ]
    assert all(_valid(t, "xs:boolean") for t in ("true", "false"))
    assert odm_text(None, "text") is None and odm_text({"b": 1, "a": [2]}, "text") == '{"a":[2],"b":1}'
    assert form_value_text('"T4a"', "text") == "T4a" and form_value_text("null", "text") is None
    assert form_value_text("61", "float") == "61.0" and form_value_text("true", "boolean") == "true"


@pytest.mark.parametrize(
    ("visit_id", "event"),
    [
        (None, ("SE.LOG", None)),
        ("SCR", ("SE.SCREENING", None)),
        ("C3", ("SE.CYCLE", "C3")),
        ("C21d-2", ("SE.CYCLE", "C21d-2")),
        ("RT-shfrt", ("SE.RADIOTHERAPY", "RT-shfrt")),
        ("TA2", ("SE.TUMOUR_ASSESSMENT", "TA2")),
        ("EOT", ("SE.END_OF_TREATMENT", "EOT")),
        ("SFU30", ("SE.SAFETY_FOLLOW_UP", "SFU30")),
        ("SV4", ("SE.SURVIVAL", "SV4")),
    ],
)
def test_visit_ids_of_the_calendar_map_to_events(visit_id: str | None, event: tuple[str, str | None]) -> None:
    assert visit_event(visit_id) == event


def test_an_unknown_visit_id_is_named() -> None:
    with pytest.raises(ValueError, match="'X9'"):
        visit_event("X9")


def _row(seq: int, hour: int, action: str, **fields: str | None) -> AuditRecord:
    return AuditRecord(
        seq=seq,
        at=dt.datetime(2026, 5, 1, hour, tzinfo=dt.UTC),
        username="inv1",
        action=action,
        table_name=fields.pop("table", "adverse_events"),
        record_id="7",
        reason=fields.pop("reason", None),
        **fields,
    )


def test_audit_rows_become_histories_and_a_value_at_a_moment() -> None:
    rows = [
        _row(1, 9, "insert", new_value=json.dumps({"grade": "2", "term": "Nausea", "created_at": "x"})),
        _row(2, 10, "update", field="grade", old_value="2", new_value="3", reason="worse"),
        _row(3, 11, "update", field="created_at", old_value="x", new_value="y", reason="not exported"),
        _row(4, 12, "delete", old_value="{}", reason="gone"),
        _row(5, 13, "insert", table="sites", new_value="{}"),
    ]
    changes = item_changes(rows, {"adverse_events": frozenset({"grade", "term"})})
    assert set(changes) == {("adverse_events", "7", "grade"), ("adverse_events", "7", "term")}
    grade = changes[("adverse_events", "7", "grade")]
    assert [(c.seq, c.value, c.inserted, c.reason) for c in grade] == [
        (1, "2", True, None),
        (2, "3", False, "worse"),
    ]
    assert inserted_at(changes) == {("adverse_events", "7"): dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)}
    assert [c.value for c in until(grade, dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC))] == ["2"]
    assert until(grade, None) == grade


def _document(value: str) -> model.OdmDocument:
    metadata = model.StudyMetadata(
        study_oid="S.x",
        study_name="X",
        description="A study",
        protocol_name="x",
        mdv_oid="MDV.x.1",
        mdv_name="x 1",
        units=(model.MeasurementUnit("MU.1", "mm[Hg]"),),
        events=(model.StudyEventDef("SE.LOG", "Log", False, "Common", ("F.a",)),),
        forms=(model.FormDef("F.a", "A", False, ("IG.a",)),),
        item_groups=(model.ItemGroupDef("IG.a", "A", True, (("IT.a.v", True),)),),
        items=(model.ItemDef("IT.a.v", "v", "text", "Verbatim"),),
        codelists=(model.CodeList("CL.a", "a", (("y", "Yes"),)),),
    )
    audit = model.Audit(
        "U.inv1", "L.S01", dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC), "typo", "audit_log seq 3"
    )
    item = model.ItemValue("IT.a.v", value, None, "Insert", audit)
    subject = model.SubjectData(
        "S-1",
        "L.S01",
        (
            model.StudyEventData(
                "SE.LOG", None, (model.FormData("F.a", None, (model.ItemGroupData("IG.a", "1", (item,)),)),)
            ),
        ),
    )
    return model.OdmDocument(
        file_oid="f",
        created=dt.datetime(2026, 5, 2, tzinfo=dt.UTC),
        description="test",
        granularity="SingleSite",
        metadata=metadata,
        users=(model.User("U.inv1", "inv1", "Investigator One"),),
        locations=(model.Location("L.S01", "Site one"),),
        subjects=(subject,),
        transactional=True,
    )


def test_the_writer_escapes_text_and_refuses_what_xml_cannot_carry() -> None:
    content = to_xml(_document('<b>"5 & 6"</b>'))
    tree = parse(content)
    assert errors_of(tree) == []
    assert tree.xpath("//odm:ItemData/@Value", namespaces={"odm": ODM_NS}) == ['<b>"5 & 6"</b>']
    with pytest.raises(InvalidOdm, match=r"IT\.a\.v"):
        to_xml(_document("bell\x07"))


def test_annotations_go_to_their_value_then_their_record_then_the_subject() -> None:
    """Each element takes its own annotations, numbered from 1 (ODM ``SeqNum``); what no element took
    (data the copy does not carry) is left for the SubjectData, in target order."""
    from trialdesk.adapters.odm import model
    from trialdesk.services.odm_annotations import SubjectAnnotations

    def note(ident: str) -> model.Annotation:
        return model.Annotation(0, ident, ident, "Sponsor")

    found = SubjectAnnotations()
    found.by_target[("adverse_events", "7", "grade")] += [note("Q.1.1"), note("Q.1.2")]
    found.by_target[("adverse_events", "7", None)].append(note("Q.2.1"))
    found.by_target[("adverse_events", "7", "unexported")].append(note("Q.3.1"))
    found.by_target[("visit_records", "4", "outcome")].append(note("Q.4.1"))
    found.by_target[("adverse_events", "8", None)].append(note("Q.5.1"))
    assert [(a.seq, a.id) for a in found.item("adverse_events", "7", "grade")] == [(1, "Q.1.1"), (2, "Q.1.2")]
    assert found.item("adverse_events", "7", "grade") == ()  # taken once
    assert [(a.seq, a.id) for a in found.record("adverse_events", "7")] == [(1, "Q.2.1"), (2, "Q.3.1")]
    assert [(a.seq, a.id) for a in found.rest()] == [(1, "Q.5.1"), (2, "Q.4.1")]
    assert found.rest() == ()


def test_a_comment_with_characters_xml_cannot_carry_shows_them_escaped() -> None:
    from trialdesk.services.odm_annotations import xml_safe

    assert (
        xml_safe("weight\x0bchecked\x00 twice\ttab\nline") == "weight\\u000bchecked\\u0000 twice\ttab\nline"
    )
    assert xml_safe("体重 ok") == "体重 ok"
