"""Pre-screening at registry scale (issue 16): the columnar engine against the per-patient evaluator.

Generates a synthetic registry in memory (default 1,000,000 patients, ~20 observations each: the
protocol's labs in SI and conventional units, about 1 % in a unit not known, some older than the
validity window; ECOG and weight; ~6 recorded findings; prior-therapy and investigational-drug
histories, missing for some patients), then times for every patient and every computable criterion:

* trialdesk: :func:`trialdesk.domain.eligibility.columnar.evaluate_registry` + funnel + candidates,
  set-wise over Polars frames;
* the named peer: the per-patient evaluator (``evaluate_criterion``, one ``PatientRecord`` per patient)
  on a random SAMPLE of ``--sample`` patients (default 5,000), its rate extrapolated to the whole
  registry (printed as such); record building from the frames is timed separately.

It checks that both give the same status on the sample, prints patients/s side by side, the ratio,
the goal (>= 100,000 patients/s for the computable criteria on the 2-core machine) and the peak memory
(``resource.getrusage``, max RSS of this process). On a shared machine the wall-clock rate depends on
the other jobs: the columnar step's CPU time (all threads) and the load average are printed beside it.

Run from the repository root: ``.venv/bin/python benchmarks/prescreen.py [--patients N]``.
Timings are measured here only; the test suite never asserts them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import time

import numpy as np
import polars as pl

from trialdesk.adapters.bulk_fhir import patient_records
from trialdesk.domain.eligibility.columnar import (
    OBSERVATION_CODE,
    SCHEMAS,
    STATUS_NAMES,
    Registry,
    candidates,
    evaluate_registry,
    funnel,
    is_computable,
)
from trialdesk.domain.eligibility.evaluator import Status, evaluate_criterion
from trialdesk.domain.protocol.model import Protocol
from trialdesk.protocols import load_registry

GOAL = 100_000
ON = dt.date(2026, 6, 1)
# code -> [(unit, centre, spread)] in that unit; the last unit of some tests is not known (UCUM case)
LABS: dict[str, list[tuple[str, float, float]]] = {
    "hemoglobin": [("g/L", 110, 25), ("g/dL", 11.0, 2.5), ("G/L", 110, 25)],
    "wbc": [("10^9/L", 5.0, 2.5), ("/uL", 5000, 2500)],
    "platelets": [("10^9/L", 180, 80), ("K/uL", 180, 80)],
    "albumin": [("g/L", 35, 7), ("g/dL", 3.5, 0.7)],
    "alt": [("U/L", 40, 30)],
    "ast": [("U/L", 40, 30)],
    "total_bilirubin": [("umol/L", 15, 10), ("mg/dL", 0.9, 0.6)],
    "creatinine": [("umol/L", 80, 25), ("mg/dL", 0.9, 0.3), ("mmol/L", 0.08, 0.02)],
    "lvef": [("%", 60, 8)],
}
ULN = {"alt": 40.0, "ast": 40.0, "total_bilirubin": 20.0, "creatinine": 100.0}
FINDING_SHARE = 0.03


def _pick(
    options: list[object], index: np.ndarray, dtype: pl.DataType | type[pl.DataType] = pl.Utf8
) -> pl.Series:
    """``options[index]`` as a Polars series (None allowed among the options), without Python objects."""
    return pl.Series(options, dtype=dtype).gather(pl.Series(index, dtype=pl.UInt32))


def _choice(rng: np.random.Generator, options: list[object], n: int, p: list[float]) -> pl.Series:
    return _pick(options, rng.choice(len(options), n, p=p))


def build(n: int, obs_per_patient: int, protocol: Protocol, seed: int) -> Registry:
    """A synthetic registry of ``n`` patients (vectorised: no Python object per patient)."""
    rng = np.random.default_rng(seed)
    pid = np.arange(n, dtype=np.uint32)
    birth = np.datetime64("1930-01-01") + rng.integers(0, 365 * 80, n).astype("timedelta64[D]")
    patients = pl.DataFrame(
        {
            "pid": pid,
            "patient_id": pl.Series(pid).cast(pl.Utf8).str.pad_start(8, "0").str.replace(r"^", "R"),
            "sex": _choice(rng, ["male", "female", None], n, [0.55, 0.4, 0.05]),
            "birth_date": pl.Series(birth).cast(pl.Date),
            "histology": _choice(rng, ["escc", "adenocarcinoma", None], n, [0.7, 0.2, 0.1]),
            "confirmation": _choice(rng, ["histology", "cytology", None], n, [0.7, 0.2, 0.1]),
            "stage": _choice(rng, ["IVB", "III", None], n, [0.6, 0.3, 0.1]),
            "m_stage": _choice(rng, ["M1", "M0", None], n, [0.6, 0.3, 0.1]),
        }
    ).with_columns(
        pl.when(pl.col("stage") == "IVB")
        .then(pl.lit(["metastatic"]))
        .otherwise(pl.lit(None, pl.List(pl.Utf8)))
        .alias("setting")
    )
    variants = [(code, unit, c, s) for code, rows in LABS.items() for unit, c, s in rows]
    codes: list[object] = [v[0] for v in variants]
    units: list[object] = [v[1] for v in variants]
    kinds = len(codes)
    total = n * obs_per_patient
    kind = rng.integers(0, kinds + 2, total)  # + ecog + weight
    obs_pid = np.repeat(pid, obs_per_patient)
    is_lab = kind < kinds
    lab_kind = np.where(is_lab, kind, 0)
    centre_of = np.array([v[2] for v in variants])[lab_kind]
    spread_of = np.array([v[3] for v in variants])[lab_kind]
    value = np.abs(np.round(centre_of + spread_of * rng.standard_normal(total), 2))
    value = np.where(
        kind == kinds,
        rng.integers(0, 4, total),
        np.where(kind == kinds + 1, np.round(rng.normal(62, 12, total).clip(30, 150), 1), value),
    )
    uln_by_code = np.array([ULN.get(str(c), np.nan) for c in codes])[lab_kind]
    uln_scale = np.array(
        [
            1.0
            if u in ("U/L", "umol/L")
            else 1 / 17.1
            if u == "mg/dL" and c == "total_bilirubin"
            else 1 / 88.4
            if u == "mg/dL"
            else 0.001
            for c, u in zip(codes, units, strict=True)
        ]
    )[lab_kind]
    uln = np.where(is_lab, uln_by_code * uln_scale, np.nan)
    date = np.datetime64(ON) - rng.integers(0, 45, total).astype("timedelta64[D]")
    observations = pl.DataFrame(
        {
            "pid": obs_pid,
            "seq": np.arange(total, dtype=np.uint32),
            "code": _pick([*codes, "ecog", "weight_kg"], kind).cast(OBSERVATION_CODE),
            "value": value.astype(np.float64),
            "unit": _pick([*units, None, "kg"], kind),
            "uln": pl.Series(uln).fill_nan(None),
            "date": pl.Series(date).cast(pl.Date),
        }
    )
    vocabulary = sorted(protocol.vocabulary.findings)
    per_patient = 6
    f_pid = np.repeat(pid, per_patient)
    f_code = rng.integers(0, len(vocabulary), n * per_patient)
    findings = pl.DataFrame(
        {
            "pid": f_pid,
            "code": _pick(list(vocabulary), f_code),
            "present": rng.random(n * per_patient) < FINDING_SHARE,
        }
    ).unique(subset=["pid", "code"], keep="first", maintain_order=True)
    has_history = rng.random(n) < 0.8
    t_pid = np.concatenate([pid[has_history], pid[rng.random(n) < 0.3]])
    t_modality = np.concatenate(
        [np.zeros(has_history.sum(), dtype=np.int64), rng.integers(1, 5, len(t_pid) - has_history.sum())]
    )
    t_for = rng.choice(3, len(t_pid), p=[0.6, 0.2, 0.2])
    modalities: list[object] = ["none", "chemotherapy", "surgery", "radiotherapy", "immunotherapy"]
    therapies = pl.DataFrame(
        {
            "pid": t_pid.astype(np.uint32),
            "modality": _pick(modalities, t_modality),
            "for_esophageal_cancer": _pick(
                [True, False, None], np.where(t_modality == 0, 2, t_for), pl.Boolean
            ),
            "start_date": pl.Series(
                np.datetime64(ON) - rng.integers(30, 900, len(t_pid)).astype("timedelta64[D]")
            ).cast(pl.Date),
            "end_date": pl.Series([None] * len(t_pid), dtype=pl.Date),
        }
    )
    e_known = pid[rng.random(n) < 0.7]
    e_dosed = pid[rng.random(n) < 0.05]
    exposures = pl.DataFrame(
        {
            "pid": np.concatenate([e_known, e_dosed]).astype(np.uint32),
            "last_dose_date": pl.concat(
                [
                    pl.Series([None] * len(e_known), dtype=pl.Date),
                    pl.Series(
                        np.datetime64(ON) - rng.integers(0, 120, len(e_dosed)).astype("timedelta64[D]")
                    ).cast(pl.Date),
                ]
            ),
        }
    )
    frames = {
        "patients": patients,
        "observations": observations,
        "findings": findings,
        "therapies": therapies,
        "exposures": exposures,
    }
    return Registry(**{name: frames[name].select(list(SCHEMAS[name])) for name in SCHEMAS})


def per_patient(
    protocol: Protocol, registry: Registry, sample: np.ndarray
) -> tuple[float, float, dict[int, list[Status]]]:
    """Build the sample's records, then evaluate every computable criterion per patient."""
    computable = [c for c in protocol.eligibility.criteria if is_computable(c.rule)]
    started = time.perf_counter()
    records = list(patient_records(registry, ON, sample.tolist()))
    built = time.perf_counter() - started
    started = time.perf_counter()
    statuses = {
        int(pid): [evaluate_criterion(c, protocol, record, ON).status for c in computable]
        for pid, record in zip(np.sort(sample), records, strict=True)
    }
    return built, time.perf_counter() - started, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--observations", type=int, default=20, help="observations per patient")
    parser.add_argument("--sample", type=int, default=5_000, help="patients the per-patient engine runs")
    parser.add_argument("--protocol", default="ivo-shfrt-2l")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    protocol = load_registry().get(args.protocol)
    print(
        f"pre-screening benchmark: {args.protocol}, {args.patients:,} patients x "
        f"{args.observations} observations, as of {ON}"
    )
    started = time.perf_counter()
    registry = build(args.patients, args.observations, protocol, args.seed)
    print(
        f"synthetic registry built in {time.perf_counter() - started:.1f} s "
        f"({registry.observations.height:,} observations)"
    )

    started, cpu_started = time.perf_counter(), time.process_time()
    statuses = evaluate_registry(protocol, registry, ON)
    steps = funnel(protocol, statuses)
    found = candidates(protocol, statuses)
    columnar_s = time.perf_counter() - started
    columnar_cpu = time.process_time() - cpu_started
    columnar_rate = args.patients / columnar_s

    sample = np.random.default_rng(args.seed).choice(
        args.patients, min(args.sample, args.patients), replace=False
    )
    built_s, eval_s, reference = per_patient(protocol, registry, sample)
    computable = [c.id for c in protocol.eligibility.criteria if is_computable(c.rule)]
    picked = statuses.filter(pl.col("pid").is_in(sample.astype(np.uint32).tolist()))
    disagreements = sum(
        1
        for row in picked.iter_rows(named=True)
        for i, cid in enumerate(computable)
        if STATUS_NAMES[row[cid]] != reference[row["pid"]][i]
    )
    peer_rate = len(sample) / eval_s
    peer_rate_built = len(sample) / (eval_s + built_s)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"computable criteria: {len(computable)} of {len(protocol.eligibility.criteria)}; "
        f"candidates {found.height:,}; excluded {args.patients - found.height:,}"
    )
    print(
        f"agreement on the sample: {len(sample):,} patients x {len(computable)} criteria, "
        f"{disagreements} disagreement(s)"
    )
    print()
    print(f"{'engine':58} {'seconds':>10} {'patients/s':>12}")
    print(f"{'columnar (Polars), all patients':58} {columnar_s:10.2f} {columnar_rate:12,.0f}")
    peer = f"per-patient evaluator, sample {len(sample):,}, extrapolated"
    print(f"{peer:58} {args.patients / peer_rate:10.1f} {peer_rate:12,.0f}")
    built = "  same, with record building from the frames"
    print(f"{built:58} {args.patients / peer_rate_built:10.1f} {peer_rate_built:12,.0f}")
    print()
    print(
        f"ratio columnar / per-patient: {columnar_rate / peer_rate:.1f}x "
        f"({columnar_rate / peer_rate_built:.1f}x with record building)"
    )
    verdict = "met" if columnar_rate >= GOAL else "NOT met"
    print(f"goal >= {GOAL:,} patients/s for the computable criteria: {verdict} ({columnar_rate:,.0f})")
    print(
        f"columnar CPU time (all threads): {columnar_cpu:.2f} s = "
        f"{args.patients / columnar_cpu:,.0f} patients "
        f"per CPU-second; load average during the run {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB")
    top = sorted(steps, key=lambda s: -s.excluded)[:3]
    print("largest funnel steps: " + ", ".join(f"{s.criterion_id} {s.excluded:,}" for s in top))


if __name__ == "__main__":
    main()
