"""Data queries and source data verification in the ODM copy, as ODM 1.3.2 ``Annotation`` elements
(docs/odm.md).

ODM 1.3.2 has no element for a query thread or an SDV mark; its ``Annotation`` (a ``Comment`` said by
the sponsor's side or the site's, and coded ``Flag`` s) is the place the standard gives to remarks on
data. Each message of a query's thread is one annotation on the value questioned:

* ``ID`` ``Q.<query id>.<n>`` (the n-th message of the thread), so a reader can put a thread together;
* ``Comment``: ``<UTC time> <author> <kind>: <text>``, said by the ``Site`` (an answer) or the
  ``Sponsor`` (the question, a closing, re-opening or cancelling note; an edit check's too);
* two flags: the message's kind (``CL.TD.QUERY_MESSAGE``) and the query's status after it
  (``CL.TD.QUERY_STATUS``), typed ``QUERY_MESSAGE`` and ``QUERY_STATUS`` (``CL.TD.FLAG_TYPE``).

A value whose source data verification holds (verified, and unchanged since) carries one annotation,
``ID`` ``SDV.<table>.<record>.<field>``, with the monitor and the moment in its comment and the flag
``VERIFIED`` (``CL.TD.SDV_STATUS``) typed ``SDV``.

An annotation sits on the ``ItemData`` of the value it is about (its current value, in a copy with
the audit trail), on the ``ItemGroupData`` of a record questioned as a whole (or whose field the copy
does not carry), and on the ``SubjectData`` when the copy carries no record for it (a visit record).
A copy as of a past day carries the queries and messages made by then, each with the status it had
then, and the SDV marks made by then on values whose rows have had no audited change since the marking
(so the value verified is the value of that day; a mark on a row changed since is left out, even where
the change was undone).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.audit import as_utc
from trialdesk.adapters.db.models import DataQuery, FormValue, QueryMessage
from trialdesk.adapters.odm import model
from trialdesk.domain.queries import ANSWER_WITH_CHANGE, QUESTION, QueryMove, QueryStatus, status_after
from trialdesk.services.sdv import SdvItem

FLAG_TYPES = "CL.TD.FLAG_TYPE"
QUERY_STATUSES = "CL.TD.QUERY_STATUS"
QUERY_MESSAGES = "CL.TD.QUERY_MESSAGE"
SDV_STATUSES = "CL.TD.SDV_STATUS"

CODELISTS: tuple[model.CodeList, ...] = (
    model.CodeList(
        FLAG_TYPES,
        "Annotation flag type",
        (
            ("QUERY_MESSAGE", "Kind of a data query's message"),
            ("QUERY_STATUS", "Status of a data query after the message"),
            ("SDV", "Source data verification"),
        ),
    ),
    model.CodeList(
        QUERY_STATUSES,
        "Data query status",
        tuple((status.value, status.value) for status in QueryStatus),
    ),
    model.CodeList(
        QUERY_MESSAGES,
        "Data query message kind",
        (
            (QUESTION, "question raised"),
            *((move.value, move.value) for move in QueryMove),
            (ANSWER_WITH_CHANGE, "answer saying the data were changed"),
        ),
    ),
    model.CodeList(SDV_STATUSES, "Source data verification status", (("VERIFIED", "verified"),)),
)
"""The code lists the annotations' flags use, written into the study metadata."""

SITE_KINDS = frozenset({QueryMove.ANSWER.value, ANSWER_WITH_CHANGE})
"""Message kinds the site says (every other message comes from the sponsor's side)."""

Target = tuple[str, str, str | None]
"""(table, record id, field or None for the whole record) of a query or an SDV mark, with a query on
a saved form value named by its form record and field."""


@dataclass
class SubjectAnnotations:
    """The annotations of one subject's data by target, taken as the document is built; what no
    element took is left for the ``SubjectData``."""

    by_target: dict[Target, list[model.Annotation]] = field(default_factory=lambda: defaultdict(list))

    def item(self, table: str, record_id: str, field_name: str) -> tuple[model.Annotation, ...]:
        """Take the annotations of one value."""
        return _numbered(self.by_target.pop((table, record_id, field_name), []))

    def record(self, table: str, record_id: str) -> tuple[model.Annotation, ...]:
        """Take every annotation of a record not taken by one of its values."""
        keys = [key for key in self.by_target if key[0] == table and key[1] == record_id]
        return _numbered([a for key in sorted(keys, key=_order) for a in self.by_target.pop(key)])

    def rest(self) -> tuple[model.Annotation, ...]:
        """Take whatever is left (data the document does not carry)."""
        keys = sorted(self.by_target, key=_order)
        return _numbered([a for key in keys for a in self.by_target.pop(key)])


