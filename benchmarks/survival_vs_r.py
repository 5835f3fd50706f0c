"""Side-by-side: trialdesk's Kaplan-Meier, log-rank and Cox against lifelines and R ``survival``.

For each ``--rows`` size the script generates one data set (two arms, a normal covariate, three
strata; exponential event and censoring times) in two versions: ``tied`` (times rounded up to 0.1, a
few thousand distinct values) and ``continuous`` (about a million distinct values at 1e6 rows, with a
few near ties that R's ``timefix`` merges). On the same arrays it times:

* ``km``: ``kaplan_meier`` / lifelines ``KaplanMeierFitter.fit`` / R ``survfit(Surv ~ 1)``;
* ``logrank``: ``logrank_test`` by arm / lifelines ``logrank_test`` / R ``survdiff(Surv ~ arm)``;
* ``cox`` (tied data): ``cox_ph(arm + x)`` with Efron and Breslow ties, without and with strata /
  lifelines ``CoxPHFitter`` (Efron only, up to ``--lifelines-cox-max-rows``) / R ``coxph``.

Times are CPU seconds (user + system, the process's own: ``time.process_time`` here, ``proc.time``
inside R, data loading excluded), the minimum of ``--repeats`` runs, because other jobs share the
machine. KM and log-rank are also compared with the sort-bound floor: ``np.argsort`` of the times
plus gathering the events in that order, the least any estimator of them must do. For Cox the
memory is printed: trialdesk's peak of NumPy allocations during the fit (``tracemalloc``, a separate
untimed run) and R's ``gc()`` "max used" above the memory in use before the fit.

The numbers are checked, not only timed: KM survival curves element by element, log-rank O, E and
chi-square, Cox coefficients, SEs, log likelihood and concordance against R to 1e-6 (relative), and
against lifelines where it computes the same thing (lifelines has no ``timefix``; its Cox stops at
its own tolerance, so 1e-4 there).

Run from the repository root: ``.venv/bin/python benchmarks/survival_vs_r.py [--rows 1e4,1e5,1e6]
[--json]``. R and the survival package come from the Debian packages ``r-base-core`` and
``r-cran-survival`` (``benchmarks/setup.sh`` installs them when missing; root needed). Timings are
measured here only; the test suite never asserts them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trialdesk.stats.cox import CoxPHResult, cox_ph
from trialdesk.stats.kaplan_meier import kaplan_meier
from trialdesk.stats.logrank import logrank_test

HERE = Path(__file__).resolve().parent
RTOL_R = 1e-6
RTOL_LIFELINES_COX = 1e-4
COX_VARIANTS = (("efron", False), ("breslow", False), ("efron", True), ("breslow", True))

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; n <- as.integer(args[2]); repeats <- as.integer(args[3])
rd <- function(name) readBin(file.path(dir, name), "double", n)
d <- data.frame(tied = rd("tied"), continuous = rd("continuous"), event = rd("event"),
                arm = rd("arm"), x = rd("x"), stratum = rd("stratum"))
cpu <- function(expr_fn) {
  best <- Inf; value <- NULL
  for (i in seq_len(repeats)) {
    t0 <- proc.time(); value <- expr_fn(); used <- proc.time() - t0
    best <- min(best, used[["user.self"]] + used[["sys.self"]])
  }
  list(cpu = best, value = value)
}
num <- function(x) paste(trimws(formatC(as.numeric(x), digits = 17, format = "g")), collapse = ",")
for (data in c("tied", "continuous")) {
  d$time <- d[[data]]
  km <- cpu(function() survfit(Surv(time, event) ~ 1, d))
  writeBin(km$value$surv, file.path(dir, paste0("r_km_", data)))
  cat(sprintf("KM %s %.6f %d\n", data, km$cpu, length(km$value$surv)))
  lr <- cpu(function() survdiff(Surv(time, event) ~ arm, d))
  cat(sprintf("LOGRANK %s %.6f %s;%s;%s\n", data, lr$cpu, num(lr$value$obs), num(lr$value$exp),
              num(lr$value$chisq)))
}
d$time <- d$tied
for (ties in c("efron", "breslow")) for (strat in c(FALSE, TRUE)) {
  f <- if (strat) Surv(time, event) ~ arm + x + strata(stratum) else Surv(time, event) ~ arm + x
  fit <- cpu(function() coxph(f, d, ties = ties))
  before <- gc(reset = TRUE); invisible(coxph(f, d, ties = ties)); after <- gc()
  mem <- sum(after[, 6]) - sum(before[, 2])
  v <- fit$value
  cat(sprintf("COX %s %s %.6f %.1f %s;%s;%s;%s\n", ties, strat, fit$cpu, mem, num(coef(v)),
              num(sqrt(diag(vcov(v)))), num(v$loglik[2]), num(v$concordance[["concordance"]])))
}
cat(sprintf("VERSION %s|%s\n", R.version.string, as.character(packageVersion("survival"))))
"""


