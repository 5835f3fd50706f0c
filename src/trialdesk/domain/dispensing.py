"""Investigational-product (IP) accountability: the stock of each lot at each site, and the check of
the units each subject was dispensed against the doses the subject was given (pure arithmetic).

The site's accountability log follows ICH E6(R2) 4.6.3 and essential document 8.3.23 (records of the
product's delivery to the site, the inventory at the site, the use by each subject and the return of
unused product) and the NIH Clinical Research Toolkit's "Investigational Product Accountability Log"
(a received quantity is added to the balance, a dispensed one subtracted: balance forward
600 / 500 after dispensing 100). Units returned by a subject come back to the pharmacy and are
quarantined for return or destruction, never dispensed again, so for each site and lot:

* ``available = received - dispensed`` (what may still be dispensed);
* ``on_hand = received - dispensed + returned`` (what the pharmacy physically holds: the available
  units and the quarantined returns);
* a lot is usable up to and including its expiry date; on a later date its whole ``on_hand`` is
  expired stock to quarantine.

The administration check: a dose of ``d`` mg of a product of strength ``s`` mg per unit (vial) needs
``ceil(d / s)`` units (a single-use vial is never shared between doses), so a subject's expected units
are the sum over the doses given; the units the subject consumed are ``dispensed - returned``. The two
disagree when units went missing (dispensed, neither given nor returned) or a dose was given from
stock that was never dispensed to the subject; either is flagged for the monitor.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DOSE_ROUNDING_MG = 1e-6
"""A dose within this many mg of a whole number of units takes that number (1200.0000001 mg of a
200 mg vial is 6 vials, not 7: floating-point noise never adds a vial)."""


@dataclass(frozen=True)
class LotReceipt:
    """Units of one lot of a product received by a site's pharmacy."""

    site: str
    agent: str
    lot: str
    expiry: dt.date
    received: dt.date
    quantity: int


@dataclass(frozen=True)
class LotDispensation:
    """Units of one lot dispensed for a subject, and how many came back unused."""

    site: str
    subject: str
    agent: str
    lot: str
    dispensed: dt.date
    quantity: int
    returned: int = 0


@dataclass(frozen=True)
class LotBalance:
    """The accountability of one lot at one site as of a date (units)."""

    site: str
    agent: str
    lot: str
    expiry: dt.date
    received: int
    dispensed: int
    returned: int
    expired: bool
    """Whether the lot is past its expiry date on the reconciliation date."""

    @property
    def available(self) -> int:
        """Units that may still be dispensed: received minus dispensed."""
        return self.received - self.dispensed

    @property
    def on_hand(self) -> int:
        """Units the pharmacy holds: the available ones plus the quarantined returns."""
        return self.received - self.dispensed + self.returned

    @property
    def expired_on_hand(self) -> int:
        """Units held of an expired lot (to quarantine for return or destruction); 0 for a usable lot."""
        return self.on_hand if self.expired else 0


@dataclass(frozen=True)
class DoseGiven:
    """One administration of a product to a subject: the dose given in mg (0 = omitted)."""

    site: str
    subject: str
    agent: str
    given_mg: float


@dataclass(frozen=True)
class SubjectCheck:
    """A subject's units of one product: expected from the doses given vs dispensed minus returned."""

    site: str
    subject: str
    agent: str
    doses: int
    expected: int
    dispensed: int
    returned: int

    @property
    def used(self) -> int:
        """Units the subject consumed by the dispensing log: dispensed minus returned."""
        return self.dispensed - self.returned

    @property
    def difference(self) -> int:
        """Units unaccounted for: dispensed-minus-returned minus the units the doses needed (positive:
        units missing; negative: doses given from stock not dispensed to the subject)."""
        return self.used - self.expected

    @property
    def flagged(self) -> bool:
        """Whether the dispensing log and the administrations disagree."""
        return self.difference != 0


