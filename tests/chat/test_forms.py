"""chat/forms.py: when a form left open is stopped before a message, for every channel."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chat.forms import FORM_STOPPED_IDLE, FORM_STOPPED_RESUMED, form_stop_reason, relay_turn
from chat.relay import ChatReply

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)


def test_a_new_conversation_has_nothing_to_stop():
    assert form_stop_reason(None, now=NOW, idle_minutes=10) is None
    assert form_stop_reason(None, now=NOW, idle_minutes=10, resumed=True) is None


def test_idle_from_the_limit_on_and_resumed_at_once():
    assert form_stop_reason(NOW - timedelta(minutes=9, seconds=59), now=NOW,
                            idle_minutes=10) is None
    assert form_stop_reason(NOW - timedelta(minutes=10), now=NOW, idle_minutes=10) == "idle"
    assert form_stop_reason(NOW - timedelta(seconds=5), now=NOW, idle_minutes=10,
                            resumed=True) == "resumed"


class Relay:
    def __init__(self, stopped: bool) -> None:
        self.stopped, self.calls = stopped, []

    def send(self, **kwargs):
        self.calls.append(kwargs)
        return ChatReply(messages=[{"text": "answer"}],
                         form_stopped=self.stopped and kwargs["stop_form_first"])


def test_the_user_is_told_only_when_a_form_was_stopped():
    args = dict(sender_id="s", text="who is our MASH contact?", metadata={}, now=NOW,
                idle_minutes=10)
    idle = NOW - timedelta(minutes=30)
    relay = Relay(stopped=True)
    assert relay_turn(relay, last_message_at=idle, **args).note == FORM_STOPPED_IDLE
    assert relay_turn(relay, last_message_at=NOW, resumed=True, **args).note == (
        FORM_STOPPED_RESUMED)
    assert relay_turn(relay, last_message_at=NOW, **args).note is None
    assert [c["stop_form_first"] for c in relay.calls] == [True, True, False]
    assert relay_turn(Relay(stopped=False), last_message_at=idle, **args).note is None
