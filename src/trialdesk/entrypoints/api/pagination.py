"""Pagination of the API's list endpoints (issue 17): ``limit`` and ``offset`` in, a page out.

Every ``GET`` that answers a JSON array takes ``limit`` (1-500, default 100) and ``offset`` (>= 0) and
answers one page of the array, in the endpoint's stable order (by id unless its docstring says
otherwise), so existing clients that read the body as an array keep working. The page is described
by two response headers:

* ``X-Total-Count``: how many items there are in all (the same filter, every page);
* ``Link`` (RFC 8288, section 3): ``<URL>; rel="next"`` while items follow the page and
  ``<URL>; rel="prev"`` when it does not start at 0; each URL is the request's own with ``limit``
  and ``offset`` replaced, so filters carry over. No ``Link`` header on a single full page.

A ``limit`` outside 1-500 or a negative ``offset`` is a 422 naming the parameter. Where the service
can, the database does the LIMIT/OFFSET (:meth:`Pagination.set_total` with the service's count);
short per-subject lists are cut by :meth:`Pagination.window` after the service built them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

T = TypeVar("T")

DEFAULT_LIMIT = 100
"""Items per page when the request names no ``limit``."""
MAX_LIMIT = 500
"""The largest page (a larger ``limit`` is refused, not silently cut)."""

TOTAL_HEADER = "X-Total-Count"
LINK_HEADER = "Link"

PAGINATED: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            TOTAL_HEADER: {
                "description": "Items in all pages (the same filters)",
                "schema": {"type": "integer", "minimum": 0},
            },
            LINK_HEADER: {
                "description": 'RFC 8288 links to the neighbouring pages: rel="next" and rel="prev"',
                "schema": {"type": "string"},
            },
        }
    }
}
"""The ``responses=`` of a paginated route: documents the two headers in the OpenAPI document."""


@dataclass(frozen=True)
class Pagination:
    """One request's page window and the response whose headers describe it."""

    limit: int
    offset: int
    request: Request
    response: Response

    def set_total(self, total: int) -> None:
        """Write ``X-Total-Count`` and the ``Link`` header for a collection of ``total`` items."""
        self.response.headers[TOTAL_HEADER] = str(total)
        links = []
        if self.offset + self.limit < total:
            links.append(f'<{self._url(self.offset + self.limit)}>; rel="next"')
        if self.offset > 0:
            links.append(f'<{self._url(max(self.offset - self.limit, 0))}>; rel="prev"')
        if links:
            self.response.headers[LINK_HEADER] = ", ".join(links)

    def window(self, items: Sequence[T]) -> list[T]:
        """This page of ``items`` (a list the service built whole), with the headers set."""
        self.set_total(len(items))
        return list(items[self.offset : self.offset + self.limit])

    def _url(self, offset: int) -> str:
        return str(self.request.url.include_query_params(limit=self.limit, offset=offset))


def pagination(
    request: Request,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT})")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Items to skip (default 0)")] = 0,
) -> Pagination:
    """The ``limit``/``offset`` query parameters of a list endpoint (422 naming the one out of range)."""
    return Pagination(limit, offset, request, response)


PageDep = Annotated[Pagination, Depends(pagination)]
"""A route parameter giving the request's :class:`Pagination`."""
