"""Built-in protocol files (YAML) and the loader that validates them into the domain model."""

from trialdesk.protocols.loader import (
    ProtocolFileError,
    ProtocolRegistry,
    builtin_protocol_dir,
    load_protocol_file,
    load_registry,
)

__all__ = [
    "ProtocolFileError",
    "ProtocolRegistry",
    "builtin_protocol_dir",
    "load_protocol_file",
    "load_registry",
]
