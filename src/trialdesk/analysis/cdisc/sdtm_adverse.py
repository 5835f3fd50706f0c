"""SDTM AE and SUPPAE from the adverse events (CTCAE v5.0 term and grade, SAE criteria, attribution).

SUPPAE holds the investigator's attribution to each treatment component (AERELn) and the reported
term's characters after the first 200 (AETERM1, ...; SDTMIG v3.4 s4.5.3.2).
"""

from __future__ import annotations

from typing import Any

from trialdesk.analysis.cdisc.model import Dataset, Row, iso, number_sequence, split_text, study_day
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.analysis.cdisc.sdtm import (
    AE_OUTCOMES,
    SAE_FLAGS,
    base_row,
    epoch,
    identifiers,
    reference_start,
    var,
    yes_no,
)
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.safety.stopping_rules import is_treatment_related

AE_VARIABLES = (
    *identifiers("AE"),
    var("AESPID", "Sponsor-Defined Identifier", origin="Assigned", source="adverse_events.id"),
    var(
        "AETERM",
        "Reported Term for the Adverse Event",
        required=True,
        source="adverse_events.verbatim (else term)",
    ),
    var("AEDECOD", "Dictionary-Derived Term", required=True, source="adverse_events.term (CTCAE v5.0 term)"),
    var("AEBODSYS", "Body System or Organ Class", source="adverse_events.soc (CTCAE v5.0 SOC)"),
    var(
        "AESEV",
        "Severity/Intensity",
        origin="Derived",
        codelist="AESEV",
        method="CTCAE grade 1 MILD, 2 MODERATE, 3-5 SEVERE",
    ),
    var("AETOXGR", "Standard Toxicity Grade", codelist="AETOXGR", source="adverse_events.grade"),
    var("AESER", "Serious Event", codelist="NY", source="adverse_events.serious"),
    *(
        var(flag, label, codelist="NY", source="adverse_events.sae_criteria")
        for flag, label in (
            ("AESDTH", "Results in Death"),
            ("AESLIFE", "Is Life Threatening"),
            ("AESHOSP", "Requires or Prolongs Hospitalization"),
            ("AESDISAB", "Persist or Signif Disability/Incapacity"),
            ("AESCONG", "Congenital Anomaly or Birth Defect"),
            ("AESMIE", "Other Medically Important Serious Event"),
        )
    ),
    var(
        "AEREL",
        "Causality",
        origin="Derived",
        codelist="AEREL",
        method="RELATED when any component is attributed at a level the protocol counts as related "
        "(domain/safety/stopping_rules.is_treatment_related); per component in SUPPAE",
    ),
    var("AEACN", "Action Taken with Study Treatment", codelist="ACN", source="adverse_events.action_taken"),
    var("AEOUT", "Outcome of Adverse Event", codelist="OUT", source="adverse_events.outcome"),
    var("EPOCH", "Epoch", origin="Derived", codelist="EPOCH", method="Epoch of AESTDTC"),
    var("AESTDTC", "Start Date/Time of Adverse Event", required=True, source="adverse_events.onset_date"),
    var("AEENDTC", "End Date/Time of Adverse Event", source="adverse_events.resolution_date"),
    var("AESTDY", "Study Day of Start of Adverse Event", "integer", "Derived", method="Study day of AESTDTC"),
)


def _severity(grade: int) -> str:
    return {1: "MILD", 2: "MODERATE"}.get(grade, "SEVERE")