@dataclass
class Row:
    """One line of the results (the ``--json`` objects; ratio = peer time / trialdesk time)."""

    rows: int
    method: str
    data: str
    variant: str
    trialdesk_s: float
    lifelines_s: float | None
    r_s: float | None
    ratio_vs_r: float | None
    ratio_vs_lifelines: float | None
    agree: bool
    floor_s: float | None = None
    ratio_to_floor: float | None = None
    trialdesk_peak_mb: float | None = None
    r_peak_mb: float | None = None


def ensure_r() -> None:
    """Install R and survival through ``benchmarks/setup.sh`` when missing."""
    if shutil.which("Rscript") is not None:
        check = subprocess.run(
            ["Rscript", "-e", "suppressMessages(library(survival))"], capture_output=True, check=False
        )
        if check.returncode == 0:
            return
    print("Rscript or the survival package missing: running benchmarks/setup.sh", flush=True)
    subprocess.run(["bash", str(HERE / "setup.sh")], check=True)


def generate(n: int, seed: int) -> dict[str, np.ndarray]:
    """Two arms (HR 0.6), a N(0, 1) covariate (log HR 0.3), 3 strata, exponential times, ~25% censored."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n).astype(np.float64)
    x = rng.normal(size=n)
    stratum = rng.integers(1, 4, n).astype(np.float64)
    hazard = 0.1 * np.exp(np.log(0.6) * arm + 0.3 * x + 0.2 * (stratum - 2))
    event_time = rng.exponential(1.0 / hazard)
    censor_time = rng.exponential(1.0 / 0.03, n)
    continuous = np.minimum(event_time, censor_time)
    return {
        "tied": np.ceil(continuous * 10.0) / 10.0,
        "continuous": continuous,
        "event": (event_time <= censor_time).astype(np.float64),
        "arm": arm,
        "x": x,
        "stratum": stratum,
    }


def cpu_seconds(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Smallest CPU time of ``repeats`` calls, and the last result."""
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.process_time()
        value = fn()
        best = min(best, time.process_time() - start)
    return best, value


def run_r(data: dict[str, np.ndarray], repeats: int) -> tuple[dict[str, Any], str]:
    """Time R on the same arrays (written as raw doubles); returns parsed results and the version."""
    n = data["event"].size
    with tempfile.TemporaryDirectory() as tmp:
        for name, values in data.items():
            values.astype(np.float64).tofile(os.path.join(tmp, name))
        out = subprocess.run(
            ["Rscript", "-e", R_SCRIPT, tmp, str(n), str(repeats)], capture_output=True, text=True, check=True
        ).stdout
        results: dict[str, Any] = {}
        version = ""
        for line in out.splitlines():
            kind, *rest = line.split(" ", 1)
            fields = rest[0].split(" ") if rest else []
            if kind == "KM":
                surv = np.fromfile(os.path.join(tmp, f"r_km_{fields[0]}"), dtype=np.float64)
                results[f"km/{fields[0]}"] = {"s": float(fields[1]), "surv": surv}
            elif kind == "LOGRANK":
                obs, exp, chisq = (np.array(part.split(","), dtype=float) for part in fields[2].split(";"))
                results[f"logrank/{fields[0]}"] = {
                    "s": float(fields[1]),
                    "obs": obs,
                    "exp": exp,
                    "chisq": chisq,
                }
            elif kind == "COX":
                coef, se, loglik, conc = (np.array(p.split(","), dtype=float) for p in fields[4].split(";"))
                variant = f"{fields[0]}{'+strata' if fields[1] == 'TRUE' else ''}"
                results[f"cox/{variant}"] = {
                    "s": float(fields[2]),
                    "mb": float(fields[3]),
                    "coef": coef,
                    "se": se,
                    "loglik": loglik,
                    "concordance": conc,
                }
            elif kind == "VERSION":
                version = rest[0]
    return results, version


def close(a: Any, b: Any, rtol: float) -> bool:
    a, b = np.ravel(np.asarray(a, dtype=float)), np.ravel(np.asarray(b, dtype=float))
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=1e-12))


def floor_seconds(time_: np.ndarray, event: np.ndarray, repeats: int) -> float:
    def sort_bound() -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(time_)
        return time_[order], event[order]

    return cpu_seconds(sort_bound, repeats)[0]


