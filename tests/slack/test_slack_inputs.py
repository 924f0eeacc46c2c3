"""Odd input from Slack never costs the safety message or the escalation, and refusals never
log a body: lone surrogates, NUL and control characters are replaced before any listener reads
them; a timestamp that is not a number is 401 (it was a 500); a badly signed request's body is
not logged; no log line holds a disclosure's words. Rasa is down (the relay's own path)."""

from __future__ import annotations

import json
import logging

import pytest
from slack_helpers import DSL, DUTY, DUTY_CHANNEL, code_values, press_with_code
from sqlalchemy import select

from mash.models import Escalation

# The words are unusual so a log line carrying any of them is unmistakable.
SECRET_WORDS = "Quillaby's stepfather Zorvath hit her with a belt last night"
ODD = "\ud800 NUL:\x00 BEL:\x07 ESC:\x1b C1:\x85 \udfff"
ODD_DISCLOSURE = f"{SECRET_WORDS} {ODD}"
CHALLENGE = json.dumps({"type": "url_verification", "challenge": "c-1", "token": "x"})


def escalations(context) -> list[Escalation]:
    with context.sessions() as session:
        return list(session.execute(select(Escalation)).scalars())


def assert_clean(text: str) -> None:
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in text), "a lone surrogate was kept"
    assert not any(c in text for c in "\x00\x07\x1b\x85"), "a control character was kept"


def test_a_surrogate_and_nul_laden_disclosure_gets_the_safety_message_and_one_escalation(
    slack, stub, context
):
    ts = "1700000200.000100"
    assert slack.dm(DSL, ODD_DISCLOSURE, ts=ts).status_code == 200
    [reply] = stub.wait_for(lambda: stub.replies(f"D{DSL}", ts))
    assert "999" in reply["text"]
    assert "E-000001" in reply["text"], "the escalation's reference, not the relay's fallback"
    # Slack retries the event: still one escalation.
    assert slack.dm(DSL, ODD_DISCLOSURE, ts=ts, retry=1).status_code == 200
    [escalation] = escalations(context)
    assert escalation.urgency == "immediate" and escalation.sender_verified
    assert "belt" in escalation.excerpt and "\ufffd" in escalation.excerpt
    assert_clean(escalation.excerpt)


def test_a_slash_command_with_control_characters_is_answered(slack, stub):
    before = len(stub.calls())
    response = slack.command(DUTY, "contact\x00oak\x07field\x1b", response_url=stub.url + "r/1")
    assert response.status_code == 200
    [answer] = stub.wait_for(
        lambda: [c for c in stub.calls()[before:] if c.method.startswith("/r/")]
    )
    assert_clean(answer.params["text"])


def test_a_modal_note_with_surrogates_is_stored_cleaned(slack, stub, context, dispatcher,
                                                       fresh_code):
    assert slack.dm(DSL, SECRET_WORDS, ts="1700000300.000100").status_code == 200
    [escalation] = stub.wait_for(lambda: escalations(context))
    assert dispatcher.run_once().delivered >= 1
    [card] = [m for m in stub.messages(DUTY_CHANNEL) if not m.get("thread_ts")]
    subject = {"subject_type": "escalation", "subject_id": escalation.id}
    press_with_code(slack, stub, DUTY, "mash_pick_up", subject, card=(DUTY_CHANNEL, card["ts"]),
                    code=fresh_code(DUTY))
    stub.wait_for(lambda: escalations(context)[0].picked_up_by is not None)
    meta = json.dumps({**subject, "channel": DUTY_CHANNEL, "ts": card["ts"]})
    values = {
        "note": {"text": {"type": "plain_text_input", "value": f"Rang the school. {ODD}"}},
        "outcome": {"code": {"type": "static_select", "selected_option": {"value": "other"}}},
        **code_values(fresh_code(DUTY)),
    }
    response = slack.submit(DUTY, "mash_outcome_view", values, meta)
    assert response.status_code == 200 and not response.content  # accepted: the modal closes
    [stored] = escalations(context)
    assert stored.outcome_code == "other" and stored.outcome_note.startswith("Rang the school.")
    assert_clean(stored.outcome_note)


@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "-", "9" * 40])
def test_a_timestamp_that_is_not_a_number_is_refused_not_a_server_error(slack, stub, timestamp):
    headers = {**slack.headers(CHALLENGE), "X-Slack-Request-Timestamp": timestamp,
               "Content-Type": "application/json"}  # fmt: skip
    response = slack.http.post("/slack/events", content=CHALLENGE.encode(), headers=headers)
    assert response.status_code in (400, 401), response.status_code
    assert stub.calls() == []  # refused before authorisation (auth.test)


def test_a_badly_signed_request_logs_no_body(slack, caplog):
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event_id": "Ev9",
                       "event": {"type": "message", "channel_type": "im", "channel": "D1",
                                 "user": DSL, "text": SECRET_WORDS, "ts": "1.1"}})  # fmt: skip
    for sign in ({"secret": "not-the-secret"}, {"timestamp": "abc"}):
        assert slack.post(body, "application/json", **sign).status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Zorvath" not in logged and "Quillaby" not in logged
    assert '"event_callback"' not in logged and "refused" in logged


def test_no_log_line_holds_the_words_of_a_disclosure(slack, stub, context, running, caplog):
    caplog.set_level(logging.DEBUG)
    ts = "1700000400.000100"
    assert slack.dm(DSL, ODD_DISCLOSURE, ts=ts).status_code == 200
    stub.wait_for(lambda: stub.replies(f"D{DSL}", ts))
    # The duty card (which shows a redacted excerpt) is posted by the dispatcher, too.
    assert stub.wait_for(lambda: [m for m in stub.messages(DUTY_CHANNEL)], timeout=5)
    assert escalations(context)
    for record in caplog.records:
        line = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        assert "Zorvath" not in line and "Quillaby" not in line, (record.name, line[:200])
