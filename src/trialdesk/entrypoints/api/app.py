"""The FastAPI application factory.

``create_app`` loads the protocol registry once at start-up and refuses to start when a protocol
file does not validate (a start-up self-check, as clinical systems should).
"""

from __future__ import annotations

from fastapi import FastAPI

from trialdesk import __version__
from trialdesk.config import Settings, get_settings
from trialdesk.entrypoints.api import protocols
from trialdesk.protocols import load_registry


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application with its routers; state holds the settings and protocol registry."""
    settings = settings or get_settings()
    app = FastAPI(
        title="trialdesk",
        version=__version__,
        description="Run oncology clinical trials from protocol to final analysis.",
    )
    app.state.settings = settings
    app.state.registry = load_registry(settings.protocol_dirs)

    @app.get("/health", tags=["system"])
    def health() -> dict[str, object]:
        """Liveness and what is loaded."""
        return {"status": "ok", "version": __version__, "protocols": [p.id for p in app.state.registry]}

    app.include_router(protocols.router)
    return app