def bench_km(n: int, data: dict[str, np.ndarray], kind: str, r: dict[str, Any], repeats: int) -> Row:
    from lifelines import KaplanMeierFitter

    t, e = data[kind], data["event"]
    ours_s, km = cpu_seconds(lambda: kaplan_meier(t, e), repeats)
    ll_s, ll = cpu_seconds(lambda: KaplanMeierFitter().fit(t, e), repeats)
    ref = r[f"km/{kind}"]
    ll_surv = ll.survival_function_.iloc[:, 0].to_numpy()
    agree = close(km.surv, ref["surv"], RTOL_R) and close(km.surv[-1], ll_surv[-1], RTOL_R)
    floor = floor_seconds(t, e, repeats)
    return _row(n, "km", kind, "", ours_s, ll_s, ref["s"], agree, floor)


def bench_logrank(n: int, data: dict[str, np.ndarray], kind: str, r: dict[str, Any], repeats: int) -> Row:
    from lifelines.statistics import logrank_test as lifelines_logrank

    t, e, arm = data[kind], data["event"], data["arm"]
    ours_s, lr = cpu_seconds(lambda: logrank_test(t, e, arm), repeats)
    a0, a1 = arm == 0, arm == 1
    ll_s, ll = cpu_seconds(lambda: lifelines_logrank(t[a0], t[a1], e[a0], e[a1]), repeats)
    ref = r[f"logrank/{kind}"]
    agree = (
        close(lr.observed, ref["obs"], RTOL_R)
        and close(lr.expected, ref["exp"], RTOL_R)
        and close(lr.chisq, ref["chisq"], RTOL_R)
        and close(lr.chisq, ll.test_statistic, RTOL_R)
    )
    floor = floor_seconds(t, e, repeats)
    return _row(n, "logrank", kind, "", ours_s, ll_s, ref["s"], agree, floor)


def bench_cox(
    n: int, data: dict[str, np.ndarray], ties: str, strata: bool, r: dict[str, Any], repeats: int, ll_max: int
) -> Row:
    from lifelines import CoxPHFitter

    x = np.column_stack([data["arm"], data["x"]])
    t, e, s = data["tied"], data["event"], data["stratum"] if strata else None

    def fit() -> CoxPHResult:
        return cox_ph(x, t, e, ties=ties, strata=s)  # type: ignore[arg-type]

    ours_s, ours = cpu_seconds(fit, repeats)
    tracemalloc.start()
    fit()
    peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    variant = f"{ties}{'+strata' if strata else ''}"
    ref = r[f"cox/{variant}"]
    agree = (
        close(ours.coef, ref["coef"], RTOL_R)
        and close(ours.se, ref["se"], RTOL_R)
        and close(ours.loglik, ref["loglik"], RTOL_R)
        and close(ours.concordance, ref["concordance"], RTOL_R)
    )
    ll_s: float | None = None
    if ties == "efron" and n <= ll_max:
        frame = pd.DataFrame(
            {"arm": data["arm"], "x": data["x"], "time": t, "event": e, "s": data["stratum"]}
        )
        if not strata:
            frame = frame.drop(columns="s")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ll_s, ll = cpu_seconds(
                lambda: CoxPHFitter().fit(frame, "time", "event", strata=["s"] if strata else None), 1
            )
        agree = agree and close(ours.coef, ll.params_[["arm", "x"]].to_numpy(), RTOL_LIFELINES_COX)
    row = _row(n, "cox", "tied", variant, ours_s, ll_s, ref["s"], agree, None)
    row.trialdesk_peak_mb, row.r_peak_mb = round(peak_mb, 1), ref["mb"]
    return row


def _row(
    n: int,
    method: str,
    kind: str,
    variant: str,
    ours: float,
    lifelines_s: float | None,
    r_s: float | None,
    agree: bool,
    floor: float | None,
) -> Row:
    def ratio(peer: float | None) -> float | None:
        return None if peer is None or ours <= 0 else round(peer / ours, 2)

    return Row(
        rows=n,
        method=method,
        data=kind,
        variant=variant,
        trialdesk_s=round(ours, 4),
        lifelines_s=None if lifelines_s is None else round(lifelines_s, 4),
        r_s=None if r_s is None else round(r_s, 4),
        ratio_vs_r=ratio(r_s),
        ratio_vs_lifelines=ratio(lifelines_s),
        agree=agree,
        floor_s=None if floor is None else round(floor, 4),
        ratio_to_floor=None if floor is None or floor <= 0 else round(ours / floor, 2),
    )


