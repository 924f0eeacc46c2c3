"""Device cookies for sign-in (OWASP's "device cookies"), so that nobody can keep a worker out.

A browser that has signed in to an account gets a long-lived cookie: a random device id and
HMAC-SHA256(SECRET_KEY, account, device id). The account (the sign-in e-mail, as the rate
limiter names it) is not in the cookie: the form names it, and the cookie counts only if its
HMAC matches that account. Attempts with a valid cookie are slowed per device
(schools_portal/ratelimit.py), never by the account's count, so someone failing on the account
elsewhere cannot hold this browser up. A forged cookie, or one for another account, is ignored:
the attempt is limited as if there were no cookie.

The cookie gives no access by itself: the password (and code) are still needed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.responses import Response

DEVICE_COOKIE = "signin_device"
DEVICE_DAYS = 180  # renewed (with a new device id) at every sign-in


def _mac(secret_key: str, account: str, device: str) -> str:
    message = f"signin-device\n{account}\n{device}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def new_cookie(secret_key: str, account: str) -> str:
    device = secrets.token_urlsafe(16)  # no "." in it
    return f"{device}.{_mac(secret_key, account, device)}"


def device_for(secret_key: str, cookie: str | None, account: str) -> str | None:
    """The device id if `cookie` is a valid device cookie for `account`, else None."""
    device, _, mac = (cookie or "").partition(".")
    expected = _mac(secret_key, account, device)
    if not device or not hmac.compare_digest(mac.encode(), expected.encode()):
        return None
    return device


def remember(response: Response, *, secret_key: str, account: str, secure: bool) -> Response:
    """Give this browser a new device cookie for `account` (after a complete sign-in)."""
    response.set_cookie(
        DEVICE_COOKIE,
        new_cookie(secret_key, account),
        max_age=DEVICE_DAYS * 24 * 3600,
        path="/signin",  # sent only with sign-in requests
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return response
