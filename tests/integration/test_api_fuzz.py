"""Schemathesis over every operation of the live API (SQLite), with a token of each role.

The OpenAPI document is loaded from the running application (``/openapi.json`` of the ASGI app built on
a fresh SQLite database with sites, one user per role and a few real subjects); every operation then
receives generated requests, valid and invalid (schemathesis' positive and negative modes), signed in
as each role in turn. Each response must:

* never be a server error (5xx);
* carry a status code the operation documents (the shared 401/403/404/409/422 error bodies of
  ``entrypoints/api/error_docs.py`` plus each route's own);
* carry a documented media type (``application/json``; ``application/pdf`` for the reports) and a body
  matching the documented schema;
* refuse the request without credentials (401) where the operation declares the bearer scheme
  (schemathesis' ``ignored_auth`` check re-sends the case with the credentials removed).

Bounded: :data:`EXAMPLES` generated cases per operation (hypothesis derandomized, so every run sends the
same requests), drawn once and sent with each role's token, in process (no sockets). In about half the
cases the generated path parameters are replaced by ids that exist (the two trials, an enrolled subject
and an adverse event of each), so the requests reach the services behind the 404s; the accounts the
tokens belong to are never the target of the admin's user operations (a deactivated account would
silently turn the other roles' runs into 401s).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.api_helpers import PASSWORD, ROLES_AT_SITE, Api, build_api
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.services import admin

EXAMPLES = 10
"""Generated cases per operation, each sent with every role's token (991 requests per role)."""
REPORT_EXAMPLES = 3
"""Generated cases of the two report operations (a PDF takes about a second to typeset)."""
REQUEST_TIMEOUT = 120
"""Seconds per request (a report on a loaded 2-core machine takes longer than schemathesis' 10 s)."""
MIN_REACHED = 8
"""Operations that must answer 2xx at least once per role (the tokens work, the ids exist)."""

USER_OF_ROLE = {
    "coordinator": "coord1",
    "investigator": "inv1",
    "statistician": "stat",
    "safety_reviewer": "safety",
    "monitor": "monitor",
    "admin": "admin",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]


@dataclass
class Target:
    """The live application and the records the generated requests may point at."""

    api: Api
    known: list[dict[str, Any]]
    """Path parameters of records that exist (one dict per trial)."""
    protected_user_ids: set[int]
    victim_user_id: int
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    """Status codes answered per "role operation" (what the generated requests reached)."""


def _prime(api: Api) -> list[dict[str, Any]]:
    """Two enrolled subjects per trial and an adverse event on the first: ids the requests can reach."""
    known = []
    for protocol_id in ("ivo-shfrt-2l", "scr-escc-01"):
        subject_ids = [api.enrolled_subject(protocol_id, f"FUZZ-{n}") for n in range(2)]
        ae = api.ae(protocol_id, subject_ids[0], 2, related=True)
        assert ae.status_code == 201, ae.text
        known.append(
            {
                "protocol_id": protocol_id,
                "subject_id": subject_ids[0],
                "ae_id": ae.json()["adverse_event"]["id"],
                "visit": "baseline",
                "visit_id": "baseline",
                "intervention": "ldrt",
                "lab_result_id": 1,
                "alert_id": 1,
            }
        )
    return known


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """The application on a fresh SQLite database, primed, with a token of each role."""
    folder: Path = tmp_path_factory.mktemp("fuzz")
    api = build_api(f"sqlite:///{folder / 'fuzz.sqlite3'}", folder)
    with api.client:
        known = _prime(api)
        with unit_of_work(api.client.app.state.engine, "bootstrap") as session:  # type: ignore[attr-defined]
            victim = admin.add_user(
                session,
                None,
                username="victim",
                full_name="Victim",
                role="monitor",
                password=PASSWORD,
                site_ids=[],
            )
            victim_id = victim.id
        users = api.get("admin", "/api/users").json()
        protected = {u["id"] for u in users if u["username"] in ROLES_AT_SITE}
        for user in USER_OF_ROLE.values():
            api.headers(user)
        yield Target(api, known, protected, victim_id)
    api.client.app.state.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def live_schema(target: Target) -> Any:
    """The OpenAPI document as the live application serves it."""
    return schemathesis.openapi.from_asgi("/openapi.json", target.api.client.app)


