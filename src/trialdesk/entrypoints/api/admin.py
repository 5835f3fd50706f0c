"""Admin API: sites and users (``admin`` role only; no clinical data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trialdesk.adapters.db.models import Site, User, UserSite
from trialdesk.domain.roles import Capability, is_site_limited
from trialdesk.entrypoints.api.bounds import LIST_MAX, NAME_MAX, TEXT_MAX, Code, Name, Secret
from trialdesk.entrypoints.api.deps import CurrentActor, registry_of, run
from trialdesk.entrypoints.api.pagination import PAGINATED, PageDep
from trialdesk.services import admin

router = APIRouter(prefix="/api", tags=["admin"])


class SiteIn(BaseModel):
    protocol_id: Code
    code: Code
    name: str = Field(min_length=2, max_length=NAME_MAX)


class SiteOut(BaseModel):
    id: int
    protocol_id: str
    code: str
    name: str


class UserIn(BaseModel):
    username: Code
    full_name: Name
    role: Code
    password: Secret
    site_ids: list[int] = Field(default_factory=list, max_length=LIST_MAX)


class RoleChangeIn(BaseModel):
    role: Code
    site_ids: list[int] | None = Field(default=None, max_length=LIST_MAX)
    reason: str = Field(min_length=3, max_length=TEXT_MAX)


class UserOut(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    active: bool
    site_ids: list[int]


def _site_out(site: Site) -> SiteOut:
    return SiteOut(id=site.id, protocol_id=site.protocol_id, code=site.code, name=site.name)


@router.post("/sites", response_model=SiteOut, status_code=201)
def create_site(body: SiteIn, request: Request, actor: CurrentActor) -> SiteOut:
    """Add a site (centre) to a trial."""
    registry = registry_of(request)
    return run(
        request,
        actor.username,
        lambda s: _site_out(admin.add_site(s, actor, registry, body.protocol_id, body.code, body.name)),
    )


@router.get("/sites", response_model=list[SiteOut], responses=PAGINATED)
def list_sites(request: Request, page: PageDep, actor: CurrentActor) -> list[SiteOut]:
    """Sites visible to the user (site roles see their own)."""

    def work(session: Session) -> list[SiteOut]:
        visible = select(Site)
        if is_site_limited(actor.role):
            visible = visible.where(Site.id.in_(sorted(actor.site_ids)))
        page.set_total(session.scalar(select(func.count()).select_from(visible.subquery())) or 0)
        sites = session.scalars(visible.order_by(Site.id).limit(page.limit).offset(page.offset))
        return [_site_out(site) for site in sites]

    return run(request, actor.username, work, write=False)


def _user_out(session: Session, user: User) -> UserOut:
    sites = sorted(session.scalars(select(UserSite.site_id).where(UserSite.user_id == user.id)))
    return UserOut(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        active=user.active,
        site_ids=sites,
    )


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, request: Request, actor: CurrentActor) -> UserOut:
    """Create a user with a role (and sites, for site roles)."""

    def work(session: Session) -> UserOut:
        user = admin.add_user(
            session,
            actor,
            username=body.username,
            full_name=body.full_name,
            role=body.role,
            password=body.password,
            site_ids=body.site_ids,
        )
        return _user_out(session, user)

    return run(request, actor.username, work)


@router.get("/users", response_model=list[UserOut], responses=PAGINATED)
def list_users(request: Request, page: PageDep, actor: CurrentActor) -> list[UserOut]:
    """All users (admin only)."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)

    def work(session: Session) -> list[UserOut]:
        page.set_total(session.scalar(select(func.count()).select_from(User)) or 0)
        users = session.scalars(select(User).order_by(User.id).limit(page.limit).offset(page.offset))
        return [_user_out(session, user) for user in users]

    return run(request, actor.username, work, write=False)


@router.patch("/users/{user_id}/role", response_model=UserOut)
def change_role(user_id: int, body: RoleChangeIn, request: Request, actor: CurrentActor) -> UserOut:
    """Change a user's role and sites; audited as a security event."""

    def work(session: Session) -> UserOut:
        return _user_out(session, admin.change_role(session, actor, user_id, body.role, body.site_ids))

    return run(request, actor.username, work, reason=body.reason)


class DeactivateIn(BaseModel):
    reason: str = Field(min_length=3, max_length=TEXT_MAX)


class PasswordResetIn(BaseModel):
    password: Secret
    reason: str = Field(min_length=3, max_length=TEXT_MAX)


@router.post("/users/{user_id}/deactivate", response_model=UserOut)
def deactivate_user(user_id: int, body: DeactivateIn, request: Request, actor: CurrentActor) -> UserOut:
    """Deactivate a user (no more sign-in; their sessions end); audited as a security event."""

    def work(session: Session) -> UserOut:
        return _user_out(session, admin.deactivate_user(session, actor, user_id))

    return run(request, actor.username, work, reason=body.reason)


@router.post("/users/{user_id}/password", response_model=UserOut)
def reset_password(user_id: int, body: PasswordResetIn, request: Request, actor: CurrentActor) -> UserOut:
    """Set a new password for a user (their sessions end); audited as a security event."""

    def work(session: Session) -> UserOut:
        return _user_out(session, admin.reset_password(session, actor, user_id, body.password))

    return run(request, actor.username, work, reason=body.reason)
