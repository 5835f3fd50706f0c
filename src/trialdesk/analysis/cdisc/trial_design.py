"""SDTM trial design domains from the protocol file: TE, TA, TV, TI and TS (SDTMIG v3.4 s7).

Elements: screening, one treatment element per arm (its interventions), follow-up. Each arm of the
protocol's design passes through the three in that order (TA). Visits (TV): screening, day 1 of each
planned cycle of the longest drug course, end of treatment, safety and survival follow-up, with the
protocol's windows. TI lists every eligibility criterion (IETESTCD INCL01..., EXCL01... in protocol
order, the criterion's id and seed item in TIRL). TS carries the protocol's summary parameters.
"""

from __future__ import annotations

from trialdesk.analysis.cdisc.model import Dataset, Row, Variable, split_text
from trialdesk.analysis.cdisc.sdtm import var
from trialdesk.domain.protocol.model import DrugIntervention, Protocol

SCREENING_ELEMENT = "SCRN"
FOLLOW_UP_ELEMENT = "FU"
PHASES = {
    "I": "PHASE I TRIAL",
    "I/II": "PHASE I/II TRIAL",
    "II": "PHASE II TRIAL",
    "II/III": "PHASE II/III TRIAL",
    "III": "PHASE III TRIAL",
}
MAX_IETEST = 200
DEFAULT_CYCLES = 6
"""Cycles listed in TV when no drug of the protocol sets ``max_cycles`` (treatment until progression)."""


def _common(study_id: str, domain: str) -> Row:
    return {"STUDYID": study_id, "DOMAIN": domain}


def _ids(domain: str) -> tuple[Variable, ...]:
    return (
        var("STUDYID", "Study Identifier", origin="Assigned", required=True),
        var("DOMAIN", "Domain Abbreviation", origin="Assigned", required=True),
    )


def _element(protocol: Protocol, arm_id: str) -> str:
    """ETCD of an arm's treatment element: TRT1, TRT2, ... in the protocol's arm order (8 characters)."""
    return f"TRT{[a.id for a in protocol.design.arms].index(arm_id) + 1}"


def treatment_element(protocol: Protocol, arm_id: str) -> tuple[str, str]:
    """(ETCD, ELEMENT) of an arm's treatment element, as TE lists it."""
    return _element(protocol, arm_id), protocol.arm(arm_id).label


def te(protocol: Protocol, study_id: str) -> Dataset:
    """Trial elements: screening, the treatment of each arm, follow-up."""
    rows = [
        _common(study_id, "TE")
        | {
            "ETCD": SCREENING_ELEMENT,
            "ELEMENT": "Screening",
            "TESTRL": "Informed consent",
            "TEENRL": "First dose of study treatment (a subject never treated: enrolment or screen failure)",
        }
    ]
    for arm in protocol.design.arms:
        rows.append(
            _common(study_id, "TE")
            | {
                "ETCD": _element(protocol, arm.id),
                "ELEMENT": arm.label,
                "TESTRL": "First dose of study treatment",
                "TEENRL": "Last dose of study treatment",
            }
        )
    rows.append(
        _common(study_id, "TE")
        | {
            "ETCD": FOLLOW_UP_ELEMENT,
            "ELEMENT": "Follow-up",
            "TESTRL": "Last dose of study treatment (the end of the treatment element)",
            "TEENRL": "End of study, death or last known alive",
        }
    )
    variables = (
        *_ids("TE"),
        var("ETCD", "Element Code", origin="Protocol", required=True),
        var("ELEMENT", "Description of Element", origin="Protocol", required=True),
        var("TESTRL", "Rule for Start of Element", origin="Protocol", required=True),
        var("TEENRL", "Rule for End of Element", origin="Protocol"),
    )
    return Dataset(
        "TE",
        "Trial Elements",
        "SDTM",
        "TRIAL DESIGN",
        "One record per planned Element",
        ("STUDYID", "ETCD"),
        variables,
        rows,
        "Source: the protocol file (design.arms).",
    )


