"""`python -m slack_app`: run the Slack app on its own.

- SLACK_APP_TOKEN set: Socket Mode (no public URL; the signing secret is not needed).
- Otherwise HTTP mode on --host/--port, events at /slack/events (signature-verified).
- No Slack tokens: say so and exit 0, so `make run` carries on without Slack.
With --dispatch, the outbox dispatcher (with the Slack target) runs in the same process.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slack_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SLACK_PORT", "3000")))
    parser.add_argument(
        "--dispatch", action="store_true", help="also run the outbox dispatcher here"
    )
    parser.add_argument(
        "--check", action="store_true", help="only say whether Slack is configured (exit 0/3)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s"
    )
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"slack_app: {error}", file=sys.stderr)
        return 2
    socket_mode = bool(settings.slack_app_token and settings.slack_bot_token)
    if not (settings.slack_enabled or socket_mode):
        print(
            "Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode) or "
            "SLACK_BOT_TOKEN and SLACK_APP_TOKEN (Socket Mode) to turn it on.",
            flush=True,
        )
        return 3 if args.check else 0
    if args.check:
        print(f"Slack is on ({'Socket Mode' if socket_mode else 'HTTP events'}).", flush=True)
        return 0

    from app_context import AppContext
    from slack_app.app import build_app
    from slack_app.deps import SlackDeps

    context = AppContext.build(settings)
    deps = SlackDeps.from_context(context)
    stop = threading.Event()
    if args.dispatch:
        threading.Thread(
            target=_dispatch, args=(settings, context.sessions, stop), daemon=True
        ).start()
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            print("Slack app: Socket Mode", flush=True)
            SocketModeHandler(build_app(deps, socket_mode=True), settings.slack_app_token).start()
        else:
            import uvicorn
            from starlette.applications import Starlette

            from slack_app.asgi import EVENTS_PATH, mount_deps

            web = Starlette()
            mount_deps(web, deps)
            print(f"Slack app: http://{args.host}:{args.port}{EVENTS_PATH}", flush=True)
            uvicorn.run(web, host=args.host, port=args.port, log_level="warning")
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        context.close()
    return 0


def _dispatch(settings: Settings, sessions, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    from mash.dispatcher import Dispatcher
    from mash.notifications import with_inbox
    from mash.targets import LogTarget
    from slack_app.target import with_slack

    targets = with_slack(
        with_inbox({"*": LogTarget()}, sessions), settings=settings, sessions=sessions
    )
    Dispatcher(factory=sessions, targets=targets, settings=settings).run_forever(stop=stop)


if __name__ == "__main__":
    sys.exit(main())
