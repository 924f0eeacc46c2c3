"""The relay's safety guarantees: they hold when Rasa, the action server or the database fail."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
from sqlalchemy import func, select

from chat.relay import ChatRelay
from mash.access import Actor
from mash.db import make_engine, session_factory
from mash.models import Escalation

DISCLOSURE = "Year 4 boy says his dad hit him with a belt last night and he's scared to go home."
QUESTION = "What does level 2 mean?"
# 10:00 on a Wednesday in London: the front door is open.
IN_HOURS = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
META = {"user_id": "1", "role": "dsl", "organisation_id": 1, "channel": "portal"}


def count_escalations(factory) -> int:
    with factory() as session:
        return session.execute(select(func.count()).select_from(Escalation)).scalar_one()


def relay_for(settings, engine, factory, handler=None) -> ChatRelay:
    http = httpx.Client(transport=httpx.MockTransport(handler)) if handler else None
    return ChatRelay(
        settings=settings, engine=engine, session_factory=factory, http=http,
        clock=lambda: IN_HOURS,
    )


def test_rasa_down_disclosure_still_gets_safety_message_and_escalation(settings, engine, factory):
    reply = relay_for(settings, engine, factory).send(
        sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "m-1"}
    )
    assert reply.urgency == "immediate"
    assert not reply.assistant_available
    assert "999" in reply.messages[0]["text"]
    assert engine.pack.contacts.front_door.phone in reply.messages[0]["text"]
    assert reply.escalation_reference
    assert any(reply.escalation_reference in m["text"] for m in reply.messages)
    assert count_escalations(factory) == 1


def test_rasa_down_question_gets_a_clear_message_and_no_escalation(settings, engine, factory):
    reply = relay_for(settings, engine, factory).send(
        sender_id="portal-1", text=QUESTION, metadata={**META, "message_id": "m-2"}
    )
    assert reply.urgency == "none"
    assert "unavailable" in reply.messages[0]["text"]
    assert engine.pack.contacts.front_door.phone in reply.messages[0]["text"]
    assert count_escalations(factory) == 0


def test_safety_message_from_rasa_is_not_repeated_and_resend_is_idempotent(
    settings, engine, factory
):
    seen = []

    def rasa(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        return httpx.Response(
            200, json=[{"recipient_id": body["sender"], "text": "Ring 999 if in danger."}]
        )

    relay = relay_for(settings, engine, factory, rasa)
    first = relay.send(sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "x"})
    again = relay.send(sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "x"})
    assert [m["text"] for m in first.messages][0] == "Ring 999 if in danger."
    assert not first.safety_message_added
    assert first.escalation_reference == again.escalation_reference
    assert count_escalations(factory) == 1
    # Identity travels in the metadata, exactly as the channel set it.
    assert seen[0]["metadata"]["role"] == "dsl" and seen[0]["metadata"]["message_id"] == "x"


def test_database_down_spools_then_raises_once_when_back(settings, engine, factory, tmp_path):
    broken = session_factory(make_engine(url=f"sqlite:///{tmp_path}/no/such/dir/app.db"))
    down = relay_for(settings, engine, broken)
    reply = down.send(sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "s"})
    assert "999" in reply.messages[0]["text"]
    assert reply.escalation_reference is None
    assert len(list(down.spool.pending())) == 1

    up = relay_for(settings, engine, factory)
    assert up.drain_spool() == 1
    assert up.drain_spool() == 0
    assert count_escalations(factory) == 1


def test_a_spooled_record_the_service_refuses_is_set_aside_and_blocks_nothing(
        settings, engine, factory, tmp_path):
    """Security re-review N4: the drain stopped at its first failure, so one record the MASH
    service always refuses kept every later spooled escalation stuck, and (failing inside the
    live raise) cost every live escalation its matched phrases."""
    broken = session_factory(make_engine(url=f"sqlite:///{tmp_path}/no/such/dir/app.db"))
    down = relay_for(settings, engine, broken)
    down.send(sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "ok-1"})
    poison = {"sender_id": "portal-1", "text": "x", "metadata": {**META, "message_id": "a-bad"},
              "message_id": "a-bad", "urgency": "not-an-urgency", "categories": [],
              "phrases": []}
    down.spool.put(poison)  # sorts before the good record's file? either way it must not block
    (down.spool.directory / "0000-empty.json").write_text("")  # a file cut short: unreadable
    up = relay_for(settings, engine, factory)
    live = up.send(sender_id="portal-2", text=DISCLOSURE, metadata={**META, "message_id": "live"})
    assert live.escalation_reference
    assert count_escalations(factory) == 2  # the spooled one and the live one
    assert list(up.spool.pending()) == []
    assert up.spool.refused_count() == 2  # the refused record and the unreadable file: kept
    with factory() as session:
        rows = session.execute(select(Escalation)).scalars().all()
    assert all(row.matched_phrases for row in rows)


def test_disclosure_at_the_end_of_a_huge_message_is_caught(settings, engine, factory):
    text = "Notes from the day. " * 6_000 + DISCLOSURE  # about 120 KB
    reply = relay_for(settings, engine, factory).send(
        sender_id="portal-1", text=text, metadata={**META, "message_id": "big"}
    )
    assert reply.urgency == "immediate"
    assert any("very long" in m["text"] for m in reply.messages)
    assert count_escalations(factory) == 1


def test_unknown_organisation_is_still_escalated_as_unverified(settings, engine, factory):
    meta = {"user_id": "nobody", "role": "dsl", "organisation_id": 99_999, "channel": "slack"}
    reply = relay_for(settings, engine, factory).send(
        sender_id="slack-U1", text=DISCLOSURE, metadata={**meta, "message_id": "u"}
    )
    assert reply.escalation_reference
    with factory() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert row.sender_verified is False and row.organisation_id is None


def test_empty_message_gets_a_clear_answer(settings, engine, factory):
    reply = relay_for(settings, engine, factory).send(sender_id="p", text="   ", metadata=META)
    assert "nothing" in reply.messages[0]["text"]
    assert count_escalations(factory) == 0


def test_only_mash_staff_see_the_relayed_escalation(settings, engine, factory):
    from mash import escalations

    relay_for(settings, engine, factory).send(
        sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "v"}
    )
    with factory() as session:
        staff = escalations.list_escalations(
            session=session, actor=Actor(user_id=None, role="mash_worker", organisation_id=None)
        )
    assert len(staff) == 1


def test_message_id_of_another_sender_still_escalates_under_a_new_id(settings, engine, factory):
    """A disclosure arriving with a message id another sender already used (a replayed or
    forged id) is escalated all the same, as its own escalation: never lost, never merged."""
    relay = relay_for(settings, engine, factory)
    theirs = relay.send(sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "k"})
    other = {"user_id": "2", "role": "mash_worker", "organisation_id": None, "channel": "portal"}
    mine = relay.send(sender_id="portal-2", text=DISCLOSURE, metadata={**other, "message_id": "k"})
    assert "999" in mine.messages[0]["text"]
    assert mine.escalation_reference and mine.escalation_reference != theirs.escalation_reference
    assert count_escalations(factory) == 2


def test_a_disclosure_with_lone_surrogates_and_nul_still_gets_safety_and_escalation(
    settings, engine, factory
):
    # The channels clean their input first; the relay is the backstop for any that did not.
    relay = relay_for(settings, engine, factory)
    odd = DISCLOSURE.replace(" ", " \ud800\x00", 3) + " \udfff\x07\x1b"
    reply = relay.send(sender_id="portal-1", text=odd, metadata={**META, "message_id": "odd"})
    assert reply.urgency == "immediate" and "999" in reply.messages[0]["text"]
    assert reply.escalation_reference
    assert relay.send(sender_id="portal-1", text=odd, metadata={**META, "message_id": "odd"})
    assert count_escalations(factory) == 1
    with factory() as session:
        excerpt = session.execute(select(Escalation.excerpt)).scalar_one()
    assert "\ufffd" in excerpt and "\x00" not in excerpt and "\ud800" not in excerpt


def test_the_relay_signs_every_post_to_the_signed_channel(settings, engine, factory):
    from chat.signing import MemoryNonceStore, verify_request

    seen = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"text": "Level 2 means..."}])

    relay = relay_for(settings, engine, factory, rasa)
    relay.send(sender_id="portal-1", text=QUESTION, metadata={**META, "message_id": "sig"})
    (request,) = seen
    assert request.url.path == "/webhooks/signed/webhook"
    assert request.headers["content-type"] == "application/json"
    signed = verify_request(settings.channel_secret, headers=request.headers,
                            body=request.content, nonces=MemoryNonceStore())
    assert signed.conversation == "portal-1" and signed.text == QUESTION
    assert signed.metadata == {**META, "message_id": "sig"}


def test_without_a_channel_secret_nothing_is_posted_but_safety_holds(settings, engine, factory):
    from dataclasses import replace

    posted = []
    relay = relay_for(replace(settings, channel_secret=""), engine, factory,
                      lambda request: posted.append(request) or httpx.Response(200, json=[]))
    reply = relay.send(sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "n"})
    assert not posted and not reply.assistant_available
    assert "999" in reply.messages[0]["text"] and reply.escalation_reference


def test_the_signed_client_signs_and_fails_closed_without_a_secret(monkeypatch):
    from chat import say
    from chat.signing import MemoryNonceStore, verify_request

    seen = []
    client = httpx.Client(transport=httpx.MockTransport(
        lambda request: seen.append(request) or httpx.Response(200, json=[{"text": "hi"}])))
    response = say.post_signed("http://rasa", "s3cret-for-say", text="hello",
                               conversation="cli", metadata={"channel": "portal"},
                               client=client)
    assert response.status_code == 200
    signed = verify_request("s3cret-for-say", headers=seen[0].headers, body=seen[0].content,
                            nonces=MemoryNonceStore())
    assert signed.text == "hello" and seen[0].url.path == "/webhooks/signed/webhook"

    monkeypatch.setenv("CHANNEL_SECRET", "")
    assert say.main(["--quiet", "--url", "http://127.0.0.1:9", "hi"]) == 1


BABY = "GP here: 9-month-old with a bruise on his cheek, mum says he rolled off the sofa."
BABY_AGAIN = "Re the 9 month old I just mentioned: the bruise looks like fingertip marks."


def test_the_same_child_again_joins_the_open_escalation_and_still_gets_the_safety_message(
    settings, engine, factory
):
    """Issue 14 point 4: re-asking about the same baby in other words, from the same person,
    joins the open escalation; the safety message reaches the user every time, and the user is
    told the reference it joined."""
    relay = relay_for(settings, engine, factory)
    first = relay.send(sender_id="portal-1", text=BABY, metadata={**META, "message_id": "b-1"})
    second = relay.send(sender_id="portal-1", text=BABY_AGAIN,
                        metadata={**META, "message_id": "b-2"})
    assert first.urgency == second.urgency == "immediate"
    assert "999" in second.messages[0]["text"] and second.safety_message_added
    assert second.escalation_reference == first.escalation_reference
    assert second.escalation_joined and not first.escalation_joined
    told = " ".join(m["text"] for m in second.messages)
    assert "added to the concern you raised earlier" in told
    assert first.escalation_reference in told
    assert count_escalations(factory) == 1
    # the action raised it first (Rasa's reply names the reference): the relay changes nothing
    again = relay.send(sender_id="portal-1", text=BABY_AGAIN,
                       metadata={**META, "message_id": "b-2"})
    assert again.escalation_reference == first.escalation_reference and again.escalation_joined
    with factory() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert row.message_count == 2


def test_a_different_child_from_the_same_person_is_its_own_escalation(settings, engine, factory):
    relay = relay_for(settings, engine, factory)
    first = relay.send(sender_id="portal-1", text=BABY, metadata={**META, "message_id": "c-1"})
    other = relay.send(
        sender_id="portal-1",
        text="Also a 6 year old in the same clinic told me his dad hit him with a belt.",
        metadata={**META, "message_id": "c-2"},
    )
    assert other.urgency == "immediate" and not other.escalation_joined
    assert other.escalation_reference != first.escalation_reference
    assert count_escalations(factory) == 2


def test_a_gps_disclosure_gets_the_level_its_reasons_the_gp_route_and_the_sections(
    settings, engine, factory
):
    """Issue 14 point 5: the bruised 9-month-old, from a GP: the safety message first, the
    reference, then the suggested level with its reasons, the GP's route and the guide's
    section on bruising in non-mobile babies; none of the school's advice."""
    gp = {"user_id": "8", "role": "gp", "organisation_id": 4, "channel": "portal"}
    reply = relay_for(settings, engine, factory).send(
        sender_id="portal-8", text=BABY, metadata={**gp, "message_id": "g-1"}
    )
    assert "999" in reply.messages[0]["text"] and reply.escalation_reference
    card = reply.messages[-1]["card"]
    assert card["level"] == 4 and card["reasons"]
    assert "bruising-non-mobile-babies" in [s["id"] for s in card["sources"]]
    steps = " ".join(card["next_steps"])
    assert "Integrated Front Door" in steps and "GP report" in steps
    said = " ".join(m["text"] for m in reply.messages)
    assert "own words" not in said and "designated safeguarding lead" not in said
    # a school's DSL keeps the journey it had: no card with the disclosure
    dsl = relay_for(settings, engine, factory).send(
        sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "g-2"}
    )
    assert not any(m.get("card") for m in dsl.messages)


