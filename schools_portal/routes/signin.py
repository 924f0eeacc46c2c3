"""Sign-in and sign-out. Passwords are checked by the directory (argon2id); sessions are
signed cookies holding only the user id and the CSRF token."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from mash import directory
from schools_portal.deps import CurrentActor, Db
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import flash, render
from schools_portal.security import require_csrf, rotate_csrf

pages = APIRouter(tags=["sign-in"], route_class=CleanInputRoute)
api = APIRouter(tags=["sign-in"], route_class=CleanInputRoute)

GENERIC_FAILURE = "That e-mail address and password do not match an account. Please try again."


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:300]


@pages.get("/signin", include_in_schema=False)
def signin_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - query name
    if isinstance(request.session.get("uid"), int):
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "signin.html", next=safe_next(next), email="")


@pages.post("/signin", include_in_schema=False, dependencies=[Depends(require_csrf)])
def signin(
    *,
    request: Request,
    email: str = Form("", max_length=254),
    password: str = Form("", max_length=1000),
    next: str = Form("/", max_length=300),  # noqa: A002 - form field name
    db: Db,
) -> Response:
    limiter = request.app.state.login_limiter
    account = email.strip().lower()
    address = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(account=account, address=address)
    if wait:
        minutes = max(1, round(wait / 60))
        return render(
            request,
            "signin.html",
            status_code=429,
            next=safe_next(next),
            email=email,
            error=f"Too many attempts. Please wait about {minutes} minute"
            f"{'s' if minutes != 1 else ''} and try again, or ask your administrator.",
            headers={"Retry-After": str(wait)},
        )
    actor = directory.authenticate(session=db, email=email, password=password)
    if actor is None:
        limiter.failed(account=account, address=address)
        return render(
            request,
            "signin.html",
            status_code=400,
            next=safe_next(next),
            email=email,
            error=GENERIC_FAILURE,
        )
    limiter.succeeded(account=account)
    request.session.clear()  # nothing from before sign-in survives it
    request.session["uid"] = actor.user_id
    request.session["at"] = int(time.time())
    # Who signed in, for deps.current_actor to fall back on while the database is down (the
    # cookie is signed): the chat must still show the safety message then.
    request.session["who"] = [actor.role, actor.organisation_id, actor.name]
    rotate_csrf(request)
    return RedirectResponse(safe_next(next), status_code=303)


@pages.post("/signout", include_in_schema=False, dependencies=[Depends(require_csrf)])
def signout(request: Request) -> Response:
    request.session.clear()
    flash(request, "You have signed out.")
    return RedirectResponse("/signin", status_code=303)


@api.get("/me", summary="The signed-in user and the session's CSRF token")
def me(*, request: Request, actor: CurrentActor) -> dict:
    from schools_portal.security import csrf_token

    return {
        "user_id": actor.user_id,
        "name": actor.name,
        "role": actor.role,
        "organisation_id": actor.organisation_id,
        "csrf_token": csrf_token(request),
    }
