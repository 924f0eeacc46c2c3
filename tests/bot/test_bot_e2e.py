"""End to end through Rasa's signed channel, with the action server and a temporary SQLite MASH.

Slow: needs a trained model. scripts/bot_checks.sh sets BOT_MODEL to the one it trained;
otherwise scripts/train.sh trains (or reuses) the make-run model. Both servers listen on free
loopback ports. The last test stops the action server to show the safety message does not
depend on it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from chat.say import post_signed
from chat.signing import WEBHOOK_PATH, derive_sender_id
from guidance.pack import load_pack
from mash.db import make_engine, session_factory
from mash.demo import seed_demo
from mash.migrate import upgrade
from mash.models import Escalation
from settings import ROOT, Settings

pytestmark = pytest.mark.slow

STARTUP_SECONDS = 180
DISCLOSURE = (
    "Year 5 girl has just told me her stepdad hit her with a belt and she is scared to go home"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_path() -> str:
    if os.environ.get("BOT_MODEL"):
        return os.environ["BOT_MODEL"]
    out = subprocess.run([str(ROOT / "scripts" / "train.sh")], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1]


class Stack:
    def __init__(self, tmp: Path) -> None:
        self.db_url = f"sqlite:///{tmp / 'app.db'}"
        self.token = secrets.token_hex(16)
        self.channel_secret = secrets.token_urlsafe(32)
        self.action_port, self.rasa_port = free_port(), free_port()
        self.env = os.environ | {
            "APP_ENV": "test",
            "DATABASE_URL": self.db_url,
            "VAR_DIR": str(tmp),
            "ACTION_SERVER_TOKEN": self.token,
            "CHANNEL_SECRET": self.channel_secret,
            "ACTION_SERVER_URL": f"http://127.0.0.1:{self.action_port}/webhook",
            "TF_CPP_MIN_LOG_LEVEL": "3",
        }
        self.logs = tmp
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def webhook(self) -> str:
        return self.rasa_url + WEBHOOK_PATH

    def start(self, model: str) -> None:
        upgrade(self.db_url)
        db = make_engine(url=self.db_url)
        self.demo = seed_demo(session_factory(db), settings=Settings(
            environment="test", database_url=self.db_url, var_dir=self.logs))
        db.dispose()
        self._spawn("actions", [sys.executable, "-m", "bot.action_server",
                                "--port", str(self.action_port)])
        self._spawn("rasa", [str(ROOT / ".venv" / "bin" / "rasa"), "run", "-m", model,
                             "--endpoints", "bot/endpoints.yml",
                             "--credentials", "bot/credentials.yml",
                             "-i", "127.0.0.1", "-p", str(self.rasa_port)])
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {self.log(name)[-3000:]}")
            try:
                httpx.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2)
                if self.send("hello", sender="warm-up"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError(f"servers did not start: {self.log('rasa')[-3000:]}")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def send(self, text: str, *, sender: str, metadata: dict[str, Any] | None = None,
             timeout: float = 30) -> list[dict[str, Any]]:
        response = post_signed(self.rasa_url, self.channel_secret, text=text,
                               conversation=sender, metadata=metadata or {}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def escalations(self) -> list[Escalation]:
        db = make_engine(url=self.db_url)
        try:
            with session_factory(db)() as session:
                return list(session.execute(select(Escalation)).scalars())
        finally:
            db.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("bot_e2e"))
    try:
        stack.start(model_path())
        yield stack
    finally:
        for name in list(stack.procs):
            stack.stop(name)


def metadata(stack: Stack, key: str = "oakfield_dsl") -> dict[str, Any]:
    from mash.demo import PEOPLE

    return {
        "user_id": str(stack.demo.people[key]),
        "role": PEOPLE[key]["role"],
        "organisation_id": stack.demo.organisations[PEOPLE[key]["org"]],
        "channel": "portal",
        "message_id": str(uuid.uuid4()),
    }


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r.get("text") or "" for r in replies]


def expected_number() -> str:
    pack = load_pack(Settings().pack_path)
    return pack.contacts.safety_line(datetime.now(timezone.utc)).number


def assert_safety_first(replies: list[dict[str, Any]]) -> None:
    assert replies, "no reply at all"
    first = texts(replies)[0]
    assert "999" in first, first
    assert expected_number() in first, first  # front door in hours, out-of-hours otherwise


def test_disclosure_safety_message_first_and_one_escalation(stack):
    meta = metadata(stack)
    replies = stack.send(DISCLOSURE, sender="dsl-1", metadata=meta)

    assert_safety_first(replies)
    rest = " ".join(texts(replies)[1:])
    assert "duty social worker has been alerted" in rest
    rows = [e for e in stack.escalations() if e.message_id == meta["message_id"]]
    assert len(rows) == 1
    assert rows[0].urgency == "immediate" and rows[0].sender_verified
    assert f"E-{rows[0].id:06d}" in rest

    # The portal retrying the same message id never makes a second escalation.
    again = stack.send(DISCLOSURE, sender="dsl-1", metadata=meta)
    assert_safety_first(again)
    assert len([e for e in stack.escalations() if e.message_id == meta["message_id"]]) == 1


# Batches written outside this team (other councils' documents, practitioners' wording), kept
# as regression sets once their misses were mended (tests/guidance/data).
OUTSIDE_WORDING = ("risk_extra9.jsonl", "risk_extra10.jsonl")


def test_every_immediate_item_in_practitioners_wording_is_escalated(stack):
    """Issue #8: the whole assistant, through the signed webhook, escalates every immediate
    item of the outside-wording batches, each with the safety message first."""
    data = ROOT / "tests" / "guidance" / "data"
    rows = [json.loads(line) for name in OUTSIDE_WORDING
            for line in (data / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    immediate = [row for row in rows if row["label"] == "immediate"]
    assert len(immediate) >= 60
    missed = []
    for row in immediate:
        meta = metadata(stack)
        replies = stack.send(row["text"], sender=f"outside-{row['id']}", metadata=meta)
        first = texts(replies)[0] if replies else ""
        raised = [e for e in stack.escalations() if e.message_id == meta["message_id"]]
        if "999" not in first or len(raised) != 1 or raised[0].urgency != "immediate":
            missed.append(f"{row['id']}: {row['text'][:80]}")
    assert missed == []


def test_disclosure_in_the_middle_of_the_threshold_check(stack):
    sender = "dsl-form"
    first = stack.send("can you help me work out which level this is", sender=sender,
                       metadata=metadata(stack))
    assert any("worrying" in t for t in texts(first)), first
    meta = metadata(stack)
    replies = stack.send("he just told me his dad punched him in the face this morning",
                         sender=sender, metadata=meta)
    assert_safety_first(replies)
    assert any("stopped the threshold check" in t for t in texts(replies))
    assert len([e for e in stack.escalations() if e.message_id == meta["message_id"]]) == 1


def test_the_relay_stops_a_half_finished_form_so_the_next_question_is_a_question(
        stack, guidance_engine):
    """Issue 14: a threshold check left half done (a reload, another page, 10 idle minutes)
    swallowed the next question ("who is our MASH contact?" got "How old is the child?"). The
    portal then has the relay send the bare cancel command through the signed channel first
    (chat/relay.py send(stop_form_first=True)): this is that contract against the real bot."""
    from chat.relay import ChatRelay

    settings = Settings(environment="test", database_url=stack.db_url, var_dir=stack.logs,
                        rasa_url=stack.rasa_url, channel_secret=stack.channel_secret)
    db = make_engine(url=stack.db_url)
    relay = ChatRelay(settings=settings, engine=guidance_engine,
                      session_factory=session_factory(db))
    sender = f"portal-{stack.demo.people['oakfield_dsl']}-e2eTabConversation01"
    try:
        asked = relay.send(sender_id=sender, text="I want to do a threshold check",
                           metadata=metadata(stack))
        assert any("What is worrying you" in t for t in texts(asked.messages)), asked.messages
        reply = relay.send(sender_id=sender, text="who is our MASH contact?",
                           metadata=metadata(stack), stop_form_first=True)
        assert reply.form_stopped is True
        answer = texts(reply.messages)
        assert any("MASH contact" in t for t in answer), answer
        assert not any("How old is the child" in t for t in answer), answer
        # Nothing open now: the cancel says so, and the relay reads it as nothing stopped.
        assert relay.stop_open_form(sender_id=sender, metadata=metadata(stack)) is False
    finally:
        relay.http.close()
        db.dispose()


def test_threshold_check_to_a_level(stack):
    sender = "dsl-level"
    say = lambda text: texts(stack.send(text, sender=sender, metadata=metadata(stack)))  # noqa: E731
    say("I want to do a threshold check")
    say("he comes to school hungry most days and his uniform is dirty")
    assert any("17" in t for t in say("about twenty five"))  # refused: not a child's age
    say("eight")
    say("his mum and his two younger sisters")
    result = " ".join(say("breakfast club and a chat with mum"))
    assert "Level" in result and "the MASH" in result and "decides" in result


@pytest.mark.parametrize(
    "text",
    ["", "x" * 100_000, "😀😀😀🙏", "<script>alert('hi')</script><b>bold</b>",
     "Bonjour, je voudrais de l'aide s'il vous plaît", "   \n\t  "],
    ids=["empty", "100KB", "emoji", "markup", "french", "whitespace"],
)
def test_bad_input_gets_a_sensible_reply(stack, text):
    replies = stack.send(text, sender=f"odd-{uuid.uuid4().hex[:6]}", metadata=metadata(stack),
                         timeout=120)
    assert isinstance(replies, list)
    assert replies and all(r.get("text") for r in replies), replies


def test_action_server_refuses_calls_without_the_token(stack):
    url = f"http://127.0.0.1:{stack.action_port}/webhook"
    call = {"next_action": "action_give_contacts", "sender_id": "x", "tracker": {},
            "domain": {}, "version": "3.6.2"}
    assert httpx.post(url, json=call, timeout=10).status_code == 401
    assert httpx.post(url, params={"token": "wrong"}, json=call, timeout=10).status_code == 401
    # The right token in the URL is refused too (it would land in access logs) ...
    assert httpx.post(url, params={"token": stack.token}, json=call,
                      timeout=10).status_code == 401
    # ... and Rasa's own calls (every test above) carried it in the header.
    bearer = {"Authorization": f"Bearer {stack.token}"}
    assert httpx.post(url, headers=bearer, json=call, timeout=10).status_code != 401


def test_a_signed_call_is_answered_under_a_derived_sender_id(stack):
    meta = metadata(stack)
    replies = stack.send("who is our MASH contact?", sender="portal-chosen", metadata=meta)
    assert replies and all(r.get("text") for r in replies)
    derived = derive_sender_id(stack.channel_secret, metadata=meta, conversation="portal-chosen")
    assert {r["recipient_id"] for r in replies} == {derived}


def test_unsigned_forged_replayed_and_text_plain_calls_are_refused(stack):
    meta = metadata(stack)
    body = {"sender": "dsl-1", "message": DISCLOSURE, "metadata": meta}
    assert httpx.post(stack.webhook, json=body, timeout=10).status_code == 401
    # The stock REST channel is not there at all.
    rest = f"http://127.0.0.1:{stack.rasa_port}/webhooks/rest/webhook"
    assert httpx.post(rest, json=body, timeout=10).status_code == 404

    from chat.signing import sign_request

    raw, headers = sign_request(stack.channel_secret, conversation="dsl-1", text="hello",
                                metadata=meta)
    claimed = f'"user_id":"{meta["user_id"]}"'.encode()
    assert claimed in raw
    forged = raw.replace(claimed, b'"user_id":"999"')
    assert httpx.post(stack.webhook, content=forged, headers=headers,
                      timeout=10).status_code == 401
    plain = headers | {"Content-Type": "text/plain"}
    assert httpx.post(stack.webhook, content=raw, headers=plain, timeout=10).status_code in (
        401, 415)
    assert httpx.post(stack.webhook, content=raw, headers=headers, timeout=30).status_code == 200
    assert httpx.post(stack.webhook, content=raw, headers=headers, timeout=10).status_code == 401
    stale, stale_headers = sign_request(stack.channel_secret, conversation="dsl-1", text="hi",
                                        metadata=meta, now=time.time() - 600)
    assert httpx.post(stack.webhook, content=stale, headers=stale_headers,
                      timeout=10).status_code == 401


def test_rasa_refuses_an_oversized_body_without_reading_it(stack):
    """An unsigned 54 MB post once held Rasa's event loop and 2 GB (Sanic reads up to 100 MB
    before any handler). Now the server answers 413 on the declared length alone: this request
    announces 50 MB, sends 1 KB and waits; an uncapped server would wait for the rest."""
    import socket
    from urllib.parse import urlsplit

    from chat.signing import sign_request

    _, headers = sign_request(stack.channel_secret, conversation="x", text="x", metadata={})
    url = urlsplit(stack.webhook)
    head = (f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: 50000000\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower().startswith("x-"))
            + "\r\n")
    with socket.create_connection((url.hostname, url.port), timeout=5) as conn:
        conn.sendall(head.encode() + b'{"sender": "x", "metadata": {"k": "' + b"a" * 1024)
        answer = conn.recv(200)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert stack.send("hello", sender="after-big", metadata=metadata(stack), timeout=30)


def test_a_100kb_disclosure_gets_the_safety_message_within_2_seconds(stack):
    stack.send("hello", sender="big-warm", metadata=metadata(stack))  # this sender's tracker
    filler = "We went over the timetable, the trip and the lunch rota again. " * 800
    text = (filler[:50_000] + " " + DISCLOSURE + " " + filler)[:100_000]
    meta = metadata(stack)
    started = time.monotonic()
    replies = stack.send(text, sender="big", metadata=meta, timeout=30)
    elapsed = time.monotonic() - started
    assert_safety_first(replies)
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    assert len([e for e in stack.escalations() if e.message_id == meta["message_id"]]) == 1


def test_the_logs_hold_no_message_text(stack):
    stack.send(DISCLOSURE + " zanzibar", sender="log-check", metadata=metadata(stack))
    for name in ("rasa", "actions"):
        log = stack.log(name)
        assert "zanzibar" not in log and "stepdad hit her" not in log, name


def test_safety_message_still_delivered_with_the_action_server_down(stack):
    stack.stop("actions")
    replies = stack.send(DISCLOSURE, sender="dsl-down", metadata=metadata(stack), timeout=60)
    assert_safety_first(replies)

    # And in the middle of a form, where a stock RulePolicy would run the form's validation
    # (on the dead action server) first and never say it.
    sender = "dsl-down-form"
    stack.send("I want to do a threshold check", sender=sender, metadata=metadata(stack))
    replies = stack.send("she says mum's boyfriend burnt her arm with a cigarette",
                         sender=sender, metadata=metadata(stack), timeout=60)
    assert_safety_first(replies)
