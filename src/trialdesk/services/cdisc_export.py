"""Use case: export a trial as CDISC SDTM or ADaM datasets with Define-XML 2.1 (issue 16).

The data are the database's at a data cut-off (default today) or at an active cut-off / database
lock's cut-off (``lock_id``: refused when the data differ from the lock's hash, as the report from a
lock is). ADaM's endpoints come from the same derivation as the trial report
(:func:`trialdesk.analysis.snapshot.derivable_subjects` then
:func:`trialdesk.domain.endpoints.derive_endpoints` on ``trial_data.endpoint_data``), so ADTTE equals
the report at the same cut-off. ATOXGR is the product's CTCAE lab grading
(:func:`trialdesk.services.labs.proposals_for`). Reading the export is audited as an export read.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

import trialdesk
from trialdesk.adapters.cdisc import writers
from trialdesk.adapters.cdisc.define_xml import DefineContext, define_xml
from trialdesk.adapters.cdisc.terminology import terminology
from trialdesk.analysis.cdisc.build import build_adam, build_sdtm
from trialdesk.analysis.cdisc.model import Dataset, DatasetSpecError
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.analysis.snapshot import derivable_subjects
from trialdesk.domain.endpoints import derive_endpoints
from trialdesk.domain.labs.catalogue import is_lab_test
from trialdesk.domain.labs.units import canonical_unit
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability, is_site_limited
from trialdesk.services import clock
from trialdesk.services.actors import Actor
from trialdesk.services.cdisc_records import gather_records
from trialdesk.services.errors import InvalidInput
from trialdesk.services.exports import audited_export
from trialdesk.services.labs import GradedResult, proposals_for
from trialdesk.services.locks import report_lock
from trialdesk.services.safety_report import resolve_cutoff
from trialdesk.services.trial_data import endpoint_data

Kind = Literal["sdtm", "adam"]
DEFINE_FILE = "define.xml"


@dataclass
class CdiscPackage:
    """The files of one export (file name -> bytes, ``define.xml`` included), the datasets they hold,
    the cut-off and lock they were built at, and the records that could not be read."""

    kind: Kind
    fmt: str
    cutoff: dt.date
    lock_id: int | None
    datasets: dict[str, Dataset]
    files: dict[str, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _canonical(test: str) -> str:
    return canonical_unit(test) if is_lab_test(test) else ""


def _lab_grades(records: TrialRecords) -> dict[str, tuple[int | None, str | None]]:
    """LBSPID (lab result id) -> (highest CTCAE grade over the test's terms, that term)."""
    options = records.protocol.lab_grading.enabled()
    by_subject: dict[int, list[GradedResult]] = defaultdict(list)
    for row in records.lab_results:
        by_subject[int(row["subject_id"])].append(
            GradedResult(*(row[name] for name in GradedResult.__dataclass_fields__))
        )
    grades: dict[str, tuple[int | None, str | None]] = {}
    for results in by_subject.values():
        for proposal in proposals_for(results, {}, options):
            key = str(proposal.lab_result_id)
            grade = proposal.grade.grade
            known = grades.get(key, (None, None))[0]
            if grade is not None and (known is None or grade > known):
                grades[key] = (grade, proposal.grade.term)
            elif key not in grades:
                grades[key] = (None, None)
    return grades


def _cutoff(session: Session, protocol: Protocol, cutoff: dt.date | None, lock_id: int | None) -> dt.date:
    if lock_id is not None:
        if cutoff is not None:
            raise InvalidInput(
                "give a cut-off or a lock, not both (a lock has its own cut-off)", field="cutoff"
            )
        return report_lock(session, protocol.id, lock_id)[1]
    return resolve_cutoff(cutoff)


def _site_ids(actor: Actor | None) -> frozenset[int] | None:
    if actor is None or not is_site_limited(actor.role):
        return None
    return actor.site_ids


def _files(package: CdiscPackage, protocol: Protocol, study: str) -> None:
    writer = {"xpt": writers.to_xpt, "csv": writers.to_csv}.get(package.fmt)
    created = clock.now()
    names = {}
    for dataset in package.datasets.values():
        name = writers.file_name(dataset, package.fmt)
        names[dataset.name] = name
        if writer is not None:
            package.files[name] = writer(dataset)
        else:
            package.files[name] = writers.to_dataset_json(dataset, study, created, trialdesk.__version__)
    context = DefineContext(
        kind="SDTM" if package.kind == "sdtm" else "ADaM",
        study_id=study,
        study_title=" ".join(protocol.title.split()),
        terminology=terminology().for_protocol(protocol),
        file_names=names,
        created=created,
        source_version=trialdesk.__version__,
    )
    package.files[DEFINE_FILE] = define_xml(list(package.datasets.values()), context)


def export_package(
    session: Session,
    actor: Actor | None,
    protocol: Protocol,
    kind: Kind,
    fmt: str = "xpt",
    *,
    cutoff: dt.date | None = None,
    lock_id: int | None = None,
) -> CdiscPackage:
    """The SDTM or ADaM package of ``protocol`` at ``cutoff`` or at lock ``lock_id``'s cut-off, in
    ``fmt`` (xpt, json or csv), audited as an export read (``actor`` None: the command line; a
    site-limited user gets their own sites' subjects only)."""
    if actor is not None:
        actor.require(Capability.RUN_ANALYSES)
    if kind not in ("sdtm", "adam"):
        raise InvalidInput(f"unknown package '{kind}': sdtm or adam", field="kind")
    if fmt not in writers.FORMATS:
        raise InvalidInput(f"unknown format '{fmt}': {', '.join(writers.FORMATS)}", field="format")
    day = _cutoff(session, protocol, cutoff, lock_id)
    records, problems = gather_records(session, protocol, day, _site_ids(actor))
    try:
        sdtm = build_sdtm(records, _canonical, terminology().codes())
        if kind == "sdtm":
            datasets = sdtm
        else:
            known = {s["screening_number"] for s in records.subjects}
            subjects = [s for s in endpoint_data(session, protocol) if s.subject_id in known]
            good, issues = derivable_subjects(protocol, subjects, day)
            problems += [f"{i.subject_id}: {i.reason}" for i in issues]
            datasets = build_adam(records, sdtm, derive_endpoints(protocol, good, day), _lab_grades(records))
        terminology().for_protocol(protocol).check(datasets.values())
    except DatasetSpecError as exc:
        raise InvalidInput(str(exc), field=f"{exc.dataset}.{exc.variable or ''}".rstrip(".")) from exc
    package = CdiscPackage(kind, fmt, day, lock_id, datasets, problems=problems)
    _files(package, protocol, records.study_id)
    lock_text = f" from lock #{lock_id}" if lock_id is not None else ""
    audited_export(
        session,
        kind,
        protocol.id,
        reason=f"{kind.upper()} export ({fmt}) at cut-off {day}{lock_text}",
        detail=",".join(sorted(package.files)),
    )
    return package
