"""Data listings (issue 14): one CSV per form with sdv_status and open_queries, the query listing and
the SDV listing, from the CLI (files 0600) and the API (ZIP); each export audited as a read.
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.integration.api_helpers import build_api
from tests.integration.test_api_forms import DEMOGRAPHICS, _save
from trialdesk.adapters.db.engine import make_engine, unit_of_work
from trialdesk.adapters.db.models import AuditRecord, DataQuery
from trialdesk.entrypoints.cli.main import app

IVO = "ivo-shfrt-2l"
runner = CliRunner()


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_listings_from_the_cli_and_the_api(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = build_api(database_url, tmp_path)
    with api.client:
        subject_id = api.enrolled_subject(IVO, "IVO-X-1")
        record_id = _save(api, subject_id, "demographics", DEMOGRAPHICS).json()["id"]
        whole = {"table": "form_records", "record_id": str(record_id), "field": "*"}
        assert api.post("monitor", f"/api/trials/{IVO}/subjects/{subject_id}/sdv", whole).status_code == 200
        engine = api.client.app.state.engine  # type: ignore[attr-defined]
        now = dt.datetime.now(dt.UTC)
        with unit_of_work(engine, "monitor") as session:
            session.add(
                DataQuery(
                    protocol_id=IVO, subject_id=subject_id, target_table="form_records",
                    target_id=str(record_id),
                    field="ecog", form_id="demographics", visit_id="SCR", origin="manual", status="open",
                    text="ECOG 1 in the notes?", opened_by="monitor", opened_at=now, updated_at=now,
                )
            )  # fmt: skip
        assert api.get("coord1", f"/api/trials/{IVO}/listings.zip").status_code == 403
        download = api.get("monitor", f"/api/trials/{IVO}/listings.zip")
        assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
        assert {"form_demographics.csv", "queries.csv", "sdv.csv"} <= set(names)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)

    out = tmp_path / "listings"
    assert (
        runner.invoke(app, ["export", "listings", IVO, "--out", str(out), "--format", "xlsx"]).exit_code == 2
    )
    result = runner.invoke(app, ["export", "listings", IVO, "--out", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = _rows((out / "form_demographics.csv").read_bytes())
    assert (row["subject"], row["site"], row["visit"], row["repeat"], row["ecog"]) == (
        "IVO-X-1",
        "S01",
        "SCR",
        "1",
        "1",
    )
    assert (row["sdv_status"], row["open_queries"], row["pdl1_known"]) == ("verified", "1", "true")
    assert (out / "form_demographics.csv").stat().st_mode & 0o777 == 0o600
    (query,) = _rows((out / "queries.csv").read_bytes())
    assert (query["subject"], query["field"], query["status"]) == ("IVO-X-1", "ecog", "open")
    sdv_rows = _rows((out / "sdv.csv").read_bytes())
    assert len(sdv_rows) == len(DEMOGRAPHICS) and {r["state"] for r in sdv_rows} == {"verified"}
    assert _rows((out / "form_vital_signs.csv").read_bytes()) == []
    engine = make_engine(database_url)
    with engine.connect() as connection:
        reads = (
            connection.execute(
                select(AuditRecord.username).where(
                    AuditRecord.action == "export", AuditRecord.table_name == "listings"
                )
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert reads[0] == "monitor" and reads[1].startswith("cli:") and len(reads) == 2


def test_parquet_listings_keep_numbers_dates_and_codes(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Parquet listing holds what the CSV holds, with typed numbers, dates and true/false, and
    text codes left as text (read back with pyarrow, the reference Parquet implementation)."""
    import pyarrow.parquet as pq

    api = build_api(database_url, tmp_path)
    with api.client:
        subject_id = api.enrolled_subject(IVO, "IVO-P-1")
        saved = _save(api, subject_id, "demographics", DEMOGRAPHICS)
        assert saved.status_code == 200, saved.text
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    monkeypatch.setenv("TRIALDESK_DATABASE_URL", database_url)
    out = tmp_path / "parquet"
    result = runner.invoke(app, ["export", "listings", IVO, "--out", str(out), "--format", "parquet"])
    assert result.exit_code == 0, result.output
    table = pq.read_table(out / "form_demographics.parquet")
    row = table.to_pylist()[0]
    assert row["subject"] == "IVO-P-1" and row["visit"] == "SCR" and row["repeat"] == 1
    assert row["ecog"] == DEMOGRAPHICS["ecog"] and isinstance(row["ecog"], int)  # an integer field
    assert row["pdl1_known"] is DEMOGRAPHICS["pdl1_known"]  # a boolean field
    assert str(table.schema.field("subject").type) == "string"
    assert {"queries.parquet", "sdv.parquet"} <= {p.name for p in out.iterdir()}
    assert (out / "form_demographics.parquet").stat().st_mode & 0o777 == 0o600