def ta(protocol: Protocol, study_id: str) -> Dataset:
    """Trial arms: each arm passes screening, its treatment and follow-up (epochs of the same names)."""
    rows = []
    for arm in protocol.design.arms:
        for order, (element, branch, epoch) in enumerate(
            (
                (SCREENING_ELEMENT, "Enrolment / randomization", "SCREENING"),
                (_element(protocol, arm.id), None, "TREATMENT"),
                (FOLLOW_UP_ELEMENT, None, "FOLLOW-UP"),
            ),
            start=1,
        ):
            rows.append(
                _common(study_id, "TA")
                | {
                    "ARMCD": arm.id,
                    "ARM": arm.label,
                    "TAETORD": order,
                    "ETCD": element,
                    "TABRANCH": branch if order == 1 else None,
                    "EPOCH": epoch,
                }
            )
    variables = (
        *_ids("TA"),
        var("ARMCD", "Planned Arm Code", origin="Protocol", required=True, codelist="ARMCD"),
        var("ARM", "Description of Planned Arm", origin="Protocol", required=True),
        var("TAETORD", "Planned Order of Element within Arm", "integer", "Protocol", required=True),
        var("ETCD", "Element Code", origin="Protocol", required=True),
        var("TABRANCH", "Branch", origin="Protocol"),
        var("EPOCH", "Epoch", origin="Protocol", required=True, codelist="EPOCH"),
    )
    return Dataset(
        "TA",
        "Trial Arms",
        "SDTM",
        "TRIAL DESIGN",
        "One record per planned Element per Arm",
        ("STUDYID", "ARMCD", "TAETORD"),
        variables,
        rows,
        "Source: the protocol file (design.arms).",
    )


def _cycles(protocol: Protocol) -> int:
    counts = [i.max_cycles.value for i in protocol.interventions if isinstance(i, DrugIntervention)]
    known = [c for c in counts if c is not None]
    return max(known) if known else DEFAULT_CYCLES


def tv(protocol: Protocol, study_id: str) -> Dataset:
    """Trial visits: screening, cycle day 1 visits, end of treatment, safety and survival follow-up."""
    schedule = protocol.visit_schedule
    names = [("SCREENING", "Before enrolment, within the screening window", "SCREENING")]
    before, after = schedule.cycle_window_days.value
    names += [
        (f"CYCLE {n} DAY 1", f"Day 1 of cycle {n} (window -{before}/+{after} days)", "TREATMENT")
        for n in range(1, _cycles(protocol) + 1)
    ]
    names.append(
        ("END OF TREATMENT", f"{schedule.end_of_treatment_days.value} days after the last dose", "FOLLOW-UP")
    )
    names += [
        (f"SAFETY FOLLOW-UP {i}", f"{d} days after the last dose", "FOLLOW-UP")
        for i, d in enumerate(schedule.safety_follow_up_days.value, start=1)
    ]
    names.append(
        (
            "SURVIVAL FOLLOW-UP",
            f"Every {schedule.survival_interval_months.value} months after the end of treatment",
            "FOLLOW-UP",
        )
    )
    rows = [
        _common(study_id, "TV") | {"VISITNUM": float(i), "VISIT": name, "TVSTRL": rule, "EPOCH": epoch}
        for i, (name, rule, epoch) in enumerate(names, start=1)
    ]
    variables = (
        *_ids("TV"),
        var("VISITNUM", "Visit Number", "float", "Protocol", required=True),
        var("VISIT", "Visit Name", origin="Protocol"),
        var("TVSTRL", "Visit Start Rule", origin="Protocol", required=True),
        var("EPOCH", "Epoch", origin="Protocol", codelist="EPOCH"),
    )
    return Dataset(
        "TV",
        "Trial Visits",
        "SDTM",
        "TRIAL DESIGN",
        "One record per planned Visit per Arm",
        ("STUDYID", "VISITNUM"),
        variables,
        rows,
        "Source: the protocol file (visit_schedule, interventions).",
    )


