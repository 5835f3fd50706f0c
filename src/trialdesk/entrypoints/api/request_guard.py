"""A guard in front of every route: bounded request bodies and text that both databases can store.

Refused before any route runs, with a message naming the part of the request at fault (JSON for the
API, plain text for pages):

* a body larger than ``max_request_bytes`` (default 1 MiB: about 5,000 lab results in one batch;
  larger batches are split by the client) -> 413, whether or not it announces its length;
* JSON that is not valid, nests deeper than :data:`MAX_JSON_DEPTH`, or holds ``NaN``/``Infinity``
  -> 422 (Python's ``json`` accepts them; no clinical value is infinite);
* a NUL character or an unpaired UTF-16 surrogate in any JSON string or key, form field, query
  parameter or path -> 422 naming it (PostgreSQL refuses NUL in text and SQLite would store it, so the
  same input would fail differently on the two databases); so does any other control character but
  tab and line breaks (a vertical tab pasted from a PDF would be stored, then make the ODM copy
  unwritable: XML 1.0 cannot carry it);
* a whole number in the path beyond the largest record id (2^31 - 1: ids are 32-bit INTEGER columns
  on PostgreSQL) -> 404, no record has it; one beyond 64 bits in a query -> 422; instead of the
  database driver's overflow error (a 500).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

from trialdesk.domain.common import control_character

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_DEPTH = 64
MAX_INT64 = 2**63 - 1
MAX_RECORD_ID = 2**31 - 1
"""Ids are INTEGER columns: 32 bits on PostgreSQL."""
_DIGITS = re.compile(r"[+-]?\d+")


class Refused(Exception):
    """A request the guard answers itself: HTTP ``status`` and a message naming ``field``."""

    def __init__(self, status: int, message: str, field: str | None, rule: str) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.rule = status, message, field, rule


def _bad_text(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, an unpaired surrogate, or another control
    character: XML 1.0, hence the ODM and Define-XML copies, cannot carry it), or ``None``."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate (not valid Unicode text)"
    control = control_character(value)
    if control is not None:
        return f"contains a control character (U+{ord(control):04X})"
    return None


def _check_text(value: str, where: str) -> None:
    problem = _bad_text(value)
    if problem:
        raise Refused(422, f"{where}: {problem}", where, "invalid_text")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number this system accepts")


def _walk(node: Any, path: str, depth: int) -> None:
    """Check every string, key and number of a parsed JSON document (iterative depth is bounded)."""
    if depth > MAX_JSON_DEPTH:
        raise Refused(
            422, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", path or None, "too_deep"
        )
    if isinstance(node, str):
        _check_text(node, path or "body")
    elif isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            _check_text(str(key), child)
            _walk(value, child, depth + 1)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, f"{path}[{index}]", depth + 1)


def check_json(body: bytes) -> None:
    """Refuse a JSON body that is malformed, too deep, has NaN/Infinity or text no database stores."""
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _nesting(body) > MAX_JSON_DEPTH:
        raise Refused(422, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", None, "too_deep")
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except ValueError as exc:
        raise Refused(422, f"the body is not valid JSON: {exc}", None, "invalid_json") from None
    _walk(document, "", 0)


def _nesting(body: bytes) -> int:
    """The deepest bracket nesting of a JSON text, outside strings (so json.loads never recurses past
    the limit: Python's parser would raise RecursionError near 1,000 levels)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            escaped = not escaped and byte == 0x5C
            in_string = escaped or byte != 0x22
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def check_form(body: bytes) -> None:
    """Refuse a URL-encoded form with a NUL or invalid text in a field."""
    for name, value in parse_qsl(body.decode("utf-8", "surrogateescape"), keep_blank_values=True):
        _check_text(name, name)
        _check_text(value, name)


def check_url(path: str, query: str) -> None:
    """Refuse NUL/invalid text in the path or query, and whole numbers beyond 64 bits."""
    for segment in path.split("/"):
        _check_text(segment, "path")
        if _DIGITS.fullmatch(segment) and abs(int(segment)) > MAX_RECORD_ID:
            raise Refused(404, f"no record has the id {segment[:30]}...", "path", "not_found")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
        _check_text(name, name)
        _check_text(value, name)
        if _DIGITS.fullmatch(value) and abs(int(value)) > MAX_INT64:
            raise Refused(
                422,
                f"{name}: {value[:30]}... is beyond the largest whole number (2^63 - 1)",
                name,
                "out_of_range",
            )


class RequestGuard:
    """ASGI middleware applying the checks above; ``max_bytes`` bounds every request body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            check_url(
                unquote(raw_path.decode("latin-1"), errors="surrogateescape"),
                scope["query_string"].decode("latin-1"),
            )
            body = await self._read_body(scope, receive)
            self._check_body(scope, body)
        except Refused as refused:
            await _answer(scope, send, refused)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        announced = dict(scope.get("headers") or []).get(b"content-length")
        if announced and announced.isdigit() and int(announced) > self.max_bytes:
            raise Refused(413, self._too_large(), None, "body_too_large")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise Refused(413, self._too_large(), None, "body_too_large")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> str:
        return (
            f"the request body is larger than {self.max_bytes:,} bytes (the server's max_request_bytes): "
            "send the records in smaller batches"
        )

    @staticmethod
    def _check_body(scope: Scope, body: bytes) -> None:
        if not body:
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip()
        if content_type == b"application/json" or content_type.endswith(b"+json"):
            check_json(body)
        elif content_type == b"application/x-www-form-urlencoded":
            check_form(body)


def _replay(body: bytes, upstream: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the application once, then waits on the
    server's own ``receive`` (which answers ``http.disconnect`` only when the client really leaves:
    Starlette cancels a streaming response on an early disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await upstream()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _answer(scope: Scope, send: Send, refused: Refused) -> None:
    if scope["path"].startswith("/api"):
        payload = json.dumps({"detail": refused.message, "rule": refused.rule, "field": refused.field})
        content_type = b"application/json"
    else:
        payload, content_type = refused.message, b"text/plain; charset=utf-8"
    body = payload.encode("utf-8")
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