def _order(key: Target) -> tuple[str, str, str]:
    return (key[0], key[1], key[2] or "")


def _numbered(annotations: list[model.Annotation]) -> tuple[model.Annotation, ...]:
    """``SeqNum`` 1, 2, ... within the element the annotations sit on."""
    return tuple(dataclasses.replace(a, seq=n) for n, a in enumerate(annotations, start=1))


_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 cannot carry."""


def xml_safe(text: str) -> str:
    """``text`` with each character XML 1.0 cannot carry written as ``\\uXXXX``: a message stored
    before such characters were refused still reaches the copy, visibly, instead of failing it."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _utc(moment: dt.datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def marks_held(
    items: list[SdvItem],
    as_of: dt.datetime | None,
    last_change: dict[tuple[str, str], dt.datetime],
    value_rows: dict[tuple[str, str], str],
) -> list[SdvItem]:
    """The planned SDV items whose verification holds now (``as_of`` None), or held at ``as_of``: made
    by then, on a row with no audited change since (``last_change``: (table, row id) -> its latest
    audited change; ``value_rows``: (form record id, field) -> the id of its saved value's row)."""
    held = []
    for item in items:
        if item.state != "verified" or item.verified_at is None:
            continue
        if as_of is not None:
            verified_at = as_utc(item.verified_at)
            row = (
                ("form_values", value_rows.get((item.record_id, item.field), ""))
                if item.table == "form_records"
                else (item.table, item.record_id)
            )
            changed = last_change.get(row)
            if verified_at > as_of or (changed is not None and changed > verified_at):
                continue
        held.append(item)
    return held


def subject_annotations(
    session: Session, subject_id: int, verified: list[SdvItem], as_of: dt.datetime | None
) -> SubjectAnnotations:
    """The annotations of one subject: its queries' messages (made by ``as_of`` when given) and its
    verified values (``verified``: the marks that hold, :func:`marks_held`)."""
    found = SubjectAnnotations()
    _add_queries(session, subject_id, as_of, found)
    for item in verified:
        if item.verified_at is None:  # marks_held keeps verified items only
            continue
        found.by_target[(item.table, item.record_id, item.field)].append(
            model.Annotation(
                0,
                f"SDV.{item.table}.{item.record_id}.{item.field}",
                f"{_utc(item.verified_at)} {item.verified_by} verified the source data",
                "Sponsor",
                (model.Flag("VERIFIED", SDV_STATUSES, "SDV", FLAG_TYPES),),
            )
        )
    return found


def _add_queries(
    session: Session, subject_id: int, as_of: dt.datetime | None, found: SubjectAnnotations
) -> None:
    queries = list(
        session.scalars(select(DataQuery).where(DataQuery.subject_id == subject_id).order_by(DataQuery.id))
    )
    if not queries:
        return
    thread: dict[int, list[QueryMessage]] = defaultdict(list)
    for message in session.scalars(
        select(QueryMessage)
        .where(QueryMessage.query_id.in_([q.id for q in queries]))
        .order_by(QueryMessage.id)
    ):
        if as_of is None or as_utc(message.at) <= as_of:
            thread[message.query_id].append(message)
    on_values = [int(q.target_id) for q in queries if q.target_table == "form_values"]
    form_value_records = (
        dict(
            session.execute(select(FormValue.id, FormValue.record_id).where(FormValue.id.in_(on_values)))
            .tuples()
            .all()
        )
        if on_values
        else {}
    )
    for query in queries:
        messages = thread.get(query.id, [])
        if not messages:
            continue  # raised after the copy's day
        target: Target = (query.target_table, query.target_id, query.field)
        if query.target_table == "form_values":  # a saved value: named by its form record and field
            record_id = form_value_records.get(int(query.target_id))
            if record_id is not None:
                target = ("form_records", str(record_id), query.field)
        for n, message in enumerate(messages, start=1):
            found.by_target[target].append(
                model.Annotation(
                    0,
                    f"Q.{query.id}.{n}",
                    xml_safe(f"{_utc(message.at)} {message.author} {message.kind}: {message.text}"),
                    "Site" if message.kind in SITE_KINDS else "Sponsor",
                    (
                        model.Flag(message.kind, QUERY_MESSAGES, "QUERY_MESSAGE", FLAG_TYPES),
                        model.Flag(
                            status_after(message.kind).value, QUERY_STATUSES, "QUERY_STATUS", FLAG_TYPES
                        ),
                    ),
                )
            )


__all__ = ["CODELISTS", "SubjectAnnotations", "marks_held", "subject_annotations", "xml_safe"]
