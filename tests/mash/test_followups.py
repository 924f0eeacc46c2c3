"""Follow-ups, not duplicates (issue 14, point 4): a further disclosure from the same person about
what reads as the same child joins their open escalation, and anything else is its own item."""

from dataclasses import replace
from datetime import timedelta

import pytest
from mash_helpers import count_rows
from sqlalchemy import select

from mash import escalations, retention
from mash.clock import utcnow
from mash.errors import KeyInUse
from mash.models import AuditEntry, Escalation, EscalationCategory, OutboxMessage

FIRST = "A 9-month-old baby came in with a bruise on his cheek; mum says he rolled off the sofa."
AGAIN = "Re the 9 month old: the bruise is fingertip shaped, mum on 07700 900123."


def keys(factory) -> list[str]:
    with factory() as s:
        return list(s.execute(select(OutboxMessage.idempotency_key)).scalars())


def audit_actions(factory, escalation_id: int) -> list[str]:
    with factory() as s:
        return list(
            s.execute(
                select(AuditEntry.action)
                .where(AuditEntry.subject_id == escalation_id,
                       AuditEntry.subject_type == "escalation")
                .order_by(AuditEntry.id)
            ).scalars()
        )


def test_the_same_child_in_other_words_joins_the_open_escalation(factory, raise_esc, actors):
    now = utcnow()
    first = raise_esc(text=FIRST, categories=["non_mobile_injury"], now=now)
    second = raise_esc(text=AGAIN, categories=["physical_abuse"], matched_phrases=["fingertip"],
                       now=now + timedelta(minutes=4))
    assert second.id == first.id and second.joined and not first.joined
    assert second.message_count == 2 and second.reference == first.reference
    assert count_rows(factory, Escalation) == 1
    # nothing of the new message is lost: its redacted excerpt, its categories, its phrases
    assert [m["excerpt"] for m in second.further_messages] == [
        "Re the 9 month old: the bruise is fingertip shaped, mum on [phone]."
    ]
    assert second.categories == ["non_mobile_injury", "physical_abuse"]
    assert "fingertip" in second.matched_phrases and "dad hit her" in second.matched_phrases
    assert count_rows(factory, EscalationCategory) == 2
    # the duty desk is alerted again on the same item, and the join is audited
    assert f"escalation:{first.id}:follow_up:2:duty" in keys(factory)
    assert audit_actions(factory, first.id) == ["escalation.raise", "escalation.follow_up"]
    # the MASH sees "2 messages" and the latest, in the queue and on the item
    with factory() as s:
        row = escalations.list_escalations(
            session=s, actor=actors["duty"], open_only=True, with_excerpts=True
        )[0]
        full = escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=first.id)
    assert row.message_count == 2 and row.latest_preview.startswith("Re the 9 month old")
    assert row.excerpt_preview.startswith("A 9-month-old baby")
    assert full.message_count == 2 and full.last_message_at == now + timedelta(minutes=4)
    assert full.excerpt.startswith("A 9-month-old") and len(full.further_messages) == 1


def test_the_relay_raising_the_joined_message_again_changes_nothing(factory, raise_esc, demo,
                                                                     identity_of):
    now = utcnow()
    first = raise_esc(text=FIRST, now=now)
    joined = raise_esc(text=AGAIN, message_id="m-2", now=now + timedelta(minutes=1))
    again = raise_esc(text=AGAIN, message_id="m-2", now=now + timedelta(minutes=1))
    assert again.id == joined.id == first.id and again.joined and again.message_count == 2
    assert count_rows(factory, Escalation) == 1
    assert sum(":follow_up:" in k for k in keys(factory)) == 1
    assert audit_actions(factory, first.id)[-1] == "escalation.replay"
    # the joined message's id belongs to its sender: anyone else gets KeyInUse, nothing shown
    with pytest.raises(KeyInUse):
        raise_esc("oakfield_deputy", text="other", message_id="m-2")


def test_a_clearly_different_child_raises_its_own_escalation(raise_esc):
    now = utcnow()
    first = raise_esc(text=FIRST, now=now)
    other_age = raise_esc(text="A 3 year old sibling has a burn on her hand.",
                          now=now + timedelta(minutes=2))
    assert other_age.id != first.id and not other_age.joined
    js = raise_esc(text="JS (aged 7) says her dad hit her.", now=now + timedelta(minutes=3))
    kt = raise_esc(text="KT, also aged 7, says the same.", now=now + timedelta(minutes=4))
    assert len({first.id, other_age.id, js.id, kt.id}) == 4


