"""The pure SDTM/ADaM mapping on a hand-built trial (IVO-SHFRT-2L, single arm, iRECIST derived).

Expected values are worked out by hand from the rules they implement: SDTMIG v3.4 (DM one row per
subject, ARMNRS "SCREEN FAILURE", SUPPQUAL keyed by IDVAR/IDVARVAL, EPOCH), the CTCAE v5.0 severity
convention (grade 1 MILD, 2 MODERATE, >= 3 SEVERE), the protocol's attribution policy (possible,
probable and definite count as related) and the treatment-emergent rule stated in ADAE's Define-XML
(on or after the first dose, up to the last dose plus the protocol's last safety follow-up, 90 days).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from trialdesk.adapters.cdisc.terminology import terminology
from trialdesk.analysis.cdisc.adam import treatment_emergent
from trialdesk.analysis.cdisc.build import EMPTY_NOTE, build_adam, build_sdtm
from trialdesk.analysis.cdisc.model import Dataset
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.analysis.cdisc.sdtm import AE_OUTCOMES, LBTESTCD, ROUTES, VSTESTCD
from trialdesk.domain.disposition import CDISC_TERMS
from trialdesk.domain.endpoints import derive_endpoints
from trialdesk.domain.endpoints.model import SubjectEndpointData
from trialdesk.domain.labs.units import canonical_unit
from trialdesk.domain.protocol.model import Protocol

D = dt.date
LONG_VERBATIM = ("nausea after the second infusion, " * 8).strip()  # 271 characters: AETERM + SUPPAE AETERM1


def _subject(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "screening_number": "IVO-001",
        "site_code": "S01",
        "status": "on_treatment",
        "screening_date": D(2025, 1, 6),
        "consent_date": D(2025, 1, 6),
        "phase_id": "main",
        "arm_id": "ivo-shfrt",
        "enrolled_at": dt.datetime(2025, 1, 8, 9, tzinfo=dt.UTC),
        "treatment_start_date": D(2025, 1, 10),
        "treatment_end_date": D(2025, 3, 1),
        "death_date": None,
        "end_of_treatment_reason": "adverse_event",
        "end_of_study_date": None,
        "end_of_study_reason": None,
        "status_date": None,
        "last_known_alive_date": None,
        "patient_record": {"sex": "female", "birth_date": "1960-05-20"},
        "allocation_date": None,
    }
    return base | values


def _ae(ae_id: int, term: str, grade: int, onset: dt.date, level: str) -> dict[str, Any]:
    return {
        "id": ae_id,
        "subject_id": 1,
        "term": term,
        "verbatim": None,
        "grade": grade,
        "onset_date": onset,
        "soc": "Gastrointestinal disorders",
        "serious": grade >= 3,
        "sae_criteria": ["hospitalization"] if grade >= 3 else [],
        "action_taken": "drug_interrupted" if grade >= 3 else "dose_not_changed",
        "outcome": "recovered",
        "resolution_date": onset + dt.timedelta(days=5),
        "attributions": {"ivonescimab": level, "shfrt": "unlikely"},
    }


@pytest.fixture(scope="module")
def package(ivo_shfrt: Protocol) -> dict[str, Dataset]:
    records = TrialRecords(
        protocol=ivo_shfrt,
        study_id="IVO",
        cutoff=D(2025, 12, 31),
        subjects=[
            _subject(),
            _subject(
                id=2,
                screening_number="IVO-002",
                status="screen_failed",
                phase_id=None,
                arm_id=None,
                enrolled_at=None,
                treatment_start_date=None,
                treatment_end_date=None,
                end_of_treatment_reason=None,
                status_date=D(2025, 1, 9),
            ),
        ],
        adverse_events=[
            _ae(11, "Nausea", 1, D(2025, 1, 8), "possible"),  # before the first dose: not emergent
            _ae(12, "Nausea", 3, D(2025, 2, 1), "probable"),
            _ae(13, "Nausea", 2, D(2025, 2, 20), "unlikely") | {"verbatim": LONG_VERBATIM},
            _ae(14, "Diarrhea", 2, D(2025, 6, 1), "possible"),  # 92 days after the last dose
        ],
        drug_administrations=[
            {
                "id": 1,
                "subject_id": 1,
                "agent": "ivonescimab",
                "cycle": 1,
                "date": D(2025, 1, 10),
                "given_dose_mg": 1200.0,
                "deviation_reason": None,
            },
        ],
        rt_fractions=[
            {
                "id": 1,
                "subject_id": 1,
                "intervention": "shfrt",
                "fraction_number": n,
                "date": D(2025, 1, 12 + n),
                "dose_gy": 5.0,
                "target": "primary tumour",
            }
            for n in (1, 2)
        ],
    )
    sdtm = build_sdtm(records, canonical_unit, terminology().codes())
    subject = SubjectEndpointData(
        subject_id="IVO-001",
        arm="ivo-shfrt",
        phase_id="main",
        origin_date=D(2025, 1, 8),
        treatment_start=D(2025, 1, 10),
        last_known_alive_date=D(2025, 6, 1),
    )
    adam = build_adam(records, sdtm, derive_endpoints(ivo_shfrt, [subject], records.cutoff), {})
    return sdtm | adam


def test_subject_elements_are_contiguous_with_their_planned_order_and_epoch(
    package: dict[str, Dataset],
) -> None:
    """SDTMIG v3.4 SE: the treated subject passes screening (from consent to the first dose), treatment
    (first to last dose) and follow-up (from the last dose, still going on: no end); the screen failure
    only screening, from consent to the failure, with no TAETORD (assigned to no arm)."""
    rows = [
        (
            r["USUBJID"],
            r["SESEQ"],
            r["ETCD"],
            r["TAETORD"],
            r["EPOCH"],
            r["SESTDTC"],
            r["SEENDTC"],
            r["SESTDY"],
        )
        for r in package["SE"].rows
    ]
    assert rows == [
        ("IVO-IVO-001", 1, "SCRN", 1, "SCREENING", "2025-01-06", "2025-01-10", -4),
        ("IVO-IVO-001", 2, "TRT1", 2, "TREATMENT", "2025-01-10", "2025-03-01", 1),
        ("IVO-IVO-001", 3, "FU", 3, "FOLLOW-UP", "2025-03-01", None, 51),
        ("IVO-IVO-002", 1, "SCRN", None, "SCREENING", "2025-01-06", "2025-01-09", None),
    ]
    assert package["SE"].rows[1]["ELEMENT"] == "Ivonescimab + SHFRT"  # the arm's label, as TE has it


def test_dm_keeps_screen_failures_with_the_reason_their_arm_is_null(package: dict[str, Dataset]) -> None:
    dm = {r["SUBJID"]: r for r in package["DM"].rows}
    assert dm["IVO-001"]["USUBJID"] == "IVO-IVO-001" and dm["IVO-001"]["SEX"] == "F"
    assert dm["IVO-001"]["AGE"] == 64 and dm["IVO-001"]["RFSTDTC"] == "2025-01-10"
    assert dm["IVO-002"]["ARMCD"] is None and dm["IVO-002"]["ARMNRS"] == "SCREEN FAILURE"
    ds = [(r["USUBJID"], r["DSDECOD"], r["DSSCAT"]) for r in package["DS"].rows]
    assert ("IVO-IVO-001", "ADVERSE EVENT", "END OF TREATMENT") in ds
    assert ("IVO-IVO-002", "SCREEN FAILURE", "STUDY SCREENING") in ds
    assert [r["USUBJID"] for r in package["ADSL"].rows] == ["IVO-IVO-001"]


def test_ae_severity_causality_and_suppae(package: dict[str, Dataset]) -> None:
    ae = {r["AESPID"]: r for r in package["AE"].rows}
    assert [ae[k]["AESEV"] for k in ("11", "12", "13")] == ["MILD", "SEVERE", "MODERATE"]
    assert [ae[k]["AEREL"] for k in ("11", "12", "13")] == ["RELATED", "RELATED", "NOT RELATED"]
    assert ae["12"]["AESER"] == "Y" and ae["12"]["AESHOSP"] == "Y" and ae["12"]["AESDTH"] == "N"
    assert ae["11"]["AESER"] == "N" and ae["11"]["AESHOSP"] is None
    assert ae["12"]["AEACN"] == "DRUG INTERRUPTED" and ae["12"]["AEOUT"] == "RECOVERED/RESOLVED"
    assert (
        ae["11"]["EPOCH"] == "SCREENING"
        and ae["12"]["EPOCH"] == "TREATMENT"
        and ae["14"]["EPOCH"] == "FOLLOW-UP"
    )
    assert [ae[k]["AESEQ"] for k in ("11", "12", "13", "14")] == [1, 2, 3, 4]
    supp = [(r["IDVARVAL"], r["QNAM"], r["QVAL"]) for r in package["SUPPAE"].rows if r["IDVARVAL"] == "2"]
    assert supp == [("2", "AEREL1", "PROBABLE"), ("2", "AEREL2", "UNLIKELY")]


def test_adae_treatment_emergence_and_worst_grade(package: dict[str, Dataset]) -> None:
    adae = {r["AESEQ"]: r for r in package["ADAE"].rows}
    assert [adae[s]["TRTEMFL"] for s in (1, 2, 3, 4)] == ["N", "Y", "Y", "N"]
    assert [adae[s]["WORSTFL"] for s in (1, 2, 3, 4)] == [None, "Y", None, None]
    assert all(r["SRCDOM"] == "AE" and r["SRCSEQ"] == r["AESEQ"] for r in adae.values())


@pytest.mark.parametrize(
    "onset, first, last, expected",
    [
        (D(2025, 1, 9), D(2025, 1, 10), D(2025, 3, 1), False),
        (D(2025, 1, 10), D(2025, 1, 10), D(2025, 3, 1), True),
        (D(2025, 5, 30), D(2025, 1, 10), D(2025, 3, 1), True),  # last dose + 90 days
        (D(2025, 5, 31), D(2025, 1, 10), D(2025, 3, 1), False),
        (D(2026, 1, 1), D(2025, 1, 10), None, True),  # still on treatment
        (D(2025, 1, 9), None, None, False),  # never dosed
    ],
)
def test_treatment_emergent_window(
    onset: dt.date, first: dt.date | None, last: dt.date | None, expected: bool
) -> None:
    assert treatment_emergent(onset, first, last, 90) is expected


def test_exposure_holds_drug_doses_and_rt_fractions(package: dict[str, Dataset]) -> None:
    ex = package["EX"].rows
    assert [(r["EXCAT"], r["EXDOSE"], r["EXDOSU"], r["EXROUTE"]) for r in ex] == [
        ("DRUG", 1200.0, "mg", "INTRAVENOUS"),
        ("RADIOTHERAPY", 5.0, "Gy", None),
        ("RADIOTHERAPY", 5.0, "Gy", None),
    ]
    totals = {(r["PARCAT1"], r["PARAMCD"]): r["AVAL"] for r in package["ADEX"].rows if r["DRVRULE"]}
    shfrt = next(r["EXTRT"] for r in ex if r["EXCAT"] == "RADIOTHERAPY")
    assert totals[(shfrt, "TOTDOSE")] == 10.0 and totals[(shfrt, "NADMIN")] == 2.0


def test_empty_domains_are_written_with_their_variables_and_say_so(package: dict[str, Dataset]) -> None:
    for name in ("LB", "VS", "MH", "CM", "TU", "TR", "RS", "ADLB", "ADRS"):
        assert package[name].rows == [] and package[name].variables
        assert EMPTY_NOTE in (package[name].comment or "")


def test_trial_design_from_the_protocol_file(package: dict[str, Dataset], ivo_shfrt: Protocol) -> None:
    ti = package["TI"].rows
    assert len(ti) == len(ivo_shfrt.eligibility.criteria)
    inclusion = [c for c in ivo_shfrt.eligibility.criteria if c.id.startswith("inc-")]
    assert [r["IETESTCD"] for r in ti[: len(inclusion)]] == [
        f"INCL{n:02d}" for n in range(1, len(inclusion) + 1)
    ]
    assert all(r["TIRL"].startswith(c.id) for r, c in zip(ti, ivo_shfrt.eligibility.criteria, strict=True))
    ts = {r["TSPARMCD"]: r for r in package["TS"].rows}
    assert (ts["RANDOM"]["TSVAL"], ts["RANDOM"]["TSVALCD"]) == ("N", "C49487")  # single arm
    assert (ts["TPHASE"]["TSVAL"], ts["TPHASE"]["TSVALCD"]) == ("PHASE II TRIAL", "C15601")
    ta = package["TA"].rows
    assert [(r["ETCD"], r["EPOCH"]) for r in ta] == [
        ("SCRN", "SCREENING"),
        ("TRT1", "TREATMENT"),
        ("FU", "FOLLOW-UP"),
    ]


def test_every_codelist_and_mapped_term_is_in_the_shipped_terminology(package: dict[str, Dataset]) -> None:
    codelists = terminology().codelists
    assert codelists["NY"].c_code == "C66742" and codelists["SEX"].c_code == "C66731"
    assert codelists["NY"].terms["Y"] == "C49488" and codelists["NY"].terms["N"] == "C49487"
    assert codelists["SEX"].terms["F"] == "C16576" and codelists["SEX"].terms["M"] == "C20197"
    for dataset in package.values():
        for var in dataset.variables:
            if var.codelist:
                assert var.codelist in codelists, f"{dataset.name}.{var.name}: {var.codelist}"
    assert set(AE_OUTCOMES.values()) <= set(codelists["OUT"].terms)
    assert set(ROUTES.values()) <= set(codelists["ROUTE"].terms)
    assert set(CDISC_TERMS.values()) <= set(codelists["NCOMPLT"].terms)
    assert {c for c, _ in LBTESTCD.values()} <= set(codelists["LBTESTCD"].terms)
    assert {n for _, n in LBTESTCD.values()} <= set(codelists["LBTEST"].terms)
    assert {c for c, _ in VSTESTCD.values()} <= set(codelists["VSTESTCD"].terms)
    assert {n for _, n in VSTESTCD.values()} <= set(codelists["VSTEST"].terms)


def test_define_xml_is_valid_define_2_1(package: dict[str, Dataset], ivo_shfrt: Protocol) -> None:
    from lxml import etree

    from tests.support.cdisc import define_21_schema
    from trialdesk.adapters.cdisc.define_xml import DefineContext, define_xml

    schema = define_21_schema()
    for kind, names in (("SDTM", ("DM", "AE", "SUPPAE", "MH", "TS")), ("ADaM", ("ADSL", "ADAE", "ADTTE"))):
        datasets = [package[n] for n in names]
        context = DefineContext(
            kind,
            "IVO",
            "IVO-SHFRT-2L",
            terminology().for_protocol(ivo_shfrt),
            {n: f"{n.lower()}.xpt" for n in names},
            dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "test",
        )
        document = etree.fromstring(define_xml(datasets, context))
        assert schema.validate(document), schema.error_log


def test_a_value_outside_its_codelist_is_refused_naming_dataset_variable_and_row(
    package: dict[str, Dataset], ivo_shfrt: Protocol
) -> None:
    from trialdesk.analysis.cdisc.model import DatasetSpecError

    shipped = terminology().for_protocol(ivo_shfrt)
    shipped.check(package.values())  # every value the mapping writes is a term of its codelist
    ae = package["AE"]
    original = ae.rows[1]["AESEV"]
    ae.rows[1]["AESEV"] = "EXTREME"
    try:
        with pytest.raises(DatasetSpecError, match=r"AE\.AESEV: row 2: 'EXTREME' is not in codelist AESEV"):
            shipped.check([ae])
    finally:
        ae.rows[1]["AESEV"] = original


def test_a_title_over_200_characters_continues_in_tsval1(
    package: dict[str, Dataset], ivo_shfrt: Protocol
) -> None:
    title = " ".join(ivo_shfrt.title.split())
    assert len(title) > 200  # the built-in protocol's title is 215 characters
    row = next(r for r in package["TS"].rows if r["TSPARMCD"] == "TITLE")
    assert len(row["TSVAL"]) <= 200 and row["TSVAL"] + row["TSVAL1"] == title
    assert package["TS"].variable("TSVAL1").label == "Parameter Value 1"


def test_text_pieces_and_criterion_cut() -> None:
    from trialdesk.analysis.cdisc.trial_design import _criterion_text, split_text

    text = ("word " * 100).strip()  # 499 characters
    pieces = split_text(text)
    assert "".join(pieces) == text and all(len(p) <= 200 for p in pieces) and len(pieces) == 3
    assert split_text("x" * 450) == ["x" * 200, "x" * 200, "x" * 50]  # no space: cut at 200
    assert _criterion_text("a  b\n c") == "a b c"
    cut = _criterion_text("y" * 250)
    assert len(cut) == 200 and cut.endswith("...")


def test_a_reported_term_over_200_characters_continues_in_suppae(package: dict[str, Dataset]) -> None:
    """SDTMIG v3.4 s4.5.3.2: the first 200 characters in the variable, the rest in SUPP-- QNAM AETERM1, ..."""
    ae = next(r for r in package["AE"].rows if r["AESPID"] == "13")
    assert len(ae["AETERM"]) <= 200
    rest = [r for r in package["SUPPAE"].rows if r["IDVARVAL"] == str(ae["AESEQ"]) and r["QNAM"] == "AETERM1"]
    assert len(rest) == 1 and ae["AETERM"] + rest[0]["QVAL"] == LONG_VERBATIM