def test_an_escalation_records_the_persons_address_not_the_conversation(
    settings, engine, factory
):
    """Slack's conversations are one per thread; its signed metadata names the person's
    address, which is what the escalation records (follow-ups and the outcome go by it)."""
    relay = relay_for(settings, engine, factory)
    meta = {**META, "channel": "slack", "user_id": "UDEMODSL01", "address": "slack:T1:UDEMODSL01"}
    relay.send(sender_id="slack:T1:UDEMODSL01:D1:1700000000.000100", text=DISCLOSURE,
               metadata={**meta, "message_id": "m-thread-1"})
    with factory() as session:
        [escalation] = session.execute(select(Escalation)).scalars()
    assert escalation.sender == "slack:T1:UDEMODSL01"


def test_the_relays_escalation_carries_the_engines_suggestion_as_the_expected_level(
    settings, engine, factory, tmp_path
):
    """Rasa down: the relay raises it, with the engine's level for the text (source "assess"),
    also when it was spooled while the database was down."""
    relay_for(settings, engine, factory).send(
        sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "x-1"}
    )
    broken = session_factory(make_engine(url=f"sqlite:///{tmp_path}/no/such/dir/app.db"))
    relay_for(settings, engine, broken).send(
        sender_id="portal-2", text=DISCLOSURE, metadata={**META, "message_id": "x-2",
                                                          "user_id": "2"}
    )
    assert relay_for(settings, engine, factory).drain_spool() == 1
    suggested = engine.assess(DISCLOSURE)
    with factory() as session:
        rows = session.execute(select(Escalation).order_by(Escalation.id)).scalars().all()
    assert len(rows) == 2
    for row in rows:
        assert (row.expected_level, row.expected_source) == (suggested.level, "assess")


def test_an_assessment_failure_never_costs_the_escalation(settings, engine, factory, monkeypatch):
    def broken(text):
        raise RuntimeError("assessor failed")

    monkeypatch.setattr(engine, "assess", broken)
    reply = relay_for(settings, engine, factory).send(
        sender_id="portal-1", text=DISCLOSURE, metadata={**META, "message_id": "x-3"}
    )
    assert reply.escalation_reference and "999" in reply.messages[0]["text"]
    with factory() as session:
        row = session.execute(select(Escalation)).scalar_one()
    assert (row.expected_level, row.expected_source) == (None, None)
