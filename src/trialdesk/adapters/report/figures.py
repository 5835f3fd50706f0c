"""Report figures (matplotlib, Agg): Kaplan-Meier with number-at-risk table, waterfall, spider,
swimmer and the CONSORT flow diagram.

Each function draws into ``fig`` (a new :class:`matplotlib.figure.Figure` of ``figsize`` inches
when ``None``; no pyplot state) inside ``rect`` (left, bottom, right, top in figure fractions), so a
PDF page can hold a figure and tables, and returns the figure. Artists that tests look for carry a ``gid``:
``km-curve``, ``censor-marks``, ``risk-table``, ``waterfall-bar``, ``spider-line``, ``swimmer-bar``,
``consort-box``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import PercentFormatter

from trialdesk.adapters.report.style import bor_colour
from trialdesk.analysis.snapshot import ConsortCounts, TargetSumSeries
from trialdesk.stats.kaplan_meier import KaplanMeierEstimate
from trialdesk.stats.survival_data import FloatArray

Rect = tuple[float, float, float, float]
DEFAULT_RECT: Rect = (0.1, 0.08, 0.97, 0.92)
WEEKS = 7.0


@dataclass(frozen=True)
class KmCurve:
    """One curve of a Kaplan-Meier figure: its legend label, estimate (months) and colour."""

    label: str
    km: KaplanMeierEstimate
    colour: str


@dataclass(frozen=True)
class SwimmerRow:
    """One subject's lane in a swimmer plot (all times in months from the origin).

    ``treatment_months``: time on treatment (to the last dose, or the cut-off when ``ongoing``);
    ``response_months`` / ``progression_months`` / ``death_months``: first documented CR/PR,
    progression and death (``None`` when they did not happen before the cut-off).
    """

    subject_id: str
    group: str
    colour: str
    treatment_months: float
    ongoing: bool
    response_months: float | None
    progression_months: float | None
    death_months: float | None


def _tick_step(xmax: float) -> float:
    for step in (1.0, 2.0, 3.0, 6.0, 12.0):
        if xmax / step <= 12:
            return step
    return 24.0


def km_figure(
    curves: Sequence[KmCurve],
    *,
    title: str,
    ylabel: str,
    xlabel: str = "Months",
    annotation: str | None = None,
    figsize: tuple[float, float] = (7.0, 5.2),
    rect: Rect = DEFAULT_RECT,
    fig: Figure | None = None,
) -> Figure:
    """Kaplan-Meier curves (step functions from S(0) = 1) with censor marks ``|`` and pointwise CI
    bands, a dotted line at 50 %, an optional annotation (median, HR, p) and the number-at-risk table
    under the x axis at every tick (months)."""
    fig = fig or Figure(figsize=figsize)
    left, bottom, right, top = rect
    table_share = 0.09 + 0.04 * len(curves)
    grid = fig.add_gridspec(
        2,
        1,
        height_ratios=[1 - table_share, table_share],
        hspace=0.28,
        left=left + 1.15 / fig.get_figwidth(),
        right=right,
        bottom=bottom,
        top=top - (0.3 + 0.17 * (len(title) > 82)) / fig.get_figheight(),
    )
    ax = fig.add_subplot(grid[0])
    risk = fig.add_subplot(grid[1], sharex=ax)
    xmax = max((float(c.km.time[-1]) for c in curves if c.km.time.size), default=1.0)
    xmax = max(xmax, 1.0)
    step = _tick_step(xmax)
    ticks = np.arange(0.0, xmax + step * 0.999, step)
    for curve in curves:
        _draw_km(ax, curve)
    ax.axhline(0.5, color="0.6", lw=0.6, ls=":", zorder=0)
    ax.set_ylim(0, 1.03)
    ax.set_xlim(0, ticks[-1] if ticks.size > 1 else xmax)
    ax.set_xticks(ticks)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel)
    fig.text(left, top, "\n".join(textwrap.wrap(title, 82)), fontweight="bold", fontsize=10, va="top")
    ax.grid(axis="y", color="0.92", lw=0.6)
    ax.legend(loc="upper right", handlelength=1.8)
    if annotation:
        ax.text(
            0.985,
            0.84,
            annotation,
            transform=ax.transAxes,
            fontsize=7.5,
            va="top",
            ha="right",
            bbox={"boxstyle": "round,pad=0.35", "fc": "white", "ec": "0.75", "lw": 0.6},
        )
    _risk_table(risk, curves, ticks)
    return fig


def _draw_km(ax: Axes, curve: KmCurve) -> None:
    km = curve.km
    x = np.concatenate([[0.0], km.time])
    y = np.concatenate([[1.0], km.surv])
    lower = np.concatenate([[1.0], km.lower])
    upper = np.concatenate([[1.0], km.upper])
    label = f"{curve.label} (n={km.n}, events={km.events})"
    (line,) = ax.step(x, y, where="post", color=curve.colour, lw=1.6, label=label)
    line.set_gid("km-curve")
    ax.fill_between(x, lower, upper, step="post", color=curve.colour, alpha=0.10, lw=0)
    censored = km.n_censor > 0
    (marks,) = ax.plot(
        km.time[censored],
        km.surv[censored],
        ls="none",
        marker="|",
        ms=7,
        mew=1.1,
        color=curve.colour,
        label="_nolegend_",
    )
    marks.set_gid("censor-marks")


def _risk_table(ax: Axes, curves: Sequence[KmCurve], ticks: FloatArray) -> None:
    ax.set_gid("risk-table")
    ax.set_ylim(len(curves) - 0.5, -0.9)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(axis="both", length=0, labelbottom=False, labelleft=False)
    ax.text(
        0.0,
        -0.75,
        "Number at risk",
        transform=ax.get_yaxis_transform(),
        ha="left",
        fontsize=8,
        fontweight="bold",
    )
    for row, curve in enumerate(curves):
        at_risk = curve.km.at(ticks).n_risk
        for t, n in zip(ticks, at_risk, strict=True):
            ax.text(t, row, f"{int(n)}", ha="center", va="center", fontsize=7.5, color=curve.colour)
        ax.text(
            -0.04,
            row,
            _short(curve.label, 20),
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=7.5,
            color=curve.colour,
        )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def waterfall_figure(
    groups: Mapping[str, Sequence[TargetSumSeries]],
    *,
    title: str,
    figsize: tuple[float, float] = (7.0, 4.5),
    rect: Rect = DEFAULT_RECT,
    fig: Figure | None = None,
) -> Figure:
    """Best % change from baseline in the target-lesion sum, one bar per subject (sorted, largest
    growth first), coloured by best overall response; dashed lines at +20 % (PD) and -30 % (PR).
    One panel per group (arm). Bars above 100 % are drawn at 100 % and marked ``▲``."""
    fig = fig or Figure(figsize=figsize)
    panels = [(name, [s for s in series if s.best_pct is not None]) for name, series in groups.items()]
    left, bottom, right, top = rect
    inch = 1.0 / fig.get_figheight()
    grid = {
        "left": left + 0.75 / fig.get_figwidth(),
        "right": right,
        "bottom": bottom + 0.85 * inch,
        "top": top - 0.75 * inch,
        "wspace": 0.08,
    }
    axes = fig.subplots(1, max(len(panels), 1), sharey=True, squeeze=False, gridspec_kw=grid)[0]
    seen: dict[str, str] = {}
    for ax, (name, series) in zip(axes, panels, strict=True):
        ordered = sorted(series, key=lambda s: (-(s.best_pct or 0.0), s.subject_id))
        values = np.array([s.best_pct for s in ordered], dtype=float)
        shown = np.clip(values, -100.0, 100.0)
        colours = [bor_colour(s.bor) for s in ordered]
        bars = ax.bar(np.arange(len(ordered)), shown, color=colours, width=0.85, lw=0)
        for bar in bars:
            bar.set_gid("waterfall-bar")
        for i in np.flatnonzero(values > 100.0):
            ax.text(i, 101, "▲", ha="center", va="bottom", fontsize=6)
        for s in ordered:
            seen.setdefault(s.bor, bor_colour(s.bor))
        ax.axhline(20, color="0.35", lw=0.7, ls="--")
        ax.axhline(-30, color="0.35", lw=0.7, ls="--")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xticks([])
        ax.set_xlim(-0.8, max(len(ordered), 1) - 0.2)
        ax.set_title(f"{name}\n(n = {len(ordered)})", fontsize=8.5)
        ax.spines["bottom"].set_visible(False)
    axes[0].set_ylabel("Best change in target-lesion sum from baseline")
    axes[0].yaxis.set_major_formatter(PercentFormatter(100.0, decimals=0))
    axes[0].set_ylim(-105, 110)
    fig.suptitle(title, x=left, ha="left", va="top", y=top, fontweight="bold", fontsize=10)
    handles = [Patch(color=c, label=b) for b, c in seen.items()]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=max(len(handles), 1),
        bbox_to_anchor=((left + right) / 2, bottom),
    )
    return fig


def spider_figure(
    groups: Mapping[str, Sequence[TargetSumSeries]],
    *,
    title: str,
    figsize: tuple[float, float] = (7.0, 4.5),
    rect: Rect = DEFAULT_RECT,
    fig: Figure | None = None,
) -> Figure:
    """% change from baseline in the target-lesion sum over time (weeks from the baseline scan), one
    line per subject from (0, 0 %), coloured by best overall response; ``x`` marks a PD time point."""
    fig = fig or Figure(figsize=figsize)
    left, bottom, right, top = rect
    inch = 1.0 / fig.get_figheight()
    grid = {
        "left": left + 0.75 / fig.get_figwidth(),
        "right": right,
        "bottom": bottom + 0.85 * inch,
        "top": top - 0.75 * inch,
        "wspace": 0.08,
    }
    axes = fig.subplots(1, max(len(groups), 1), sharey=True, squeeze=False, gridspec_kw=grid)[0]
    seen: dict[str, str] = {}
    for ax, (name, series) in zip(axes, groups.items(), strict=True):
        for s in series:
            points = [p for p in s.points if p.pct_from_baseline is not None]
            if not points:
                continue
            weeks = [0.0] + [p.days / WEEKS for p in points]
            pct = [0.0] + [float(p.pct_from_baseline or 0.0) for p in points]
            colour = bor_colour(s.bor)
            seen.setdefault(s.bor, colour)
            (line,) = ax.plot(weeks, np.clip(pct, -100, 150), color=colour, lw=0.9, alpha=0.85)
            line.set_gid("spider-line")
            pd_points = [
                (p.days / WEEKS, p.pct_from_baseline) for p in points if p.overall in ("PD", "iUPD", "iCPD")
            ]
            if pd_points:
                ax.plot(*zip(*pd_points, strict=True), ls="none", marker="x", ms=4, color="black", mew=0.8)
        ax.axhline(20, color="0.35", lw=0.7, ls="--")
        ax.axhline(-30, color="0.35", lw=0.7, ls="--")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_title(f"{name}\n(n = {len(series)})", fontsize=8.5)
        ax.set_xlabel("Weeks since baseline scan")
        ax.grid(axis="y", color="0.92", lw=0.6)
    axes[0].set_ylabel("Change in target-lesion sum from baseline")
    axes[0].yaxis.set_major_formatter(PercentFormatter(100.0, decimals=0))
    axes[0].set_ylim(-105, 155)
    fig.suptitle(title, x=left, ha="left", va="top", y=top, fontweight="bold", fontsize=10)
    handles: list[Line2D | Patch] = [Patch(color=c, label=b) for b, c in seen.items()]
    handles.append(Line2D([], [], ls="none", marker="x", color="black", label="PD time point"))
    fig.legend(
        handles=handles, loc="lower center", ncol=len(handles), bbox_to_anchor=((left + right) / 2, bottom)
    )
    return fig


def swimmer_figure(
    rows: Sequence[SwimmerRow],
    *,
    title: str,
    figsize: tuple[float, float] = (7.0, 8.0),
    rect: Rect = DEFAULT_RECT,
    fig: Figure | None = None,
) -> Figure:
    """Time on treatment per subject (months, longest at the top), bar colour by arm, with markers:
    ``▲`` first response, ``✕`` progression, ``■`` death, ``→`` still on treatment at the cut-off."""
    fig = fig or Figure(figsize=figsize)
    left, bottom, right, top = rect
    head = (0.35 + 0.17 * (len(title) > 82)) / fig.get_figheight()
    ax = fig.add_axes((left + 0.04, bottom + 0.04, right - left - 0.04, top - bottom - 0.04 - head))
    ordered = sorted(rows, key=lambda r: (r.treatment_months, r.subject_id))
    y = np.arange(len(ordered))
    height = 0.7
    groups: dict[str, str] = {}
    for i, row in enumerate(ordered):
        bar = ax.barh(i, row.treatment_months, height=height, color=row.colour, alpha=0.8, lw=0)
        bar[0].set_gid("swimmer-bar")
        groups.setdefault(row.group, row.colour)
        if row.ongoing:
            ax.annotate(
                "",
                xy=(row.treatment_months + 0.9, i),
                xytext=(row.treatment_months, i),
                arrowprops={"arrowstyle": "-|>", "lw": 0.8, "color": "0.2", "mutation_scale": 7},
            )
    _markers(ax, ordered, "response_months", "^", "#1B7837", "First response (CR/PR)")
    _markers(ax, ordered, "progression_months", "X", "#B2182B", "Progression")
    _markers(ax, ordered, "death_months", "s", "black", "Death")
    ax.set_yticks(y)
    ax.set_yticklabels(
        [r.subject_id for r in ordered], fontsize=max(3.5, min(7.0, 400 / max(len(ordered), 1)))
    )
    ax.set_ylim(-0.8, len(ordered) - 0.2)
    ax.set_xlabel("Months since origin (enrolment / randomization)")
    ax.set_xlim(0, None)
    ax.grid(axis="x", color="0.92", lw=0.6)
    fig.text(left, top, "\n".join(textwrap.wrap(title, 82)), fontweight="bold", fontsize=10, va="top")
    handles: list[Line2D | Patch] = [
        Patch(color=c, alpha=0.8, label=f"On treatment: {g}") for g, c in sorted(groups.items())
    ]
    handles += [
        Line2D([], [], ls="none", marker="^", color="#1B7837", label="First response (CR/PR)"),
        Line2D([], [], ls="none", marker="X", color="#B2182B", label="Progression"),
        Line2D([], [], ls="none", marker="s", color="black", label="Death"),
        Line2D([], [], ls="none", marker=r"$\rightarrow$", color="0.2", label="Ongoing at cut-off"),
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=7)
    return fig


def _markers(ax: Axes, rows: Sequence[SwimmerRow], field: str, marker: str, colour: str, label: str) -> None:
    points = [(getattr(r, field), i) for i, r in enumerate(rows) if getattr(r, field) is not None]
    if points:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, ls="none", marker=marker, ms=4, color=colour, label=label, zorder=3)


def consort_figure(
    consort: ConsortCounts,
    *,
    phase_names: Mapping[str, str],
    phase_kinds: Mapping[str, str],
    arm_labels: Mapping[str, str],
    title: str = "CONSORT flow diagram",
    figsize: tuple[float, float] = (8.27, 9.0),
    rect: Rect = DEFAULT_RECT,
    fig: Figure | None = None,
    max_reasons: int = 8,
) -> Figure:
    """CONSORT 2010 flow: screened -> excluded (by reason) -> enrolled -> phase -> arm (allocated,
    treated) -> treatment discontinued (by reason) / ongoing -> analysed. Boxes are text with a frame;
    arrows join the boxes' edges."""
    fig = fig or Figure(figsize=figsize)
    left, bottom, right, top = rect
    ax = fig.add_axes((left, bottom, right - left, top - 0.3 / fig.get_figheight() - bottom))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    fig.text(left, top, title, fontweight="bold", fontsize=10, va="top")
    trunk = 0.5 if len(consort.arms) > 1 else 0.3
    screened = _box(ax, trunk, 0.99, f"Assessed for eligibility\n(n = {consort.screened})", fontsize=8.5)
    reasons = list(consort.screen_failures.items())
    lines = [f"Excluded (n = {consort.screen_failed})", "Not meeting eligibility criteria:"]
    width = 60 if len(consort.arms) == 1 else 42
    lines += [f"  • {_short(r, width)} (n = {c})" for r, c in reasons[:max_reasons]]
    if len(reasons) > max_reasons:
        lines.append(f"  • other reasons (n = {sum(c for _, c in reasons[max_reasons:])})")
    if consort.still_screening:
        lines.append(f"Still in screening at the cut-off (n = {consort.still_screening})")
    excluded = _box(
        ax, trunk + 0.06, 0.855, "\n".join(lines), ha="left", align="left", va="center", fontsize=7.0
    )
    enrolled = _box(ax, trunk, 0.745, f"Enrolled\n(n = {consort.enrolled})", fontsize=8.5)
    _arrow(ax, screened, enrolled)
    ax.annotate(
        "",
        xy=(0.0, 0.5),
        xycoords=excluded,
        xytext=(trunk, 0.855),
        textcoords=ax.transAxes,
        arrowprops={
            "arrowstyle": "-|>",
            "lw": 0.8,
            "color": "0.2",
            "shrinkA": 0,
            "shrinkB": 6,
            "mutation_scale": 8,
        },
    )
    phases = list(dict.fromkeys([*(arm.phase_id for arm in consort.arms), *consort.not_randomized]))
    waiting = {p: n for p, n in consort.not_randomized.items() if n}
    columns = len(consort.arms) + len(waiting)
    col = 0
    for phase_id in phases:
        arms = [a for a in consort.arms if a.phase_id == phase_id]
        parent = enrolled
        if len(phases) > 1:
            centre = (col + len(arms) / 2) / columns
            name = _short(phase_names.get(phase_id, phase_id), 38)
            enrolled_here = sum(a.allocated for a in arms) + waiting.get(phase_id, 0)
            parent = _box(ax, centre, 0.63, f"{name}\nEnrolled (n = {enrolled_here})")
            _arrow(ax, enrolled, parent)
            if phase_id in waiting:
                centre = (col + len(arms) + 0.5) / columns
                not_yet = _box(
                    ax, centre, 0.51, f"Enrolled, not randomized\nat the cut-off\n(n = {waiting[phase_id]})"
                )
                _arrow(ax, parent, not_yet)
        for arm in arms:
            x = (col + 0.5) / columns if columns > 1 else trunk
            col += 1
            label = _short(arm_labels.get(arm.arm, arm.arm), 30)
            allocated = _box(
                ax,
                x,
                0.51,
                f"{_allocation_verb(phase_kinds.get(arm.phase_id))} to {label}\n"
                f"(n = {arm.allocated})\n"
                f"Received treatment (n = {arm.treated})\n"
                f"Not treated (n = {arm.not_treated})"
                + (f"\nRecords not derivable (n = {arm.not_derivable})" if arm.not_derivable else ""),
                align="left",
            )
            _arrow(ax, parent, allocated)
            stopped = [f"Discontinued treatment (n = {sum(arm.discontinued.values())})"]
            stopped += [f"   {_short(r, 28)} (n = {c})" for r, c in arm.discontinued.items()]
            stopped.append(f"On treatment at cut-off (n = {arm.ongoing})")
            stopped.append(f"Left the study (n = {sum(arm.left_study.values())})")
            stopped.append(f"   lost to follow-up (n = {arm.lost_to_follow_up})")
            stopped += [
                f"   {_short(r, 28)} (n = {c})" for r, c in arm.left_study.items() if r != "lost to follow-up"
            ]
            stopped.append(f"Died (n = {arm.died})")
            stopped.append(f"In follow-up at cut-off (n = {arm.in_follow_up})")
            follow = _box(ax, x, 0.38, "\n".join(stopped), align="left")
            _arrow(ax, allocated, follow)
            excluded_note = (
                f"\nExcluded: records not derivable (n = {arm.not_derivable})" if arm.not_derivable else ""
            )
            analysed = _box(
                ax, x, 0.12, f"Analysed (n = {arm.analysed})\nIntention-to-treat population{excluded_note}"
            )
            _arrow(ax, follow, analysed)
    return fig