def test_without_child_details_only_the_short_window_joins(raise_esc, settings):
    now = utcnow()
    first = raise_esc(text=FIRST, now=now)
    short = settings.follow_up_short_window_minutes
    soon = raise_esc(text="He has another mark now, by his ear.",
                     now=now + timedelta(minutes=short - 1))
    assert soon.id == first.id and soon.joined
    # measured from the escalation's latest message; past it, a message without details is new
    later = raise_esc(text="Another worry about a child in my care.",
                      now=now + timedelta(minutes=2 * short))
    assert later.id != first.id and not later.joined


def test_matching_details_join_within_the_long_window_only(raise_esc, settings):
    now = utcnow()
    first = raise_esc(text=FIRST, now=now)
    within = raise_esc(text=AGAIN, now=now + timedelta(minutes=settings.follow_up_window_minutes
                                                        - 5))
    assert within.id == first.id
    after = raise_esc(text=AGAIN, now=within.last_message_at
                      + timedelta(minutes=settings.follow_up_window_minutes + 1))
    assert after.id != first.id


def test_never_joined_across_people_or_organisations(raise_esc, identity_of, demo):
    now = utcnow()
    first = raise_esc(text=FIRST, now=now)
    colleague = raise_esc("oakfield_deputy", text=AGAIN, now=now + timedelta(minutes=1))
    elsewhere = raise_esc(text=AGAIN, now=now + timedelta(minutes=2),
                          identity=replace(identity_of("oakfield_dsl"),
                                           organisation_id=demo.organisations["riverside"]))
    slack = raise_esc(text=AGAIN, now=now + timedelta(minutes=3),
                      identity=identity_of("oakfield_dsl", channel="slack"))
    assert len({first.id, colleague.id, elsewhere.id, slack.id}) == 4


def test_a_closed_or_less_urgent_escalation_is_not_joined(factory, raise_esc, actors):
    now = utcnow()
    concern = raise_esc(text=FIRST, urgency="concern", now=now)
    immediate = raise_esc(text=AGAIN, urgency="immediate", now=now + timedelta(minutes=1))
    assert immediate.id != concern.id  # an immediate message is never hidden in a concern
    with factory() as s:
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=immediate.id)
        escalations.record_outcome(session=s, actor=actors["duty"], escalation_id=immediate.id,
                                   outcome_code="strategy_discussion_s47")
    after_outcome = raise_esc(text=AGAIN, now=now + timedelta(minutes=2))
    assert after_outcome.id not in (concern.id, immediate.id)


def test_a_picked_up_escalation_tells_its_holder(factory, raise_esc, actors, demo):
    now = utcnow()
    first = raise_esc(text=FIRST, now=now)
    with factory() as s:
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=first.id)
    joined = raise_esc(text=AGAIN, now=now + timedelta(minutes=5))
    assert joined.id == first.id and joined.status == "picked_up"
    with factory() as s:
        message = s.execute(
            select(OutboxMessage).where(OutboxMessage.topic == "escalation.follow_up")
        ).scalar_one()
    assert [p["id"] for p in message.recipient["people"]] == [demo.people["duty"]]
    assert message.payload["message_count"] == 2 and "fingertip" not in str(message.payload)


def test_joining_can_be_turned_off(raise_esc, settings):
    now = utcnow()
    off = replace(settings, follow_up_window_minutes=0, follow_up_short_window_minutes=0)
    first = raise_esc(text=FIRST, now=now, settings=off)
    second = raise_esc(text=AGAIN, now=now + timedelta(minutes=1), settings=off)
    assert second.id != first.id


def test_further_messages_are_purged_with_the_excerpts(factory, raise_esc, settings, actors):
    then = utcnow() - timedelta(days=settings.transcript_retention_days + 1)
    first = raise_esc(text=FIRST, now=then)
    raise_esc(text=AGAIN, now=then + timedelta(minutes=1))
    with factory() as s:
        retention.purge(session=s, settings=settings)
        view = escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=first.id)
    assert view.excerpt is None and view.message_count == 2
    assert view.further_messages[0]["excerpt"] is None


def test_the_same_further_message_raised_concurrently_joins_once(factory, raise_esc,
                                                                 identity_of):
    """The action and the relay raise each message, possibly at the same moment."""
    import threading

    first = raise_esc(text=FIRST)
    workers = 4
    barrier = threading.Barrier(workers)
    views, errors = [], []

    def go() -> None:
        try:
            with factory() as session:
                barrier.wait()
                views.append(escalations.raise_escalation(
                    session=session, identity=identity_of("oakfield_dsl"), message_id="race-2",
                    urgency="immediate", categories=["physical_abuse"], text=AGAIN))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=go) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {v.id for v in views} == {first.id} and all(v.joined for v in views)
    assert count_rows(factory, Escalation) == 1
    with factory() as s:
        assert s.get(Escalation, first.id).message_count == 2
    assert sum(":follow_up:" in k for k in keys(factory)) == 1
