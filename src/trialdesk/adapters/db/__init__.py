"""Persistence: SQLAlchemy 2 models, engine/session set-up, the audit chain and Alembic migrations."""
