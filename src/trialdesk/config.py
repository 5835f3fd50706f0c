"""Application settings: one pydantic-settings class, environment prefix ``TRIALDESK_``.

``environment`` means something: outside ``development`` (``test``, ``production``) the settings
refuse, when they are read at start-up, what is only acceptable on a developer's machine
(:func:`unsafe_settings` lists the rules):

* a missing secret: a server database URL without a password (a Unix-socket URL authenticates by
  peer and needs none);
* data files or folders any user of the machine can read or write (the SQLite database, its WAL
  and shared-memory files, its folder and ``data_dir``), or a SQLite folder that does not exist yet
  (it would be created with the process umask);
* API documentation that loads its scripts from another origin (``docs_assets_url``): the Swagger
  UI and ReDoc assets are served from the installed package, so ``/docs`` works offline;
* in ``production``, the demonstration mode (``demo``: synthetic data, published passwords).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]
"""Where trialdesk runs; every value but ``development`` refuses unsafe settings."""

_OTHERS_RW = stat.S_IROTH | stat.S_IWOTH


class UnsafeSettings(RuntimeError):
    """Settings refused outside ``development``; the message lists every problem and its fix."""


def _default_data_dir() -> Path:
    return Path.cwd() / "data"


class Settings(BaseSettings):
    """Runtime configuration.

    Every value can be set through the environment, e.g. ``TRIALDESK_DATA_DIR=/srv/trialdesk``.
    Outside ``development`` unsafe values are refused (:class:`UnsafeSettings`).
    """

    model_config = SettingsConfigDict(env_prefix="TRIALDESK_", extra="ignore")

    environment: Environment = Field(
        default="development",
        description="development | test | production (outside development unsafe "
        "settings are refused at start-up)",
    )
    data_dir: Path = Field(default_factory=_default_data_dir, description="Where the SQLite file lives")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="PostgreSQL connections each server process keeps open (SQLAlchemy pool_size; 10 more "
        "may open in a burst). Writers queue on the audit chain holding a connection, so a small pool "
        "made reads wait for a connection, or for a new one to be opened, during write bursts",
    )
    protocol_dirs: list[Path] = Field(
        default_factory=list,
        description="Extra folders of protocol YAML files loaded beside the built-in ones",
    )
    token_ttl_minutes: int = Field(default=30, ge=1, le=720, description="Bearer token lifetime")
    host: str = "127.0.0.1"
    max_request_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        le=1_073_741_824,
        description="Largest request body accepted (bytes); larger ones are refused with 413",
    )
    login_lockout_attempts: int = Field(
        default=5, ge=1, le=100, description="Failed sign-ins of one username that lock it for a while"
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, le=1440, description="The lock-out window and duration (minutes)"
    )
    login_rate_per_minute: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Sign-in attempts one client address may make per minute (beyond it: 429)",
    )
    password_hash_cost: Literal["standard", "test"] = Field(
        default="standard",
        description="argon2id cost: 'standard' (argon2-cffi's defaults, 64 MiB, 3 passes) or 'test' (1 MiB, "
        "1 pass: for the test suite, which hashes thousands of passwords; refused in production)",
    )
    demo: bool = Field(
        default=False,
        description="Serve the demonstration database (synthetic data, its own file): every page shows "
        "'Demo data - not for clinical use' and the login page lists the demo accounts",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="HMAC key anchoring the audit chain (default data_dir/audit-key, created 0600 at "
        "set-up); keep a copy off the database server (docs/security.md, 'Audit-trail anchoring')",
    )
    audit_checkpoint_file: Path | None = Field(
        default=None,
        description="Append-only file of signed audit-chain heads (default data_dir/audit-checkpoints.jsonl)",
    )
    pg_bin_dir: Path | None = Field(
        default=None,
        description="Folder of pg_dump/pg_restore for `trialdesk backup`/`restore` on PostgreSQL (default: "
        "the newest /usr/lib/postgresql/*/bin, else PATH)",
    )
    port: int = 8000
    docs_assets_url: str | None = Field(
        default=None,
        description="Where /docs and /redoc load their scripts from; default: served from the package "
        "(works offline). Another origin (a CDN) is refused outside development",
    )

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: the configured one, or a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'trialdesk.sqlite3'}"

    @property
    def effective_audit_key_file(self) -> Path:
        """The audit-anchor key file in use (``audit_key_file`` or ``data_dir/audit-key``)."""
        return self.audit_key_file or self.data_dir / "audit-key"

    @property
    def effective_audit_checkpoint_file(self) -> Path:
        """The checkpoint file in use (``audit_checkpoint_file`` or ``data_dir/audit-checkpoints.jsonl``)."""
        return self.audit_checkpoint_file or self.data_dir / "audit-checkpoints.jsonl"

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment == "development":
            return self
        problems = unsafe_settings(self)
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise UnsafeSettings(
                f"trialdesk refuses to start with TRIALDESK_ENVIRONMENT={self.environment}:\n{listed}\n"
                "(TRIALDESK_ENVIRONMENT=development allows these on a developer's machine)"
            )
        return self


def unsafe_settings(settings: Settings) -> list[str]:
    """What in ``settings`` is unsafe outside development, one sentence with its fix per problem."""
    return [
        *_missing_secrets(settings),
        *_exposed_data(settings),
        *_docs_from_elsewhere(settings),
        *_demo_in_production(settings),
        *_cheap_hashes_in_production(settings),
    ]


def _cheap_hashes_in_production(settings: Settings) -> list[str]:
    if settings.password_hash_cost == "standard" or settings.environment != "production":
        return []
    return ["TRIALDESK_PASSWORD_HASH_COST=test hashes passwords cheaply (for the test suite only): unset it"]


def _demo_in_production(settings: Settings) -> list[str]:
    if not settings.demo or settings.environment != "production":
        return []
    return [
        "TRIALDESK_DEMO=1 serves the demonstration database (synthetic data, published passwords), "
        "never a production service: unset TRIALDESK_DEMO"
    ]


def _missing_secrets(settings: Settings) -> list[str]:
    from sqlalchemy.engine import make_url  # here, not at the top: the CLI starts without SQLAlchemy

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" or not url.host or url.password:
        return []
    return [
        f"TRIALDESK_DATABASE_URL names no password for {url.username or 'its user'}@{url.host}: "
        "give the database password in the URL"
    ]


def _sqlite_file(settings: Settings) -> Path | None:
    from sqlalchemy.engine import make_url

    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _exposed(path: Path, what: str) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & _OTHERS_RW:
        return None
    fix = "chmod 700" if path.is_dir() else "chmod 600"
    return f"{what} {path} can be read or written by every user of the machine (mode {mode:o}): {fix} {path}"


def _exposed_data(settings: Settings) -> list[str]:
    problems: list[str] = []
    folders: list[Path] = []
    files: list[Path] = []
    database = _sqlite_file(settings)
    if database is not None:
        if not database.parent.is_dir():
            problems.append(
                f"the database folder {database.parent} does not exist: create it readable by the "
                f"service user only (mkdir -m 700 {database.parent})"
            )
        else:
            folders.append(database.parent)
        files.extend(p for p in (database, Path(f"{database}-wal"), Path(f"{database}-shm")) if p.is_file())
    if settings.data_dir.is_dir():
        folders.append(settings.data_dir)
        files.extend(p for p in settings.data_dir.iterdir() if p.is_file())
    for folder in dict.fromkeys(p.resolve() for p in folders):
        problems.extend(filter(None, [_exposed(folder, "the data folder")]))
    for file in dict.fromkeys(p.resolve() for p in files):
        problems.extend(filter(None, [_exposed(file, "the data file")]))
    return problems


def _docs_from_elsewhere(settings: Settings) -> list[str]:
    url = settings.docs_assets_url
    if url is None or not (urlsplit(url).scheme or urlsplit(url).netloc):
        return []
    return [
        f"TRIALDESK_DOCS_ASSETS_URL={url} loads the API documentation's scripts from another origin: "
        "unset it (the assets are served from the package)"
    ]


def get_settings() -> Settings:
    """Read settings from the environment (a fresh read each call, so tests can override)."""
    return Settings()
