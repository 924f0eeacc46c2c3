"""The outbox dispatcher as production runs it: `python -m mash dispatch`'s targets and loop,
plus a health endpoint for probes.

    python -m ops.dispatcher [--health-port 8191] [--target ...] [--lease-seconds S]

GET /health is 200 while passes complete (the last one less than `stale` seconds ago), 503
otherwise (the database is unreachable, or the loop is stuck), with the pass count and the age
of the last pass.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mash.cli import build_targets
from mash.db import make_engine, session_factory
from mash.dispatcher import Dispatcher, PassReport, Policy
from mash.notifications import with_inbox
from ops.config import StackConfig
from settings import Settings

log = logging.getLogger("ops.dispatcher")


class WatchedDispatcher(Dispatcher):
    """A Dispatcher that remembers when its last pass completed."""

    last_pass: float = 0.0
    passes: int = 0

    def run_once(self, **kwargs) -> PassReport:  # type: ignore[no-untyped-def]
        report = super().run_once(**kwargs)
        self.last_pass = time.monotonic()
        self.passes += 1
        return report


def health_server(
    dispatcher: WatchedDispatcher, host: str, port: int, stale: float
) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            pass

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            if self.path != "/health":
                self.send_error(404)
                return
            age = time.monotonic() - dispatcher.last_pass if dispatcher.passes else None
            ok = age is not None and age < stale
            body = json.dumps(
                {
                    "status": "ok" if ok else "stale",
                    "passes": dispatcher.passes,
                    "last_pass_seconds_ago": None if age is None else round(age, 1),
                    "owner": dispatcher.owner,
                }
            ).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.dispatcher", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--health-port", type=int, default=8191)
    parser.add_argument(
        "--target",
        action="append",
        help="as for python -m mash dispatch (default: DISPATCH_TARGETS, else log)",
    )
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--lease-seconds", type=float, default=60.0)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--mail-from", help="as for python -m mash dispatch (smtp target)")
    parser.add_argument("--duty-email", help="as for python -m mash dispatch (smtp target)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env()
    args.target = args.target or list(StackConfig.from_env().dispatch_targets)
    factory = session_factory(make_engine(settings))
    targets = with_inbox(
        build_targets(
            argparse.Namespace(
                target=args.target, pause=0.0, mail_from=args.mail_from, duty_email=args.duty_email
            )
        ),
        factory,
    )
    if settings.slack_bot_token:  # Slack in front, as python -m mash dispatch does
        from slack_app.target import with_slack

        targets = with_slack(targets, settings=settings, sessions=factory)
    dispatcher = WatchedDispatcher(
        factory=factory,
        targets=targets,
        settings=settings,
        policy=Policy(lease_seconds=args.lease_seconds, batch=args.batch),
    )
    # Stale after a few missed passes, or a slow delivery plus a pass.
    stale = max(30.0, 3 * args.interval + args.lease_seconds)
    health_server(dispatcher, args.host, args.health_port, stale)
    log.info("dispatcher %s; health on %s:%s", dispatcher.owner, args.host, args.health_port)
    try:
        dispatcher.run_forever(interval=args.interval)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
