"""Application settings: one pydantic-settings class, environment prefix ``TRIALDESK_``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.cwd() / "data"


class Settings(BaseSettings):
    """Runtime configuration.

    Every value can be set through the environment, e.g. ``TRIALDESK_DATA_DIR=/srv/trialdesk``.
    """

    model_config = SettingsConfigDict(env_prefix="TRIALDESK_", extra="ignore")

    environment: str = Field(default="development", description="development | test | production")
    data_dir: Path = Field(default_factory=_default_data_dir, description="Where the SQLite file lives")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    protocol_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra folders of protocol YAML files loaded beside the built-in ones",
    )
    token_ttl_minutes: int = Field(default=30, ge=1, le=720, description="Bearer token lifetime")
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one, or a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trialdesk.sqlite3'}"


def get_settings() -> Settings:
    """Read settings from the environment (a fresh read each call, so tests can override)."""
    return Settings()
