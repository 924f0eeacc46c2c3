"""An idempotency key (message id) belongs to the sender who used it first: repeated by anyone
else it reveals nothing and stores nothing; repeated by its owner it returns their item through
the access check, with an audit entry."""

from __future__ import annotations

import pytest
from mash_helpers import count_rows
from sqlalchemy import select

from mash import consultations
from mash.errors import Conflict, KeyInUse
from mash.models import AuditEntry, Consultation, Escalation, OutboxMessage

SECRET_TOPIC = "Worried about Child X at 14 Elm Road; call me on 07700 900111"


def request(factory, identity, message_id: str, topic: str = SECRET_TOPIC):
    with factory() as s:
        return consultations.request_consultation(
            session=s, identity=identity, topic=topic, callback_number="0151 000 1234",
            message_id=message_id,
        )


def audit_actions(factory, subject_type: str, subject_id: int) -> list[tuple[str, int | None]]:
    with factory() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.actor_user_id)
            .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("other", ["riverside_dsl", "oakfield_deputy"])
def test_consultation_key_reused_by_someone_else_reveals_nothing(factory, identity_of, other):
    """Another organisation's DSL, and a colleague in the same school, alike."""
    mine = request(factory, identity_of("oakfield_dsl"), "key-1")
    audit_before = count_rows(factory, AuditEntry)
    outbox_before = count_rows(factory, OutboxMessage)
    with pytest.raises(KeyInUse) as caught:
        request(factory, identity_of(other), "key-1", topic="Something else entirely")
    assert isinstance(caught.value, Conflict)  # the portal's 409
    assert "Elm Road" not in str(caught.value) and mine.reference not in str(caught.value)
    assert count_rows(factory, Consultation) == 1
    assert count_rows(factory, OutboxMessage) == outbox_before
    assert count_rows(factory, AuditEntry) == audit_before


def test_consultation_key_reused_by_an_unverified_sender_claiming_the_same_address(
    factory, identity_of
):
    """The same channel address without the person behind it is not the owner."""
    from dataclasses import replace

    request(factory, identity_of("oakfield_dsl"), "key-2")
    forged = replace(identity_of("oakfield_dsl"), user_id=None, role=None, organisation_id=None)
    with pytest.raises(KeyInUse):
        request(factory, forged, "key-2")
    assert count_rows(factory, Consultation) == 1


def test_consultation_replay_by_its_owner_is_audited(factory, identity_of, demo):
    mine = request(factory, identity_of("oakfield_dsl"), "key-3")
    again = request(factory, identity_of("oakfield_dsl"), "key-3", topic="different words")
    assert again.id == mine.id and again.topic == mine.topic
    assert count_rows(factory, Consultation) == 1
    dsl = demo.people["oakfield_dsl"]
    assert audit_actions(factory, "consultation", mine.id) == [
        ("consultation.request", dsl),
        ("consultation.replay", dsl),
    ]


@pytest.mark.parametrize("other", ["riverside_dsl", "oakfield_deputy"])
def test_escalation_key_reused_by_someone_else_reveals_nothing(
    factory, raise_esc, identity_of, other
):
    mine = raise_esc(message_id="esc-key-1")
    audit_before = count_rows(factory, AuditEntry)
    outbox_before = count_rows(factory, OutboxMessage)
    with pytest.raises(KeyInUse) as caught:
        raise_esc(other, message_id="esc-key-1", text="my own words")
    assert "dad" not in str(caught.value) and mine.reference not in str(caught.value)
    assert count_rows(factory, Escalation) == 1
    assert count_rows(factory, OutboxMessage) == outbox_before
    assert count_rows(factory, AuditEntry) == audit_before


def test_escalation_replay_by_its_owner_is_audited(factory, raise_esc, demo):
    mine = raise_esc(message_id="esc-key-2")
    again = raise_esc(message_id="esc-key-2", text="the relay raising the same message")
    assert again.id == mine.id and again.excerpt == mine.excerpt
    dsl = demo.people["oakfield_dsl"]
    assert audit_actions(factory, "escalation", mine.id) == [
        ("escalation.raise", dsl),
        ("escalation.replay", dsl),
    ]


def test_unverified_sender_replays_its_own_escalation(factory, raise_esc):
    """An unknown sender (no person behind it) is still the owner of its own key: the chat
    relay raising the same message after the action server did gets the same escalation."""
    from mash.access import ChannelIdentity

    stranger = ChannelIdentity(channel="portal", sender="portal-unknown", user_id="999999")
    first = raise_esc(identity=stranger, message_id="esc-key-3")
    second = raise_esc(identity=stranger, message_id="esc-key-3")
    assert first.id == second.id and not first.sender_verified
    assert [a for a, _ in audit_actions(factory, "escalation", first.id)] == [
        "escalation.raise",
        "escalation.replay",
    ]
