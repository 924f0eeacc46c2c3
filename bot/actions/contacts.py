"""Contacts: the front door and out-of-hours numbers from the pack, and a school's named MASH
contact from the MASH service's directory."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common

logger = logging.getLogger(__name__)

DAY_LABELS = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
              "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}


def hours_label(hours: Any) -> str:
    """'Monday to Friday, 09:00 to 17:00' (or the days listed) from the pack's hours."""
    days = [DAY_LABELS.get(d, d) for d in hours.days]
    if not days:
        span = "no regular days"
    elif len(days) > 2 and list(hours.days) == list(DAY_LABELS)[: len(days)]:
        span = f"{days[0]} to {days[-1]}"
    else:
        span = ", ".join(days)
    return f"{span}, {hours.open:%H:%M} to {hours.close:%H:%M}"


def contact_values(contacts: Any, now: datetime) -> dict[str, str]:
    line = contacts.safety_line(now)
    return {
        "front_door_name": contacts.front_door.name,
        "front_door_phone": contacts.front_door.phone or "",
        "hours": hours_label(contacts.hours),
        "open_now": "It is open now." if line.in_hours
        else "It is closed now: use the out-of-hours number.",
        "out_of_hours_name": contacts.out_of_hours.name,
        "out_of_hours_phone": contacts.out_of_hours.phone or "",
        "emergency_phone": contacts.emergency.phone or "999",
    }


def find_named_contact(organisation_id: int) -> Any:
    """The school's (or its area's) named MASH contact, or None. Never raises."""
    from mash import directory

    try:
        with common.sessions()() as session:
            return directory.named_contact(session=session, organisation_id=organisation_id)
    except Exception:  # noqa: BLE001 - a missing contact falls back to the front door
        logger.exception("named MASH contact lookup failed")
        return None


class ActionGiveContacts(Action):
    def name(self) -> str:
        return "action_give_contacts"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            values = contact_values(common.engine().pack.contacts, datetime.now(timezone.utc))
        except Exception:  # noqa: BLE001
            logger.exception("could not read the pack's contacts")
            dispatcher.utter_message(response="utter_guidance_unavailable")
            return []
        dispatcher.utter_message(response="utter_contacts", **values)
        return []


class ActionGiveMashContact(Action):
    def name(self) -> str:
        return "action_give_mash_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        role = common.role(tracker)
        org = common.organisation_id(tracker)
        if role is None or org is None:
            dispatcher.utter_message(response="utter_needs_signin")
            return []
        if role not in common.SCHOOL_ROLES:
            dispatcher.utter_message(response="utter_mash_contact_schools_only")
            return []
        contact = await common.in_thread(find_named_contact, org)
        if contact is None:
            dispatcher.utter_message(response="utter_mash_contact_not_found")
            return []
        dispatcher.utter_message(
            response="utter_mash_contact",
            contact_name=contact.name,
            contact_phone_part=f", {contact.phone}" if contact.phone else "",
            contact_email_part=f", {contact.email}" if contact.email else "",
        )
        return []
