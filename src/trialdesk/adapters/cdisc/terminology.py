"""The controlled terminology shipped with the export (``terminology.yaml``), with its C-codes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from trialdesk.analysis.cdisc.model import Dataset, DatasetSpecError
from trialdesk.domain.protocol.model import Protocol


@dataclass(frozen=True)
class Codelist:
    """One codelist: id, name, NCI C-code (``None``: sponsor-defined), extensibility and its terms
    (submission value -> C-code, ``None`` when sponsor-defined or not verified)."""

    id: str
    name: str
    c_code: str | None
    extensible: bool
    terms: dict[str, str | None]
    sponsor_defined: bool = False


@dataclass(frozen=True)
class Terminology:
    """The shipped codelists and the package they come from."""

    package: str
    checked_on: str
    codelists: dict[str, Codelist]

    def for_protocol(self, protocol: Protocol) -> Terminology:
        """The terminology with ARMCD filled from the protocol's arms (sponsor-defined)."""
        arms = self.codelists["ARMCD"]
        filled = Codelist(arms.id, arms.name, None, False, {a.id: None for a in protocol.design.arms}, True)
        return Terminology(self.package, self.checked_on, self.codelists | {"ARMCD": filled})

    def check(self, datasets: Iterable[Dataset]) -> None:
        """Raise :class:`DatasetSpecError` (dataset, variable, row, value) when a value of a variable
        with a codelist is not a term of that codelist: Define-XML then lists every value written."""
        for dataset in datasets:
            for var in dataset.variables:
                if var.codelist is None:
                    continue
                if var.codelist not in self.codelists:
                    raise DatasetSpecError(dataset.name, var.name, f"codelist {var.codelist} is not shipped")
                terms = self.codelists[var.codelist].terms
                for index, row in enumerate(dataset.rows):
                    value = row.get(var.name)
                    if value is not None and str(value) not in terms:
                        raise DatasetSpecError(
                            dataset.name,
                            var.name,
                            f"row {index + 1}: '{value}' is not in codelist {var.codelist}",
                        )

    def codes(self) -> dict[str, dict[str, str]]:
        """Codelist id -> submission value -> C-code (terms with a code only)."""
        return {cid: {t: c for t, c in cl.terms.items() if c} for cid, cl in self.codelists.items()}


def _codelist(cid: str, raw: dict[str, Any]) -> Codelist:
    terms = {
        str(term): (None if code is None else str(code)) for term, code in (raw.get("terms") or {}).items()
    }
    return Codelist(
        cid,
        str(raw["name"]),
        raw.get("c_code"),
        bool(raw["extensible"]),
        terms,
        bool(raw.get("sponsor_defined", False)),
    )


@cache
def terminology() -> Terminology:
    """The terminology of ``terminology.yaml`` (read once)."""
    text = resources.files("trialdesk.adapters.cdisc").joinpath("terminology.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return Terminology(
        str(raw["package"]),
        str(raw["checked_on"]),
        {cid: _codelist(cid, v) for cid, v in raw["codelists"].items()},
    )
