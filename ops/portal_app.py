"""The portal as production runs it: the same app factory, plus

- `/healthz`: readiness, 200 when the database answers (503 otherwise), with the number of
  escalations waiting in this replica's spool;
- a background drainer that raises spooled escalations (written while the database was down)
  as soon as the database is back, instead of waiting for the next immediate-risk message;
- client addresses taken from X-Forwarded-For, trusted from the local nginx only.

    python -m ops.portal_app [--host 127.0.0.1] [--port 8101]

Migrations are not run here: `python -m ops prepare` runs them once per deployment.
"""

from __future__ import annotations

import argparse
import logging
import threading

import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse

from private_files import private_dir
from schools_portal.app import create_app
from settings import Settings

log = logging.getLogger("ops.portal")
DRAIN_INTERVAL_SECONDS = 3.0


def create_production_app(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        context = getattr(request.app.state, "context", None)
        if context is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        # spooled: waiting for the database; refused: set aside, an operator must look
        spooled = context.relay.spool.count()
        refused = context.relay.spool.refused_count()
        try:
            with context.db.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return JSONResponse(
                {"status": "unavailable", "database": "down", "spooled": spooled,
                 "refused": refused},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok", "spooled": spooled,
                             "refused": refused})

    return app


def drain_forever(app: FastAPI, stop: threading.Event) -> None:
    """Raise spooled escalations whenever the database answers; never dies on an error."""
    while not stop.wait(DRAIN_INTERVAL_SECONDS):
        context = getattr(app.state, "context", None)
        if context is None:
            continue
        try:
            raised = context.relay.drain_spool()
        except SQLAlchemyError:
            continue  # still down; the records stay in the spool
        except Exception:  # noqa: BLE001 - keep draining whatever one record did
            log.exception("spool drain failed")
            continue
        if raised:
            log.warning("raised %d spooled escalation(s) now that the database is back", raised)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.portal_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per message to Rasa
    settings = Settings.from_env()
    private_dir(settings.var_dir)
    app = create_production_app(settings)
    stop = threading.Event()
    threading.Thread(target=drain_forever, args=(app, stop), daemon=True).start()
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            proxy_headers=True,
            forwarded_allow_ips="127.0.0.1",  # only the local nginx may say who the client is
            log_level="warning",
            access_log=False,
        )
    finally:
        stop.set()


if __name__ == "__main__":
    main()
