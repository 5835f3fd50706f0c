"""FastAPI application: JSON API routers (and, later, server-rendered pages)."""
