"""The action server: rasa-sdk's Sanic app, on loopback, refusing calls without the shared token.

Rasa sends `Authorization: Bearer <token>` (the `headers:` of bot/endpoints.yml) on every call;
the token must equal settings.action_server_token. A `?token=` query parameter is refused even
when it is right: a token in a URL lands in access logs. `/health` stays open for probes.
The stock error handler echoes the request body (the whole tracker, conversation text included)
back to the caller and into the log, so it is replaced with one that does not.

    python -m bot.action_server [--host 127.0.0.1] [--port 5055]
"""

from __future__ import annotations

import argparse
import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request

from settings import Settings

logger = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})


def token_ok(request: Request, expected: str) -> bool:
    """The bearer token in the Authorization header, and no token in the query string."""
    if "token" in request.args:
        return False
    auth = request.headers.get("authorization", "")
    supplied = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    return bool(expected) and hmac.compare_digest(supplied.encode(), expected.encode())


def build_app(settings: Settings) -> Sanic:
    app = create_app("bot.actions", cors_origins=[])
    expected = settings.action_server_token

    @app.middleware("request")
    async def require_token(request: Request) -> response.HTTPResponse | None:
        if request.path in OPEN_PATHS or token_ok(request, expected):
            return None
        if "token" in request.args:
            logger.warning("refused an action call with ?token= from %s (use the header)",
                           request.ip)
            return response.json({"error": "send the token in the Authorization header"},
                                 status=401)
        logger.warning("refused an action call without a valid token from %s", request.ip)
        return response.json({"error": "a valid token is required"}, status=401)

    async def quiet_errors(request: Request, exception: Exception) -> response.HTTPResponse:
        logger.error("action call failed: %s", type(exception).__name__, exc_info=exception)
        return response.json({"error": "the action failed"}, status=500)

    app.error_handler.add(Exception, quiet_errors)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    app = build_app(settings)
    logger.info("action server on http://%s:%s (token required)", args.host, args.port)
    app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)


if __name__ == "__main__":
    main()
