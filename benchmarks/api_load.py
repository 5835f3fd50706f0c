"""Load benchmark of the HTTP API: concurrent clients on loopback against the real uvicorn server.

One command, from the repository root (see ``benchmarks/README.md``)::

    .venv/bin/python benchmarks/api_load.py            # PostgreSQL at 50 clients, then SQLite at 10
    .venv/bin/python benchmarks/api_load.py --seconds 60 --backend postgresql

For each backend the script starts what the test suite starts (``tests/support``): a throw-away
PostgreSQL cluster on a free loopback port (Debian's ``postgresql`` package) or a SQLite file in a
temporary folder, and ``uvicorn trialdesk.entrypoints.api.app:create_server_app`` (as ``trialdesk serve``)
bound to 127.0.0.1. The
database is prepared through the audited services as in the API tests: sites S01/S02, one user per role,
the SCR-ESCC-01 run-in signed closed and phase IIb open, a randomization list, and enough enrolled
phase-IIb subjects waiting for randomization.

Then N asynchronous clients (httpx) send, for a bounded time, a fixed mix of requests, each client
picking the next one at random (seeded, so every run sends the same sequence) and pausing between two
requests as a person does (``--think-ms``, 1 s on average; 0 measures saturation):

* reads (60 %): a subject, the subject list, a subject's adverse events, the trial's state;
* screenings (15 %): a new patient screened at the client's site (coordinator);
* adverse-event entries (15 %): a grade 1-3 event on an enrolled subject of the site (investigator);
* randomizations (10 %): one waiting phase-IIb subject of the site each time (coordinator).

It prints the throughput, the 50th/95th/99th latency percentiles per operation and the errors (any
answer but the expected 200/201, or a transport error), beside the goal: p99 < 100 ms for reads and
< 250 ms for writes, zero errors. Afterwards it checks, from the database, that no subject and no list
slot was allocated twice, that every acknowledged randomization and screening is present, that the
audit chain verifies, and that replaying the audit trail rebuilds every audited row (the deep audit).
Timings are measured here only; the test suite never asserts them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: PostgreSQL and uvicorn started as the test suite starts them

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from tests.integration.api_helpers import (  # noqa: E402
    PASSWORD,
    build_api,
    enrolled_in_phase,
    open_randomized_phase,
    patient,
)
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.server import AppServer  # noqa: E402

from trialdesk.adapters.db.audit import verify_chain  # noqa: E402
from trialdesk.adapters.db.engine import make_engine  # noqa: E402
from trialdesk.adapters.db.models import Allocation, Subject  # noqa: E402
from trialdesk.adapters.db.replay import deep_verify  # noqa: E402

SCR = "scr-escc-01"
THINK_MS = 1000.0
"""Each simulated user pauses 1 s on average between two requests (exponential): a person reading a page
and typing does not click faster, so 50 users offer about 50 requests/s, still more than the trials' sites
together will. ``--think-ms 0`` sends back to back, which measures capacity (throughput at saturation),
where latency is queueing time by construction: at N clients, about N / throughput."""
READ_GOAL_MS, WRITE_GOAL_MS = 100.0, 250.0
MIX: dict[str, int] = {
    "read subject": 25,
    "read subject list": 10,
    "read adverse events": 15,
    "read trial state": 10,
    "screening": 15,
    "adverse event": 15,
    "randomization": 10,
}
"""Operation -> weight (per cent of the requests)."""
WRITES = {"screening": 201, "adverse event": 201, "randomization": 200}
SITES = ("S01", "S02")
WAITING_SUBJECTS = 242
"""Enrolled phase-IIb subjects waiting for randomization: with the 40 allocated while preparing, the
trial's 282 randomized patients (so the subject list is as long as the real trial's)."""
ALLOCATED_PER_SITE = 20
"""Subjects randomized while preparing: the reads and adverse events (attributed per arm) go to them."""
USERS = {"coordinator": {"S01": "coord1", "S02": "coord2"}, "investigator": {"S01": "inv1", "S02": "inv2"}}
console = Console(width=None if sys.stdout.isatty() else 132)


@dataclass
class Prepared:
    """What the clients work on: allocated subjects per site and the ones waiting for randomization."""

    enrolled: dict[str, list[int]]
    waiting: dict[str, list[int]]
    arms: dict[int, str]
    """Arm of each allocated subject (an adverse event is attributed to the arm's interventions)."""


@dataclass
class Results:
    """Latencies (ms) and errors per operation, and what the server acknowledged."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    randomized: list[int] = field(default_factory=list)
    screened: list[int] = field(default_factory=list)
    exhausted: int = 0
    """Randomizations not sent because no waiting subject was left at the client's site."""


def prepare(database_url: str, data_dir: Path, waiting_subjects: int) -> Prepared:
    """Sites, users, phase IIb open with a list, enrolled subjects waiting (audited, as in the tests)."""
    api = build_api(database_url, data_dir)
    with api.client:
        assert open_randomized_phase(api, SCR).status_code == 200
        slots = (waiting_subjects + 2 * ALLOCATED_PER_SITE) // 4 + 20  # four strata: site x ECOG 0/1
        created = api.post("stat", f"/api/trials/{SCR}/randomization-lists", {"slots_per_stratum": slots})
        assert created.status_code == 201, created.text
        subjects = enrolled_in_phase(api, SCR, "iib", waiting_subjects + 2 * ALLOCATED_PER_SITE)
        prepared = Prepared({site: [] for site in SITES}, {site: [] for site in SITES}, {})
        for subject_id, site in subjects:
            if len(prepared.enrolled[site]) < ALLOCATED_PER_SITE:
                user = USERS["coordinator"][site]
                answer = api.post(user, f"/api/trials/{SCR}/subjects/{subject_id}/randomize", {})
                assert answer.status_code == 200, answer.text
                prepared.enrolled[site].append(subject_id)
                prepared.arms[subject_id] = answer.json()["arm"]
            else:
                prepared.waiting[site].append(subject_id)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]
    return prepared