def _criterion_text(text: str) -> str:
    """IETEST: the criterion text; one over 200 characters is cut to 197 and ends in "..." (SDTMIG v3.4:
    IETEST holds at most 200 characters, the full text stays in the protocol)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_IETEST else flat[: MAX_IETEST - 3] + "..."


def ti(protocol: Protocol, study_id: str) -> Dataset:
    """Trial inclusion/exclusion criteria, in protocol order."""
    rows = []
    counts = {"inclusion": 0, "exclusion": 0}
    for criterion in protocol.eligibility.criteria:
        kind = "inclusion" if criterion.id.startswith("inc-") else "exclusion"
        counts[kind] += 1
        code = f"{'INCL' if kind == 'inclusion' else 'EXCL'}{counts[kind]:02d}"
        rows.append(
            _common(study_id, "TI")
            | {
                "IETESTCD": code,
                "IETEST": _criterion_text(criterion.text),
                "IECAT": kind.upper(),
                "TIRL": f"{criterion.id} ({criterion.source})",
                "TIVERS": protocol.version,
            }
        )
    variables = (
        *_ids("TI"),
        var("IETESTCD", "Incl/Excl Criterion Short Name", origin="Protocol", required=True),
        var("IETEST", "Inclusion/Exclusion Criterion", origin="Protocol", required=True),
        var("IECAT", "Inclusion/Exclusion Category", origin="Protocol", required=True, codelist="IECAT"),
        var("TIRL", "Inclusion/Exclusion Criterion Rule", origin="Protocol"),
        var("TIVERS", "Protocol Criteria Versions", origin="Protocol"),
    )
    return Dataset(
        "TI",
        "Trial Inclusion/Exclusion Criteria",
        "SDTM",
        "TRIAL DESIGN",
        "One record per I/E criterion",
        ("STUDYID", "IETESTCD"),
        variables,
        rows,
        "Source: the protocol file (eligibility.criteria); IETEST is the criterion text (a text over 200 "
        "characters is cut and ends in '...'), TIRL the criterion id and the seed item it implements.",
    )


def ts(protocol: Protocol, study_id: str, enrolled: int, terms: dict[str, dict[str, str]]) -> Dataset:
    """Trial summary parameters; ``terms``: codelist id -> submission value -> C-code (for TSVALCD)."""
    randomized = any(p.kind == "randomized" for p in protocol.design.phases)
    phase = PHASES[protocol.development_phase]
    params: list[tuple[str, str, str, str | None]] = [
        ("TITLE", "Trial Title", " ".join(protocol.title.split()), None),
        ("TPHASE", "Trial Phase Classification", phase, terms.get("TPHASE", {}).get(phase)),
        ("STYPE", "Study Type", "INTERVENTIONAL", terms.get("STYPE", {}).get("INTERVENTIONAL")),
        ("TTYPE", "Trial Type", "TREATMENT", terms.get("TTYPE", {}).get("TREATMENT")),
        (
            "RANDOM",
            "Trial is Randomized",
            "Y" if randomized else "N",
            terms["NY"].get("Y" if randomized else "N"),
        ),
        ("PLANSUB", "Planned Number of Subjects", str(protocol.design.target_enrolment.value), None),
        ("ACTSUB", "Actual Number of Subjects", str(enrolled), None),
        ("NARMS", "Planned Number of Arms", str(len(protocol.design.arms)), None),
        ("INDIC", "Trial Disease/Condition Indication", " ".join(protocol.condition.split()), None),
    ]
    if protocol.sponsor:
        params.append(("SPONSOR", "Clinical Study Sponsor", protocol.sponsor, None))
    params += [("REGID", "Registry Identifier", rid, None) for rid in protocol.registry_ids]
    rows = []
    seq: dict[str, int] = {}
    extra = 0
    for code, name, value, c_code in params:
        seq[code] = seq.get(code, 0) + 1
        pieces = split_text(value)
        extra = max(extra, len(pieces) - 1)
        rows.append(
            _common(study_id, "TS")
            | {
                "TSSEQ": seq[code],
                "TSPARMCD": code,
                "TSPARM": name,
                "TSVAL": pieces[0],
                "TSVALCD": c_code,
                "TSVCDREF": "CDISC CT" if c_code else None,
            }
            | {f"TSVAL{n}": piece for n, piece in enumerate(pieces[1:], start=1)}
        )
    variables = (
        *_ids("TS"),
        var("TSSEQ", "Sequence Number", "integer", "Derived", required=True, method="1, 2, ... per TSPARMCD"),
        var(
            "TSPARMCD",
            "Trial Summary Parameter Short Name",
            origin="Assigned",
            required=True,
            codelist="TSPARMCD",
        ),
        var("TSPARM", "Trial Summary Parameter", origin="Assigned", required=True),
        var(
            "TSVAL",
            "Parameter Value",
            origin="Protocol",
            required=True,
            source="protocol file (ACTSUB: subjects enrolled at the cut-off)",
        ),
        *(
            var(
                f"TSVAL{n}",
                f"Parameter Value {n}",
                origin="Protocol",
                source="characters after the first 200",
            )
            for n in range(1, extra + 1)
        ),
        var("TSVALCD", "Parameter Value Code", origin="Assigned"),
        var("TSVCDREF", "Name of the Reference Terminology", origin="Assigned"),
    )
    return Dataset(
        "TS",
        "Trial Summary",
        "SDTM",
        "TRIAL DESIGN",
        "One record per trial summary parameter value",
        ("STUDYID", "TSPARMCD", "TSSEQ"),
        variables,
        rows,
        "Source: the protocol file.",
    )
