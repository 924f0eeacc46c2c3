"""What happened to the concerns I raised: the user's own escalations and consultations."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common

logger = logging.getLogger(__name__)

MAX_ITEMS = 5
STATUS_LABELS = {
    "raised": "waiting for a duty social worker",
    "acknowledged": "seen by the MASH",
    "picked_up": "being handled",
    "outcome_recorded": "decided",
    "originator_informed": "decided",
    "queued": "waiting for a call back",
    "closed": "advice given",
}


class NotSignedIn(Exception):
    """The metadata names nobody the directory knows."""


def own_items(identity: Any) -> list[dict[str, Any]]:
    """The newest escalations and consultations this person raised, as display values."""
    from mash import consultations, directory, escalations
    from mash.errors import MashError

    if not identity.user_id:
        raise NotSignedIn
    with common.sessions()() as session:
        try:
            if identity.channel == "slack":
                actor = directory.actor_for(session=session, slack_user_id=identity.user_id)
            elif identity.user_id.isdigit():
                actor = directory.actor_for(session=session, user_id=int(identity.user_id))
            else:
                raise NotSignedIn
        except MashError:
            raise NotSignedIn from None
        items = [
            {
                "reference": e.reference,
                "kind": f"{e.urgency} escalation",
                "when": e.raised_at,
                "status": e.status,
                "name": e.picked_up_by_name,
                "outcome": e.outcome_label,
            }
            for e in escalations.list_escalations(session=session, actor=actor, limit=20)
            if e.originator_user_id == actor.user_id
        ]
        items += [
            {
                "reference": c.reference,
                "kind": "consultation",
                "when": c.requested_at,
                "status": c.status,
                "name": c.picked_up_by_name,
                "outcome": None,
            }
            for c in consultations.list_consultations(session=session, actor=actor, limit=20)
            if c.originator_user_id == actor.user_id
        ]
    items.sort(key=lambda item: item["when"], reverse=True)
    return items[:MAX_ITEMS]


def describe(item: dict[str, Any]) -> dict[str, str]:
    status = STATUS_LABELS.get(item["status"], item["status"].replace("_", " "))
    if item["status"] == "picked_up" and item["name"]:
        status = f"being handled by {item['name']}"
    return {
        "reference": item["reference"],
        "urgency": item["kind"],
        "raised": f"{item['when']:%d %b %Y %H:%M}",
        "status": status,
        "outcome_part": f". Outcome: {item['outcome']}" if item["outcome"] else "",
    }


class ActionCheckReferralStatus(Action):
    def name(self) -> str:
        return "action_check_referral_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            items = await common.in_thread(own_items, common.identity(tracker))
        except NotSignedIn:
            dispatcher.utter_message(response="utter_needs_signin")
            return []
        except Exception:  # noqa: BLE001
            logger.exception("could not list the user's concerns")
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if not items:
            dispatcher.utter_message(response="utter_referral_status_none")
            return []
        dispatcher.utter_message(response="utter_referral_status_intro")
        for item in items:
            dispatcher.utter_message(response="utter_referral_status_item", **describe(item))
        return []