def sign_in(base_url: str) -> dict[str, dict[str, str]]:
    """A bearer header per benchmark user (five sign-ins before the clock starts)."""
    headers = {}
    for user in ("coord1", "coord2", "inv1", "inv2", "monitor"):
        answer = httpx.post(
            f"{base_url}/api/auth/token", data={"username": user, "password": PASSWORD}, timeout=30
        )
        answer.raise_for_status()
        headers[user] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    return headers


ARM_INTERVENTIONS = {
    "A": ("pd1", "paclitaxel", "platinum", "ldrt", "cfrt"),
    "B": ("pd1", "paclitaxel", "platinum"),
}
"""SCR-ESCC-01's interventions per arm (src/trialdesk/protocols/scr-escc-01.yaml)."""


def ae_body(today: dt.date, grade: int, arm: str) -> dict[str, object]:
    """A grade 1-3 adverse event starting today, attributed to each intervention of the subject's arm."""
    attributions = {name: "possible" if name == "pd1" else "unlikely" for name in ARM_INTERVENTIONS[arm]}
    return {
        "term": "Pneumonitis",
        "grade": grade,
        "onset_date": today.isoformat(),
        "attributions": attributions,
    }


@dataclass
class Client:
    """One simulated user session: a site, a seeded random stream and an HTTP connection."""

    number: int
    think_ms: float
    """Mean pause between a user's requests (exponential, seeded); 0 sends back to back."""
    http: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    prepared: Prepared
    results: Results
    rng: random.Random = field(init=False)
    site: str = field(init=False)
    sent: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.number)
        self.site = SITES[self.number % 2]

    def user(self, role: str) -> dict[str, str]:
        return self.headers[USERS[role][self.site]]

    def request_for(self, operation: str) -> Callable[[], Awaitable[httpx.Response]] | None:
        """The call of ``operation``; None when no subject is left to randomize at this site."""
        base = f"/api/trials/{SCR}"
        subject = self.rng.choice(self.prepared.enrolled[self.site])
        monitor = self.headers["monitor"]
        if operation == "read subject":
            return lambda: self.http.get(f"{base}/subjects/{subject}", headers=monitor)
        if operation == "read subject list":
            return lambda: self.http.get(f"{base}/subjects", headers=monitor)
        if operation == "read adverse events":
            return lambda: self.http.get(f"{base}/subjects/{subject}/adverse-events", headers=monitor)
        if operation == "read trial state":
            return lambda: self.http.get(base, headers=monitor)
        if operation == "screening":
            self.sent += 1
            body = {"site_code": self.site, "patient": patient(SCR, f"LOAD-{self.number}-{self.sent}")}
            return lambda: self.http.post(f"{base}/subjects", json=body, headers=self.user("coordinator"))
        if operation == "adverse event":
            body = ae_body(dt.date.today(), self.rng.randint(1, 3), self.prepared.arms[subject])
            url = f"{base}/subjects/{subject}/adverse-events"
            return lambda: self.http.post(url, json=body, headers=self.user("investigator"))
        waiting = self.prepared.waiting[self.site]
        if not waiting:
            return None
        chosen = waiting.pop()
        return lambda: self.http.post(
            f"{base}/subjects/{chosen}/randomize", json={}, headers=self.user("coordinator")
        )

    async def run(self, deadline: float) -> None:
        """Send the mix until ``deadline`` (monotonic seconds), one request at a time."""
        operations, weights = list(MIX), list(MIX.values())
        if self.think_ms > 0:  # users already at work, not all clicking in the same millisecond at t=0
            await asyncio.sleep(self.rng.expovariate(1000.0 / self.think_ms))
        while time.monotonic() < deadline:
            operation = self.rng.choices(operations, weights)[0]
            call = self.request_for(operation)
            if call is None:
                self.results.exhausted += 1
                continue
            await self.timed(operation, call)
            if self.think_ms > 0:
                await asyncio.sleep(self.rng.expovariate(1000.0 / self.think_ms))

    async def timed(self, operation: str, call: Callable[[], Awaitable[httpx.Response]]) -> None:
        start = time.perf_counter()
        try:
            answer = await call()
        except httpx.HTTPError as exc:
            self.results.errors[operation].append(type(exc).__name__)
            return
        self.results.latencies[operation].append((time.perf_counter() - start) * 1000)
        expected = WRITES.get(operation, 200)
        if answer.status_code != expected:
            self.results.errors[operation].append(f"{answer.status_code} {answer.text[:120]}")
        elif operation == "randomization":
            self.results.randomized.append(int(answer.json()["subject_id"]))
        elif operation == "screening":
            self.results.screened.append(int(answer.json()["id"]))


