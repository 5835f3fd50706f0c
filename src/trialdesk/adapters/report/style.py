"""Shared figure style: colour-blind-safe colours (Okabe & Ito 2008), fonts and output settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display: the report renders headless and deterministically

from matplotlib import rc_context

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

ARM_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
"""Okabe-Ito colours for arms, in protocol order."""

BOR_COLOURS = {
    "CR": "#1B7837",
    "PR": "#5AAE61",
    "SD": "#6BAED6",
    "NON-CR/NON-PD": "#9ECAE1",
    "PD": "#D6604D",
    "NE": "#969696",
    "MISSING": "#D9D9D9",
    "NO BASELINE": "#D9D9D9",
}
"""Colours of best-overall-response categories (iRECIST names map to the RECIST ones)."""

RC: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "pdf.fonttype": 42,  # TrueType: selectable, extractable text
    "svg.fonttype": "none",
    "svg.hashsalt": "trialdesk",  # stable SVG ids: the same snapshot gives the same bytes
    "path.simplify": True,
}


@contextmanager
def report_style() -> Iterator[None]:
    """Apply the report's rcParams while figures are built and saved."""
    with rc_context(RC):
        yield


def bor_colour(bor: str) -> str:
    """Colour of a BOR category (``iPR`` as ``PR``, ``iUPD``/``iCPD`` as ``PD``)."""
    name = bor
    if bor.startswith("i") and bor[1:] in BOR_COLOURS:
        name = bor[1:]
    elif bor in ("iUPD", "iCPD"):
        name = "PD"
    elif bor == "NON-iCR/NON-iUPD":
        name = "NON-CR/NON-PD"
    return BOR_COLOURS.get(name, "#BDBDBD")