def _allocation_verb(kind: str | None) -> str:
    return "Randomized" if kind == "randomized" else "Allocated"


def _box(
    ax: Axes,
    x: float,
    y: float,
    text: str,
    *,
    ha: str = "center",
    align: str = "center",
    va: str = "top",
    fontsize: float = 7.8,
) -> Text:
    """A framed text box; ``ha`` anchors it at ``x``, ``align`` aligns its lines."""
    artist = ax.text(
        x,
        y,
        text,
        ha=ha,
        va=va,
        fontsize=fontsize,
        multialignment=align,
        transform=ax.transAxes,
        linespacing=1.35,
        bbox={"boxstyle": "square,pad=0.6", "fc": "white", "ec": "0.2", "lw": 0.8},
    )
    artist.set_gid("consort-box")
    return artist


def _arrow(
    ax: Axes,
    source: Text,
    target: Text,
    start: tuple[float, float] = (0.5, 0.0),
    end: tuple[float, float] = (0.5, 1.0),
) -> None:
    ax.annotate(
        "",
        xy=end,
        xycoords=target,
        xytext=start,
        textcoords=source,
        arrowprops={
            "arrowstyle": "-|>",
            "lw": 0.8,
            "color": "0.2",
            "shrinkA": 6,
            "shrinkB": 6,
            "mutation_scale": 8,
        },
    )
