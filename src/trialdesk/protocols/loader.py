"""Load and validate protocol YAML files into :class:`~trialdesk.domain.protocol.Protocol`.

Errors name the file, the path inside the file (``design.phases[1].allocation.ratio``) and what is
wrong, so a protocol author can fix the file without reading code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from trialdesk.domain.protocol import Protocol


@dataclass(frozen=True)
class ProtocolIssue:
    """One problem in a protocol file: where (path inside the file) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ProtocolFileError(Exception):
    """A protocol file could not be read or does not validate."""

    def __init__(self, file: Path | str, issues: list[ProtocolIssue]):
        self.file = str(file)
        self.issues = issues
        lines = "\n".join(f"  - {issue}" for issue in issues)
        super().__init__(f"{self.file}: invalid protocol file ({len(issues)} problem(s)):\n{lines}")


def builtin_protocol_dir() -> Path:
    """The folder of protocol files shipped with the package."""
    return Path(__file__).resolve().parent


def _location(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as a readable path, dropping union-tag noise."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or part.startswith("function-"):
            continue  # pydantic's internal union/generic tags, e.g. 'Parameter[int]'
        else:
            out += f".{part}" if out else part
    return out


FORMS_SUFFIX = ".forms.yaml"
"""A file of case report forms named by a protocol's ``forms_file`` (not a protocol of its own)."""

CHECKS_SUFFIX = ".checks.yaml"
"""A file of edit checks named by a protocol's ``checks_file`` (not a protocol of its own)."""

TRANSLATIONS_SUFFIX = ".translations.yaml"
"""A file of display texts in other languages named by a protocol's ``translations_file``."""


def parse_protocol(data: Any, file: Path | str = "<data>") -> Protocol:
    """Validate already-parsed YAML/JSON data as a protocol (a ``forms_file``, ``checks_file`` or
    ``translations_file`` is read beside ``file``)."""
    if not isinstance(data, dict):
        raise ProtocolFileError(file, [ProtocolIssue("", "the file must hold a mapping at the top level")])
    if "forms_file" in data:
        data = _with_included_file(data, Path(file), "forms_file", "forms", "forms", FORMS_SUFFIX)
    if "checks_file" in data:
        data = _with_included_file(data, Path(file), "checks_file", "checks", "rules", CHECKS_SUFFIX)
    if "translations_file" in data:
        data = _with_included_file(
            data, Path(file), "translations_file", "translations", "translations", TRANSLATIONS_SUFFIX, dict
        )
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        issues = [
            ProtocolIssue(_location(tuple(err["loc"])), _message(err))
            for err in exc.errors(include_url=False)
        ]
        raise ProtocolFileError(file, issues) from None


def _with_included_file(
    data: dict[str, Any],
    file: Path,
    file_key: str,
    target: str,
    list_key: str,
    suffix: str,
    kind: type[list[Any]] | type[dict[str, Any]] = list,
) -> dict[str, Any]:
    """``data`` with ``target`` read from the ``list_key`` entry (a list, or a mapping when ``kind`` is
    ``dict``) of the file its ``file_key`` names: relative to the protocol file's folder, else to the
    built-in protocols' folder (whose forms live in ``forms/``, checks in ``checks/`` and translations in
    ``translations/``), so another protocol may reuse a built-in file."""
    data = dict(data)
    name = data.pop(file_key)
    if target in data:
        raise ProtocolFileError(file, [ProtocolIssue(file_key, f"give '{target}' or '{file_key}', not both")])
    relative = Path(name) if isinstance(name, str) else None
    if relative is None or relative.is_absolute() or ".." in relative.parts or not name.endswith(suffix):
        issue = ProtocolIssue(file_key, f"must name a '*{suffix}' file in or below the protocol's folder")
        raise ProtocolFileError(file, [issue])
    candidates = [file.parent / relative, builtin_protocol_dir() / relative]
    included_path = next((path for path in candidates if path.is_file()), candidates[0])
    try:
        included = _load_yaml(included_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ProtocolFileError(
            file, [ProtocolIssue(file_key, f"cannot read {included_path}: {exc}")]
        ) from None
    if not isinstance(included, dict) or not isinstance(included.get(list_key), kind):
        shape = "list" if kind is list else "mapping"
        raise ProtocolFileError(
            included_path, [ProtocolIssue(list_key, f"the file must hold a '{list_key}:' {shape}")]
        )
    data[target] = included[list_key]
    return data


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader on libyaml (C) when PyYAML was built with it: the same safe types and YAML 1.1
rules as ``yaml.safe_load``, about 10x faster, so that ``trialdesk protocol list`` starts quickly (issue
17); the pure-Python ``SafeLoader`` otherwise."""


def _load_yaml(text: str) -> Any:
    """Parse ``text`` with the safe loader (:data:`_SAFE_LOADER`); raises ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_SAFE_LOADER)


def _message(err: Any) -> str:
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the protocol format)"
    if err["type"] == "literal_error" and "input" in err:
        return f"{msg}; got {err['input']!r}"
    return msg.removeprefix("Value error, ")


def load_protocol_file(path: Path | str) -> Protocol:
    """Read and validate one protocol YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolFileError(path, [ProtocolIssue("", f"cannot read the file: {exc}")]) from None
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProtocolFileError(path, [ProtocolIssue(where, f"not valid YAML: {problem}")]) from None
    return parse_protocol(data, path)


class ProtocolRegistry:
    """The protocols known to a running instance, by id."""

    def __init__(self, protocols: Iterable[Protocol]):
        self._by_id: dict[str, Protocol] = {}
        for protocol in protocols:
            if protocol.id in self._by_id:
                raise ValueError(f"two protocol files declare the id '{protocol.id}'")
            self._by_id[protocol.id] = protocol

    def __iter__(self) -> Iterator[Protocol]:
        return iter(sorted(self._by_id.values(), key=lambda p: p.id))

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, protocol_id: object) -> bool:
        return protocol_id in self._by_id

    def get(self, protocol_id: str) -> Protocol:
        """Return the protocol with this id; ``KeyError`` naming the known ids otherwise."""
        try:
            return self._by_id[protocol_id]
        except KeyError:
            known = ", ".join(sorted(self._by_id)) or "none"
            raise KeyError(f"unknown protocol '{protocol_id}' (known: {known})") from None


def load_registry(extra_dirs: Iterable[Path] = ()) -> ProtocolRegistry:
    """Load the built-in protocols plus every ``*.yaml`` file in ``extra_dirs``."""
    files = sorted(builtin_protocol_dir().glob("*.yaml"))
    for folder in extra_dirs:
        files.extend(sorted(Path(folder).glob("*.yaml")))
    return ProtocolRegistry(
        load_protocol_file(f)
        for f in files
        if not f.name.endswith((FORMS_SUFFIX, CHECKS_SUFFIX, TRANSLATIONS_SUFFIX))
    )
