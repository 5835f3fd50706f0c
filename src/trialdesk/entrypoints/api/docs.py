"""The interactive API documentation (Swagger UI at ``/docs``, ReDoc at ``/redoc``), offline.

FastAPI's own pages load their scripts and styles from a CDN. Here the pages are FastAPI's
(:func:`fastapi.openapi.docs.get_swagger_ui_html`, :func:`~fastapi.openapi.docs.get_redoc_html`) and
the assets come from the installed ``fastapi-offline`` package (Swagger UI and ReDoc bundles, MIT and
Apache-2.0), mounted at :data:`ASSETS_PATH`; no page references another origin (no Google fonts).
``TRIALDESK_DOCS_ASSETS_URL`` may point elsewhere in development only (:mod:`trialdesk.config`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"
"""Where the packaged Swagger UI / ReDoc files are served."""
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def assets_directory() -> Path:
    """The folder of the packaged Swagger UI and ReDoc files."""
    return Path(str(files("fastapi_offline").joinpath("static")))


def mount_docs(app: FastAPI, assets_url: str | None = None) -> None:
    """Serve ``/docs`` and ``/redoc`` with assets from the package (or ``assets_url`` if given).

    The application must be built with ``docs_url=None, redoc_url=None``.
    """
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def base(request: Request) -> str:
        return (assets_url or f"{request.scope.get('root_path', '')}{ASSETS_PATH}").rstrip("/")

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{base(request)}/swagger-ui-bundle.js",
            swagger_css_url=f"{base(request)}/swagger-ui.css",
            swagger_favicon_url=f"{base(request)}/favicon.png",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_PATH}",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base(request)}/redoc.standalone.js",
            redoc_favicon_url=f"{base(request)}/favicon.png",
            with_google_fonts=False,
        )
