"""The shipped AE term catalogue (CTCAE v5.0 names, MedDRA SOCs, available grades)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from trialdesk.domain.safety.ctcae import LabGradingTable, TermCatalogue, max_grade_by_term

EXPECTED_IN_THESE_TRIALS = {
    # radiotherapy to the thorax / esophagus
    "Esophagitis": "Gastrointestinal disorders",
    "Pneumonitis": "Respiratory, thoracic and mediastinal disorders",
    "Esophageal fistula": "Gastrointestinal disorders",
    "Esophageal hemorrhage": "Gastrointestinal disorders",
    "Bronchopulmonary hemorrhage": "Respiratory, thoracic and mediastinal disorders",
    # immune-related
    "Colitis": "Gastrointestinal disorders",
    "Hypothyroidism": "Endocrine disorders",
    "Hyperthyroidism": "Endocrine disorders",
    "Rash maculo-papular": "Skin and subcutaneous tissue disorders",
    "Alanine aminotransferase increased": "Investigations",
    # chemotherapy
    "Neutrophil count decreased": "Investigations",
    "Anemia": "Blood and lymphatic system disorders",
    "Febrile neutropenia": "Blood and lymphatic system disorders",
    "Peripheral sensory neuropathy": "Nervous system disorders",
    # anti-VEGF
    "Hypertension": "Vascular disorders",
    "Proteinuria": "Renal and urinary disorders",
}


@pytest.mark.parametrize(("term", "soc"), sorted(EXPECTED_IN_THESE_TRIALS.items()))
def test_expected_terms_are_in_the_catalogue_with_their_soc(
    catalogue: TermCatalogue, term: str, soc: str
) -> None:
    entry = catalogue.lookup(term)
    assert entry is not None and entry.soc == soc


def test_lookup_ignores_case_and_spacing(catalogue: TermCatalogue) -> None:
    entry = catalogue.lookup("  neutrophil   COUNT decreased ")
    assert entry is not None and entry.term == "Neutrophil count decreased"
    assert catalogue.lookup("Radiation esophagitis") is None  # CTCAE's term is "Esophagitis"


def _grades(catalogue: TermCatalogue, name: str) -> list[int]:
    entry = catalogue.lookup(name)
    assert entry is not None, name
    return entry.grades


def test_grade_availability_follows_ctcae(catalogue: TermCatalogue) -> None:
    grades = {name: _grades(catalogue, name) for name in ("Alopecia", "Death NOS", "Febrile neutropenia")}
    assert grades == {"Alopecia": [1, 2], "Death NOS": [5], "Febrile neutropenia": [3, 4, 5]}
    assert _grades(catalogue, "White blood cell decreased") == [1, 2, 3, 4]


def test_every_lab_term_is_in_the_catalogue_with_the_same_soc(
    catalogue: TermCatalogue, table: LabGradingTable
) -> None:
    for term in table.terms:
        entry = catalogue.lookup(term.term)
        assert entry is not None and entry.soc == term.soc
        assert max(r.grade for r in term.rows) <= max(entry.grades)


def test_other_specify_terms_are_flagged(catalogue: TermCatalogue) -> None:
    flagged = {t.term for t in catalogue.terms if t.other_specify}
    assert flagged and all(name.endswith("- Other, specify") for name in flagged)


def test_catalogue_refuses_duplicates_and_bad_grades() -> None:
    term = {"term": "Nausea", "soc": "Gastrointestinal disorders", "grades": [1, 2, 3]}
    with pytest.raises(ValidationError, match="duplicate term"):
        TermCatalogue.model_validate(
            {"version": "v", "source": "s", "terms": [term, {**term, "term": "nausea"}]}
        )
    with pytest.raises(ValidationError, match="ascending values 1-5"):
        TermCatalogue.model_validate({"version": "v", "source": "s", "terms": [{**term, "grades": [3, 6]}]})


def test_max_grade_per_term_is_derived_over_episodes() -> None:
    episodes = [("Pneumonitis", 2), ("pneumonitis", 3), ("Pneumonitis", 1), ("Colitis", 2)]
    assert max_grade_by_term(episodes) == {"Pneumonitis": 3, "Colitis": 2}
