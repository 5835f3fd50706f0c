"""Validators of published CDISC schemas for the export tests (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import odmlib
from lxml import etree

DATASET_JSON_SCHEMA = Path(__file__).resolve().parents[1] / "reference" / "cdisc" / "dataset.schema.json"
"""CDISC's Dataset-JSON 1.1 JSON Schema (tests/reference/cdisc/README.md)."""
DEFINE_21_SCHEMA = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
"""The CDISC Define-XML 2.1 schema as the odmlib package ships it."""


def dataset_json_validator() -> jsonschema.Draft201909Validator:
    """A validator of CDISC's published Dataset-JSON 1.1 schema."""
    return jsonschema.Draft201909Validator(json.loads(DATASET_JSON_SCHEMA.read_text(encoding="utf-8")))


def define_21_schema() -> etree.XMLSchema:
    """The Define-XML 2.1 schema (with the ODM 1.3.2 schemas it imports)."""
    return etree.XMLSchema(etree.parse(str(DEFINE_21_SCHEMA)))
