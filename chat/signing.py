"""The signed channel into Rasa: how the chat relay signs a message and how Rasa checks it.

Both sides import this one module (the relay in chat/relay.py, Rasa's input channel in
bot/channels/signed.py), so the contract cannot drift. The rules are Slack's request-signing
rules: an HMAC-SHA256 under a shared secret (settings.channel_secret), a timestamp that must be
within five minutes of the receiver's clock, and a nonce that is accepted only once.

What is signed (docs/architecture.md, "The signed channel"):

    v1\\n<timestamp>\\n<nonce>\\n<canonical JSON of {"sender", "message", "metadata"}>

`sender` is the relay's conversation key (e.g. `portal-5`, `slack:T1:U1`), `message` the text,
`metadata` the identity the relay vouches for (channel, user_id, role, organisation_id,
message_id). Canonical JSON: keys sorted, no spaces, ASCII only. The Rasa conversation id is
then *derived* from the signed identity (`derive_sender_id`), never taken from the caller.

Only the standard library (and `redis` for the shared nonce store): no Rasa, no database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

VERSION = "v1"
# Where Rasa serves the channel (bot/credentials.yml; the channel's name is "signed").
WEBHOOK_PATH = "/webhooks/signed/webhook"
TIMESTAMP_HEADER = "X-Guidance-Timestamp"
NONCE_HEADER = "X-Guidance-Nonce"
SIGNATURE_HEADER = "X-Guidance-Signature"
# Slack's window: a request older (or newer) than this is refused as stale.
WINDOW_SECONDS = 300
# The largest body the channel reads (nginx's client_max_body_size in front of Rasa is the same).
# A 100,000-character message is about 100 KB; anything far bigger is an attack on Rasa's memory.
MAX_BODY_BYTES = 1024 * 1024
# A nonce is remembered a little longer than the window either side, so it can never be reused
# while its timestamp would still pass.
NONCE_TTL_SECONDS = 2 * WINDOW_SECONDS + 60
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_SIGNATURE = re.compile(r"v1=[0-9a-f]{64}")


class SignatureError(ValueError):
    """The request is unsigned, badly signed, stale or replayed (the channel answers 401)."""


@dataclass(frozen=True)
class SignedMessage:
    """What a verified request says: all of it was covered by the signature."""

    conversation: str
    text: str
    metadata: dict[str, Any]
    timestamp: int
    nonce: str


class NonceStore(Protocol):
    def use(self, nonce: str) -> bool:
        """Record `nonce`; False if it was already used (a replay)."""


class MemoryNonceStore:
    """One process's nonces (development and test; a single Rasa)."""

    def __init__(self, ttl: float = NONCE_TTL_SECONDS, clock: Any = time.monotonic) -> None:
        self._ttl, self._clock = ttl, clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, nonce: str) -> bool:
        now = self._clock()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if t > now}
            expires = self._seen.get(nonce)
            if expires is not None and expires > now:
                return False
            self._seen[nonce] = now + self._ttl
            return True


class RedisNonceStore:
    """Nonces shared by every Rasa replica (production): SET NX with an expiry."""

    def __init__(self, url: str, prefix: str = "guidance:channel-nonce:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def use(self, nonce: str) -> bool:
        return bool(self._redis.set(self._prefix + nonce, b"1", nx=True, ex=NONCE_TTL_SECONDS))


def nonce_store(redis_url: str) -> NonceStore:
    """Redis when a URL is configured, else this process's memory."""
    return RedisNonceStore(redis_url) if redis_url else MemoryNonceStore()


def canonical_json(value: Any) -> str:
    """The one serialisation that is signed: sorted keys, no spaces, ASCII only."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def _mac(secret: str, *parts: str) -> str:
    if not secret:
        raise SignatureError("no channel secret configured (CHANNEL_SECRET)")
    message = "\n".join(parts).encode("ascii")
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _base(timestamp: str, nonce: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    signed = {"sender": body["sender"], "message": body["message"], "metadata": body["metadata"]}
    return (VERSION, timestamp, nonce, canonical_json(signed))


def sign_request(
    secret: str,
    *,
    conversation: str,
    text: str,
    metadata: Mapping[str, Any],
    now: float | None = None,
    nonce: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The JSON body and headers for one signed post to the channel's webhook."""
    body = {"sender": conversation, "message": text, "metadata": dict(metadata)}
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_urlsafe(18)
    signature = _mac(secret, *_base(timestamp, nonce, body))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: f"{VERSION}={signature}",
    }
    return canonical_json(body).encode("ascii"), headers


def verify_request(
    secret: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    nonces: NonceStore,
    now: float | None = None,
) -> SignedMessage:
    """The verified message, or SignatureError. The nonce is spent only by a valid signature,
    so nobody without the secret can burn the relay's nonces."""
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    timestamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    nonce = lower.get(NONCE_HEADER.lower(), "")
    signature = lower.get(SIGNATURE_HEADER.lower(), "")
    if not (timestamp and nonce and signature):
        raise SignatureError("unsigned request")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("malformed timestamp")
    if abs((time.time() if now is None else now) - int(timestamp)) > WINDOW_SECONDS:
        raise SignatureError("stale timestamp")
    if not _NONCE.fullmatch(nonce) or not _SIGNATURE.fullmatch(signature):
        raise SignatureError("malformed nonce or signature")
    if len(body) > MAX_BODY_BYTES:
        raise SignatureError("body too large")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SignatureError("body is not JSON") from None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("sender"), str)
        and isinstance(payload.get("message"), str)
        and isinstance(payload.get("metadata"), dict)
    ):
        raise SignatureError("body needs sender, message and metadata")
    try:
        expected = _mac(secret, *_base(timestamp, nonce, payload))
    except ValueError:  # e.g. NaN in the metadata: not something the relay signs
        raise SignatureError("body cannot be canonicalised") from None
    if not hmac.compare_digest(expected, signature[len(VERSION) + 1 :]):
        raise SignatureError("bad signature")
    if not nonces.use(nonce):
        raise SignatureError("replayed nonce")
    return SignedMessage(
        conversation=payload["sender"],
        text=payload["message"],
        metadata=payload["metadata"],
        timestamp=int(timestamp),
        nonce=nonce,
    )


def derive_sender_id(secret: str, *, metadata: Mapping[str, Any], conversation: str) -> str:
    """The Rasa conversation id for a signed identity: an HMAC of channel, user id,
    organisation and the relay's conversation key. Unguessable without the secret, and two
    identities never share one."""
    identity = [
        str(metadata.get("channel") or ""),
        "" if metadata.get("user_id") is None else str(metadata.get("user_id")),
        "" if metadata.get("organisation_id") is None else str(metadata.get("organisation_id")),
        conversation,
    ]
    return "c-" + _mac(secret, "sender-id", canonical_json(identity))[:32]
