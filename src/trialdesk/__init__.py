"""trialdesk: run oncology clinical trials from protocol to final analysis."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trialdesk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