async def drive(
    base_url: str, clients: int, seconds: float, prepared: Prepared, think_ms: float
) -> tuple[Results, float]:
    """``clients`` concurrent sessions for ``seconds``, each pausing ``think_ms`` on average between two
    requests; returns the results and the elapsed time."""
    headers = sign_in(base_url)
    results = Results()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
        sessions = [Client(n, think_ms, http, headers, prepared, results) for n in range(clients)]
        start = time.monotonic()
        await asyncio.gather(*(s.run(start + seconds) for s in sessions))
        elapsed = time.monotonic() - start
    return results, elapsed


def report(backend: str, clients: int, results: Results, elapsed: float, think_ms: float) -> bool:
    """Print the Rich table of one run; True when every goal is met."""
    pace = f"{think_ms:.0f} ms mean think time" if think_ms > 0 else "no think time (saturation)"
    table = Table(title=f"{backend}: {clients} clients, {pace}, for {elapsed:.1f} s on 127.0.0.1")
    for column in ("operation", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "goal", "met"):
        table.add_column(column, justify="left" if column in ("operation", "goal") else "right")
    all_met = True
    total = 0
    for operation in MIX:
        latencies = np.array(results.latencies.get(operation, [0.0]))
        errors = len(results.errors.get(operation, []))
        count = len(results.latencies.get(operation, [])) + errors
        total += count
        goal = WRITE_GOAL_MS if operation in WRITES else READ_GOAL_MS
        p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
        met = p99 < goal and errors == 0 and count > 0
        all_met &= met
        table.add_row(
            operation,
            str(count),
            f"{count / elapsed:.1f}",
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"{p99:.1f}",
            str(errors),
            f"p99 < {goal:.0f} ms, 0 errors",
            "yes" if met else "NO",
        )
    table.add_row("all", str(total), f"{total / elapsed:.1f}", "", "", "", "", "", "yes" if all_met else "NO")
    console.print(table)
    for operation, messages in results.errors.items():
        console.print(f"  {operation}: {len(messages)} errors, e.g. {sorted(set(messages))[:3]}")
    if results.exhausted:
        console.print(f"  {results.exhausted} randomizations not sent: no waiting subject left at the site")
    return all_met


