"""Assemble the SDTM and ADaM packages (every dataset checked against the XPORT v5 limits)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from trialdesk.analysis.cdisc import (
    adam,
    adam_efficacy,
    adam_measures,
    sdtm,
    sdtm_adverse,
    sdtm_forms,
    sdtm_subjects,
    sdtm_tumour,
    trial_design,
)
from trialdesk.analysis.cdisc.model import Dataset, check_dataset
from trialdesk.analysis.cdisc.records import TrialRecords
from trialdesk.domain.endpoints.model import AnalysisDataset
from trialdesk.domain.recist.settings import ResponseSettings

Terms = Mapping[str, Mapping[str, str]]
"""Codelist id -> submission value -> NCI C-code (the shipped controlled terminology)."""


def build_sdtm(
    records: TrialRecords, canonical_units: Callable[[str], str], terms: Terms
) -> dict[str, Dataset]:
    """Every SDTM domain the product has data for (and the trial design domains), by name."""
    settings = ResponseSettings.from_tumour_assessment(records.protocol.tumour_assessment)
    ae, suppae = sdtm_adverse.ae(records)
    tu, tr = sdtm_tumour.tu_tr(records)
    reports, refused = sdtm_tumour.response_reports(records, settings)
    enrolled = sum(1 for s in records.subjects if s.get("arm_id") is not None)
    protocol, study = records.protocol, records.study_id
    datasets = [
        sdtm_subjects.dm(records),
        sdtm_subjects.ds(records),
        sdtm_subjects.se(records),
        sdtm.ex(records),
        ae,
        suppae,
        sdtm.lb(records, canonical_units),
        sdtm_forms.vs(records),
        sdtm_forms.mh(records),
        sdtm_forms.cm(records),
        tu,
        tr,
        sdtm_tumour.rs(records, reports, refused),
        trial_design.ta(protocol, study),
        trial_design.te(protocol, study),
        trial_design.tv(protocol, study),
        trial_design.ti(protocol, study),
        trial_design.ts(protocol, study, enrolled, {k: dict(v) for k, v in terms.items()}),
    ]
    return _checked(datasets)


def build_adam(
    records: TrialRecords,
    sdtm_datasets: Mapping[str, Dataset],
    analysis: AnalysisDataset,
    lab_grades: Mapping[str, tuple[int | None, str | None]],
) -> dict[str, Dataset]:
    """ADSL, ADAE, ADLB, ADRS, ADTTE and ADEX from the SDTM package and the endpoint derivation."""
    settings = ResponseSettings.from_tumour_assessment(records.protocol.tumour_assessment)
    subjects = {records.usubjid(int(s["id"])): s for s in records.subjects}
    analysed = {f"{records.study_id}-{s.subject_id}" for s in analysis.subjects}
    adsl = adam.adsl(records.protocol, sdtm_datasets, subjects, analysed)
    reports, _ = sdtm_tumour.response_reports(records, settings)
    datasets = [
        adsl,
        adam.adae(records.protocol, sdtm_datasets, adsl),
        adam_measures.adlb(sdtm_datasets, adsl, lab_grades),
        adam_efficacy.adrs(records, sdtm_datasets, adsl, reports, settings),
        adam_efficacy.adtte(records.study_id, analysis, adsl),
        adam_measures.adex(sdtm_datasets, adsl),
    ]
    return _checked(datasets)


EMPTY_NOTE = "No records at the cut-off: written with its variables and zero rows."


def _checked(datasets: list[Dataset]) -> dict[str, Dataset]:
    """Note empty datasets in their comment, check each against the limits, index them by name."""
    for dataset in datasets:
        if not dataset.rows:
            dataset.comment = f"{dataset.comment or ''} {EMPTY_NOTE}".strip()
        check_dataset(dataset)
    return {d.name: d for d in datasets}
