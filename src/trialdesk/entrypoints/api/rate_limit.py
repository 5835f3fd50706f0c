"""Per-client rate limit of sign-in attempts (a moving window, in memory, per application process).

The ``limits`` library (the engine of Flask-Limiter and SlowAPI) keeps the window; the client key is
the peer address the server sees (behind a reverse proxy, configure the proxy to rate-limit as well).
Beyond ``login_rate_per_minute`` attempts in any 60 s, a sign-in is refused with 429 and
``Retry-After`` before any password is checked or anything is written.
"""

from __future__ import annotations

import math
import time

from fastapi import Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from trialdesk.entrypoints.api.deps import settings_of
from trialdesk.services.errors import TooManyAttempts

_NAMESPACE = "login"


def client_address(request: Request) -> str:
    """The peer address of the request (``unknown`` when the server does not know it)."""
    return request.client.host if request.client else "unknown"


def _limiter(request: Request) -> MovingWindowRateLimiter:
    state = request.app.state
    if not hasattr(state, "login_limiter"):
        state.login_limiter = MovingWindowRateLimiter(MemoryStorage())
    limiter: MovingWindowRateLimiter = state.login_limiter
    return limiter


def check_login_rate(request: Request) -> None:
    """Count one sign-in attempt of the request's client; :class:`TooManyAttempts` beyond the limit."""
    rate = RateLimitItemPerMinute(settings_of(request).login_rate_per_minute)
    limiter, client = _limiter(request), client_address(request)
    if limiter.hit(rate, _NAMESPACE, client):
        return
    stats = limiter.get_window_stats(rate, _NAMESPACE, client)
    wait = max(1, math.ceil(stats.reset_time - time.time()))
    raise TooManyAttempts(
        f"too many sign-in attempts from this address: try again in {wait} s", wait, rule="login_rate_limit"
    )
