"""Delivery targets for the outbox dispatcher. See `mash.outbox.Target` for the protocol.

A target is any object with a `name` and `deliver(message)` that returns once the receiver has
accepted the message and raises otherwise. Keep targets small and stateless between calls; the
dispatcher does retries, backoff and bookkeeping. The Slack target lives with the Slack app.
"""

from __future__ import annotations

import json
import logging
import os
import re
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

from mash.outbox import Message

log = logging.getLogger("mash.outbox")


class LogTarget:
    """Writes one log line per message (development; and the fallback when nothing else is set)."""

    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or log

    def deliver(self, message: Message) -> None:
        self.logger.info(
            "notify %s [%s] %s (key %s)",
            message.audience,
            message.topic,
            message.payload.get("title", ""),
            message.idempotency_key,
        )


class FileTarget:
    """Appends one JSON line per delivery to a file, flushed and fsynced before returning.

    A reader that keeps the first line per `idempotency_key` is an idempotent receiver: it shows
    each message once even when the dispatcher delivered it twice. `pause` sleeps after writing
    (for demonstrations and the kill test: the window between delivery and bookkeeping).
    """

    name = "file"

    def __init__(self, path: Path | str, *, pause: float = 0.0) -> None:
        self.path = Path(path)
        self.pause = pause

    def deliver(self, message: Message) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({**message.to_dict(), "delivered_pid": os.getpid()}, sort_keys=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if self.pause:
            time.sleep(self.pause)


def read_file_target(path: Path | str) -> tuple[int, dict[str, dict]]:
    """(deliveries, first delivery per idempotency key) from a FileTarget's file."""
    deliveries = 0
    first: dict[str, dict] = {}
    p = Path(path)
    if not p.exists():
        return 0, first
    for line in p.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        deliveries += 1
        record = json.loads(line)
        first.setdefault(record["idempotency_key"], record)
    return deliveries, first


class SmtpTarget:
    """Sends each message as an e-mail. People-addressed messages go to their e-mails; duty
    messages go to `duty_address`. The Message-ID is derived from the idempotency key, so mail
    clients and archives drop a repeat."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int = 25,
        sender: str,
        duty_address: str | None = None,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.duty_address = duty_address
        self.starttls, self.username, self.password, self.timeout = (
            starttls,
            username,
            password,
            timeout,
        )

    def addresses(self, message: Message) -> list[str]:
        people = [p.get("email") for p in message.recipient.get("people", []) if p.get("email")]
        if people:
            return people
        return [self.duty_address] if message.audience != "originator" and self.duty_address else []

    def deliver(self, message: Message) -> None:
        to = self.addresses(message)
        if not to:
            raise RuntimeError(
                f"no e-mail address for {message.audience} message {message.idempotency_key}"
            )
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = ", ".join(to)
        mail["Subject"] = str(message.payload.get("title", "MASH notification"))
        domain = self.sender.rpartition("@")[2] or "mash.invalid"
        # The same Message-ID on every retry (make_msgid would add a random part).
        local = re.sub(r"[^A-Za-z0-9.-]", ".", message.idempotency_key)
        mail["Message-ID"] = f"<{local}@{domain}>"
        mail["X-Idempotency-Key"] = message.idempotency_key
        mail.set_content(str(message.payload.get("text", "")))
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)
