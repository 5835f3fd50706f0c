"""Investigational-product accountability arithmetic (:mod:`trialdesk.domain.dispensing`).

References:
* NIH Clinical Research Toolkit, "Investigational Product Accountability Log" (stock record): a
  quantity received is added to the balance and a quantity dispensed subtracted; the log's worked
  example carries the balance forward as 600 / 500 after dispensing 100.
* ICH E6(R2) 4.6.3 and 8.3.23: the site's records of delivery, inventory, use by each subject and
  return of unused product; returned product is quarantined for return or destruction (never
  dispensed again), hence ``available = received - dispensed`` and ``on hand = available + returned``.
* Vials per dose: ``ceil(dose / vial strength)`` (single-use vials, the rounding of Bach et al., BMJ
  2016;352:i788, "Overspending driven by oversized single dose vials of cancer drugs"). Ivonescimab
  20 mg/kg (HARMONi-2, clinical-reference 5.3) for 60 kg = 1200 mg = 6 vials of 200 mg.
"""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.domain.dispensing import (
    DoseGiven,
    LotDispensation,
    LotReceipt,
    available_units,
    lot_balances,
    subject_checks,
    units_for_dose,
)

D = dt.date


@pytest.mark.parametrize(
    ("dose_mg", "vials"),
    [
        (1200.0, 6),  # 20 mg/kg x 60 kg: exactly 6 vials of 200 mg
        (1200.0000001, 6),  # floating-point noise never adds a vial
        (1000.0, 5),
        (1010.0, 6),  # a part-vial needs a whole vial (single use)
        (1.0, 1),
        (0.0, 0),  # omitted dose
    ],
)
def test_vials_per_dose_round_up(dose_mg: float, vials: int) -> None:
    assert units_for_dose(dose_mg, 200.0) == vials


def test_vials_per_dose_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        units_for_dose(100, 0)
    with pytest.raises(ValueError):
        units_for_dose(-1, 200)


def test_balance_forward_matches_the_nih_accountability_log_example() -> None:
    # NIH toolkit: 600 on hand, 100 dispensed -> balance forward 600 / 500
    receipts = [LotReceipt("S01", "ivo", "L1", D(2027, 6, 30), D(2026, 1, 5), 600)]
    out = [LotDispensation("S01", "P1", "ivo", "L1", D(2026, 2, 1), 100)]
    [balance] = lot_balances(receipts, out, D(2026, 3, 1))
    assert (balance.received, balance.dispensed, balance.available, balance.on_hand) == (600, 100, 500, 500)


def test_lot_balances_per_site_and_lot_with_returns_and_expiry() -> None:
    receipts = [
        LotReceipt("S01", "ivo", "A", D(2026, 6, 30), D(2026, 1, 5), 40),
        LotReceipt("S01", "ivo", "A", D(2026, 6, 30), D(2026, 2, 5), 20),  # a second shipment of lot A
        LotReceipt("S01", "ivo", "B", D(2027, 6, 30), D(2026, 2, 5), 30),
        LotReceipt("S02", "ivo", "A", D(2026, 6, 30), D(2026, 1, 9), 10),
    ]
    out = [
        LotDispensation("S01", "P1", "ivo", "A", D(2026, 1, 10), 6, returned=1),
        LotDispensation("S01", "P2", "ivo", "A", D(2026, 2, 10), 6),
        LotDispensation("S01", "P1", "ivo", "B", D(2026, 3, 10), 6, returned=2),
        LotDispensation("S02", "P3", "ivo", "A", D(2026, 1, 12), 5),
    ]
    balances = {(b.site, b.lot): b for b in lot_balances(receipts, out, D(2026, 7, 1))}
    s01a = balances[("S01", "A")]
    # received 60, dispensed 12, returned 1: 48 available, 49 held (1 in quarantine)
    assert (s01a.received, s01a.dispensed, s01a.returned, s01a.available, s01a.on_hand) == (60, 12, 1, 48, 49)
    assert s01a.expired and s01a.expired_on_hand == 49  # expired 2026-06-30, reconciled on 2026-07-01
    s01b = balances[("S01", "B")]
    assert (s01b.available, s01b.on_hand, s01b.expired, s01b.expired_on_hand) == (24, 26, False, 0)
    assert (balances[("S02", "A")].on_hand, balances[("S02", "A")].expired_on_hand) == (5, 5)
    assert [(b.site, b.lot) for b in lot_balances(receipts, out, D(2026, 7, 1))] == [
        ("S01", "A"),
        ("S01", "B"),
        ("S02", "A"),
    ]


