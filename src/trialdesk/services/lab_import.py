"""Bulk import of one subject's lab results (``trialdesk labs import``), too many for one API request.

The API accepts at most 5,000 results per request (the request guard's 1 MiB body limit); an import of
a laboratory system's history (100,000 results for one subject) goes through this path instead:

1. **Check everything first, write nothing.** In one read-only unit of work the importer's account
   (by its sign-in token), the subject (by screening number, on the importer's sites) and every row
   are checked with the same rules as the API (:func:`trialdesk.services.labs.lab_row`); any bad row
   refuses the whole import with every problem named by row and column (:class:`ImportRefused`).
2. **Write in bounded transactions.** The rows are stored in chunks of :data:`IMPORT_CHUNK_ROWS`, one
   short write unit of work each (one multi-row INSERT, audited row by row as every insert is). A
   write unit serializes with every other writer (SQLite ``BEGIN IMMEDIATE``; PostgreSQL the audit
   head lock), so one 100,000-row transaction would make every sign-in and every data entry of the
   trial wait for the whole import; a chunk holds the lock for a fraction of a second, and the other
   users' writes interleave. Each chunk re-reads the importer from the token (a deactivated account
   stops the import) and the subject (a death recorded meanwhile refuses later results).
3. **All or nothing, by compensation.** Every row was checked before the first chunk, so a chunk
   fails only for a reason outside the file (the account revoked, the subject died or moved, the
   disk full). Then the rows of the chunks already committed are deleted again, in bounded
   transactions, with the audited reason ``lab import aborted: ...``; the audit trail keeps both
   the inserts and their deletion. Only a crash of the importing process itself between two chunks
   leaves a partial import, visible as results with ``source = imported`` of that importer and minute.
4. **Grade after writing.** The CTCAE grade proposals of the imported rows are computed in a
   read-only unit of work, in O(n log n) (:func:`trialdesk.services.labs.proposals_for`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db import subjects as subject_repository
from trialdesk.adapters.db.engine import unit_of_work
from trialdesk.adapters.db.models import LabResultRow, Subject
from trialdesk.domain.protocol.model import Protocol
from trialdesk.domain.roles import Capability
from trialdesk.services import clock
from trialdesk.services.actors import Actor, actor_for, visible_subject
from trialdesk.services.auth import user_for_token
from trialdesk.services.errors import InvalidInput, NotFound, ServiceError
from trialdesk.services.labs import LabInput, grade_proposals, lab_row, record_results

IMPORT_CHUNK_ROWS = 1_000
"""Rows per write transaction: about 0.2-0.4 s of write lock on the (loaded) development machine."""
SQLITE_PAUSE_SECONDS = 0.12
"""Pause after each chunk on SQLite. SQLite has no queue of waiting writers: a connection waiting for
the write lock polls it with growing sleeps of up to 100 ms (its busy handler), so an importer that took
the lock again at once would starve every other writer until the import ended (measured: a sign-in
waited 8 s during a 20,000-row import). A pause longer than the longest poll lets every waiting
writer in between two chunks. PostgreSQL queues lock waiters in order and needs no pause."""
MAX_PROBLEMS = 50
"""Problems listed when an import is refused (the count of all is given too)."""

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stages ``checking``, ``storing``, ``grading`` (and ``undoing``)."""


class ImportRefused(InvalidInput):
    """The file has bad rows: nothing was written. ``problems`` names each (row and column)."""

    def __init__(self, problems: list[InvalidInput], bad_rows: int) -> None:
        first = problems[0]
        super().__init__(
            f"{bad_rows} bad row(s), nothing imported; first: {first.field}: {first.message}",
            field=first.field,
        )
        self.problems = problems
        self.bad_rows = bad_rows


@dataclass(frozen=True)
class ImportResult:
    """What an import stored and proposed."""

    subject_id: int
    screening_number: str
    stored: int
    transactions: int
    proposals: int
    by_grade: dict[int, int] = field(default_factory=dict)
    """CTCAE grade -> number of proposals (0: within the grade-1 limits)."""
    proposable: int = 0
    """Proposals of grade >= 1 not yet confirmed (for an investigator to review)."""


def _actor(session: Session, token: str) -> Actor:
    actor = actor_for(session, user_for_token(session, token))
    actor.require(Capability.ENTER_DATA)
    return actor


def _subject(session: Session, actor: Actor, protocol: Protocol, screening_number: str) -> Subject:
    found = subject_repository.find_by_screening_number(session, protocol.id, screening_number)
    if found is None:
        raise NotFound(f"no subject with screening number '{screening_number}' in {protocol.id}")
    return visible_subject(session, actor, found.id, protocol_id=protocol.id)


