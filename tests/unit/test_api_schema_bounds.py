"""Every request body is bounded in its schema (issue 15, "Resource limits"): every string has a
``maxLength``, every array a ``maxItems`` and every free-form object a ``maxProperties``, so the
documented contract says how much a client may send (the request guard's 1 MiB limit is the backstop).

Dates, date-times and enumerations are bounded by their format and are not flagged. The test walks
the OpenAPI document the app publishes and lists every offender with its operation and JSON path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trialdesk.config import Settings
from trialdesk.entrypoints.api.app import build_app_without_database

BOUNDED_FORMATS = frozenset({"date", "date-time", "time", "duration", "binary"})


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir: Path = tmp_path_factory.mktemp("data")
    document: dict[str, Any] = build_app_without_database(Settings(data_dir=data_dir)).openapi()
    return document


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _offenders(document: dict[str, Any], schema: dict[str, Any], path: str, seen: set[str]) -> list[str]:
    """The unbounded strings, arrays and objects in ``schema`` (JSON paths), refs followed once."""
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return []
        seen = seen | {schema["$ref"]}
    schema = _resolve(document, schema)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += _offenders(document, option, path, seen)
    kind = schema.get("type")
    bounded_string = {"enum", "const", "maxLength"} & schema.keys() or schema.get("format") in BOUNDED_FORMATS
    if kind == "string" and not bounded_string:
        found.append(f"{path}: string without maxLength")
    if kind == "array":
        if "maxItems" not in schema:
            found.append(f"{path}: array without maxItems")
        found += _offenders(document, schema.get("items", {}), f"{path}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        found += _offenders(document, sub, f"{path}.{name}", seen)
    extra = schema.get("additionalProperties")
    if kind == "object" and isinstance(extra, dict):
        if "maxProperties" not in schema:
            found.append(f"{path}: object without maxProperties")
        found += _offenders(document, extra, f"{path}.*", seen)
    return found


def test_every_request_body_string_array_and_map_is_bounded(openapi: dict[str, Any]) -> None:
    offenders = []
    for route, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                where = f"{method.upper()} {route} ({media})"
                offenders += [f"{where} {o}" for o in _offenders(openapi, content["schema"], "$", set())]
    assert not offenders, "unbounded request-body fields:\n" + "\n".join(offenders)


def test_the_lab_batch_states_its_maximum_size(openapi: dict[str, Any]) -> None:
    schema = openapi["components"]["schemas"]["LabBatchIn"]["properties"]["results"]
    assert (schema["minItems"], schema["maxItems"]) == (1, 5000)


def test_the_walker_finds_an_unbounded_field() -> None:
    document: dict[str, Any] = {
        "components": {
            "schemas": {
                "A": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "ok": {"type": "string", "maxLength": 5},
                        "day": {"type": "string", "format": "date"},
                        "kind": {"type": "string", "enum": ["a"]},
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/A"}},
                        "map": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                }
            }
        }
    }
    assert _offenders(document, {"$ref": "#/components/schemas/A"}, "$", set()) == [
        "$.name: string without maxLength",
        "$.items: array without maxItems",
        "$.map: object without maxProperties",
        "$.map.*: string without maxLength",
    ]
