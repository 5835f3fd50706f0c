"""trialdesk: run oncology clinical trials from protocol to final analysis."""

from __future__ import annotations

__all__ = ["__version__"]

__version__: str
"""The installed distribution's version, read on first access (PEP 562 ``__getattr__``): reading the
package metadata costs tens of milliseconds that ``trialdesk --help`` should not pay (issue 17)."""


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module 'trialdesk' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    global __version__
    try:
        __version__ = version("trialdesk")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        __version__ = "0.0.0+unknown"
    return __version__