def ae(records: TrialRecords) -> tuple[Dataset, Dataset]:
    """Adverse events (one row per episode) and SUPPAE (attribution to each treatment component)."""
    data = Dataset(
        "AE",
        "Adverse Events",
        "SDTM",
        "EVENTS",
        "One record per adverse event episode",
        ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"),
        AE_VARIABLES,
        [],
        "Source: adverse_events (CTCAE v5.0 term and grade; each grade change a new episode).",
    )
    policy = records.protocol.attribution
    supp: list[tuple[int, Row]] = []
    for row in records.adverse_events:
        sid = int(row["subject_id"])
        criteria = set(row.get("sae_criteria") or [])
        serious = row.get("serious")
        verbatim = split_text(str(row.get("verbatim") or row["term"]))
        data.rows.append(
            base_row(records, "AE", sid)
            | {
                "AESPID": str(row["id"]),
                "AETERM": verbatim[0],
                "AEDECOD": row["term"],
                "AEBODSYS": row.get("soc"),
                "AESEV": _severity(int(row["grade"])),
                "AETOXGR": str(row["grade"]),
                "AESER": yes_no(serious),
            }
            | {
                flag: (("Y" if key in criteria else "N") if serious else None)
                for key, flag in SAE_FLAGS.items()
            }
            | {
                "AEREL": "RELATED" if is_treatment_related(_Attributed(row), policy) else "NOT RELATED",
                "AEACN": _upper(row.get("action_taken")),
                "AEOUT": AE_OUTCOMES.get(str(row.get("outcome"))),
                "EPOCH": epoch(records, sid, row["onset_date"]),
                "AESTDTC": iso(row["onset_date"]),
                "AEENDTC": iso(row.get("resolution_date")),
                "AESTDY": study_day(row["onset_date"], reference_start(records, sid)),
            }
        )
        supp.extend((int(row["id"]), qualifier) for qualifier in _attributions(records.protocol, row))
        supp.extend(
            (
                int(row["id"]),
                {"QNAM": f"AETERM{n}", "QLABEL": f"Reported Term for the AE, part {n + 1}", "QVAL": piece},
            )
            for n, piece in enumerate(verbatim[1:], start=1)
        )
    number_sequence(data, "AESEQ", ("AESTDTC", "AEDECOD", "AESPID"))
    return data, _suppae(records, data, supp)


class _Attributed:
    def __init__(self, row: Row) -> None:
        self.attributions: dict[str, Any] | None = row.get("attributions")


def _upper(value: Any) -> str | None:
    if value is None:
        return None
    return {"dose_not_changed": "DOSE NOT CHANGED", "not_applicable": "NOT APPLICABLE"}.get(
        str(value), str(value).replace("_", " ").upper()
    )


SUPP_VARIABLES = (
    var("STUDYID", "Study Identifier", origin="Assigned", required=True),
    var("RDOMAIN", "Related Domain Abbreviation", origin="Assigned", required=True),
    var("USUBJID", "Unique Subject Identifier", origin="Derived", required=True, method="STUDYID-SUBJID"),
    var("IDVAR", "Identifying Variable", origin="Assigned"),
    var("IDVARVAL", "Identifying Variable Value", origin="Derived", method="The parent record's --SEQ"),
    var("QNAM", "Qualifier Variable Name", origin="Assigned", required=True),
    var("QLABEL", "Qualifier Variable Label", origin="Assigned", required=True),
    var("QVAL", "Data Value", required=True, source="adverse_events.attributions / adverse_events.verbatim"),
    var("QORIG", "Origin", origin="Assigned", required=True),
)


def _attributions(protocol: Protocol, row: Row) -> list[Row]:
    """SUPPAE qualifiers of one AE's attribution per treatment component: AERELn, n the component's
    order in the protocol's interventions."""
    names = {i.id: i.name for i in protocol.interventions}
    out = []
    for component, level in sorted((row.get("attributions") or {}).items()):
        index = list(names).index(component) + 1 if component in names else 0
        out.append(
            {
                "QNAM": f"AEREL{index}",
                "QLABEL": f"Causality: {names.get(component, component)}"[:40],
                "QVAL": str(level).upper(),
            }
        )
    return out


def _suppae(records: TrialRecords, parent: Dataset, items: list[tuple[int, Row]]) -> Dataset:
    seq = {row["AESPID"]: row for row in parent.rows}
    rows = []
    for ae_id, item in items:
        parent_row = seq[str(ae_id)]
        rows.append(
            {
                "STUDYID": records.study_id,
                "RDOMAIN": "AE",
                "USUBJID": parent_row["USUBJID"],
                "IDVAR": "AESEQ",
                "IDVARVAL": str(parent_row["AESEQ"]),
                "QORIG": "CRF",
            }
            | item
        )
    rows.sort(key=lambda r: (r["USUBJID"], int(r["IDVARVAL"]), r["QNAM"]))
    return Dataset(
        "SUPPAE",
        "Supplemental Qualifiers for AE",
        "SDTM",
        "RELATIONSHIP",
        "One record per IDVARVAL per QNAM",
        ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
        SUPP_VARIABLES,
        rows,
        "Investigator attribution of each AE to each treatment component (AERELn: "
        "n is the component's order in the protocol's interventions); AETERM1, AETERM2, ...: the reported "
        "term's characters after the first 200 (SDTMIG v3.4 s4.5.3.2).",
    )
