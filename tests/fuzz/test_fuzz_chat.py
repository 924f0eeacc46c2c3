"""Property-based fuzzing of the chat input, at three levels:

- the relay (the path every practitioner message takes): any text gets a reply; whenever the
  local risk screen says immediate, the reply carries the safety message (999) and either an
  escalation reference or a spooled escalation;
- the chat JSON API: arbitrary JSON bodies and texts never give a server error;
- the chat page (form post): the practitioner's own text, with markup mixed in, is echoed
  escaped.
"""

from __future__ import annotations

import uuid

import pytest
from fuzz_helpers import (
    COUNTS,
    ODD_CHARACTERS,
    PROBES,
    assert_escaped,
    assert_not_server_error,
    fuzz_settings,
    odd_text,
    post_form,
    post_json,
)
from hypothesis import given
from hypothesis import strategies as st

from guidance.engine import MAX_TEXT_CHARS

pytestmark = pytest.mark.fuzz

RISKY = [
    "she said her dad hit her last night",
    "he has bruises and says mum's boyfriend did it",
    "a man is making her have sex with his friends",
    "he said he wants to kill himself tonight",
]
# Text as practitioners type it (any Unicode, emoji, control characters, long runs) with risky
# phrases, markup, lone surrogates and NUL mixed in, up to just over the relay's window size.
chat_text = st.one_of(
    st.text(min_size=0, max_size=300),
    st.lists(
        st.one_of(
            st.text(max_size=80), st.sampled_from(RISKY), st.sampled_from(PROBES), odd_text
        ),
        min_size=1,
        max_size=12,
    ).map(" ".join),
    st.builds(lambda n, s: s * n, st.integers(1, 50), st.text(min_size=1, max_size=5)),
    st.just("x" * (MAX_TEXT_CHARS + 10)),
    st.just(("she said her dad hit her \ud800\x00 " * 1000)[: MAX_TEXT_CHARS + 10]),
)


@fuzz_settings(3000)
@given(text=chat_text)
def test_relay_keeps_its_promises(context, text: str) -> None:
    COUNTS["chat relay"] += 1
    metadata = {"user_id": 1, "role": "dsl", "organisation_id": 2, "channel": "portal",
                "message_id": str(uuid.uuid4())}  # fmt: skip
    reply = context.relay.send(sender_id="fuzz", text=text, metadata=metadata)
    assert reply.messages, "every message gets a reply"
    if reply.urgency == "immediate":
        said = " ".join(str(m.get("text", "")) for m in reply.messages)
        assert "999" in said, "immediate risk without the safety message"
        spooled = any(True for _ in context.relay.spool.pending())
        assert reply.escalation_reference or spooled, "immediate risk neither raised nor spooled"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50)
    | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=10,
)
chat_bodies = st.one_of(
    st.builds(lambda t: {"text": t}, chat_text),
    st.dictionaries(st.sampled_from(["text", "message", "sender"]), json_values, max_size=3),
    json_values,
)


@fuzz_settings(3000)
@given(body=chat_bodies)
def test_chat_api_never_fails(signed_in, body) -> None:  # noqa: ANN001 - any JSON value
    COUNTS["chat API (JSON bodies)"] += 1
    client, token = signed_in["oakfield_dsl"]
    response = post_json(client, "/api/chat", body, token)
    assert_not_server_error(response)
    if response.status_code == 200:
        reply = response.json()
        assert reply["messages"]
        if reply["urgency"] == "immediate":
            assert reply["safety_message"], "immediate risk without the safety message"


@fuzz_settings(2000)
@given(text=chat_text.filter(lambda t: 0 < len(t) <= MAX_TEXT_CHARS), probe=st.sampled_from(PROBES))
def test_chat_page_escapes_what_was_sent(signed_in, text: str, probe: str) -> None:
    COUNTS["chat page (form)"] += 1
    client, token = signed_in["oakfield_dsl"]
    response = post_form(client, "/chat", {"text": f"{text}{probe}"[:MAX_TEXT_CHARS],
                                           "csrf_token": token})  # fmt: skip
    assert_not_server_error(response)
    assert_escaped(response)


odd_run = st.lists(st.sampled_from(ODD_CHARACTERS), max_size=6).map("".join)


@fuzz_settings(600)
@given(phrase=st.sampled_from(RISKY), before=odd_run, after=odd_run)
def test_a_disclosure_among_odd_characters_is_escalated_through_the_api(
    signed_in, context, phrase: str, before: str, after: str
) -> None:
    """Odd characters around a disclosure never cost the safety message or the escalation."""
    COUNTS["chat API (odd-character disclosures)"] += 1
    client, token = signed_in["oakfield_dsl"]
    response = post_json(client, "/api/chat", {"text": f"{before} {phrase} {after}"}, token)
    assert response.status_code == 200, response.text[:300]
    reply = response.json()
    assert reply["urgency"] == "immediate" and "999" in reply["safety_message"]
    assert reply["escalation_reference"], "the escalation was not raised"
