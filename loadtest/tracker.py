"""Check conversations in Rasa's SQL tracker store: every message sent is there once, in the
order sent, each turn completed, timestamps never going backwards."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text


@dataclass
class TrackerReport:
    conversations: int = 0
    user_events: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)


def check_conversations(
    tracker_url: str, sent: Mapping[str, Sequence[str]], since: float
) -> TrackerReport:
    """`sent`: sender id -> texts in the order they were sent (since epoch time `since`)."""
    report = TrackerReport()
    engine = create_engine(tracker_url)
    try:
        with engine.connect() as connection:
            for sender, texts in sent.items():
                rows = connection.execute(
                    text(
                        "SELECT id, type_name, timestamp, action_name, data FROM events "
                        "WHERE sender_id = :sender AND timestamp >= :since ORDER BY id"
                    ),
                    {"sender": sender, "since": since},
                ).all()
                report.conversations += 1
                report.events += len(rows)
                report.problems += _check_one(sender, list(texts), rows)
                report.user_events += sum(1 for r in rows if r.type_name == "user")
    finally:
        engine.dispose()
    return report


def _check_one(sender: str, texts: list[str], rows: list) -> list[str]:  # noqa: ANN001
    problems: list[str] = []
    stored = [json.loads(r.data).get("text") for r in rows if r.type_name == "user"]
    if stored != texts:
        missing = len(texts) - len(stored)
        first = next(
            (i for i, (a, b) in enumerate(zip(stored, texts, strict=False)) if a != b),
            min(len(stored), len(texts)),
        )
        problems.append(
            f"{sender}: {len(texts)} sent, {len(stored)} stored ({missing:+d} missing); "
            f"first difference at message {first + 1}"
        )
    last = None
    for row in rows:
        if last is not None and row.timestamp < last:
            problems.append(f"{sender}: event {row.id} is older than the event before it")
            break
        last = row.timestamp
    # Each user message must be answered: an action_listen after it, before the next one.
    waiting = False
    for row in rows:
        if row.type_name == "user":
            if waiting:
                problems.append(f"{sender}: event {row.id} arrived before the last turn ended")
                break
            waiting = True
        elif row.type_name == "action" and row.action_name == "action_listen":
            waiting = False
    if waiting:
        problems.append(f"{sender}: the last message was never answered")
    return problems