@dataclass(frozen=True)
class Drawn:
    """One generated request: the case, its path parameters as generated and the ids to put in them."""

    case: Any
    path_parameters: dict[str, Any] | None
    ids: dict[str, Any] | None


@dataclass(frozen=True)
class Generated:
    """The requests generated for one operation (or why they could not be)."""

    operation: Any
    drawn: list[Drawn]
    error: str | None = None


def _generate(operation: Any, known: list[dict[str, Any]]) -> list[Drawn]:
    """Hypothesis over one operation: positive and negative cases, half of them on existing records.

    Derandomized, so the cases depend on nothing but the operation: they are drawn once and sent with
    every role's token (drawing them took about half of the fuzz's time when done once per role).
    """
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )
    drawn: list[Drawn] = []

    @given(case=cases, ids=st.none() | st.sampled_from(known))
    @settings(
        max_examples=REPORT_EXAMPLES if operation.path.endswith("report") else EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Any, ids: dict[str, Any] | None) -> None:
        parameters = None if case.path_parameters is None else dict(case.path_parameters)
        drawn.append(Drawn(case, parameters, ids))

    collect()
    return drawn


@pytest.fixture(scope="module")
def generated(live_schema: Any, target: Target) -> list[Generated]:
    """Every operation's generated requests, drawn once for all roles."""
    out = []
    for result in live_schema.get_all_operations():
        operation = result.ok()
        try:
            out.append(Generated(operation, _generate(operation, target.known)))
        except Exception as exc:  # reported by every role's test, naming the operation
            out.append(Generated(operation, [], f"cases could not be generated: {exc}"))
    return out


def _send(drawn: Drawn, target: Target, role: str) -> None:
    """Point the case at existing records when it has ids, then call and check it."""
    case = drawn.case
    if drawn.path_parameters is not None:
        case.path_parameters = dict(drawn.path_parameters)  # as generated: another role changed them
        if drawn.ids is not None:
            case.path_parameters.update({k: v for k, v in drawn.ids.items() if k in case.path_parameters})
        if case.path_parameters.get("user_id") in target.protected_user_ids:
            case.path_parameters["user_id"] = target.victim_user_id
    headers = target.api.headers(USER_OF_ROLE[role])
    response = case.call_and_validate(headers=headers, checks=CHECKS, timeout=REQUEST_TIMEOUT)
    target.statuses[f"{role} {case.operation.label}"][response.status_code] += 1


@pytest.mark.parametrize("role", sorted(USER_OF_ROLE))
def test_every_operation_answers_as_documented(role: str, target: Target, generated: list[Generated]) -> None:
    """Every operation, with this role's token: no 5xx, documented status, media type and body."""
    failures = []
    for item in generated:
        label = item.operation.label
        if item.error is not None:
            failures.append(f"{label}: {item.error}")
        for drawn in item.drawn:
            try:
                _send(drawn, target, role)
            except (Exception, FailureGroup) as exc:  # one operation's failure must not hide the others'
                failures.append(f"{label} as {role}: " + "\n".join(str(exc).splitlines()[:40]))
                break  # the first failure of an operation is enough to read
    assert not failures, "\n\n".join(failures)
    operations = len(generated)
    answered = {label: codes for label, codes in target.statuses.items() if label.startswith(f"{role} ")}
    reached = [label for label, codes in answered.items() if any(200 <= code < 300 for code in codes)]
    assert len(answered) == operations, f"{operations - len(answered)} operations never answered"
    assert len(reached) >= MIN_REACHED, f"only {reached} answered 2xx: the fuzz stopped at the door"
    refused_token = [label for label, codes in answered.items() if 401 in codes]
    assert set(refused_token) <= {f"{role} POST /api/auth/token", f"{role} POST /api/auth/password"}


pytestmark = pytest.mark.slow
