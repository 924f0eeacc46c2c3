"""The threshold check's result: the engine's level suggestion on what the form gathered."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common
from chat.cards import threshold_card
from chat.labels import humanise_reason
from guidance.roles import for_role

logger = logging.getLogger(__name__)

FORM_SLOTS = ("concern_description", "child_age", "people_involved", "support_tried")


def case_text(tracker: Tracker) -> str:
    """One description for the assessor, in the words the practitioner used."""
    worry = tracker.get_slot("concern_description") or ""
    age = tracker.get_slot("child_age")
    people = tracker.get_slot("people_involved")
    tried = tracker.get_slot("support_tried")
    parts = [worry.rstrip(". ") + "."]
    if age not in (None, ""):
        parts.append(f"The child is {age} years old.")
    if people:
        parts.append(f"People involved: {people.rstrip('. ')}.")
    if tried:
        parts.append(f"Tried so far: {tried.rstrip('. ')}.")
    return " ".join(parts)


def _bullets(items: list[str]) -> str:
    return " ".join(f"({i}) {item.rstrip('.')}." for i, item in enumerate(items, 1)) or "none"


class ActionAssessThreshold(Action):
    def name(self) -> str:
        return "action_assess_threshold"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        try:
            engine = common.engine()
            result = await common.in_thread(engine.assess, case_text(tracker))
            # In the asker's role: a GP's next steps are the GP's route (guidance/roles.py).
            result = for_role(result, engine.pack, common.role(tracker))
            level_name = engine.pack.levels[result.level].name if result.placed else ""
            labels = engine.pack.lexicon.labels  # category ids in reasons read as words
        except Exception:  # noqa: BLE001
            logger.exception("the guidance engine could not assess the case")
            dispatcher.utter_message(response="utter_guidance_unavailable")
            return reset
        if not result.placed:
            # No level is guessed: the questions that would place it and the consultation
            # route (the rules offer the consultation form after this action).
            dispatcher.utter_message(
                response="utter_threshold_unplaced",
                questions=_bullets(result.questions),
                next_steps=_bullets(result.next_steps),
                sources=common.join_sources(result.sources) or "the thresholds document",
            )
            # The same result as a card (chat/cards.py) for the channels to draw, with links.
            dispatcher.utter_message(json_message={"card": threshold_card(result, labels=labels)})
            return reset
        dispatcher.utter_message(
            response="utter_threshold_result",
            level=result.level,
            level_name=level_name,
            reasons=_bullets([humanise_reason(r, labels) for r in result.reasons]),
            next_steps=_bullets(result.next_steps),
            sources=common.join_sources(result.sources) or "the thresholds document",
        )
        dispatcher.utter_message(json_message={"card": threshold_card(result, level_name, labels)})
        return reset
