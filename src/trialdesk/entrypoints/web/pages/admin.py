"""The administrator's pages: sites (created per trial) and users (created with a role and sites,
deactivated, given a new password), through :mod:`trialdesk.services.admin` as the API is. No
clinical data is shown here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from trialdesk.domain.roles import Capability, Role
from trialdesk.entrypoints.api.admin import DeactivateIn, PasswordResetIn, SiteIn, UserIn
from trialdesk.entrypoints.api.deps import registry_of, run
from trialdesk.entrypoints.web.pages.ops_common import FormValues
from trialdesk.entrypoints.web.render import FormErrors, render
from trialdesk.entrypoints.web.session import PageActor, csrf_protect
from trialdesk.services import admin
from trialdesk.services.actors import Actor
from trialdesk.services.errors import TRIAL_ERRORS, NotFound

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
SITE_FIELDS = {"protocol_id", "code", "name"}
USER_FIELDS = {"username", "full_name", "role", "password", "site_ids"}


async def _site_ids(request: Request) -> list[str]:
    """The ticked site checkboxes of the user form."""
    form = await request.form()
    return [value for value in form.getlist("site_ids") if isinstance(value, str)]


SiteIds = Annotated[list[str], Depends(_site_ids)]


def _directory(request: Request, actor: Actor) -> dict[str, Any]:
    """Users and sites as plain values for the templates."""

    def work(session: Session) -> dict[str, Any]:
        users, sites, memberships = admin.users_and_sites(session, actor)
        site_codes = {s.id: f"{s.protocol_id} {s.code}" for s in sites}
        usernames = {str(u.id): u.username for u in users}
        return {
            "users": [
                {
                    "id": u.id,
                    "username": u.username,
                    "full_name": u.full_name,
                    "role": u.role,
                    "active": u.active,
                    "sites": [site_codes[i] for i in sorted(memberships.get(u.id, []))],
                }
                for u in users
            ],
            "sites": [
                {"id": s.id, "protocol_id": s.protocol_id, "code": s.code, "name": s.name} for s in sites
            ],
            "security_alerts": [
                {
                    "at": row.at.strftime("%Y-%m-%d %H:%M UTC"),
                    "action": row.action,
                    "by": row.username,
                    "user": usernames.get(row.record_id, row.record_id),
                    "role": row.new_value,
                    "reason": row.reason,
                }
                for row in admin.security_alerts(session, actor)
            ],
        }

    return run(request, actor.username, work, write=False)


def _admin_page(request: Request, actor: Actor, **forms: Any) -> HTMLResponse:
    """The sites-and-users page; ``forms`` carries a refused form's values and errors."""
    status = 200
    context: dict[str, Any] = {
        **_directory(request, actor),
        "protocols": [(p.id, p.short_title) for p in registry_of(request)],
        "roles": [r.value for r in Role],
        "site_values": {},
        "site_errors": {},
        "user_values": {},
        "user_errors": {},
        "chosen_sites": [],
        "created": request.query_params.get("created"),
    }
    for key, value in forms.items():
        if isinstance(value, FormErrors):
            context[key] = value.by_field
            status = value.status_code
        else:
            context[key] = value
    return render(request, "admin/admin.html", context, status_code=status)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, actor: PageActor) -> HTMLResponse:
    """Every site by trial and every user with their role, sites and state."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    return _admin_page(request, actor)


@router.post("/admin/sites", response_model=None)
def create_site(request: Request, actor: PageActor, values: FormValues) -> Response:
    """Add a site to a trial (the API's rules: unique code, single-centre trials)."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    registry = registry_of(request)
    try:
        body = SiteIn.model_validate(values)
        run(
            request,
            actor.username,
            lambda s: admin.add_site(s, actor, registry, body.protocol_id, body.code, body.name),
        )
    except ValidationError as exc:
        return _admin_page(request, actor, site_values=values, site_errors=FormErrors.from_validation(exc))
    except TRIAL_ERRORS as exc:
        errors = FormErrors.from_error(exc, SITE_FIELDS)
        return _admin_page(request, actor, site_values=values, site_errors=errors)
    return RedirectResponse(f"/admin?created={values.get('code', '')}#sites", status_code=303)


@router.post("/admin/users", response_model=None)
def create_user(request: Request, actor: PageActor, values: FormValues, site_ids: SiteIds) -> Response:
    """Create a user with a role (and sites, which site roles need)."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    try:
        body = UserIn.model_validate({**values, "site_ids": site_ids})
        run(
            request,
            actor.username,
            lambda s: admin.add_user(
                s,
                actor,
                username=body.username,
                full_name=body.full_name,
                role=body.role,
                password=body.password,
                site_ids=body.site_ids,
            ),
        )
    except (ValidationError, *TRIAL_ERRORS) as exc:
        errors = (
            FormErrors.from_validation(exc)
            if isinstance(exc, ValidationError)
            else FormErrors.from_error(exc, USER_FIELDS)
        )
        kept = {k: v for k, v in values.items() if k != "password"}
        return _admin_page(request, actor, user_values=kept, user_errors=errors, chosen_sites=site_ids)
    return RedirectResponse(f"/admin?created={body.username}#users", status_code=303)


# ------------------------------------------------------------------------------------------ one user


def _user_page(
    request: Request, actor: Actor, user_id: int, errors: FormErrors | None = None, **values: Any
) -> HTMLResponse:
    directory = _directory(request, actor)
    user = next((u for u in directory["users"] if u["id"] == user_id), None)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    context = {
        "account": user,
        "is_self": user_id == actor.user_id,
        "errors": errors.by_field if errors else {},
        "values": values.get("values", {}),
        "form": values.get("form", ""),
        "done": request.query_params.get("done"),
    }
    return render(request, "admin/user.html", context, status_code=errors.status_code if errors else 200)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, actor: PageActor, user_id: int) -> HTMLResponse:
    """One user: deactivate, or set a new password."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    return _user_page(request, actor, user_id)


@router.post("/admin/users/{user_id}/deactivate", response_model=None)
def deactivate_user(request: Request, actor: PageActor, user_id: int, values: FormValues) -> Response:
    """Deactivate a user (a reason is required); their sessions end at once."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    try:
        body = DeactivateIn.model_validate(values)
        run(request, actor.username, lambda s: admin.deactivate_user(s, actor, user_id), reason=body.reason)
    except ValidationError as exc:
        return _user_page(
            request, actor, user_id, FormErrors.from_validation(exc), values=values, form="deactivate"
        )
    except TRIAL_ERRORS as exc:
        errors = FormErrors.from_error(exc, {"reason"})
        return _user_page(request, actor, user_id, errors, values=values, form="deactivate")
    return RedirectResponse(f"/admin/users/{user_id}?done=deactivated", status_code=303)


@router.post("/admin/users/{user_id}/password", response_model=None)
def reset_password(request: Request, actor: PageActor, user_id: int, values: FormValues) -> Response:
    """Set a new password for a user (a reason is required); their sessions end at once."""
    actor.require(Capability.MANAGE_USERS_AND_SITES)
    kept = {"password_reason": values.get("password_reason", "")}  # a password is never sent back
    try:
        body = PasswordResetIn.model_validate(
            {"password": values.get("password", ""), "reason": values.get("password_reason", "")}
        )
        run(
            request,
            actor.username,
            lambda s: admin.reset_password(s, actor, user_id, body.password),
            reason=body.reason,
        )
    except (ValidationError, *TRIAL_ERRORS) as exc:
        errors = (
            FormErrors.from_validation(exc)
            if isinstance(exc, ValidationError)
            else FormErrors.from_error(exc, {"password", "reason"})
        )
        errors.by_field = {("password_reason" if k == "reason" else k): v for k, v in errors.by_field.items()}
        return _user_page(request, actor, user_id, errors, values=kept, form="password")
    return RedirectResponse(f"/admin/users/{user_id}?done=password", status_code=303)
