"""ADaM ADRS and ADTTE: tumour response and time-to-event, from the same derivations the trial report
uses (``domain/recist`` and ``domain/endpoints/derivation.py``).

ADRS: the overall response of every time point (from SDTM RS), and per subject the best overall
response confirmed as the protocol requires (``CBOR``) and without confirmation (``UBOR``), each for
RECIST 1.1 and, when derived, iRECIST (parameter codes prefixed ``I``). ADTTE: PFS, OS and DOR per
subject from :func:`trialdesk.domain.endpoints.derive_endpoints` at the cut-off, ``CNSR`` 0 for an
event and 1 for a censored time, ``EVNTDESC`` the derivation's rule name (``CNSDTDSC`` as well when
censored).
"""

from __future__ import annotations

from collections.abc import Mapping

from trialdesk.analysis.cdisc.adam import source_variables, subject_part, subject_variables
from trialdesk.analysis.cdisc.model import Dataset, Row, study_day
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.analysis.cdisc.sdtm import RESPONSE_CATEGORIES, as_date, var
from trialdesk.domain.endpoints.model import AnalysisDataset
from trialdesk.domain.recist import ResponseReport
from trialdesk.domain.recist.engine import assess_response
from trialdesk.domain.recist.settings import ResponseSettings, Rules

CONFIRMATION = {"CBOR": "confirmed", "UBOR": "unconfirmed"}
TTE_PARAMS = {
    "PFS": "Progression-Free Survival (days)",
    "OS": "Overall Survival (days)",
    "DOR": "Duration of Response (days)",
}


def _code(base: str, rules: Rules) -> str:
    return base if rules == "recist1.1" else f"I{base}"[:8]


def adrs(
    records: TrialRecords,
    sdtm: Mapping[str, Dataset],
    adsl_data: Dataset,
    reports: Mapping[tuple[int, Rules], ResponseReport],
    settings: ResponseSettings,
) -> Dataset:
    """Overall response per visit and the confirmed / unconfirmed best overall response per subject."""
    subjects = {r["USUBJID"]: r for r in adsl_data.rows}
    rs_rows = sdtm["RS"].rows
    rows: list[Row] = []
    for row in rs_rows:
        if row["RSTESTCD"] != "OVRLRESP" or row["USUBJID"] not in subjects:
            continue
        rules: Rules = "irecist" if row["RSCAT"] == "iRECIST" else "recist1.1"
        part = subject_part(subjects, row["USUBJID"])
        day = as_date(row["RSDTC"])
        rows.append(
            part
            | {
                "PARAMCD": _code("OVRLRESP", rules),
                "PARAM": f"Overall Response ({row['RSCAT']})",
                "PARCAT1": row["RSCAT"],
                "AVALC": row["RSSTRESC"],
                "ADT": day,
                "ADY": study_day(day, part["TRTSDT"]),
                "AVISIT": row.get("VISIT"),
                "SRCDOM": "RS",
                "SRCSEQ": row["RSSEQ"],
                "DRVRULE": None,
            }
        )
    unconfirmed = settings.model_copy(update={"confirmation_required": False})
    overall_seq = {
        (r["USUBJID"], r["RSCAT"], r["RSDTC"]): r["RSSEQ"] for r in rs_rows if r["RSTESTCD"] == "OVRLRESP"
    }
    for (sid, rules), report in sorted(reports.items()):
        usubjid = records.usubjid(sid)
        if usubjid not in subjects:
            continue
        tumour = records.tumour[sid]
        loose = assess_response(tumour.baseline, tumour.assessments, unconfirmed, rules)
        category = RESPONSE_CATEGORIES[rules]
        part = subject_part(subjects, usubjid)
        for code, result, rule in (
            (
                "CBOR",
                report,
                f"best overall response, confirmed as the protocol requires "
                f"(confirmation {'required' if settings.confirmation_required else 'not required'}, "
                f">= {settings.confirmation_min_days} days; SD >= {settings.sd_min_days} days)",
            ),
            ("UBOR", loose, "best overall response without confirmation"),
        ):
            day = result.best_overall_response_date
            rows.append(
                part
                | {
                    "PARAMCD": _code(code, rules),
                    "PARAM": f"Best Overall Response, {CONFIRMATION[code]} ({category})",
                    "PARCAT1": category,
                    "AVALC": result.best_overall_response,
                    "ADT": day,
                    "ADY": study_day(day, part["TRTSDT"]),
                    "AVISIT": None,
                    "SRCDOM": "RS",
                    "SRCSEQ": overall_seq.get((usubjid, category, day.isoformat() if day else None)),
                    "DRVRULE": rule,
                }
            )
    variables = (
        *subject_variables(adsl_data),
        var("PARAMCD", "Parameter Code", origin="Assigned", required=True),
        var("PARAM", "Parameter", origin="Assigned", required=True),
        var("PARCAT1", "Parameter Category 1", origin="Derived", method="RS.RSCAT (RECIST 1.1 or iRECIST)"),
        var(
            "AVALC",
            "Analysis Value (C)",
            origin="Derived",
            codelist="ONCRSR",
            method="OVRLRESP: RS.RSSTRESC; CBOR/UBOR: domain/recist best_overall_response with and without "
            "the protocol's confirmation",
        ),
        var("ADT", "Analysis Date", "date", "Derived", method="RS.RSDTC (BOR: date of the best response)"),
        var("ADY", "Analysis Relative Day", "integer", "Derived", method="ADT - TRTSDT (+1 on or after)"),
        var("AVISIT", "Analysis Visit", origin="Derived", method="RS.VISIT"),
        *source_variables(),
        var("DRVRULE", "Derivation Rule", origin="Assigned"),
    )
    rows.sort(key=lambda r: (r["USUBJID"], r["PARAMCD"], r["ADT"] or as_date("1900-01-01")))
    return Dataset(
        "ADRS",
        "Tumor Response Analysis Dataset",
        "ADaM",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter per analysis date",
        ("STUDYID", "USUBJID", "PARAMCD", "ADT"),
        variables,
        rows,
        "Source: SDTM RS and the RECIST 1.1 / iRECIST engine (domain/recist).",
    )


