"""A consultation with a duty social worker, requested through the MASH service."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common
from bot.actions.expected import expected_level

logger = logging.getLogger(__name__)

FORM_SLOTS = ("callback_number", "callback_time", "consultation_topic")


def request(*, identity: Any, message_id: str, topic: str, number: str, best_time: str,
            events: list[dict[str, Any]] | None = None) -> Any:
    """Request the consultation, with the level the practitioner expected
    (bot/actions/expected.py: this conversation's threshold check, else the engine's
    suggestion for the topic)."""
    from mash import consultations

    level, source = expected_level(events or [], topic, common.engine)
    return common.raise_for_sender(
        consultations.request_consultation, identity,
        topic=topic, callback_number=number, best_time=best_time, message_id=message_id,
        expected_level=level, expected_source=source,
    )


class ActionRequestConsultation(Action):
    def name(self) -> str:
        return "action_request_consultation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        number = tracker.get_slot("callback_number") or ""
        best_time = tracker.get_slot("callback_time") or ""
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        try:
            view = await common.in_thread(
                request,
                identity=common.identity(tracker),
                message_id=common.message_id(tracker),
                topic=tracker.get_slot("consultation_topic") or "",
                number=number,
                best_time=best_time,
                events=list(tracker.events or []),
            )
        except Exception:  # noqa: BLE001
            logger.exception("could not request a consultation")
            dispatcher.utter_message(response="utter_consultation_failed",
                                     **common.front_door_fallback())
            return reset
        dispatcher.utter_message(
            response="utter_consultation_requested",
            reference=view.reference, callback_number=number, callback_time=best_time or "soon",
        )
        return reset
