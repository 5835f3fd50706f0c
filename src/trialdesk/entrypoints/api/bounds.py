"""Size bounds of the API request bodies (issue 15, "Resource limits").

Every string and list a client sends has a maximum in the schema, so the OpenAPI document states how
much may be sent and pydantic refuses more with a 422 naming the field, before any service runs (the
request guard's body-size limit is the backstop). ``tests/unit/test_api_schema_bounds.py`` walks the
OpenAPI document and lists any request-body string, array or map left unbounded.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

CODE_MAX = 64
"""Identifiers and codes: usernames, site codes, roles, statuses, criterion ids, test codes, units."""
NAME_MAX = 200
"""Names and terms: full names, site names, CTCAE terms and SOCs, stratification levels."""
TEXT_MAX = 2_000
"""Free text: reasons for a change, notes, verbatim terms, outcomes, signature meanings."""
SECRET_MAX = 256
"""Passwords (the policy asks for at least 12 characters; 256 leaves room for passphrases)."""
LIST_MAX = 100
"""Short lists: site ids, SAE criteria, lesions or RT-field flags of one subject."""
MAP_MAX = 50
"""Small maps: attributions per treatment component, stratification factors."""

Code = Annotated[str, Field(max_length=CODE_MAX)]
Name = Annotated[str, Field(max_length=NAME_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Secret = Annotated[str, Field(max_length=SECRET_MAX)]
