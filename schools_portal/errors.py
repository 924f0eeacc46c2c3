"""Every failure becomes a clear page (or, under /api/, a JSON message) with the right status.

The MASH service's exceptions carry messages fit for users; validation errors name the fields
without echoing what was sent; anything unexpected is logged and answered with a plain 500 page.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from mash.errors import Conflict, Forbidden, InvalidInput, MashError, NotFound
from schools_portal.deps import NotSignedIn, WrongRole
from schools_portal.security import CsrfError

log = logging.getLogger(__name__)

TITLES = {
    400: "That did not work",
    401: "Please sign in",
    403: "Not available to you",
    404: "Not found",
    405: "Not allowed",
    409: "Someone got there first",
    413: "Too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
}
CSRF_MESSAGE = (
    "This form had expired or did not come from this portal, so nothing was changed. "
    "Please go back, reload the page and try again."
)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def error_response(
    request: Request, status: int, message: str, *, headers: dict[str, str] | None = None
) -> Response:
    if is_api(request):
        return JSONResponse({"detail": message}, status_code=status, headers=headers)
    from schools_portal.rendering import render

    response = render(
        request,
        "error.html",
        actor=getattr(request.state, "actor", None),
        status_code=status,
        title=TITLES.get(status, "That did not work"),
        message=message,
        status=status,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def install(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "Please sign in."}, status_code=401)
        target = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)

    @app.exception_handler(WrongRole)
    async def wrong_role(request: Request, exc: WrongRole) -> Response:
        return error_response(request, 403, "This part of the portal is not for your role.")

    @app.exception_handler(CsrfError)
    async def csrf_error(request: Request, exc: CsrfError) -> Response:
        return error_response(request, 403, CSRF_MESSAGE)

    @app.exception_handler(MashError)
    async def mash_error(request: Request, exc: MashError) -> Response:
        status = (
            404
            if isinstance(exc, NotFound)
            else 403
            if isinstance(exc, Forbidden)
            else 409
            if isinstance(exc, Conflict)
            else 422
            if isinstance(exc, InvalidInput)
            else 400
        )
        return error_response(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: "There is nothing at this address. It may have been mistyped, or the item "
            "is not one you can see.",
            405: "That address does not accept this kind of request.",
        }
        message = exc.detail if exc.status_code not in messages else messages[exc.status_code]
        return error_response(request, exc.status_code, str(message), headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(
            request, 500, "Something went wrong on our side. Please try again in a moment."
        )


def describe_validation(exc: RequestValidationError) -> str:
    """Which fields were wrong and why, without repeating the submitted values."""
    parts = []
    for error in exc.errors()[:10]:
        where = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(where) or "the request"
        parts.append(f"{field}: {error.get('msg', 'is not valid')}")
    return "Please check: " + "; ".join(parts) + "."
