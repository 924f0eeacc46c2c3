"""Questions answered from the guide, adapted to the signed-in role."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common
from bot.actions.contacts import find_named_contact

logger = logging.getLogger(__name__)

# Where a role-specific pointer helps after the answer itself.
GP_TIP_INTENTS = frozenset({"ask_gp_conference", "ask_referral_process", "ask_consent_sharing"})
DSL_TIP_INTENTS = frozenset({"ask_referral_process", "ask_guide", "ask_consent_sharing"})
CONSULTATION_OFFER = "utter_offer_consultation"


def record_gap(question: str, answer: Any, role: str | None) -> None:
    """Put a question answered without confidence on the partnership's gap list (redacted, no
    names, role and time only). Never fails the answer."""
    from mash import gaps

    try:
        gap = common.engine().gap(question, answer)
        if gap is not None:
            with common.sessions()() as session:
                gaps.record_gap(session=session, text=gap.text, topic=gap.topic, role=role)
    except Exception:  # noqa: BLE001 - the gap list must never cost the asker the answer
        logger.exception("could not record a question for the gap list")


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        role = common.role(tracker)
        intent = common.latest_intent(tracker)
        try:
            answer = await common.in_thread(
                common.engine().ask, common.latest_text(tracker),
                role=common.AUDIENCE_FOR_ROLE.get(role or ""),
            )
        except Exception:  # noqa: BLE001 - includes empty or oversized text
            logger.exception("the guidance engine could not answer")
            dispatcher.utter_message(response="utter_guidance_unavailable")
            return []

        if answer.answer.strip():
            dispatcher.utter_message(response="utter_answer", answer=answer.answer)
            if answer.sources:
                # The text for any client; the payload for links (chat/sources.py).
                dispatcher.utter_message(
                    response="utter_answer_sources", sources=common.join_sources(answer.sources),
                    json_message={"sources": [source.to_dict() for source in answer.sources]},
                )
        else:
            dispatcher.utter_message(response="utter_no_answer")

        if role == "gp" and intent in GP_TIP_INTENTS:
            dispatcher.utter_message(response="utter_gp_conference_tip")
        org = common.organisation_id(tracker)
        if role in common.SCHOOL_ROLES and intent in DSL_TIP_INTENTS and org is not None:
            contact = await common.in_thread(find_named_contact, org)
            if contact is not None:
                dispatcher.utter_message(
                    response="utter_dsl_mash_contact_tip",
                    contact_name=contact.name,
                    contact_phone_part=f" ({contact.phone})" if contact.phone else "",
                )
        if common.latest_risk(tracker).get("urgency") == "concern":
            dispatcher.utter_message(response="utter_concern_follow_up")
        if not answer.confident:
            await common.in_thread(record_gap, common.latest_text(tracker), answer, role)
            # The guide may not cover this: offer the consultation form, as an unplaced
            # threshold check does (the offer's accept and decline rules follow it).
            return [FollowupAction(CONSULTATION_OFFER)]
        return []
