"""A local Slack Web API stand-in: a real HTTP server on loopback, in a thread.

Answers the methods the app uses (auth.test, chat.postMessage, chat.update, chat.postEphemeral,
views.open, conversations.open, conversations.history, conversations.replies) and any POST to
/response/... (slash-command response_url), records every call, keeps the messages it was sent
per channel, and can misbehave on demand:

- `fail(mode, seconds=, methods=)`: answer HTTP 500 (`"http500"`) or HTTP 429 with
  `{"ok": false, "error": "ratelimited"}` (`"ratelimited"`) for a while, doing nothing.
- `hang(seconds, methods=)`: do the work, then hold the response for `seconds` (a client that
  times out cannot know the message was posted: the case idempotent delivery must handle).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER_ID = "UBOTSTUB01"
TEAM_ID = "TSTUB00001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float
    status: int = 200


@dataclass
class Trouble:
    mode: str  # http500 | ratelimited | hang
    until: float
    methods: frozenset[str] | None
    seconds: float = 0.0

    def applies(self, method: str, now: float) -> bool:
        return now < self.until and (self.methods is None or method in self.methods)


@dataclass
class StubState:
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    troubles: list[Trouble] = field(default_factory=list)


class SlackStub:
    def __init__(self, *, token: str = "test-bot-token") -> None:  # noqa: S107 - fake
        self.token = token
        self.state = StubState()
        self.lock = threading.Lock()
        self._last_ts = 0.0
        self._views = itertools.count(1)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> SlackStub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    # -- misbehaviour -----------------------------------------------------------------------
    def fail(
        self, mode: str = "http500", *, seconds: float, methods: Iterable[str] | None = None
    ) -> None:
        assert mode in ("http500", "ratelimited")
        with self.lock:
            self.state.troubles.append(
                Trouble(mode, time.monotonic() + seconds, frozenset(methods) if methods else None)
            )

    def hang(self, seconds: float, *, during: float, methods: Iterable[str] | None = None) -> None:
        """For `during` seconds, hold each response `seconds` after doing the work."""
        with self.lock:
            self.state.troubles.append(
                Trouble(
                    "hang",
                    time.monotonic() + during,
                    frozenset(methods) if methods else None,
                    seconds=seconds,
                )
            )

    def heal(self) -> None:
        with self.lock:
            self.state.troubles.clear()

    # -- what happened ----------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if method is None or c.method == method]

    def served(self, method: str) -> list[Call]:
        """Calls of `method` that did the work (not refused by a failure mode)."""
        return [c for c in self.calls(method) if c.status == 200]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(m) for m in self.state.messages.get(channel, [])]

    def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages(channel) if m.get("thread_ts") == ts]

    def wait_for(self, predicate, timeout: float = 3.0, interval: float = 0.02) -> Any:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    # -- the API ------------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "api_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        with self.lock:
            return handler(params)

    def _new_ts(self) -> str:
        # Real-time stamps (Slack's are epoch seconds), unique and increasing.
        self._last_ts = max(time.time(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"

    def api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://stub.slack.invalid/",
            "team": "Stub Workspace",
            "user": "guidance-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": "BSTUB00001",
        }

    def api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (params.get("text") or params.get("blocks")):
            return {"ok": False, "error": "no_text"}
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": "BSTUB00001",
            "ts": self._new_ts(),
            "text": params.get("text", ""),
            "blocks": _json(params.get("blocks")),
            "metadata": _json(params.get("metadata")),
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
            message["reply_broadcast"] = bool(params.get("reply_broadcast"))
        self.state.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        for message in self.state.messages.get(params.get("channel", ""), []):
            if message["ts"] == params.get("ts"):
                message["text"] = params.get("text", message["text"])
                if "blocks" in params:
                    message["blocks"] = _json(params["blocks"])
                message["edited"] = message.get("edited", 0) + 1
                return {"ok": True, "channel": params["channel"], "ts": message["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "message_ts": self._new_ts()}

    def api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") or not params.get("view"):
            return {"ok": False, "error": "invalid_arguments"}
        view = _json(params["view"])
        return {"ok": True, "view": {**view, "id": f"VSTUB{next(self._views):05d}"}}

    def api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", ""))
        if not users:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0]}}

    def api_conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        oldest = float(params.get("oldest") or 0)
        found = [
            m
            for m in self.state.messages.get(params.get("channel", ""), [])
            if float(m["ts"]) >= oldest and not m.get("thread_ts")
        ]
        return {"ok": True, "messages": list(reversed(found)), "has_more": False}

    def api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        ts = params.get("ts")
        found = [
            m
            for m in self.state.messages.get(params.get("channel", ""), [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        return {"ok": True, "messages": found, "has_more": False}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _handler(stub: SlackStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8") if length else ""
            if "json" in (self.headers.get("Content-Type") or ""):
                params = json.loads(raw or "{}")
            else:
                params = {k: v[-1] for k, v in parse_qs(raw).items()}
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ") or params.get("token")
            if self.path.startswith("/response/"):
                self._record(self.path, params, token, 200)
                return self._send(200, {"ok": True})
            method = self.path.removeprefix("/api/").split("?")[0]
            now = time.monotonic()
            with stub.lock:
                troubles = [t for t in stub.state.troubles if t.applies(method, now)]
            failing = next((t for t in troubles if t.mode != "hang"), None)
            if failing is not None:
                status = 500 if failing.mode == "http500" else 429
                self._record(method, params, token, status)
                if status == 500:
                    return self._send(500, {"ok": False, "error": "internal_error"})
                return self._send(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
            self._record(method, params, token, 200)
            if token != stub.token:
                return self._send(200, {"ok": False, "error": "invalid_auth"})
            body = stub.handle(method, params)
            for hang in (t for t in troubles if t.mode == "hang"):
                time.sleep(hang.seconds)
            self._send(200, body)

        def _record(self, method: str, params: dict[str, Any], token: str | None, status: int):
            with stub.lock:
                stub.state.calls.append(Call(method, params, token, time.monotonic(), status))

        def _send(self, status: int, body: dict[str, Any], headers: dict | None = None) -> None:
            data = json.dumps(body).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a hang test): nothing to tell it

    return Handler
