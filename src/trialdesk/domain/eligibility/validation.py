"""Checks of a patient record that need the screening date or the protocol, and the error they raise.

Structural problems (wrong types, out-of-range ECOG, missing keys) are caught by pydantic when the
record is parsed; :func:`parse_patient` turns them into :class:`PatientDataError` with readable
locations. :func:`check_patient` then rejects impossible or inconsistent values: unknown lab units,
implausible lab values, dates after the screening date, finding codes and malignancy types outside
the protocol's vocabulary, attestations for criteria the protocol does not have. Nothing is guessed:
each problem names the field it is in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from trialdesk.domain.eligibility.patient import PatientRecord
from trialdesk.domain.eligibility.rules import is_attestable
from trialdesk.domain.labs.units import UnitError, plausibility_problem, to_canonical
from trialdesk.domain.measures import age_in_years
from trialdesk.domain.protocol.model import Protocol


@dataclass(frozen=True)
class PatientIssue:
    """One problem in patient data: where (e.g. ``labs[3].value``) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class PatientDataError(ValueError):
    """Patient data that cannot be screened: malformed, impossible or inconsistent values."""

    def __init__(self, issues: Iterable[PatientIssue], source: str | None = None):
        self.issues = list(issues)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.issues) == 1:
            super().__init__(f"{head}{self.issues[0]}")
        else:
            lines = "\n".join(f"  - {issue}" for issue in self.issues)
            super().__init__(f"{head}invalid patient data ({len(self.issues)} problems):\n{lines}")


def format_location(loc: Iterable[int | str]) -> str:
    """Render a pydantic location tuple as ``labs[3].value`` (dropping pydantic's internal tags)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or part.startswith("function-"):
            continue
        else:
            out += f".{part}" if out else part
    return out


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the trialdesk patient format)"
    if err["type"] in ("literal_error", "enum") and "input" in err:
        return f"{msg}; got {err['input']!r}"
    if (
        err["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than")
        and "input" in err
    ):
        return f"{msg}; got {err['input']!r}"
    return msg


def parse_patient(data: Any) -> PatientRecord:
    """Validate already-parsed JSON as a :class:`PatientRecord`; errors name each bad field."""
    if not isinstance(data, dict):
        raise PatientDataError([PatientIssue("", "the patient file must hold a JSON object")])
    try:
        return PatientRecord.model_validate(data)
    except ValidationError as exc:
        raise PatientDataError(
            PatientIssue(format_location(tuple(err["loc"])), _message(err))
            for err in exc.errors(include_url=False)
        ) from None


def screening_date_of(patient: PatientRecord, at: dt.date | None) -> dt.date:
    """The evaluation date: ``at`` when given (``--at``), else the record's ``screening_date``."""
    if at is not None:
        return at
    if patient.screening_date is None:
        raise PatientDataError(
            [PatientIssue("screening_date", "missing: give it in the patient file or as --at DATE")]
        )
    return patient.screening_date


def check_patient(patient: PatientRecord, protocol: Protocol, on: dt.date) -> None:
    """Raise :class:`PatientDataError` listing every impossible or inconsistent value (see module doc)."""
    issues = [
        *_check_dates(patient, on),
        *_check_labs(patient),
        *_check_vocabulary(patient, protocol),
    ]
    if issues:
        raise PatientDataError(issues)


def _after(location: str, value: dt.date | None, on: dt.date, what: str = "") -> Iterator[PatientIssue]:
    if value is not None and value > on:
        yield PatientIssue(location, f"{what}{value} is after the screening date {on}")


MAX_AGE_YEARS = 120
"""Oldest plausible age at screening; an older age is a data-entry error (e.g. a wrong century)."""


def _check_dates(patient: PatientRecord, on: dt.date) -> Iterator[PatientIssue]:
    yield from _after("birth_date", patient.birth_date, on, "birth date ")
    if patient.birth_date is not None and patient.birth_date <= on:
        age = age_in_years(patient.birth_date, on)
        if age > MAX_AGE_YEARS:
            yield PatientIssue(
                "birth_date", f"birth date {patient.birth_date} gives an implausible age of {age} years"
            )
    for i, lab in enumerate(patient.labs):
        yield from _after(f"labs[{i}].date", lab.date, on, f"{lab.test} result dated ")
    for i, therapy in enumerate(patient.prior_therapies or []):
        for name in ("start_date", "end_date", "progression_date"):
            yield from _after(f"prior_therapies[{i}].{name}", getattr(therapy, name), on)
    for i, exposure in enumerate(patient.investigational_drug_exposures or []):
        yield from _after(f"investigational_drug_exposures[{i}].last_dose_date", exposure.last_dose_date, on)
    for i, malignancy in enumerate(patient.other_malignancies or []):
        yield from _after(f"other_malignancies[{i}].diagnosis_date", malignancy.diagnosis_date, on)
    if patient.pg_sga is not None:
        yield from _after("pg_sga.date", patient.pg_sga.date, on)
    # An attestation completes screening and is often recorded days after the screening data were
    # entered, so it may be dated after the screening date; it can never be dated in the future.
    now = dt.datetime.now(dt.UTC)
    for criterion_id, attestation in patient.attestations.items():
        moment = attestation.at if attestation.at.tzinfo else attestation.at.replace(tzinfo=dt.UTC)
        if moment > now:
            yield PatientIssue(
                f"attestations.{criterion_id}.at",
                f"attested at {attestation.at.isoformat()}, which is in the future",
            )


def _check_labs(patient: PatientRecord) -> Iterator[PatientIssue]:
    for i, lab in enumerate(patient.labs):
        try:
            to_canonical(lab.test, 1.0, lab.unit)
        except UnitError as exc:
            yield PatientIssue(f"labs[{i}].unit", str(exc))
            continue
        problem = plausibility_problem(lab.test, lab.value, lab.unit)
        if problem:
            yield PatientIssue(f"labs[{i}].value", problem)
        if lab.lln is not None and lab.uln is not None and lab.lln >= lab.uln:
            yield PatientIssue(f"labs[{i}].lln", f"lln {lab.lln} is not below uln {lab.uln}")


def attestable_ids(protocol: Protocol) -> set[str]:
    """Ids of the criteria an investigator's recorded answer can decide (see ``is_attestable``)."""
    return {c.id for c in protocol.eligibility.criteria if is_attestable(c.rule)}


def _check_vocabulary(patient: PatientRecord, protocol: Protocol) -> Iterator[PatientIssue]:
    known_findings = protocol.vocabulary.findings
    for code in patient.findings:
        if code not in known_findings:
            yield PatientIssue(
                f"findings.{code}",
                f"unknown finding code '{code}' for protocol {protocol.id} "
                f"(known: {', '.join(sorted(known_findings)) or 'none'})",
            )
    types = protocol.vocabulary.malignancy_types
    for i, malignancy in enumerate(patient.other_malignancies or []):
        if types and malignancy.type not in types:
            yield PatientIssue(
                f"other_malignancies[{i}].type",
                f"unknown malignancy type '{malignancy.type}' (known: {', '.join(sorted(types))})",
            )
    attestable = attestable_ids(protocol)
    for criterion_id in patient.attestations:
        if criterion_id not in attestable:
            yield PatientIssue(
                f"attestations.{criterion_id}",
                f"protocol {protocol.id} has no attestation criterion '{criterion_id}' "
                f"(attestation criteria: {', '.join(sorted(attestable)) or 'none'})",
            )
