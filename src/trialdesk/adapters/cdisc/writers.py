"""Write a dataset as SAS XPORT version 5 (pyreadstat), CDISC Dataset-JSON 1.1, or CSV.

Every writer checks the dataset first (:func:`~trialdesk.analysis.cdisc.model.check_dataset`: names
<= 8, labels <= 40, text <= 200 bytes) and refuses it with an error naming the dataset and variable.
Text is UTF-8 (XPORT has no encoding field: ASCII data are unaffected). ADaM dates are SAS dates
(days since 1960-01-01, format DATE9.) in XPORT, ISO 8601 text in Dataset-JSON and CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from trialdesk.analysis.cdisc.model import Dataset, check_dataset

DATASET_JSON_VERSION = "1.1.0"
JSON_TYPES = {"text": "string", "integer": "integer", "float": "double", "date": "date"}
"""Dataset-JSON 1.1 ``dataType`` of each variable type."""
FORMATS = ("xpt", "json", "csv")
EXTENSIONS = {"xpt": "xpt", "json": "json", "csv": "csv"}


def file_name(dataset: Dataset, fmt: str) -> str:
    """The file of a dataset: its name in lower case and the format's extension (``dm.xpt``)."""
    return f"{dataset.name.lower()}.{EXTENSIONS[fmt]}"


SAS_EPOCH = dt.date(1960, 1, 1)
"""Day 0 of SAS dates."""


def sas_date(value: dt.date | None) -> float | None:
    """A SAS date: days since 1960-01-01 (``None`` when missing)."""
    return None if value is None else float((value - SAS_EPOCH).days)


def to_xpt(dataset: Dataset) -> bytes:
    """SAS XPORT v5 bytes of ``dataset`` (pyreadstat ``write_xport``, ``file_format_version=5``, from a
    Polars frame: text as UTF-8 strings, numbers and SAS dates as 64-bit floats, missing as null)."""
    import polars as pl
    import pyreadstat

    check_dataset(dataset)
    columns: dict[str, pl.Series] = {}
    for var in dataset.variables:
        values = dataset.column(var.name)
        if var.type == "text":
            columns[var.name] = pl.Series(var.name, values, dtype=pl.Utf8)
        elif var.type == "date":
            columns[var.name] = pl.Series(var.name, [sas_date(v) for v in values], dtype=pl.Float64)
        else:
            columns[var.name] = pl.Series(
                var.name, [None if v is None else float(v) for v in values], dtype=pl.Float64
            )
    frame = pl.DataFrame(list(columns.values()))
    formats = {v.name: "DATE9." for v in dataset.variables if v.type == "date"}
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / file_name(dataset, "xpt")
        pyreadstat.write_xport(
            frame,
            str(target),
            file_label=dataset.label,
            column_labels=[v.label for v in dataset.variables],
            table_name=dataset.name,
            file_format_version=5,
            variable_format=formats,
        )
        return target.read_bytes()


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def to_dataset_json(dataset: Dataset, study_oid: str, created: dt.datetime, source_version: str) -> bytes:
    """CDISC Dataset-JSON 1.1: the dataset's columns (OIDs as in Define-XML) and rows (arrays)."""
    check_dataset(dataset)
    key_order = {name: i for i, name in enumerate(dataset.keys, start=1)}
    columns = []
    for var in dataset.variables:
        column: dict[str, Any] = {
            "itemOID": f"IT.{dataset.name}.{var.name}",
            "name": var.name,
            "label": var.label,
            "dataType": JSON_TYPES[var.type],
        }
        if var.type == "text" and dataset.kind == "SDTM" and var.name.endswith("DTC"):
            column["dataType"] = "date"
        elif var.type == "text":
            column["length"] = dataset.length(var)
        if var.type == "date":
            column["targetDataType"] = "integer"  # stored as a SAS date number in XPORT
            column["displayFormat"] = "DATE9."
        if var.name in key_order:
            column["keySequence"] = key_order[var.name]
        columns.append(column)
    document = {
        "datasetJSONCreationDateTime": created.replace(microsecond=0).isoformat(),
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"{study_oid}.{dataset.name}",
        "originator": "trialdesk",
        "sourceSystem": {"name": "trialdesk", "version": source_version},
        "studyOID": study_oid,
        "metaDataVersionOID": f"MDV.{dataset.kind}",
        "metaDataRef": "define.xml",
        "itemGroupOID": f"IG.{dataset.name}",
        "records": len(dataset.rows),
        "name": dataset.name,
        "label": dataset.label,
        "columns": columns,
        "rows": [[_json_value(row.get(v.name)) for v in dataset.variables] for row in dataset.rows],
    }
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def to_csv(dataset: Dataset) -> bytes:
    """CSV (UTF-8, header of variable names; missing values empty; dates ISO 8601)."""
    check_dataset(dataset)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([v.name for v in dataset.variables])
    for row in dataset.rows:
        writer.writerow(
            ["" if row.get(v.name) is None else _json_value(row.get(v.name)) for v in dataset.variables]
        )
    return buffer.getvalue().encode("utf-8")
