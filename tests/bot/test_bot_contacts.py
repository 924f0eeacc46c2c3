"""Contacts from the pack (by the time of day) and a school's MASH contact from the directory."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.actions.contacts import ActionGiveContacts, ActionGiveMashContact, contact_values
from bot.actions.identity import ActionAcknowledgeRole


def test_in_hours_and_out_of_hours(guidance_engine):
    contacts = guidance_engine.pack.contacts
    tuesday_morning = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
    open_values = contact_values(contacts, tuesday_morning)
    assert open_values["front_door_phone"] == contacts.front_door.phone
    assert open_values["open_now"] == "It is open now."
    assert "Monday to Friday" in open_values["hours"]
    assert "closed" in contact_values(contacts, saturday)["open_now"]
    assert open_values["emergency_phone"] == "999"


async def test_front_door_action(services, dispatcher, said, make_tracker):
    await ActionGiveContacts().run(dispatcher, make_tracker("front door number"), {})
    assert said() == ["utter_contacts"]
    assert dispatcher.messages[0]["out_of_hours_phone"]


async def test_dsl_gets_the_named_mash_contact(
    services, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker("who is our mash contact", metadata=metadata_for("oakfield_dsl"))
    await ActionGiveMashContact().run(dispatcher, tracker, {})
    assert said() == ["utter_mash_contact"]
    assert dispatcher.messages[0]["contact_name"] == "Sam Okafor"


async def test_gp_is_told_contacts_are_for_schools(
    services, dispatcher, said, make_tracker, metadata_for
):
    tracker = make_tracker("who is our mash contact", metadata=metadata_for("gp"))
    await ActionGiveMashContact().run(dispatcher, tracker, {})
    assert said() == ["utter_mash_contact_schools_only"]


async def test_no_sign_in_no_contact(services, dispatcher, said, make_tracker):
    await ActionGiveMashContact().run(dispatcher, make_tracker("I'm the DSL at Oakfield"), {})
    assert said() == ["utter_needs_signin"]


async def test_role_comes_from_the_sign_in(services, dispatcher, said, make_tracker, metadata_for):
    tracker = make_tracker("I'm a GP", intent="state_role", metadata=metadata_for("oakfield_dsl"))
    await ActionAcknowledgeRole().run(dispatcher, tracker, {})
    assert said() == ["utter_role_from_signin"]
    assert dispatcher.messages[0]["role_label"] == "a designated safeguarding lead"
    assert "Oakfield" in dispatcher.messages[0]["organisation_part"]


async def test_no_role_in_the_sign_in(services, dispatcher, said, make_tracker):
    await ActionAcknowledgeRole().run(dispatcher, make_tracker("I'm a GP", intent="state_role"),
                                      {})
    assert said() == ["utter_role_unknown"]
