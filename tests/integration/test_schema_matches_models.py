"""The schema the Alembic migrations build is the schema the ORM models describe, on both backends.

A model changed without a migration (or a migration that drifts from its model) passes every test that
builds tables through the migrations yet fails in production in ways no other test sees: a missing
index is a slow query, a missing column an error on the first write, a nullable mismatch a silent
loss of a constraint. ``alembic.autogenerate.compare_metadata`` (the comparison ``alembic revision
--autogenerate`` makes) must therefore find nothing between a freshly upgraded database and
:data:`trialdesk.adapters.db.models.Base.metadata`, with column types and server defaults compared.

Nothing is ignored. Alembic's own ``alembic_version`` table is left out by ``compare_metadata``
itself; CHECK constraints are not compared by Alembic at all (its documented limitation), so they are
covered by the tests of the rules they enforce, not here.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, inspect

from trialdesk.adapters.db.models import Base


def _differences(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_migrated_schema_has_every_model_table(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    differences = _differences(engine)
    assert differences == [], "migrations and models differ:\n" + "\n".join(map(repr, differences))


def test_the_comparison_sees_a_model_column_no_migration_created(engine: Engine) -> None:
    """The check is not vacuous: a column added to (a copy of) the models is reported."""
    metadata = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["rt_fractions"].append_column(Column("not_migrated", Integer, nullable=True))
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d[0] for d in found] == ["add_column"]
    assert (found[0][2], found[0][3].name) == ("rt_fractions", "not_migrated")
