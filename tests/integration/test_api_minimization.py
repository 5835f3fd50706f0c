"""Pocock-Simon minimization selected in a protocol file, run through the API (a third trial
defined by data only: a copy of SCR-ESCC-01 whose allocation method is minimization)."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from pathlib import Path

from tests.integration.api_helpers import build_api, enrolled_in_phase, open_randomized_phase
from trialdesk.domain.randomization.drbg import Drbg
from trialdesk.domain.randomization.minimization import minimization_assign
from trialdesk.protocols import builtin_protocol_dir, load_protocol_file

MIN = "scr-min"


def _protocol_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "protocols"
    folder.mkdir()
    text = (builtin_protocol_dir() / "scr-escc-01.yaml").read_text(encoding="utf-8")
    text = text.replace("id: scr-escc-01", f"id: {MIN}").replace(
        "method: permuted_blocks", "method: minimization"
    )
    (folder / f"{MIN}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_minimization_allocations_are_balanced_and_replayable_from_the_seed(tmp_path: Path) -> None:
    folder = _protocol_dir(tmp_path)
    api = build_api(f"sqlite:///{tmp_path / 'min.sqlite3'}", tmp_path, [folder])
    base = f"/api/trials/{MIN}"
    opened = open_randomized_phase(api, MIN)
    assert opened.status_code == 200, opened.text
    seed_hex = "5a" * 32
    created = api.post("stat", f"{base}/randomization-lists", {"seed_hex": seed_hex})
    assert created.status_code == 201 and created.json()["method"] == "minimization"
    subjects = enrolled_in_phase(api, MIN, "iib", 24)
    arms = []
    for subject_id, site in subjects:
        user = "coord1" if site == "S01" else "coord2"
        done = api.post(user, f"{base}/subjects/{subject_id}/randomize", {})
        assert done.status_code == 200, done.text
        arms.append(done.json()["arm"])
    counts = Counter(arms)
    assert abs(counts["A"] - counts["B"]) <= 4  # biased coin p = 0.8: marginal balance, not exact
    # replay every decision from the recorded seed with the domain function
    protocol = load_protocol_file(folder / f"{MIN}.yaml")
    allocation = protocol.phase("iib").allocation
    assert allocation is not None
    allocations = api.get("stat", f"{base}/allocations").json()
    previous: list[tuple[dict[str, str], str]] = []
    for index, row in enumerate(allocations):
        seed = hmac.new(bytes.fromhex(seed_hex), str(index).encode(), hashlib.sha256).digest()
        decision = minimization_assign(previous, row["strata_values"], allocation, Drbg(seed))
        assert decision.arm == row["arm"]
        previous.append((row["strata_values"], row["arm"]))
    for factor in ("site", "ecog"):
        margins: dict[str, Counter[str]] = {}
        for row in allocations:
            margins.setdefault(row["strata_values"][factor], Counter())[row["arm"]] += 1
        assert all(abs(m["A"] - m["B"]) <= 4 for m in margins.values()), (factor, margins)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
