"""Immediate risk: raise the escalation with the MASH after Rasa has uttered the safety message."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common
from bot.actions.expected import expected_level

logger = logging.getLogger(__name__)


def raise_immediate(
    *, identity: Any, message_id: str, text: str, categories: list[str], matched: list[str],
    events: list[dict[str, Any]] | None = None,
) -> Any:
    """Raise (or find, for a repeated message id) the escalation for this message; from an
    unknown organisation it is raised unverified. The level the practitioner expected goes
    with it (bot/actions/expected.py: this conversation's threshold check, else the engine's
    suggestion for the text)."""
    from mash import escalations

    level, source = expected_level(events or [], text, common.engine)
    return common.raise_for_sender(
        escalations.raise_escalation,
        identity,
        message_id=message_id,
        urgency="immediate",
        categories=categories,
        text=text,
        matched_phrases=matched,
        expected_level=level,
        expected_source=source,
        settings=common.settings(),
    )


class ActionRaiseEscalation(Action):
    def name(self) -> str:
        return "action_raise_escalation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        risk = common.latest_risk(tracker)
        try:
            view = await common.in_thread(
                raise_immediate,
                identity=common.identity(tracker),
                message_id=common.message_id(tracker),
                text=common.latest_text(tracker),
                categories=list(risk.get("categories") or []),
                matched=[m.get("text", "") for m in risk.get("matches") or []],
                events=list(tracker.events or []),
            )
        except Exception:  # noqa: BLE001 - the user must be told to phone instead
            logger.exception("could not raise an escalation")
            fallback = common.front_door_fallback()
            dispatcher.utter_message(
                response="utter_escalation_failed",
                service=tracker.get_slot("safety_service") or fallback["service"],
                phone=tracker.get_slot("safety_phone") or fallback["phone"],
            )
            return []
        # A further message about the same child joined the sender's open escalation
        # (mash/followups.py): the user is told which one, and that the MASH was alerted again.
        # (Each response is named in its own call: bot/checks.py finds them there.)
        if view.joined:
            dispatcher.utter_message(response="utter_escalation_joined", reference=view.reference)
        else:
            dispatcher.utter_message(response="utter_escalation_raised", reference=view.reference)
        return [SlotSet("escalation_reference", view.reference)]
