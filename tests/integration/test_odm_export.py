"""CDISC ODM 1.3.2 export (issue 16) on the demo database of both trials.

Outside references: the ODM 1.3.2 XML schema (the vendored CDISC copy, and odmlib's own copy as a
second one), odmlib's ODM loader as a second reader of the values, and the database rows themselves
(every exported value is compared with the stored one). The audit test makes real audited changes
through the ORM and finds each one, with its old and new value, in the export.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import odmlib
import odmlib.loader as odm_loader
import odmlib.odm_loader as odm_xml_loader
import pytest
from lxml import etree
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from tests.support.demo import demo_database_copy
from trialdesk.adapters.db.audit import as_utc
from trialdesk.adapters.db.engine import make_engine, unit_of_work
from trialdesk.adapters.db.models import (
    AdverseEvent,
    AuditRecord,
    FormRecord,
    FormValue,
    RtFraction,
    Site,
    Subject,
)
from trialdesk.adapters.odm.validation import SCHEMA_FILE
from trialdesk.entrypoints.cli.main import app as cli
from trialdesk.protocols import load_registry
from trialdesk.services.errors import InvalidInput
from trialdesk.services.odm_export import ROW_MODELS, odm_export
from trialdesk.services.odm_metadata import FIELD_TYPES, RECORD_KINDS

IVO, SCR = "ivo-shfrt-2l", "scr-escc-01"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
ODMLIB_SCHEMA = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
runner = CliRunner()


@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    database = demo_database_copy(tmp_path_factory, tmp_path_factory.mktemp("odm-demo"))
    engine = make_engine(f"sqlite:///{database}")
    yield engine
    engine.dispose()


def _export(engine: Engine, protocol_id: str, **options: Any) -> bytes:
    with unit_of_work(engine, "cli:odm-test") as session:
        return odm_export(session, None, load_registry().get(protocol_id), **options).content


def _schemas() -> list[Any]:
    return [etree.XMLSchema(etree.parse(str(path))) for path in (SCHEMA_FILE, ODMLIB_SCHEMA)]


def _odmlib_values(content: bytes, tmp_path: Path) -> dict[tuple[str, ...], str | None]:
    """(subject, event, event repeat, form, form repeat, group, group repeat, item) -> last value, read
    by odmlib's loader (the second reader)."""
    path = tmp_path / "export.xml"
    path.write_bytes(content)
    loader = odm_loader.ODMLoader(odm_xml_loader.XMLODMLoader(model_package="odm_1_3_2", ns_uri=NS["odm"]))
    loader.open_odm_document(str(path))
    out: dict[tuple[str, ...], str | None] = {}
    for subject in loader.root().ClinicalData[0].SubjectData:
        for event in subject.StudyEventData:
            for form in event.FormData:
                for group in form.ItemGroupData:
                    for item in group.ItemData:
                        key = (
                            subject.SubjectKey,
                            event.StudyEventOID,
                            event.StudyEventRepeatKey or "",
                            form.FormOID,
                            form.FormRepeatKey or "",
                            group.ItemGroupOID,
                            group.ItemGroupRepeatKey or "",
                            item.ItemOID,
                        )
                        out[key] = item.Value
    return out


def _typed(text: str, data_type: str) -> Any:
    parse = {
        "float": float,
        "integer": int,
        "date": dt.date.fromisoformat,
        "datetime": dt.datetime.fromisoformat,
        "boolean": lambda t: {"true": True, "false": False}[t],
    }
    return parse.get(data_type, str)(text)


def _stored(value: Any, data_type: str) -> Any:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, dict | list):
        return value
    return float(value) if data_type == "float" else value


