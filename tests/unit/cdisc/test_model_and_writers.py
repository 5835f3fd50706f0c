"""Dataset limits (SAS XPORT v5: names <= 8, labels <= 40, text <= 200 bytes; FDA Study Data Technical
Conformance Guide s3.3), study day (SDTMIG v3.4 s4.4.4) and the three writers.

The XPORT round trip uses the Trial Summary example rows published in SDTMIG v3.4 s7.6.1 (TS example
1: ADDON Y / C49488, AGEMAX P70Y, AGEMIN P18M, LENGTH P3M, PLANSUB 300) and reads the file back with
two independent readers (pyreadstat, which wrote it, and pandas' own XPORT parser)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from tests.support.cdisc import dataset_json_validator
from trialdesk.adapters.cdisc.writers import to_csv, to_dataset_json, to_xpt
from trialdesk.analysis.cdisc.model import (
    Dataset,
    DatasetSpecError,
    Variable,
    check_dataset,
    number_sequence,
    study_day,
)

TS_EXAMPLE = [  # SDTMIG v3.4, section 7.6.1, TS Example 1 (first rows)
    ("ADDON", "Added on to Existing Treatments", "Y", "C49488", "CDISC CT", "2011-06-10"),
    ("AGEMAX", "Planned Maximum Age of Subjects", "P70Y", None, "ISO 8601", None),
    ("AGEMIN", "Planned Minimum Age of Subjects", "P18M", None, "ISO 8601", None),
    ("LENGTH", "Trial Length", "P3M", None, "ISO 8601", None),
    ("PLANSUB", "Planned Number of Subjects", "300", None, None, None),
]


def _ts() -> Dataset:
    variables = (
        Variable("STUDYID", "Study Identifier", required=True),
        Variable("DOMAIN", "Domain Abbreviation", required=True),
        Variable("TSSEQ", "Sequence Number", "integer", "Derived", required=True),
        Variable("TSGRPID", "Group ID"),
        Variable("TSPARMCD", "Trial Summary Parameter Short Name", required=True),
        Variable("TSPARM", "Trial Summary Parameter", required=True),
        Variable("TSVAL", "Parameter Value"),
        Variable("TSVALNF", "Parameter Null Flavor"),
        Variable("TSVALCD", "Parameter Value Code"),
        Variable("TSVCDREF", "Name of the Reference Terminology"),
        Variable("TSVCDVER", "Version of the Reference Terminology"),
    )
    rows = [
        {
            "STUDYID": "XYZ",
            "DOMAIN": "TS",
            "TSSEQ": 1,
            "TSPARMCD": code,
            "TSPARM": name,
            "TSVAL": value,
            "TSVALCD": c_code,
            "TSVCDREF": ref,
            "TSVCDVER": version,
            "TSGRPID": None,
            "TSVALNF": None,
        }
        for code, name, value, c_code, ref, version in TS_EXAMPLE
    ]
    return Dataset(
        "TS",
        "Trial Summary",
        "SDTM",
        "TRIAL DESIGN",
        "One record per parameter value",
        ("STUDYID", "TSPARMCD", "TSSEQ"),
        variables,
        rows,
    )


def test_the_sdtmig_ts_example_round_trips_through_xpt_with_two_readers(tmp_path: Path) -> None:
    target = tmp_path / "ts.xpt"
    target.write_bytes(to_xpt(_ts()))
    first, meta = pyreadstat.read_xport(str(target))
    second = pd.read_sas(str(target), format="xport", encoding="utf-8")
    assert meta.table_name == "TS" and meta.file_label == "Trial Summary"
    assert meta.column_names_to_labels["TSPARMCD"] == "Trial Summary Parameter Short Name"
    for frame in (first, second):
        assert list(frame["TSPARMCD"]) == [r[0] for r in TS_EXAMPLE]
        assert list(frame["TSVAL"]) == [r[2] for r in TS_EXAMPLE]
        assert [v or None for v in frame["TSVALCD"]] == [r[3] for r in TS_EXAMPLE]
        assert list(frame["TSSEQ"]) == [1.0] * len(TS_EXAMPLE)


def test_adam_dates_are_sas_dates_even_when_all_missing(tmp_path: Path) -> None:
    data = Dataset(
        "ADX",
        "Dates",
        "ADaM",
        "BASIC DATA STRUCTURE",
        "s",
        (),
        (Variable("ADT", "Analysis Date", "date"), Variable("AENDT", "Analysis End Date", "date")),
        [{"ADT": dt.date(1960, 1, 2), "AENDT": None}, {"ADT": dt.date(2024, 2, 29), "AENDT": None}],
    )
    target = tmp_path / "adx.xpt"
    target.write_bytes(to_xpt(data))
    frame, meta = pyreadstat.read_xport(str(target))
    assert meta.readstat_variable_types == {"ADT": "double", "AENDT": "double"}
    assert list(frame["ADT"]) == [dt.date(1960, 1, 2), dt.date(2024, 2, 29)]
    raw = pd.read_sas(str(target), format="xport")
    assert list(raw["ADT"]) == [1.0, 23435.0]  # SAS day numbers: 1960-01-01 is day 0, 01JAN2024 is 23376


@pytest.mark.parametrize(
    "change, where",
    [
        ({"name": "TRIALSUMM"}, "TRIALSUMM"),
        ({"label": "x" * 41}, "TS: label"),
    ],
)
def test_dataset_names_and_labels_over_the_limits_are_refused(change: dict[str, str], where: str) -> None:
    data = _ts()
    for key, value in change.items():
        setattr(data, key, value)
    with pytest.raises(DatasetSpecError, match=where):
        to_xpt(data)


def test_variable_limits_name_the_dataset_and_variable() -> None:
    data = _ts()
    data.variables = (*data.variables, Variable("TSVALUE10", "Too long a name"))
    with pytest.raises(DatasetSpecError, match=r"TS\.TSVALUE10: name"):
        check_dataset(data)
    data = _ts()
    data.variables = (*data.variables[:-1], Variable("TSVCDREF", "L" * 41))
    with pytest.raises(DatasetSpecError, match=r"TS\.TSVCDREF: label"):
        check_dataset(data)
    data = _ts()
    data.rows[0]["TSVAL"] = "x" * 200  # exactly the limit passes
    check_dataset(data)
    data.rows[0]["TSVAL"] = "肺" * 67  # 201 bytes in UTF-8
    with pytest.raises(DatasetSpecError, match=r"TS\.TSVAL: row 1: value longer than 200 bytes"):
        to_csv(data)
    data = _ts()
    data.rows[1]["TSSEQ"] = "1"
    with pytest.raises(DatasetSpecError, match=r"TS\.TSSEQ: row 2: integer expected"):
        check_dataset(data)
    data = _ts()
    data.rows[0]["EXTRA"] = "?"
    with pytest.raises(DatasetSpecError, match=r"TS\.EXTRA: row 1: variable not declared"):
        check_dataset(data)


def test_study_day_has_no_day_zero() -> None:
    """SDTMIG v3.4 s4.4.4: --DY = date - RFSTDTC + 1 on or after RFSTDTC, date - RFSTDTC before it."""
    start = dt.date(2024, 3, 10)
    assert study_day(dt.date(2024, 3, 10), start) == 1
    assert study_day(dt.date(2024, 3, 9), start) == -1
    assert study_day(dt.date(2024, 4, 9), start) == 31
    assert study_day(dt.date(2024, 3, 1), start) == -9
    assert study_day(None, start) is None and study_day(start, None) is None


def test_sequence_numbers_restart_per_subject() -> None:
    data = Dataset(
        "AE",
        "Adverse Events",
        "SDTM",
        "EVENTS",
        "s",
        (),
        (Variable("USUBJID", "u"), Variable("AESEQ", "s", "integer"), Variable("AESTDTC", "d")),
        [
            {"USUBJID": "B", "AESTDTC": "2024-01-02"},
            {"USUBJID": "A", "AESTDTC": "2024-01-05"},
            {"USUBJID": "B", "AESTDTC": "2024-01-01"},
        ],
    )
    number_sequence(data, "AESEQ", ("AESTDTC",))
    assert [(r["USUBJID"], r["AESEQ"], r["AESTDTC"]) for r in data.rows] == [
        ("A", 1, "2024-01-05"),
        ("B", 1, "2024-01-01"),
        ("B", 2, "2024-01-02"),
    ]


def test_dataset_json_1_1_layout() -> None:
    document = json.loads(
        to_dataset_json(_ts(), "XYZ", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "1.0")
    )
    dataset_json_validator().validate(document)
    assert document["datasetJSONVersion"] == "1.1.0"
    assert document["records"] == len(TS_EXAMPLE) and document["itemGroupOID"] == "IG.TS"
    columns = {c["name"]: c for c in document["columns"]}
    assert columns["TSSEQ"]["dataType"] == "integer" and columns["TSSEQ"]["keySequence"] == 3
    assert columns["TSVAL"]["dataType"] == "string" and columns["TSVAL"]["length"] == len("P70Y")
    assert columns["TSPARM"]["length"] == max(len(r[1]) for r in TS_EXAMPLE)
    assert "length" not in columns["TSSEQ"]
    first = dict(zip(columns, document["rows"][0], strict=True))
    assert first == {
        "STUDYID": "XYZ",
        "DOMAIN": "TS",
        "TSSEQ": 1,
        "TSGRPID": None,
        "TSPARMCD": "ADDON",
        "TSPARM": "Added on to Existing Treatments",
        "TSVAL": "Y",
        "TSVALNF": None,
        "TSVALCD": "C49488",
        "TSVCDREF": "CDISC CT",
        "TSVCDVER": "2011-06-10",
    }
