"""Sign-in (password, then a one-time code for staff), sign-out, and /api/me.

Passwords are checked by the directory (argon2id), codes by mash/twofactor.py. Sessions are
server-side (schools_portal/sessions.py): a session has a user only once every factor the
person needs is checked, so a worker with the right password but no code reaches nothing.
Every failure is audited and slows the next attempt down (schools_portal/ratelimit.py); a
browser that signed in to the account before is slowed only by its own failures
(schools_portal/devices.py). An attempt refused during a wait is logged with a count.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from markupsafe import Markup
from starlette.responses import RedirectResponse, Response

from mash import directory, twofactor
from mash.access import Actor
from mash.errors import Forbidden, InvalidInput
from schools_portal import devices, sessions
from schools_portal.deps import CurrentActor, Db
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import flash, render
from schools_portal.security import csrf_token, require_csrf, rotate_csrf

log = logging.getLogger(__name__)
pages = APIRouter(tags=["sign-in"], route_class=CleanInputRoute)
api = APIRouter(tags=["sign-in"], route_class=CleanInputRoute)

GENERIC_FAILURE = "That e-mail address and password do not match an account. Please try again."
WRONG_CODE = "That code is not right, or was used already. Please try again with a new code."
PENDING_SECONDS = 5 * 60  # the second step must follow the password within five minutes


def safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:300]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def wait_message(seconds: int) -> str:
    unit = "second" if seconds == 1 else "seconds"
    return f"Too many attempts. Please wait {seconds} {unit}, then try again."


def qr_svg(uri: str) -> Markup:
    """The enrolment QR code as inline SVG (no script, no style: the CSP stays strict)."""
    import segno

    svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code to scan" ', 1))


def _sign_in(request: Request, actor: Actor, account: str) -> None:
    """Every factor is checked: clear the count this attempt answered to, start the session."""
    request.app.state.login_limiter.succeeded(account=account, device=_device(request, account))
    # Who signed in, for deps.current_actor to fall back on while the database is down.
    sessions.begin(
        request, actor.user_id, keep={"who": [actor.role, actor.organisation_id, actor.name]}
    )
    rotate_csrf(request)


def _remember_device(request: Request, response: Response, account: str) -> Response:
    """A new device cookie: this browser's later attempts on `account` are counted apart."""
    return devices.remember(
        response,
        secret_key=request.app.state.settings.secret_key,
        account=account,
        secure=request.app.state.https_only,
    )


def _finish(request: Request, actor: Actor, account: str, target: str) -> Response:
    _sign_in(request, actor, account)
    return _remember_device(request, RedirectResponse(safe_next(target), status_code=303), account)


def _pending(request: Request, step: str) -> dict[str, Any] | None:
    """The sign-in in progress (password already right), if it is still fresh."""
    pending = request.session.get("pending")
    if not isinstance(pending, dict) or pending.get("step") != step:
        return None
    age = sessions.now(request).timestamp() - float(pending.get("at", 0))
    return pending if 0 <= age <= PENDING_SECONDS else None


def _device(request: Request, account: str) -> str | None:
    """This browser's device id if it carries a valid device cookie for `account`."""
    cookie = request.cookies.get(devices.DEVICE_COOKIE)
    return devices.device_for(request.app.state.settings.secret_key, cookie, account)


def _limited(request: Request, account: str) -> int:
    """Seconds this attempt must wait (0: go ahead, and the caller must `_release` once the
    check and any failure are counted). A refusal is logged, with a count, but
    not audited: an attacker can send hundreds a minute, each would be a database write, and
    the failures that set the wait are audited already. The log names the address, never the
    typed account (it may be a password typed in the wrong box)."""
    limiter = request.app.state.login_limiter
    address, device = client_address(request), _device(request, account)
    wait = limiter.retry_after(account=account, address=address, device=device)
    if not wait and not limiter.claim(account=account, device=device):
        wait = 1  # another check for this account is running: one at a time
    if wait:
        count = limiter.refused(account=account, address=address, device=device)
        log.warning(
            "sign-in attempt refused during a wait (%d s left) from %s, %s: "
            "%d refused for this %s within the hour",
            wait,
            address,
            "with a device cookie" if device else "without a device cookie",
            count,
            "device" if device else "account",
        )
    return wait


def _release(request: Request, account: str) -> None:
    request.app.state.login_limiter.release(account=account, device=_device(request, account))


def _failed(request: Request, account: str) -> int:
    return request.app.state.login_limiter.failed(
        account=account, address=client_address(request), device=_device(request, account)
    )


@pages.get("/signin", include_in_schema=False)
def signin_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - query name
    if sessions.signed_in_user(request) is not None:
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
    account = email.strip().lower()
    wait = _limited(request, account)
    if wait:
        return render(
            request,
            "signin.html",
            status_code=429,
            next=safe_next(next),
            email=email,
            error=wait_message(wait),
            headers={"Retry-After": str(wait)},
        )
    try:
        check = directory.check_password(
            session=db, email=email, password=password, address=client_address(request)
        )
        wait = _failed(request, account) if check.actor is None else 0
    finally:
        _release(request, account)
    if check.actor is None:
        error = GENERIC_FAILURE + (
            f" Please wait {wait} seconds before the next try." if wait else ""
        )
        return render(
            request, "signin.html", status_code=400, next=safe_next(next), email=email, error=error
        )
    if check.next_step == "none":
        return _finish(request, check.actor, account, next)
    # The password is right; the session gets a user only after the second factor.
    sessions.restart(
        request,
        keep={
            "pending": {
                "uid": check.actor.user_id,
                "account": account,
                "step": check.next_step,
                "next": safe_next(next),
                "at": sessions.now(request).timestamp(),
            }
        },
    )
    return RedirectResponse(f"/signin/{check.next_step}", status_code=303)


@pages.get("/signin/code", include_in_schema=False)
def code_page(request: Request) -> Response:
    if _pending(request, "code") is None:
        return RedirectResponse("/signin", status_code=303)
    return render(request, "signin_code.html")


@pages.post("/signin/code", include_in_schema=False, dependencies=[Depends(require_csrf)])
def code_submit(*, request: Request, code: str = Form("", max_length=40), db: Db) -> Response:
    pending = _pending(request, "code")
    if pending is None:
        flash(request, "Please sign in again.", "error")
        return RedirectResponse("/signin", status_code=303)
    wait = _limited(request, pending["account"])
    if wait:
        return render(
            request,
            "signin_code.html",
            status_code=429,
            error=wait_message(wait),
            headers={"Retry-After": str(wait)},
        )
    try:
        ok = twofactor.verify(
            session=db,
            person_id=pending["uid"],
            code=code,
            address=client_address(request),
            production=request.app.state.settings.is_production,
            now=sessions.now(request),
        )
        wait = 0 if ok else _failed(request, pending["account"])
    except Forbidden as refused:
        return render(request, "signin_code.html", status_code=403, error=str(refused))
    finally:
        _release(request, pending["account"])
    if not ok:
        error = WRONG_CODE + (f" Please wait {wait} seconds before the next try." if wait else "")
        return render(request, "signin_code.html", status_code=400, error=error)
    actor = directory.actor_for(session=db, user_id=pending["uid"])
    return _finish(request, actor, pending["account"], pending["next"])


def enrolment_page(
    request: Request,
    *,
    secret: str,
    email: str,
    action: str,
    actor: Actor | None = None,
    ask_enrolment_code: bool = False,
    ask_password: bool = False,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    uri = twofactor.provisioning_uri(secret, email)
    return render(
        request,
        "two_factor_enrol.html",
        actor=actor,
        status_code=status_code,
        qr=qr_svg(uri),
        secret=secret,
        action=action,
        ask_enrolment_code=ask_enrolment_code,
        ask_password=ask_password,
        error=error,
    )


def _signin_enrolment_page(
    request: Request, pending: dict[str, Any], *, error: str | None = None, status_code: int = 200
) -> Response:
    """Enrolment at sign-in: the password alone is known, so it asks for the one-time
    enrolment code an administrator gave too."""
    return enrolment_page(
        request,
        secret=pending["secret"],
        email=pending["account"],
        action="/signin/enrol",
        ask_enrolment_code=True,
        error=error,
        status_code=status_code,
    )


@pages.get("/signin/enrol", include_in_schema=False)
def enrol_page(request: Request, db: Db) -> Response:
    pending = _pending(request, "enrol")
    if pending is None:
        return RedirectResponse("/signin", status_code=303)
    if not pending.get("secret"):  # kept server-side with the session, never in a cookie
        pending = {**pending, "secret": twofactor.new_secret()}
        request.session["pending"] = pending
    return _signin_enrolment_page(request, pending)


@pages.post("/signin/enrol", include_in_schema=False, dependencies=[Depends(require_csrf)])
def enrol_submit(
    *,
    request: Request,
    enrolment_code: str = Form("", max_length=40),
    code: str = Form("", max_length=40),
    db: Db,
) -> Response:
    pending = _pending(request, "enrol")
    if pending is None or not pending.get("secret"):
        return RedirectResponse("/signin", status_code=303)
    wait = _limited(request, pending["account"])
    if wait:
        return _signin_enrolment_page(request, pending, error=wait_message(wait), status_code=429)
    try:
        enrolment = twofactor.enrol(
            session=db,
            person_id=pending["uid"],
            secret=pending["secret"],
            code=code,
            address=client_address(request),
            production=request.app.state.settings.is_production,
            enrolment_code=enrolment_code,  # always checked here: only the password is known
            now=sessions.now(request),
        )
    except InvalidInput as wrong:
        _failed(request, pending["account"])
        return _signin_enrolment_page(request, pending, error=str(wrong), status_code=400)
    finally:
        _release(request, pending["account"])
    actor = directory.actor_for(session=db, user_id=pending["uid"])
    _sign_in(request, actor, pending["account"])
    page = render(
        request,
        "recovery_codes.html",
        actor=actor,
        codes=enrolment.recovery_codes,
        next=pending["next"],
    )
    return _remember_device(request, page, pending["account"])


@pages.post("/signout", include_in_schema=False, dependencies=[Depends(require_csrf)])
def signout(request: Request) -> Response:
    # The session row is revoked: a copy of the cookie is dead from now on.
    sessions.end(request, keep={"flash": [["info", "You have signed out."]]})
    return RedirectResponse("/signin", status_code=303)


@api.get("/me", summary="The signed-in user and the session's CSRF token")
def me(*, request: Request, actor: CurrentActor) -> dict:
    return {
        "user_id": actor.user_id,
        "name": actor.name,
        "role": actor.role,
        "organisation_id": actor.organisation_id,
        "csrf_token": csrf_token(request),
    }