@pytest.mark.parametrize("protocol_id", [IVO, SCR])
def test_export_is_valid_odm_1_3_2_for_both_trials(demo_engine: Engine, protocol_id: str) -> None:
    for with_audit in (False, True):
        tree = etree.fromstring(_export(demo_engine, protocol_id, with_audit=with_audit))
        for schema in _schemas():
            assert schema.validate(tree), schema.error_log
        assert tree.get("FileType") == ("Transactional" if with_audit else "Snapshot")
        assert tree.get("ODMVersion") == "1.3.2"
    protocol = load_registry().get(protocol_id)
    forms = set(tree.xpath("//odm:FormDef/@OID", namespaces=NS))
    assert {f"F.{f.id}" for f in protocol.forms} | {f"F.TD.{k.key}" for k in RECORD_KINDS} == forms
    events = set(tree.xpath("//odm:StudyEventDef/@OID", namespaces=NS))
    assert {"SE.SCREENING", "SE.CYCLE", "SE.TUMOUR_ASSESSMENT", "SE.SURVIVAL", "SE.LOG"} <= events
    codes = tree.xpath(
        "//odm:CodeList[@OID='CL.demographics.sex']/odm:CodeListItem/@CodedValue", namespaces=NS
    )
    assert codes == [c.code for c in protocol.form("demographics").field("sex").codes or []]
    with demo_engine.connect() as connection:
        subjects = connection.execute(
            select(Subject.screening_number).where(Subject.protocol_id == protocol_id)
        )
        assert sorted(tree.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS)) == sorted(
            r[0] for r in subjects
        )


def _fixed_expected(engine: Engine, protocol_id: str) -> dict[tuple[str, ...], Any]:
    expected: dict[tuple[str, ...], Any] = {}
    with unit_of_work(engine, "cli:odm-test", write=False) as session:
        subjects = {
            s.id: s for s in session.scalars(select(Subject).where(Subject.protocol_id == protocol_id))
        }
        for kind in RECORD_KINDS:
            model = Subject if kind.table == "subjects" else ROW_MODELS[kind.table]
            owner = model.id if model is Subject else model.subject_id
            for row in session.scalars(select(model).where(owner.in_(list(subjects)))):
                subject = subjects[row.id if model is Subject else row.subject_id]
                for column in kind.columns:
                    value = getattr(row, column.name)
                    if value is None:
                        continue
                    key = (
                        subject.screening_number,
                        "SE.SCREENING" if kind.event == "SCREENING" else "SE.LOG",
                        "",
                        kind.form_oid,
                        "",
                        kind.group_oid,
                        str(row.id) if kind.repeating else "",
                        kind.item_oid(column.name),
                    )
                    expected[key] = (_stored(value, column.data_type), column.data_type)
    return expected


def _form_expected(engine: Engine, protocol_id: str) -> dict[tuple[str, ...], Any]:
    protocol = load_registry().get(protocol_id)
    expected: dict[tuple[str, ...], Any] = {}
    with unit_of_work(engine, "cli:odm-test", write=False) as session:
        rows = session.execute(
            select(FormValue, FormRecord, Subject.screening_number)
            .join(FormRecord, FormRecord.id == FormValue.record_id)
            .join(Subject, Subject.id == FormValue.subject_id)
            .where(Subject.protocol_id == protocol_id)
        )
        for value, record, number in rows:
            form = protocol.form(record.form_id)
            data_type = FIELD_TYPES[form.field(value.field_id).type]
            stored = json.loads(value.value_json)
            if stored is None:
                continue
            visit = record.visit_id
            event = "SE.LOG" if visit is None else ("SE.SCREENING" if visit == "SCR" else None)
            key = (
                number,
                event or "",
                "" if visit in (None, "SCR") else visit,
                f"F.{form.id}",
                str(record.repeat_index) if form.repeating else "",
                f"IG.{form.id}",
                "",
                f"IT.{form.id}.{value.field_id}",
            )
            if data_type == "date":
                stored = dt.date.fromisoformat(stored)  # dates are ISO text in the form value's JSON
            expected[key] = (_stored(stored, data_type), data_type)
    return expected


@pytest.mark.parametrize("with_audit", [False, True])
@pytest.mark.parametrize("protocol_id", [IVO, SCR])
def test_every_exported_value_reads_back_equal_to_the_database(
    demo_engine: Engine, protocol_id: str, with_audit: bool, tmp_path: Path
) -> None:
    """The current values (with the audit trail: the last ItemData of each item) equal the stored ones."""
    values = _odmlib_values(_export(demo_engine, protocol_id, with_audit=with_audit), tmp_path)
    read = {key: value for key, value in values.items() if value is not None}
    expected = _fixed_expected(demo_engine, protocol_id) | _form_expected(demo_engine, protocol_id)
    kinds = {key[3] for key in expected}
    assert {"F.TD.SUBJECT", "F.TD.AE", "F.TD.DOSE", "F.TD.TUMOUR_ASSESSMENT", "F.demographics"} <= kinds
    assert len(expected) > 1000 if protocol_id == SCR else len(expected) > 300
    for key, (value, data_type) in expected.items():
        assert key in read, key
        text = read[key]
        assert text is not None
        parsed = json.loads(text) if isinstance(value, dict | list) else _typed(text, data_type)
        assert parsed == value, (key, text, value)
    assert set(read) == set(expected), set(read) ^ set(expected)