def adtte(study_id: str, analysis: AnalysisDataset, adsl_data: Dataset) -> Dataset:
    """PFS, OS and DOR per subject from the endpoint derivation at the cut-off (the trial report's)."""
    subjects = {r["USUBJID"]: r for r in adsl_data.rows}
    rows = []
    for record in analysis.time_to_event:
        if record.param not in TTE_PARAMS:
            continue
        usubjid = f"{study_id}-{record.subject_id}"
        if usubjid not in subjects:
            continue
        part = subject_part(subjects, usubjid)
        rows.append(
            part
            | {
                "PARAMCD": record.param,
                "PARAM": TTE_PARAMS[record.param],
                "AVAL": float(record.aval_days),
                "STARTDT": record.start_date,
                "ADT": record.event_or_censor_date,
                "CNSR": 0 if record.event else 1,
                "EVNTDESC": record.rule,
                "CNSDTDSC": None if record.event else record.rule,
            }
        )
    variables = (
        *subject_variables(adsl_data),
        var("PARAMCD", "Parameter Code", origin="Assigned", required=True),
        var("PARAM", "Parameter", origin="Assigned", required=True),
        var("AVAL", "Analysis Value", "float", "Derived", required=True, method="ADT - STARTDT in days"),
        var(
            "STARTDT",
            "Time-to-Event Origin Date for Subject",
            "date",
            "Derived",
            required=True,
            method="PFS/OS: enrolment (single arm, run-in) or randomization; DOR: first documented CR/PR",
        ),
        var(
            "ADT",
            "Analysis Date",
            "date",
            "Derived",
            required=True,
            method="domain/endpoints/derivation.py pfs_outcome, os_outcome, dor_outcome (FDA 2018 censoring)",
        ),
        var("CNSR", "Censor", "integer", "Derived", required=True, method="0 event, 1 censored"),
        var(
            "EVNTDESC",
            "Event or Censoring Description",
            origin="Derived",
            required=True,
            method="The derivation's rule name for this date",
        ),
        var("CNSDTDSC", "Censor Date Description", origin="Derived", method="EVNTDESC when censored"),
    )
    rows.sort(key=lambda r: (r["USUBJID"], r["PARAMCD"]))
    return Dataset(
        "ADTTE",
        "Time-to-Event Analysis Dataset",
        "ADaM",
        "BASIC DATA STRUCTURE",
        "One record per subject per parameter",
        ("STUDYID", "USUBJID", "PARAMCD"),
        variables,
        rows,
        "Source: domain/endpoints derive_endpoints at the cut-off (the trial report's derivation).",
    )