def units_for_dose(dose_mg: float, strength_mg: float) -> int:
    """Units (vials) one dose needs: ``ceil(dose_mg / strength_mg)``; 0 for an omitted dose.

    Parameters
    ----------
    dose_mg : float
        The dose given, mg (>= 0).
    strength_mg : float
        mg of drug in one unit (> 0), e.g. 200 mg per ivonescimab vial.

    Examples: 1200 mg (20 mg/kg x 60 kg) of 200 mg vials = 6 vials; 1000 mg = 5; 1010 mg = 6.

    References: the part-vial of a single-use vial is discarded, so a dose takes the next whole number
    of vials (Bach et al., "Overspending driven by oversized single dose vials of cancer drugs", BMJ
    2016;352:i788).
    """
    if strength_mg <= 0:
        raise ValueError("strength_mg must be positive")
    if dose_mg < 0:
        raise ValueError("dose_mg must not be negative")
    if dose_mg == 0:
        return 0
    return max(1, math.ceil((dose_mg - DOSE_ROUNDING_MG) / strength_mg))


def lot_balances(
    receipts: Iterable[LotReceipt], dispensations: Iterable[LotDispensation], as_of: dt.date
) -> list[LotBalance]:
    """Received, dispensed, returned, available and on-hand units of every lot at every site, and
    whether it is expired on ``as_of``; sorted by site, product, expiry and lot."""
    received: dict[tuple[str, str, str], int] = {}
    expiries: dict[tuple[str, str, str], dt.date] = {}
    for receipt in receipts:
        key = (receipt.site, receipt.agent, receipt.lot)
        received[key] = received.get(key, 0) + receipt.quantity
        expiries[key] = min(receipt.expiry, expiries.get(key, receipt.expiry))
    dispensed: dict[tuple[str, str, str], tuple[int, int]] = {}
    for row in dispensations:
        key = (row.site, row.agent, row.lot)
        out, back = dispensed.get(key, (0, 0))
        dispensed[key] = (out + row.quantity, back + row.returned)
    balances = [
        LotBalance(
            site=site,
            agent=agent,
            lot=lot,
            expiry=expiries[(site, agent, lot)],
            received=quantity,
            dispensed=dispensed.get((site, agent, lot), (0, 0))[0],
            returned=dispensed.get((site, agent, lot), (0, 0))[1],
            expired=expiries[(site, agent, lot)] < as_of,
        )
        for (site, agent, lot), quantity in received.items()
    ]
    return sorted(balances, key=lambda b: (b.site, b.agent, b.expiry, b.lot))


def subject_checks(
    doses: Iterable[DoseGiven], dispensations: Iterable[LotDispensation], strengths: dict[str, float]
) -> list[SubjectCheck]:
    """Per subject and product (of ``strengths``: product id -> mg per unit): the units the doses
    needed against the units dispensed minus returned; sorted by site, subject and product."""
    expected: dict[tuple[str, str, str], tuple[int, int]] = {}
    for dose in doses:
        if dose.agent not in strengths:
            continue
        key = (dose.site, dose.subject, dose.agent)
        count, units = expected.get(key, (0, 0))
        needed = units_for_dose(dose.given_mg, strengths[dose.agent])
        expected[key] = (count + (dose.given_mg > 0), units + needed)
    logged: dict[tuple[str, str, str], tuple[int, int]] = {}
    for row in dispensations:
        if row.agent not in strengths:
            continue
        key = (row.site, row.subject, row.agent)
        out, back = logged.get(key, (0, 0))
        logged[key] = (out + row.quantity, back + row.returned)
    checks = [
        SubjectCheck(
            site=key[0],
            subject=key[1],
            agent=key[2],
            doses=expected.get(key, (0, 0))[0],
            expected=expected.get(key, (0, 0))[1],
            dispensed=logged.get(key, (0, 0))[0],
            returned=logged.get(key, (0, 0))[1],
        )
        for key in sorted(set(expected) | set(logged))
    ]
    return checks


def available_units(
    receipts: Sequence[LotReceipt], dispensations: Sequence[LotDispensation], on: dt.date
) -> int:
    """Units of the given lot's receipts received on or before ``on`` minus every unit of it dispensed
    (the stock a new dispensation on ``on`` may draw from; returns are quarantined, not re-dispensed)."""
    received = sum(r.quantity for r in receipts if r.received <= on)
    return received - sum(d.quantity for d in dispensations)
