"""Bolt's request verification on the real HTTP path: signed requests in, 401 otherwise."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from mash.models import AuditEntry, Escalation

CHALLENGE = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"})


def counts(context) -> tuple[int, int]:
    with context.sessions() as session:
        return (
            session.execute(select(func.count()).select_from(Escalation)).scalar_one(),
            session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
        )


def test_a_validly_signed_request_is_accepted(slack):
    response = slack.post(CHALLENGE, "application/json")
    assert response.status_code == 200
    assert response.json() == {"challenge": "c-123"}


def test_a_bad_signature_is_refused_and_nothing_happens(slack, stub, context):
    before = counts(context)
    response = slack.post(CHALLENGE, "application/json", secret="not-the-signing-secret")
    assert response.status_code == 401
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": "Ev1",
            "event": {"type": "message", "channel_type": "im", "channel": "D1",
                      "user": "UDEMODSL01", "text": "my pupil was hit", "ts": "1.1"},
        }
    )
    response = slack.post(body, "application/json", secret="wrong")
    assert response.status_code == 401
    time.sleep(0.2)  # a listener would have run by now
    assert stub.calls() == []
    assert counts(context) == before


def test_a_timestamp_older_than_five_minutes_is_refused(slack, stub):
    old = int(time.time()) - 5 * 60 - 10
    response = slack.post(CHALLENGE, "application/json", timestamp=old)
    assert response.status_code == 401
    ahead = int(time.time()) + 5 * 60 + 10
    assert slack.post(CHALLENGE, "application/json", timestamp=ahead).status_code == 401
    recent = int(time.time()) - 4 * 60
    assert slack.post(CHALLENGE, "application/json", timestamp=recent).status_code == 200
    assert stub.calls() == []


def test_missing_signature_headers_are_refused(slack):
    response = slack.http.post(
        "/slack/events", content=CHALLENGE.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