def check_rows(
    subject: Subject, actor: Actor, items: Sequence[LabInput], label: Callable[[int], str], progress: Progress
) -> None:
    """Check every row as the API would (nothing is written); :class:`ImportRefused` listing the first
    :data:`MAX_PROBLEMS` problems when any row is bad."""
    if not items:
        raise InvalidInput("the file has no lab results", field="file")
    problems: list[InvalidInput] = []
    bad = 0
    now = clock.now()
    for index, item in enumerate(items):
        try:
            lab_row(subject, actor, item, label(index), source="imported", now=now)
        except InvalidInput as exc:
            bad += 1
            if len(problems) < MAX_PROBLEMS:
                problems.append(exc)
        if index % IMPORT_CHUNK_ROWS == 0:
            progress("checking", index, len(items))
    progress("checking", len(items), len(items))
    if problems:
        raise ImportRefused(problems, bad)


def _store_chunks(
    engine: Engine,
    token: str,
    protocol: Protocol,
    subject_id: int,
    chunks: list[range],
    items: Sequence[LabInput],
    label: Callable[[int], str],
    progress: Progress,
) -> list[int]:
    """Store the chunks, one write unit of work each; the ids stored (undone on failure)."""
    ids: list[int] = []
    total = len(items)
    try:
        for chunk in chunks:
            with unit_of_work(engine, None) as session:
                actor = _actor(session, token)
                session.info["actor"] = actor.username

                def at(index: int, start: int = chunk.start) -> str:
                    return label(start + index)

                rows = record_results(
                    session,
                    actor,
                    protocol,
                    subject_id,
                    list(items[chunk.start : chunk.stop]),
                    source="imported",
                    label=at,
                )
                chunk_ids = [row.id for row in rows]
            ids.extend(chunk_ids)
            progress("storing", chunk.stop, total)
            if engine.dialect.name == "sqlite" and chunk.stop < total:
                time.sleep(SQLITE_PAUSE_SECONDS)
    except ServiceError as exc:
        _undo(
            engine,
            token,
            ids,
            f"lab import aborted after {len(ids)} of {total} rows: {exc.message}",
            progress,
        )
        raise
    return ids


def _undo(engine: Engine, token: str, ids: list[int], reason: str, progress: Progress) -> None:
    """Delete the rows of the chunks already committed, in bounded transactions, audited with
    ``reason`` (the compensation that makes the import all or nothing)."""
    for start in range(0, len(ids), IMPORT_CHUNK_ROWS):
        part = ids[start : start + IMPORT_CHUNK_ROWS]
        with unit_of_work(engine, None, reason=reason) as session:
            session.info["actor"] = actor_for(session, user_for_token(session, token)).username
            for row in session.scalars(select(LabResultRow).where(LabResultRow.id.in_(part))):
                session.delete(row)
        progress("undoing", start + len(part), len(ids))


def import_results(
    engine: Engine,
    token: str,
    protocol: Protocol,
    screening_number: str,
    items: Sequence[LabInput],
    *,
    label: Callable[[int], str] = lambda index: f"results[{index}]",
    chunk_rows: int = IMPORT_CHUNK_ROWS,
    progress: Progress = lambda _stage, _done, _total: None,
) -> ImportResult:
    """Check, store (bounded transactions, all or nothing) and grade one subject's results; ``token``
    is the importer's sign-in token (:func:`trialdesk.services.auth.login`), ``label(i)`` names row
    ``i`` in errors (the CLI: ``row N`` of the file)."""
    with unit_of_work(engine, None, write=False) as session:
        actor = _actor(session, token)
        subject = _subject(session, actor, protocol, screening_number)
        check_rows(subject, actor, items, label, progress)
    chunks = [range(s, min(s + chunk_rows, len(items))) for s in range(0, len(items), chunk_rows)]
    ids = _store_chunks(engine, token, protocol, subject.id, chunks, items, label, progress)
    with unit_of_work(engine, None, write=False) as session:
        progress("grading", 0, len(ids))
        proposals = grade_proposals(session, _actor(session, token), protocol, subject.id, only=set(ids))
        progress("grading", len(ids), len(ids))
    grades = Counter(p.grade.grade for p in proposals if p.grade.grade is not None)
    return ImportResult(
        subject_id=subject.id,
        screening_number=screening_number,
        stored=len(ids),
        transactions=len(chunks),
        proposals=len(proposals),
        by_grade=dict(sorted(grades.items())),
        proposable=sum(p.proposable for p in proposals),
    )
