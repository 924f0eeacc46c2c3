"""Signed requests only, checked before anything reads the body, and refused quietly.

Bolt's own RequestVerification logs the whole body of a badly signed request (at INFO), and a
timestamp header that is not a number (`X-Slack-Request-Timestamp: abc`) makes it raise, which
Bolt answers with 500. This middleware applies the same rule with slack_sdk's SignatureVerifier
(Slack's HMAC over `v0:timestamp:body`, five minutes' tolerance) and answers 401 to both,
logging only the body's length. It runs as Bolt's `before_authorize` middleware, where the
stock verification would run, so an unsigned request never reaches authorisation (auth.test).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger("slack_app.verification")


class QuietRequestVerification(Middleware):
    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret=signing_secret)

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
    ) -> BoltResponse:
        if req.mode == "socket_mode":  # Socket Mode has no signature: the app token is the proof
            return next()
        timestamp = req.headers.get("x-slack-request-timestamp", ["0"])[0]
        signature = req.headers.get("x-slack-signature", [""])[0]
        try:
            valid = self.verifier.is_valid(req.raw_body, timestamp, signature)
        except (TypeError, ValueError):  # a timestamp that is not a number
            valid = False
        if valid:
            return next()
        log.info("Slack request refused: bad signature or timestamp (%d bytes)", len(req.raw_body))
        return BoltResponse(status=401, body={"error": "invalid request"})
