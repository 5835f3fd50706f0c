"""The page routers, one module per area (sign-in, home, screening, subject, safety, statistics,
monitor, admin); :func:`trialdesk.entrypoints.web.app.mount_web` includes them."""
