"""What a freeze or lock covers (issue 14), pure rules of :mod:`trialdesk.domain.data_locks`.

Reference: ICH E6(R3) (2025) 4.2 and 21 CFR 11.10(d)/(e): once data are locked no change is possible
without a controlled, attributable unlock; a freeze stops entry only (queries, SDV and sign-off move).
"""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.domain.data_locks import DataLocked, LockScope, RowFacts, covers, refuse_if_covered

P = "ivo-shfrt-2l"


def _lock(scope: str, kind: str = "lock", **kw: object) -> LockScope:
    values = {"subject_id": None, "form_record_id": None, "cutoff_date": None, **kw}
    return LockScope(7, P, scope, kind, **values)  # type: ignore[arg-type]


def _row(table: str = "adverse_events", **kw: object) -> RowFacts:
    values = {
        "protocol_id": P,
        "subject_id": 1,
        "form_record_id": None,
        "row_date": dt.date(2026, 5, 1),
        **kw,
    }
    return RowFacts(table, **values)  # type: ignore[arg-type]


def test_scopes() -> None:
    assert covers(_lock("database"), _row()) and not covers(_lock("database"), _row(protocol_id="other"))
    assert covers(_lock("subject", subject_id=1), _row()) and not covers(
        _lock("subject", subject_id=2), _row()
    )
    record = _lock("form_record", form_record_id=5)
    assert covers(record, _row("form_values", form_record_id=5)) and not covers(record, _row())
    cut = _lock("cutoff", cutoff_date=dt.date(2026, 5, 1))
    assert covers(cut, _row()) and not covers(cut, _row(row_date=dt.date(2026, 5, 2)))


def test_exempt_and_data_management_rows() -> None:
    assert not covers(_lock("database"), _row("data_locks"))
    assert not covers(_lock("subject", "freeze", subject_id=1), _row("sdv_marks"))
    assert covers(_lock("subject", "lock", subject_id=1), _row("sdv_marks"))


def test_refusal_names_the_lock() -> None:
    with pytest.raises(DataLocked, match="lock #7") as caught:
        refuse_if_covered([_lock("database")], _row())
    assert caught.value.rule == "data_locked"
    refuse_if_covered([_lock("database")], _row(protocol_id="other"))  # no error
