"""Read-only protocol API: ``GET /api/protocols`` and ``GET /api/protocols/{id}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.protocols.loader import ProtocolRegistry
from trialdesk.services.errors import NotFound

router = APIRouter(prefix="/api/protocols", tags=["protocols"])


def _registry(request: Request) -> ProtocolRegistry:
    registry: ProtocolRegistry = request.app.state.registry
    return registry


@router.get("", response_model=list[dict[str, Any]], responses=PAGINATED)
def list_protocols(request: Request, page: PageDep) -> list[dict[str, Any]]:
    """Every loaded protocol with its headline facts."""
    return page.window(
        [
            {
                "id": p.id,
                "version": p.version,
                "title": p.title,
                "short_title": p.short_title,
                "design": p.design.type,
                "centres": p.design.centres,
                "target_enrolment": p.design.target_enrolment.value,
                "phases": [phase.id for phase in p.design.phases],
                "arms": [arm.id for arm in p.design.arms],
            }
            for p in _registry(request)
        ]
    )


@router.get("/{protocol_id}", response_model=dict[str, Any])
def get_protocol(protocol_id: str, request: Request) -> dict[str, Any]:
    """The full protocol specification as validated."""
    try:
        protocol = _registry(request).get(protocol_id)
    except KeyError as exc:
        raise NotFound(str(exc.args[0]), field="protocol_id") from None
    return protocol.model_dump(mode="json")
