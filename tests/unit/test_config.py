"""Settings refuse unsafe values outside development (config.py) and accept them in development."""

from __future__ import annotations

from pathlib import Path

import pytest

from trialdesk.config import Settings, UnsafeSettings


def _private_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    return folder


def test_safe_production_settings_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIALDESK_PASSWORD_HASH_COST", raising=False)  # the suite's cheap hashing
    folder = _private_dir(tmp_path)
    database = folder / "trialdesk.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o600)
    settings = Settings(environment="production", data_dir=folder)
    assert settings.environment == "production"
    pg = Settings(environment="production", data_dir=folder, database_url="postgresql://td:s3cret@db/td")
    assert pg.database_url is not None
    socket = Settings(environment="production", data_dir=folder, database_url="postgresql:///td")
    assert socket.database_url is not None


def test_server_database_without_password_is_refused(tmp_path: Path) -> None:
    folder = _private_dir(tmp_path)
    with pytest.raises(UnsafeSettings, match=r"TRIALDESK_DATABASE_URL names no password for td@db"):
        Settings(environment="production", data_dir=folder, database_url="postgresql://td@db/td")


def test_world_readable_data_folder_and_file_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    database = folder / "trialdesk.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    with pytest.raises(UnsafeSettings) as refused:
        Settings(environment="test", data_dir=folder)
    message = str(refused.value)
    assert f"the data folder {folder.resolve()} can be read or written by every user" in message
    assert f"chmod 700 {folder.resolve()}" in message
    assert f"the data file {database.resolve()} can be read or written by every user" in message
    assert "TRIALDESK_ENVIRONMENT=test" in message


def test_missing_database_folder_is_refused_rather_than_created_with_the_umask(tmp_path: Path) -> None:
    with pytest.raises(UnsafeSettings, match="does not exist: create it readable by the service user only"):
        Settings(environment="production", data_dir=tmp_path / "absent")


def test_documentation_from_a_cdn_is_refused(tmp_path: Path) -> None:
    folder = _private_dir(tmp_path)
    with pytest.raises(UnsafeSettings, match="loads the API documentation's scripts from another origin"):
        Settings(
            environment="production",
            data_dir=folder,
            docs_assets_url="https://cdn.example/swagger-ui-dist@5",
        )


def test_development_allows_all_of_it(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    settings = Settings(
        data_dir=folder,
        database_url="postgresql://td@db/td",
        docs_assets_url="https://cdn.example/swagger-ui-dist@5",
    )
    assert settings.environment == "development"


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="environment"):
        Settings(environment="staging")  # type: ignore[arg-type]
