"""The two-stage fallback's "Did you mean ...?" in words, not intent names."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

# What each intent means to the person typing (the stock action shows the intent's name).
INTENT_LABELS = {
    "greet": "saying hello",
    "goodbye": "saying goodbye",
    "thank": "saying thanks",
    "affirm": "yes",
    "deny": "no",
    "bot_challenge": "whether you're talking to a bot",
    "help": "what I can help with",
    "cancel": "stopping what we're doing",
    "state_role": "your role",
    "talk_to_person": "talking to a person",
    "request_consultation": "a consultation with a duty social worker",
    "report_immediate_risk": "a child who may be at risk now",
    "describe_worry": "a worry about a child",
    "check_threshold": "checking which level of need fits",
    "ask_level_meaning": "what a level of need means",
    "ask_guide": "a question about the guide",
    "ask_referral_process": "how to make a referral",
    "ask_referral_status": "what happened to a concern you raised",
    "ask_consent_sharing": "consent and information sharing",
    "ask_training": "training",
    "ask_gp_conference": "what a GP sends to a child protection conference",
    "ask_mash_contact": "your school's MASH contact",
    "ask_front_door": "the front door and out-of-hours numbers",
}
NOT_SUGGESTED = frozenset({"nlu_fallback", "out_of_scope"})


class ActionDefaultAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        best = next((r["name"] for r in ranking if r.get("name") in INTENT_LABELS
                     and r["name"] not in NOT_SUGGESTED), None)
        if best is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            response="utter_ask_affirmation",
            label=INTENT_LABELS[best],
            buttons=[{"title": "Yes", "payload": f"/{best}"},
                     {"title": "No", "payload": "/out_of_scope"}],
        )
        return []