def test_site_copy_holds_only_that_site(demo_engine: Engine) -> None:
    content = _export(demo_engine, SCR, site_code="SITE02", with_audit=True)
    tree = etree.fromstring(content)
    assert tree.get("Granularity") == "SingleSite"
    with demo_engine.connect() as connection:
        rows = connection.execute(
            select(Subject.id, Subject.screening_number, Site.code)
            .join(Site, Site.id == Subject.site_id)
            .where(Subject.protocol_id == SCR)
        ).all()
        mine = {number for _, number, code in rows if code == "SITE02"}
        others = {number for _, number, code in rows if code != "SITE02"}
        assert mine and others
        own_ids = {sid for sid, _, code in rows if code == "SITE02"}
        sources = [
            int(s.split()[-1]) for s in tree.xpath("//odm:AuditRecord/odm:SourceID/text()", namespaces=NS)
        ]
        audited = connection.execute(
            select(AuditRecord.seq, AuditRecord.subject_id).where(AuditRecord.seq.in_(sources))
        )
        assert {subject_id for _, subject_id in audited} <= own_ids
    assert set(tree.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS)) == mine
    assert set(tree.xpath("//odm:SiteRef/@LocationOID | //odm:LocationRef/@LocationOID", namespaces=NS)) == {
        "L.SITE02"
    }
    assert tree.xpath("//odm:Location/@OID", namespaces=NS) == ["L.SITE02"]
    assert not any(f'"{number}"'.encode() in content for number in others)


def _change_values(engine: Engine) -> dict[str, tuple[str, str]]:
    """Audited changes through the ORM: an AE grade, an RT fraction dose and a form value (twice)."""
    with unit_of_work(engine, "investigator", reason="source document check") as session:
        subject_ids = list(session.scalars(select(Subject.id).where(Subject.protocol_id == IVO)))
        ae = session.scalars(select(AdverseEvent).where(AdverseEvent.subject_id.in_(subject_ids))).first()
        fraction = session.scalars(select(RtFraction).where(RtFraction.subject_id.in_(subject_ids))).first()
        value = session.scalars(
            select(FormValue).where(FormValue.subject_id.in_(subject_ids), FormValue.field_id == "weight")
        ).first()
        assert ae is not None and fraction is not None and value is not None
        changed = {
            f"adverse_events/{ae.id}/grade": (str(ae.grade), str(ae.grade % 4 + 1)),
            f"rt_fractions/{fraction.id}/dose_gy": (str(fraction.dose_gy), "4.5"),
            f"form_values/{value.id}/value_json": (value.value_json, "61.5"),
        }
        ae.grade = ae.grade % 4 + 1
        fraction.dose_gy = 4.5
        value.value_json = "61.5"
    with unit_of_work(engine, "coordinator", reason="transcription error") as session:
        stored = session.get(FormValue, value.id)
        assert stored is not None
        stored.value_json = "62.0"
    return changed


