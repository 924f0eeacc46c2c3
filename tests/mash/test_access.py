"""Least privilege: a DSL of one school cannot reach another school's items by any function."""

import inspect
import re

import pytest
from mash_helpers import count_rows

from mash import audit, consultations, escalations, figures
from mash.access import ChannelIdentity
from mash.errors import Forbidden, NotFound
from mash.models import AuditEntry, OutboxMessage

# Every public function that takes an escalation id, with the extra arguments it needs.
ESCALATION_CALLS = {
    "get_escalation": {},
    "acknowledge": {},
    "pick_up": {},
    "reassign": {"to_user_id": None},  # filled in with a MASH worker's id
    "record_outcome": {"outcome_code": "no_further_action", "note": ""},
    "mark_originator_informed": {},
    "open_form": {"form": "reassign", "channel": "slack"},
}
CONSULTATION_CALLS = {
    "get_consultation": {},
    "pick_up_consultation": {},
    "close_consultation": {"advice": "advice"},
    "open_form": {"form": "record_outcome", "channel": "slack"},
}


def _public_functions_taking(module, parameter):
    return {
        name
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_")
        and fn.__module__ == module.__name__
        and {parameter, "session"} <= set(inspect.signature(fn).parameters)
    }


def test_the_lists_above_cover_every_function():
    # A new function taking an item id must be added here, so this test keeps meaning "any".
    assert _public_functions_taking(escalations, "escalation_id") == set(ESCALATION_CALLS)
    assert _public_functions_taking(consultations, "consultation_id") == set(CONSULTATION_CALLS)


@pytest.mark.parametrize("intruder", ["riverside_dsl", "gp", "admin"])
def test_no_function_reaches_another_organisations_escalation(
    factory, raise_esc, actors, demo, intruder
):
    esc = raise_esc("oakfield_dsl", text="secret detail about a child")
    with factory() as s:
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id)
    before = (count_rows(factory, AuditEntry), count_rows(factory, OutboxMessage))
    actor = actors[intruder]
    for name, extra in ESCALATION_CALLS.items():
        kwargs = dict(extra)
        if "to_user_id" in kwargs:
            kwargs["to_user_id"] = demo.people["duty2"]
        with factory() as s, pytest.raises((NotFound, Forbidden)) as caught:
            getattr(escalations, name)(session=s, actor=actor, escalation_id=esc.id, **kwargs)
        assert "secret" not in str(caught.value), name
    with factory() as s:
        assert escalations.list_escalations(session=s, actor=actor) == []
        assert (
            escalations.list_escalations(
                session=s, actor=actor, organisation_id=esc.organisation_id
            )
            == []
        )
        with pytest.raises(Forbidden):
            audit.trail(session=s, actor=actor, subject_type="escalation", subject_id=esc.id)
        if intruder != "admin":
            with pytest.raises(Forbidden):
                figures.weekly_figures(session=s, actor=actor)
    with factory() as s:
        assert s.get(escalations.Escalation, esc.id).status == "picked_up"
    audits, messages = before
    assert count_rows(factory, OutboxMessage) == messages
    # Only the (empty) list calls were audited: nothing about the escalation was read.
    assert count_rows(factory, AuditEntry) == audits + 2


def test_no_function_reaches_another_organisations_consultation(factory, identity_of, actors):
    with factory() as s:
        c = consultations.request_consultation(
            session=s,
            identity=identity_of("oakfield_dsl"),
            topic="secret worry",
            callback_number="0151 000 1234",
        )
    for name, extra in CONSULTATION_CALLS.items():
        with factory() as s, pytest.raises((NotFound, Forbidden)) as caught:
            getattr(consultations, name)(
                session=s, actor=actors["riverside_dsl"], consultation_id=c.id, **extra
            )
        assert "secret" not in str(caught.value)
    with factory() as s:
        assert consultations.list_consultations(session=s, actor=actors["riverside_dsl"]) == []


def test_own_organisation_and_mash_see_it(factory, raise_esc, actors):
    esc = raise_esc("oakfield_dsl")
    for key in ("oakfield_dsl", "oakfield_deputy", "duty", "manager"):
        with factory() as s:
            assert (
                escalations.get_escalation(session=s, actor=actors[key], escalation_id=esc.id).id
                == esc.id
            )
            assert [e.id for e in escalations.list_escalations(session=s, actor=actors[key])] == [
                esc.id
            ]
    with factory() as s, pytest.raises(Forbidden):
        escalations.pick_up(session=s, actor=actors["oakfield_deputy"], escalation_id=esc.id)


def test_gp_sees_their_practice_only(factory, raise_esc, actors):
    mine = raise_esc("gp")
    raise_esc("oakfield_dsl")
    with factory() as s:
        assert [e.id for e in escalations.list_escalations(session=s, actor=actors["gp"])] == [
            mine.id
        ]


def test_unverified_items_are_not_shown_to_the_claimed_organisation(factory, demo, actors):
    stranger = ChannelIdentity(
        channel="slack", sender="U-X", user_id="U-X", organisation_id=demo.organisations["oakfield"]
    )
    with factory() as s:
        esc = escalations.raise_escalation(
            session=s,
            identity=stranger,
            message_id="u1",
            urgency="concern",
            categories=[],
            text="claims",
        )
        assert not esc.sender_verified and esc.organisation_id == demo.organisations["oakfield"]
        with pytest.raises(NotFound):
            escalations.get_escalation(
                session=s, actor=actors["oakfield_dsl"], escalation_id=esc.id
            )
        assert (
            escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=esc.id).id
            == esc.id
        )


def test_missing_and_hidden_look_the_same(factory, raise_esc, actors):
    esc = raise_esc("oakfield_dsl")
    with factory() as s:
        with pytest.raises(NotFound) as hidden:
            escalations.get_escalation(
                session=s, actor=actors["riverside_dsl"], escalation_id=esc.id
            )
        with pytest.raises(NotFound) as missing:
            escalations.get_escalation(
                session=s, actor=actors["riverside_dsl"], escalation_id=esc.id + 1000
            )
    assert re.sub(r"\d", "0", str(hidden.value)) == re.sub(r"\d", "0", str(missing.value))