def verify(database_url: str, results: Results) -> bool:
    """No duplicate allocation, every acknowledged write present, the audit chain verifies."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            allocations = connection.execute(select(Allocation.subject_id, Allocation.slot_id)).all()
            present = set(connection.scalars(select(Subject.id).where(Subject.protocol_id == SCR)))
            allocated = {row.subject_id for row in allocations}
            subjects = connection.scalar(select(func.count(Subject.id)))
            chain = verify_chain(connection)
            deep = deep_verify(connection)
    finally:
        engine.dispose()
    checks = {
        "no subject allocated twice": len(allocated) == len(allocations),
        "no list slot used twice": len({row.slot_id for row in allocations}) == len(allocations),
        "every acknowledged randomization allocated": set(results.randomized) <= allocated,
        "every acknowledged screening present": set(results.screened) <= present,
        "audit chain verifies": chain.ok,
        "deep audit: replaying the trail rebuilds every audited row": deep.ok,
    }
    console.print(
        f"  after the run: {len(allocations)} allocations, {subjects} subjects, audit chain: {chain}"
    )
    for name, ok in checks.items():
        console.print(f"  {'ok ' if ok else 'FAILED'} {name}")
    return all(checks.values())


def run_backend(backend: str, clients: int, args: argparse.Namespace) -> bool:
    """Start the database and the server, prepare, drive, report and verify one backend."""
    with tempfile.TemporaryDirectory(prefix=f"trialdesk-load-{backend}-") as folder:
        data_dir = Path(folder)
        postgres = PostgresServer() if backend == "postgresql" else None
        if postgres is not None:
            postgres.start()
        try:
            url = postgres.create_database() if postgres else f"sqlite:///{data_dir / 'load.sqlite3'}"
            console.print(f"[bold]{backend}[/]: preparing the database ...")
            prepared = prepare(url, data_dir, waiting_subjects=args.waiting)
            server = AppServer(url, data_dir, workers=args.workers)
            server.start()
            try:
                results, elapsed = asyncio.run(
                    drive(server.url, clients, args.seconds, prepared, args.think_ms)
                )
            finally:
                server.stop()
            met = report(backend, clients, results, elapsed, args.think_ms)
            return verify(url, results) and met
        finally:
            if postgres is not None:
                postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0, help="duration per backend (default 20)")
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--pg-clients", type=int, default=50, help="concurrent clients on PostgreSQL")
    parser.add_argument("--sqlite-clients", type=int, default=10, help="concurrent clients on SQLite")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (default 2)")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=THINK_MS,
        help=f"mean pause of each user between requests, exponential (default {THINK_MS:.0f}; 0: saturation)",
    )
    parser.add_argument(
        "--waiting",
        type=int,
        default=WAITING_SUBJECTS,
        help=f"phase-IIb subjects waiting for randomization (default {WAITING_SUBJECTS})",
    )
    args = parser.parse_args()
    runs = [("postgresql", args.pg_clients), ("sqlite", args.sqlite_clients)]
    outcome = {
        backend: run_backend(backend, clients, args)
        for backend, clients in runs
        if args.backend in (backend, "both")
    }
    console.print("goals met: " + ", ".join(f"{b} {'yes' if ok else 'NO'}" for b, ok in outcome.items()))


if __name__ == "__main__":
    main()