def scaling(results: list[Row]) -> list[dict[str, Any]]:
    """Time at the largest size over time at the smallest, per method/data/variant and tool."""
    sizes = sorted({row.rows for row in results})
    if len(sizes) < 2:
        return []
    out = []
    keyed = {(row.rows, row.method, row.data, row.variant): row for row in results}
    for row in results:
        if row.rows != sizes[0]:
            continue
        big = keyed.get((sizes[-1], row.method, row.data, row.variant))
        if big is None:
            continue
        entry: dict[str, Any] = {"method": row.method, "data": row.data, "variant": row.variant}
        entry["from"], entry["to"] = sizes[0], sizes[-1]
        for tool in ("trialdesk_s", "r_s", "lifelines_s"):
            small_s, big_s = getattr(row, tool), getattr(big, tool)
            entry[tool.replace("_s", "_growth")] = round(big_s / small_s, 1) if small_s and big_s else None
        out.append(entry)
    return out


def parse_rows(text: str) -> list[int]:
    try:
        return [int(float(part)) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SystemExit(f"--rows: expected sizes such as 1e4,1e5,1e6, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--rows", default="1e4,1e5,1e6", help="data sizes, comma-separated (default 1e4,1e5,1e6)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per timing; the minimum is kept (default 3)"
    )
    parser.add_argument(
        "--lifelines-cox-max-rows", type=int, default=100_000, help="largest n for lifelines' Cox"
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args(argv)
    sizes = parse_rows(args.rows)
    if args.repeats < 1 or not sizes or min(sizes) < 10:
        raise SystemExit("--repeats must be >= 1 and every --rows size >= 10")
    ensure_r()
    results: list[Row] = []
    r_version = ""
    for n in sizes:
        data = generate(n, args.seed)
        if not args.json:
            print(f"{n:,} rows: running R ...", file=sys.stderr, flush=True)
        r, r_version = run_r(data, args.repeats)
        if not args.json:
            print(f"{n:,} rows: trialdesk and lifelines ...", file=sys.stderr, flush=True)
        for kind in ("tied", "continuous"):
            results.append(bench_km(n, data, kind, r, args.repeats))
            results.append(bench_logrank(n, data, kind, r, args.repeats))
        for ties, strata in COX_VARIANTS:
            results.append(bench_cox(n, data, ties, strata, r, args.repeats, args.lifelines_cox_max_rows))
    report = {
        "results": [asdict(row) for row in results],
        "scaling": scaling(results),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "r": r_version,
        "repeats": args.repeats,
        "load_average": list(os.getloadavg()),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print_table(results, report)
    return 0 if all(row.agree for row in results) else 1


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def print_table(results: list[Row], report: dict[str, Any]) -> None:
    print(f"CPU seconds, minimum of {report['repeats']} runs; R: {report['r']}; numpy {np.__version__}")
    header = (
        f"{'rows':>9} {'method':8} {'data':10} {'variant':15} {'trialdesk':>9} {'lifelines':>9} {'R':>8}"
        f" {'vs R':>6} {'vs ll':>6} {'floor':>7} {'/floor':>6} {'MB td':>6} {'MB R':>6} agree"
    )
    print(header)
    for row in results:
        print(
            f"{row.rows:>9,} {row.method:8} {row.data:10} {row.variant or '-':15} {row.trialdesk_s:>9.4f}"
            f" {_fmt(row.lifelines_s, '9.4f'):>9} {_fmt(row.r_s, '8.3f'):>8} {_ratio(row.ratio_vs_r):>6}"
            f" {_ratio(row.ratio_vs_lifelines):>6} {_fmt(row.floor_s, '7.4f'):>7}"
            f" {_fmt(row.ratio_to_floor, '6.2f'):>6} {_fmt(row.trialdesk_peak_mb, '6.0f'):>6}"
            f" {_fmt(row.r_peak_mb, '6.0f'):>6} {'yes' if row.agree else 'NO'}"
        )
    for entry in report["scaling"]:
        growth = ", ".join(
            f"{tool} x{entry[f'{tool}_growth']}"
            for tool in ("trialdesk", "r", "lifelines")
            if entry[f"{tool}_growth"]
        )
        variant = f" {entry['variant']}" if entry["variant"] else ""
        what = f"{entry['method']} {entry['data']}{variant}"
        print(f"scaling {entry['from']:,} -> {entry['to']:,} rows, {what}: {growth}")
    print(f"load average during the run: {', '.join(f'{v:.1f}' for v in report['load_average'])}")


if __name__ == "__main__":
    sys.exit(main())
