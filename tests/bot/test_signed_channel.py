"""Rasa's signed input channel (bot/channels/signed.py), without starting Rasa: the blueprint
is mounted on a bare Sanic app exactly as Rasa mounts it, with a stand-in for Rasa's message
handler that records what Rasa would get and answers once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sanic.touchup import TouchUp

from bot.channels.signed import SignedInput
from chat.signing import (
    MemoryNonceStore,
    RedisNonceStore,
    derive_sender_id,
    sign_request,
)
from settings import Settings

SECRET = "channel-test-secret-" + "x" * 24
URL = "/webhooks/signed/webhook"
QUESTION = "What does level 2 mean?"
DISCLOSURE = "Year 4 boy says his dad hit him with a belt last night and he's scared to go home."
META = {"user_id": "5", "role": "dsl", "organisation_id": 2, "channel": "portal",
        "message_id": "m-1"}


class Rasa:
    """Mounts the channel on a Sanic app; records each UserMessage Rasa would process."""

    def __init__(self, channel: SignedInput) -> None:
        self.received: list[UserMessage] = []
        self.app = Sanic(f"signed-{uuid.uuid4().hex[:12]}")

        async def on_new_message(message: UserMessage) -> None:
            self.received.append(message)
            await message.output_channel.send_text_message(message.sender_id, "Hello")

        # As rasa.core.channels.channel.register mounts it, with our handler.
        prefix = f"/webhooks/{channel.url_prefix()}"
        self.app.blueprint(channel.blueprint(on_new_message), url_prefix=prefix)
        self.started = False

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        async def go() -> httpx.Response:
            if not self.started:
                await self.app._startup()  # what Sanic's server does before serving
                self.started = True
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://rasa") as client:
                return await client.post(URL, content=body, headers=headers)

        return asyncio.run(go())


@pytest.fixture(autouse=True)
def touch_up_once(monkeypatch):
    """Sanic rewrites its own HTTP code once per process at start-up (TouchUp); a second app in
    the same process must not rewrite it again."""
    original = TouchUp.run

    def once(app: Any) -> None:
        if not getattr(TouchUp, "_done_in_tests", False):
            original(app)
            TouchUp._done_in_tests = True

    monkeypatch.setattr(TouchUp, "run", staticmethod(once))


def settings(**overrides: Any) -> Settings:
    return Settings(environment="test", channel_secret=SECRET, **overrides)


@pytest.fixture()
def rasa(guidance_engine) -> Rasa:
    return Rasa(SignedInput(settings(), engine=guidance_engine, nonces=MemoryNonceStore()))


def signed(text: str = QUESTION, metadata: dict[str, Any] | None = None,
           conversation: str = "portal-5", **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    return sign_request(SECRET, conversation=conversation, text=text,
                        metadata=META if metadata is None else metadata, **kwargs)


def test_a_signed_message_is_answered_with_a_derived_sender_id(rasa):
    response = rasa.post(*signed())
    assert response.status_code == 200
    (message,) = rasa.received
    expected = derive_sender_id(SECRET, metadata=META, conversation="portal-5")
    assert message.sender_id == expected and expected.startswith("c-")
    assert message.sender_id != "portal-5"  # the caller's key is not the conversation id
    assert response.json() == [{"recipient_id": expected, "text": "Hello"}]
    assert message.input_channel == "signed"
    assert {k: message.metadata[k] for k in META} == META
    assert message.metadata["conversation"] == "portal-5"
    assert message.metadata["channel_screen"]["urgency"] == "none"


def test_another_identity_never_shares_a_conversation(rasa):
    rasa.post(*signed(conversation="portal-5"))
    rasa.post(*signed(conversation="portal-5", metadata={**META, "user_id": "6"}))
    rasa.post(*signed(conversation="portal-5", metadata={**META, "organisation_id": 3}))
    ids = {m.sender_id for m in rasa.received}
    assert len(ids) == 3


def test_forged_identity_with_a_valid_signature_is_refused(rasa):
    body, headers = signed()
    forged = json.loads(body)
    forged["metadata"]["user_id"] = "1"  # someone else, after signing
    response = rasa.post(json.dumps(forged).encode(), headers)
    assert response.status_code == 401
    assert rasa.received == []


def test_a_tampered_text_or_conversation_is_refused(rasa):
    body, headers = signed()
    for field, value in (("message", "something else"), ("sender", "portal-1")):
        tampered = json.loads(body) | {field: value}
        assert rasa.post(json.dumps(tampered).encode(), headers).status_code == 401
    assert rasa.received == []


def test_unsigned_calls_are_refused(rasa):
    body = json.dumps({"sender": "portal-5", "message": QUESTION, "metadata": META}).encode()
    assert rasa.post(body, {"Content-Type": "application/json"}).status_code == 401
    assert rasa.received == []


def test_a_signature_under_another_secret_is_refused(rasa):
    body, headers = sign_request("not-the-secret", conversation="portal-5", text=QUESTION,
                                 metadata=META)
    assert rasa.post(body, headers).status_code == 401


def test_a_stale_request_is_refused(rasa):
    stale = signed(now=time.time() - 301)
    future = signed(now=time.time() + 301)
    assert rasa.post(*stale).status_code == 401
    assert rasa.post(*future).status_code == 401
    assert rasa.post(*signed(now=time.time() - 200)).status_code == 200


def test_a_replayed_request_is_refused(rasa):
    body, headers = signed()
    assert rasa.post(body, headers).status_code == 200
    assert rasa.post(body, headers).status_code == 401
    assert len(rasa.received) == 1


def test_text_plain_is_refused_even_when_signed(rasa):
    # A page on another origin can POST text/plain without a preflight: never accepted.
    body, headers = signed()
    response = rasa.post(body, headers | {"Content-Type": "text/plain"})
    assert response.status_code in (401, 415)
    assert rasa.received == []


def test_a_body_that_is_not_json_is_refused(rasa):
    _, headers = signed()
    assert rasa.post(b"sender=portal-5&message=hi", headers).status_code == 401


def test_a_body_over_the_cap_is_refused_before_it_is_parsed(rasa):
    from chat.signing import MAX_BODY_BYTES

    _, headers = signed()  # fresh, well-formed headers with a signature that cannot match
    huge = b'{"sender": "x", "message": "a", "metadata": {"k": [' + b"[1]," * MAX_BODY_BYTES
    response = rasa.post(huge + b"[1]]}}", headers)
    assert response.status_code == 413
    assert rasa.received == []


def test_deeply_nested_json_is_refused_not_a_crash(rasa):
    _, headers = signed()
    nested = b'{"sender": "x", "message": "a", "metadata": {"k": ' + b"[" * 200_000
    response = rasa.post(nested + b"]" * 200_000 + b"}}", headers)
    assert response.status_code == 401
    assert rasa.received == []


def test_a_disclosure_deep_in_a_long_message_is_screened_but_rasa_reads_little(rasa):
    filler = "We had a long meeting about the timetable and the trip. " * 900  # ~50,000
    text = (filler + DISCLOSURE + " " + filler)[:100_000]
    response = rasa.post(*signed(text))
    assert response.status_code == 200
    (message,) = rasa.received
    assert len(message.text) == 2_000  # settings.rasa_max_chars
    screen = message.metadata["channel_screen"]
    assert screen["urgency"] == "immediate" and screen["chars"] == len(text)
    assert all(m["start"] >= len(filler) - 1 for m in screen["matches"])


def test_only_a_bare_button_command_reaches_rasa_as_a_command(rasa):
    # "/greet ..." would make Rasa skip NLU and its risk component and log the whole text
    rasa.post(*signed("/greet " + DISCLOSURE))
    rasa.post(*signed("/ /greet{\"x\": 1} " + DISCLOSURE))  # Rasa strips the space itself
    rasa.post(*signed("/affirm"))
    forced, spaced, button = rasa.received
    for message in (forced, spaced):
        assert not message.text.strip().startswith("/")
        assert message.metadata["channel_screen"]["urgency"] == "immediate"
    assert forced.text.startswith("greet ")
    assert button.text == "/affirm"


def test_odd_unicode_is_cleaned_before_rasa_reads_it(rasa):
    text = "dad hit him\ud800 with a belt\x00 last night and he's scared to go home"
    assert rasa.post(*signed(text)).status_code == 200
    (message,) = rasa.received
    assert "\ud800" not in message.text and "\x00" not in message.text
    assert message.metadata["channel_screen"]["urgency"] == "immediate"


def test_the_channels_screen_replaces_one_the_caller_put_in_the_metadata(rasa):
    rasa.post(*signed(DISCLOSURE, metadata={**META, "channel_screen": {"urgency": "none"}}))
    assert rasa.received[0].metadata["channel_screen"]["urgency"] == "immediate"


def test_the_log_has_ids_and_lengths_but_no_text(rasa, caplog):
    caplog.set_level(logging.DEBUG)
    secret_words = "zanzibar marmalade"
    rasa.post(*signed(f"{DISCLOSURE} {secret_words}"))
    rasa.post(*signed(f"{DISCLOSURE} {secret_words}", now=time.time() - 999))
    assert "m-1" in caplog.text and "immediate" in caplog.text
    assert secret_words not in caplog.text and "belt" not in caplog.text


def test_the_channel_refuses_to_start_without_a_secret(guidance_engine):
    with pytest.raises(ValueError, match="CHANNEL_SECRET"):
        SignedInput(Settings(environment="test"), engine=guidance_engine)


def test_every_replica_shares_the_nonces_through_redis(guidance_engine):
    url = "redis://127.0.0.1:6379/14"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    replicas = [
        Rasa(SignedInput(settings(redis_url=url), engine=guidance_engine,
                         nonces=RedisNonceStore(url)))
        for _ in range(2)
    ]
    body, headers = signed()
    assert replicas[0].post(body, headers).status_code == 200
    assert replicas[1].post(body, headers).status_code == 401  # the replay, on the other one