def test_audit_trail_has_one_record_per_change_with_old_and_new_values(demo_engine: Engine) -> None:
    changed = _change_values(demo_engine)
    tree = etree.fromstring(_export(demo_engine, IVO, with_audit=True))
    items = tree.xpath("//odm:ItemData[odm:AuditRecord]", namespaces=NS)
    by_seq = {int(i.findtext("odm:AuditRecord/odm:SourceID", namespaces=NS).split()[-1]): i for i in items}
    assert len(by_seq) < len(items)  # an insert row sets many items, each with its own AuditRecord
    with unit_of_work(demo_engine, "cli:odm-test", write=False) as session:
        subject_ids = list(session.scalars(select(Subject.id).where(Subject.protocol_id == IVO)))
        rows = list(
            session.scalars(
                select(AuditRecord).where(AuditRecord.subject_id.in_(subject_ids)).order_by(AuditRecord.seq)
            )
        )
    columns: dict[str, set[str]] = defaultdict(set)
    for kind in RECORD_KINDS:
        columns[kind.table].update(c.name for c in kind.columns)
    columns["form_values"].add("value_json")
    expected = 0
    for row in rows:
        if row.action == "insert" and row.table_name in columns:
            snapshot = json.loads(row.new_value or "{}")
            expected += sum(
                1
                for c in columns[row.table_name]
                if snapshot.get(c) is not None and (row.table_name != "form_values" or snapshot[c] != "null")
            )
        elif row.action == "update" and row.field in columns.get(row.table_name, ()):
            expected += 1
    assert len(items) == expected
    updates = [
        r for r in rows if r.action == "update" and f"{r.table_name}/{r.record_id}/{r.field}" in changed
    ]
    assert len(updates) == 4
    for row in updates:
        item = by_seq[row.seq]
        assert item.get("TransactionType") == "Update"
        audit = item.find("odm:AuditRecord", namespaces=NS)
        assert audit.find("odm:UserRef", namespaces=NS).get("UserOID") == f"U.{row.username}"
        assert audit.findtext("odm:ReasonForChange", namespaces=NS) == row.reason
        assert audit.findtext("odm:DateTimeStamp", namespaces=NS) == as_utc(row.at).isoformat(
            timespec="seconds"
        )
        siblings = [s for s in item.getparent() if s.get("ItemOID") == item.get("ItemOID")]
        before = siblings[siblings.index(item) - 1]
        assert float(before.get("Value")) == float(json.loads(row.old_value or "null"))
        assert float(item.get("Value")) == float(json.loads(row.new_value or "null"))
    users = set(tree.xpath("//odm:User/@OID", namespaces=NS))
    assert {"U.investigator", "U.coordinator"} <= users
    assert set(tree.xpath("//odm:UserRef/@UserOID", namespaces=NS)) == users


def test_as_of_exports_the_database_as_it_stood(demo_engine: Engine) -> None:
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    tree = etree.fromstring(_export(demo_engine, SCR, as_of_day=yesterday))
    assert tree.get("AsOfDateTime") == f"{yesterday.isoformat()}T23:59:59+00:00"
    assert tree.xpath("//odm:SubjectData", namespaces=NS) == []
    today = dt.datetime.now(dt.UTC).date()
    as_of_today = etree.fromstring(_export(demo_engine, SCR, as_of_day=today))
    current = etree.fromstring(_export(demo_engine, SCR))
    assert [etree.tostring(s) for s in as_of_today.iterfind("odm:ClinicalData", NS)] == [
        etree.tostring(s) for s in current.iterfind("odm:ClinicalData", NS)
    ]
    with pytest.raises(InvalidInput) as refused:
        _export(demo_engine, SCR, as_of_day=today + dt.timedelta(days=1))
    assert refused.value.field == "as_of"


def test_cli_writes_a_private_file_and_audits_the_read(
    demo_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", str(demo_engine.url))
    out = tmp_path / "site.xml"
    result = runner.invoke(cli, ["export", "odm", IVO, "--out", str(out), "--site", "SITE01", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["site"] == "SITE01" and summary["subjects"] == 14 and summary["audit_records"] == 0
    assert out.stat().st_mode & 0o777 == 0o600
    assert _schemas()[0].validate(etree.parse(str(out)))
    bad = runner.invoke(cli, ["export", "odm", IVO, "--out", str(tmp_path / "x.xml"), "--site", "SITE09"])
    assert bad.exit_code != 0 and "site" in bad.output and not (tmp_path / "x.xml").exists()
    bad = runner.invoke(cli, ["export", "odm", IVO, "--out", str(tmp_path / "x.xml"), "--as-of", "1 May"])
    assert bad.exit_code == 2 and "--as-of" in bad.output
    bad = runner.invoke(cli, ["export", "odm", IVO, "--out", str(tmp_path / "no" / "x.xml")])
    assert bad.exit_code == 2 and "--out" in bad.output
    with demo_engine.connect() as connection:
        last = connection.execute(
            select(AuditRecord).where(AuditRecord.table_name == "odm").order_by(AuditRecord.seq.desc())
        ).first()
    assert last is not None and last.action == "export" and last.record_id == IVO
    assert last.new_value == "site=SITE01;audit=no;as_of=-" and last.username.startswith("cli:")
