"""The UCUM units a case report form may declare, and conversion between units of one dimension.

Units are written as UCUM case-sensitive codes (The Unified Code for Units of Measure, Regenstrief
Institute, https://ucum.org/ucum, table of the ``ucum-essence.xml`` file). Only the units the built-in
forms and their usual alternatives need are known; any other code is refused by name, so a protocol
author sees at load time that a unit is not understood rather than a silent mismatch.

Conversion is by a multiplicative factor to the dimension's base unit, with the factors of the UCUM
definitions:

* ``[lb_av]`` (avoirdupois pound) = 7000 ``[gr]``, ``[gr]`` = 64.79891 mg, so 1 [lb_av] = 453.59237 g;
* ``[in_i]`` (international inch) = 2.54 cm;
* ``mm[Hg]`` = 0.001 ``m[Hg]``, ``m[Hg]`` = 133.3220 kPa, so 1 mm[Hg] = 133.322 Pa;
* ``a`` (Julian year) = 365.25 d, ``mo`` (Julian month) = a / 12, ``wk`` = 7 d.

Temperature (``Cel``) has one unit only: degrees Fahrenheit are affine, not a factor, and are refused.
Annotations in braces (``{score}``) are dimensionless units of their own kind: a score never converts
into another annotation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    """A known UCUM unit: its dimension and the factor to the dimension's base unit."""

    code: str
    dimension: str
    factor: float


_JULIAN_YEAR_DAYS = 365.25

_UNITS: tuple[Unit, ...] = (
    Unit("g", "mass", 1.0),
    Unit("kg", "mass", 1000.0),
    Unit("mg", "mass", 0.001),
    Unit("[lb_av]", "mass", 453.59237),
    Unit("m", "length", 1.0),
    Unit("cm", "length", 0.01),
    Unit("mm", "length", 0.001),
    Unit("[in_i]", "length", 0.0254),
    Unit("m2", "area", 1.0),
    Unit("kg/m2", "mass per area", 1.0),
    Unit("Pa", "pressure", 1.0),
    Unit("kPa", "pressure", 1000.0),
    Unit("mm[Hg]", "pressure", 133.322),
    Unit("Cel", "temperature", 1.0),
    Unit("/min", "rate", 1.0),
    Unit("%", "fraction", 0.01),
    Unit("1", "fraction", 1.0),
    Unit("d", "time", 1.0),
    Unit("h", "time", 1.0 / 24.0),
    Unit("wk", "time", 7.0),
    Unit("mo", "time", _JULIAN_YEAR_DAYS / 12.0),
    Unit("a", "time", _JULIAN_YEAR_DAYS),
    Unit("g/L", "mass concentration", 1.0),
    Unit("g/dL", "mass concentration", 10.0),
    Unit("mg/d", "mass rate", 1.0),
    Unit("{score}", "score", 1.0),
    Unit("{pack-years}", "pack-years", 1.0),
    Unit("{drinks}/wk", "drinks per week", 1.0),
)

UNITS: dict[str, Unit] = {unit.code: unit for unit in _UNITS}
"""UCUM code -> unit, for every unit a form field may declare."""


class UnitError(ValueError):
    """A unit is unknown, or cannot be converted into the field's unit."""


def known_unit(code: str) -> Unit:
    """The unit of this UCUM code; :class:`UnitError` naming it when it is not known."""
    try:
        return UNITS[code]
    except KeyError:
        raise UnitError(f"unit '{code}' is not a known UCUM unit (known: {', '.join(UNITS)})") from None


_SYMBOLS = {"Cel": "°C", "[lb_av]": "lb", "[in_i]": "in", "a": "yr"}


def display_unit(code: str | None) -> str:
    """A unit as people read it: the usual symbol of a UCUM code ('Cel' -> '°C', '[lb_av]' -> 'lb',
    'a' -> 'yr'), and annotations without their braces ('{score}' -> 'score'); otherwise the code."""
    if code is None:
        return ""
    return _SYMBOLS.get(code, code.replace("{", "").replace("}", ""))


def convert(value: float, from_code: str, to_code: str) -> float:
    """``value`` given in ``from_code`` expressed in ``to_code`` (same dimension; UCUM factors).

    :class:`UnitError` when either unit is unknown or the dimensions differ (kg into cm)."""
    source, target = known_unit(from_code), known_unit(to_code)
    if source.dimension != target.dimension:
        raise UnitError(
            f"unit '{from_code}' ({source.dimension}) cannot be converted into "
            f"'{to_code}' ({target.dimension})"
        )
    if source.code == target.code:
        return value
    return value * source.factor / target.factor
