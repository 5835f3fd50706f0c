"""entrypoints layer (see docs/architecture.md)."""