def test_a_lot_is_usable_on_its_expiry_date() -> None:
    receipts = [LotReceipt("S01", "ivo", "A", D(2026, 6, 30), D(2026, 1, 5), 5)]
    assert not lot_balances(receipts, [], D(2026, 6, 30))[0].expired
    assert lot_balances(receipts, [], D(2026, 7, 1))[0].expired


def test_subject_check_agrees_flags_missing_units_and_undispensed_doses() -> None:
    strengths = {"ivo": 200.0}
    doses = [
        DoseGiven("S01", "P1", "ivo", 1200),  # 6 vials
        DoseGiven("S01", "P1", "ivo", 960),  # reduced 20%: 5 vials
        DoseGiven("S01", "P2", "ivo", 1200),  # 6 vials, but only 5 dispensed
        DoseGiven("S01", "P3", "ivo", 0),  # omitted: 0 vials
        DoseGiven("S01", "P1", "paclitaxel", 300),  # not an IP: ignored
    ]
    out = [
        LotDispensation("S01", "P1", "ivo", "A", D(2026, 1, 10), 6),
        LotDispensation("S01", "P1", "ivo", "A", D(2026, 1, 31), 6, returned=1),
        LotDispensation("S01", "P2", "ivo", "A", D(2026, 1, 10), 5),
        LotDispensation("S01", "P3", "ivo", "A", D(2026, 1, 10), 6),  # dispensed, dose omitted, not returned
    ]
    checks = {c.subject: c for c in subject_checks(doses, out, strengths)}
    assert set(checks) == {"P1", "P2", "P3"}
    p1 = checks["P1"]
    assert (p1.doses, p1.expected, p1.dispensed, p1.returned, p1.used, p1.flagged) == (
        2,
        11,
        12,
        1,
        11,
        False,
    )
    assert (checks["P2"].difference, checks["P2"].flagged) == (-1, True)  # a dose from stock not dispensed
    assert (checks["P3"].doses, checks["P3"].difference, checks["P3"].flagged) == (0, 6, True)  # 6 missing


def test_available_units_count_only_receipts_by_the_day() -> None:
    receipts = [
        LotReceipt("S01", "ivo", "A", D(2027, 1, 1), D(2026, 1, 5), 10),
        LotReceipt("S01", "ivo", "A", D(2027, 1, 1), D(2026, 3, 5), 10),
    ]
    out = [LotDispensation("S01", "P1", "ivo", "A", D(2026, 1, 10), 6, returned=2)]
    assert available_units(receipts, out, D(2026, 2, 1)) == 4  # returns are quarantined, not re-dispensed
    assert available_units(receipts, out, D(2026, 3, 5)) == 14


def test_protocols_mark_their_investigational_products() -> None:
    from trialdesk.protocols import load_registry

    registry = load_registry()
    [ivonescimab] = registry.get("ivo-shfrt-2l").investigational_products()
    assert ivonescimab.id == "ivonescimab" and ivonescimab.dispensing is not None
    assert (ivonescimab.dispensing.unit.value, ivonescimab.dispensing.strength_mg.value) == ("vial", 200.0)
    # seed 002: the PD-1 inhibitor is the backbone of both arms (standard of care), not an IP
    assert registry.get("scr-escc-01").investigational_products() == []


def test_an_investigational_product_needs_its_dispensing_unit_and_strength() -> None:
    from pydantic import ValidationError

    from trialdesk.domain.protocol.model import DrugIntervention

    drug = {
        "kind": "drug",
        "id": "x",
        "name": "X",
        "drug_class": "antibody",
        "dose": {"value": 200, "unit": "mg", "provenance": "default", "rationale": "test"},
        "route": "IV",
        "cycle_days": {"value": 21, "provenance": "default", "rationale": "test"},
        "max_cycles": {"value": None, "provenance": "default", "rationale": "test"},
        "investigational": {"value": True, "provenance": "default", "rationale": "test"},
    }
    with pytest.raises(ValidationError, match="needs 'dispensing'"):
        DrugIntervention.model_validate(drug)
    strength = {"value": 0, "provenance": "default", "rationale": "test"}
    unit = {"value": "vial", "provenance": "default", "rationale": "test"}
    with pytest.raises(ValidationError, match="strength_mg"):
        DrugIntervention.model_validate({**drug, "dispensing": {"unit": unit, "strength_mg": strength}})
    strength["value"] = 100
    assert DrugIntervention.model_validate({**drug, "dispensing": {"unit": unit, "strength_mg": strength}})
