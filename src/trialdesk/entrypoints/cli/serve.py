"""``trialdesk serve``: start the web application (FastAPI under uvicorn)."""

from __future__ import annotations

import typer
import uvicorn

from trialdesk.config import get_settings


def serve_command(
    host: str = typer.Option(None, help="Interface to bind (default from TRIALDESK_HOST, 127.0.0.1)"),
    port: int = typer.Option(None, help="TCP port (default from TRIALDESK_PORT, 8000)"),
) -> None:
    """Start the trialdesk web application and API (OpenAPI docs at /docs)."""
    settings = get_settings()
    uvicorn.run(
        "trialdesk.entrypoints.api.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )
