"""The account area: change the password, sign out everywhere, set up two-factor sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from mash import directory, twofactor
from mash import sessions as store
from mash.errors import InvalidInput
from schools_portal import sessions
from schools_portal.deps import CurrentActor, Db
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import flash, render
from schools_portal.routes.signin import client_address, enrolment_page, wait_message
from schools_portal.security import require_csrf, rotate_csrf

pages = APIRouter(tags=["account"], route_class=CleanInputRoute)
api = APIRouter(tags=["account"], route_class=CleanInputRoute)


def _account_page(
    request: Request,
    actor,
    db,
    *,
    error: str | None = None,  # type: ignore[no-untyped-def]
    status_code: int = 200,
) -> Response:
    _, enrolled = twofactor.status(session=db, person_id=actor.user_id)
    return render(
        request,
        "account.html",
        actor=actor,
        status_code=status_code,
        error=error,
        enrolled=enrolled,
        required=twofactor.required_for(actor.role),
        min_password=directory.MIN_PASSWORD,
    )


@pages.get("/account", include_in_schema=False)
def account(request: Request, actor: CurrentActor, db: Db) -> Response:
    return _account_page(request, actor, db)


class _PasswordChecks:
    """Growing delays on re-checking a signed-in person's password (the sign-in limiter's
    policy), so guessing from a live session is slow. Counted on one key per person, the way
    a device is: the account is fixed by the session, and a count per address would delay
    colleagues' sign-ins behind the same address."""

    def __init__(self, request: Request, actor: CurrentActor) -> None:
        self.limiter = request.app.state.login_limiter
        self.key = f"password-check:{actor.user_id}"

    def wait(self) -> int:
        return self.limiter.retry_after(account=self.key, address="", device=self.key)

    def failed(self) -> None:
        self.limiter.failed(account=self.key, address="", device=self.key)

    def succeeded(self) -> None:
        self.limiter.succeeded(account=self.key, device=self.key)


def _stay_signed_in_here(request: Request, actor: CurrentActor) -> None:
    """After their sessions were ended (a new password or second factor), this browser gets a
    fresh session and CSRF token."""
    sessions.begin(
        request, actor.user_id, keep={"who": [actor.role, actor.organisation_id, actor.name]}
    )
    rotate_csrf(request)


@pages.post("/account/password", include_in_schema=False, dependencies=[Depends(require_csrf)])
def change_password(
    *,
    request: Request,
    actor: CurrentActor,
    db: Db,
    current_password: str = Form("", max_length=1000),
    new_password: str = Form("", max_length=1000),
    new_password_again: str = Form("", max_length=1000),
) -> Response:
    if new_password != new_password_again:
        return _account_page(
            request, actor, db, status_code=400, error="The two new passwords are not the same."
        )
    checks = _PasswordChecks(request, actor)
    wait = checks.wait()
    if wait:
        return _account_page(request, actor, db, status_code=429, error=wait_message(wait))
    try:
        directory.change_password(
            session=db,
            actor=actor,
            current=current_password,
            new=new_password,
            address=client_address(request),
            now=sessions.now(request),
        )
    except InvalidInput as wrong:
        if wrong.field == "current_password":
            checks.failed()
        return _account_page(request, actor, db, status_code=400, error=str(wrong))
    checks.succeeded()
    _stay_signed_in_here(request, actor)  # every session of theirs has ended, this one too
    flash(request, "Your password is changed. You have been signed out everywhere else.")
    return RedirectResponse("/account", status_code=303)


@pages.post(
    "/account/signout-everywhere", include_in_schema=False, dependencies=[Depends(require_csrf)]
)
def signout_everywhere(request: Request, actor: CurrentActor, db: Db) -> Response:
    store.end_everywhere(session=db, actor=actor, now=sessions.now(request))
    sessions.end(request, keep={"flash": [["info", "You have signed out everywhere."]]})
    return RedirectResponse("/signin", status_code=303)


@pages.get("/account/two-factor", include_in_schema=False)
def two_factor_page(request: Request, actor: CurrentActor, db: Db) -> Response:
    secret = request.session.get("enrol_secret")
    if not isinstance(secret, str):
        secret = twofactor.new_secret()
        request.session["enrol_secret"] = secret  # server-side with the session
    email, enrolled = twofactor.status(session=db, person_id=actor.user_id)
    return enrolment_page(
        request,
        secret=secret,
        email=email,
        action="/account/two-factor",
        actor=actor,
        ask_enrolment_code=_needs_enrolment_code(actor, enrolled),
        ask_password=enrolled,
    )


def _needs_enrolment_code(actor: CurrentActor, enrolled: bool) -> bool:
    """Staff without a second factor (a role changed while signed in) enrol with the one-time
    code from an administrator, as at sign-in; anyone else enrols with their session alone."""
    return twofactor.required_for(actor.role) and not enrolled


@pages.post("/account/two-factor", include_in_schema=False, dependencies=[Depends(require_csrf)])
def two_factor_submit(
    *,
    request: Request,
    actor: CurrentActor,
    db: Db,
    code: str = Form("", max_length=40),
    enrolment_code: str = Form("", max_length=40),
    current_password: str = Form("", max_length=1000),
) -> Response:
    secret = request.session.get("enrol_secret")
    if not isinstance(secret, str):
        return RedirectResponse("/account/two-factor", status_code=303)
    email, enrolled = twofactor.status(session=db, person_id=actor.user_id)
    ask = _needs_enrolment_code(actor, enrolled)

    def again(error: str, status_code: int) -> Response:
        return enrolment_page(
            request,
            secret=secret,
            email=email,
            action="/account/two-factor",
            actor=actor,
            ask_enrolment_code=ask,
            ask_password=enrolled,
            error=error,
            status_code=status_code,
        )

    if enrolled:  # replacing a factor: a session alone (a browser left open) is not enough
        checks = _PasswordChecks(request, actor)
        wait = checks.wait()
        if wait:
            return again(wait_message(wait), 429)
        try:
            directory.confirm_own_password(
                session=db, actor=actor, password=current_password,
                address=client_address(request), now=sessions.now(request),
            )
        except InvalidInput as wrong:
            checks.failed()
            return again(str(wrong), 400)
        checks.succeeded()
    try:
        enrolment = twofactor.enrol(
            session=db,
            person_id=actor.user_id,
            secret=secret,
            code=code,
            address=client_address(request),
            production=request.app.state.settings.is_production,
            enrolment_code=enrolment_code if ask else None,
            now=sessions.now(request),
        )
    except InvalidInput as wrong:
        return again(str(wrong), 400)
    request.session.pop("enrol_secret", None)
    if enrolled:  # a replaced factor ends every other session, as a password change does
        store.end_everywhere(session=db, actor=actor, now=sessions.now(request))
        _stay_signed_in_here(request, actor)
    return render(
        request, "recovery_codes.html", actor=actor, codes=enrolment.recovery_codes, next="/account"
    )
