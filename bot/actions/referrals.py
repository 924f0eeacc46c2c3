"""What happened to the concerns I raised: the user's own escalations and consultations, or
the one item a reference in the message names ("what happened with E-000009?")."""

from __future__ import annotations

import logging
import re
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


# E-000009, C-12, e000009: an escalation's or a consultation's reference as people type it.
REFERENCE = re.compile(r"\b([EC])-?(\d{1,9})\b", re.IGNORECASE)
# Said the same for a reference that does not exist and one the asker may not see, so nothing
# leaks. Plain text rather than a domain response: the action then works with a Rasa model
# trained before it (no retraining for this wording).
NOT_FOUND = (
    "I can't find {reference} among the concerns and consultations you can see. Check the "
    "reference, or ask \"what happened to my concerns?\" for the ones you raised most recently."
)


class NotSignedIn(Exception):
    """The metadata names nobody the directory knows."""


def reference_in(text: str) -> tuple[str, int] | None:
    """("escalation" | "consultation", number) for the first reference in `text`, else None."""
    found = REFERENCE.search(text or "")
    if found is None:
        return None
    kind = "escalation" if found.group(1).upper() == "E" else "consultation"
    return kind, int(found.group(2))


def _actor(session: Any, identity: Any) -> Any:
    """The signed-in person the channel vouches for (NotSignedIn if the directory has none)."""
    from mash import directory
    from mash.errors import MashError

    if not identity.user_id:
        raise NotSignedIn
    try:
        if identity.channel == "slack":
            return directory.actor_for(session=session, slack_user_id=identity.user_id)
        if identity.user_id.isdigit():
            return directory.actor_for(session=session, user_id=int(identity.user_id))
    except MashError:
        raise NotSignedIn from None
    raise NotSignedIn


def one_item(identity: Any, kind: str, number: int) -> dict[str, Any] | None:
    """The item `kind` `number` as display values, if the asker may see it (their own, or their
    organisation's, by the MASH service's access rules; the read is audited); else None."""
    from mash import consultations, escalations
    from mash.errors import MashError

    with common.sessions()() as session:
        actor = _actor(session, identity)
        try:
            if kind == "escalation":
                e = escalations.get_escalation(session=session, actor=actor, escalation_id=number)
                return _escalation(e)
            c = consultations.get_consultation(
                session=session, actor=actor, consultation_id=number
            )
            return _consultation(c)
        except MashError:  # missing or not visible: the same answer either way
            return None


def _escalation(e: Any) -> dict[str, Any]:
    return {
        "reference": e.reference,
        "kind": f"{e.urgency} escalation",
        "when": e.raised_at,
        "status": e.status,
        "name": e.picked_up_by_name,
        "outcome": e.outcome_label,
    }


def _consultation(c: Any) -> dict[str, Any]:
    return {
        "reference": c.reference,
        "kind": "consultation",
        "when": c.requested_at,
        "status": c.status,
        "name": c.picked_up_by_name,
        "outcome": None,
    }


def own_items(identity: Any) -> list[dict[str, Any]]:
    """The newest escalations and consultations this person raised, as display values."""
    from mash import consultations, escalations

    with common.sessions()() as session:
        actor = _actor(session, identity)
        items = [
            _escalation(e)
            for e in escalations.list_escalations(session=session, actor=actor, limit=20)
            if e.originator_user_id == actor.user_id
        ]
        items += [
            _consultation(c)
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
        asked = reference_in(common.latest_text(tracker))
        if asked is not None:
            return await self._one(dispatcher, tracker, *asked)
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

    async def _one(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, kind: str, number: int
    ) -> list[dict[str, Any]]:
        """Answer about the one item the message names, and only if the asker may see it."""
        try:
            item = await common.in_thread(one_item, common.identity(tracker), kind, number)
        except NotSignedIn:
            dispatcher.utter_message(response="utter_needs_signin")
            return []
        except Exception:  # noqa: BLE001
            logger.exception("could not look up the item asked about")
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        if item is None:
            reference = f"{'E' if kind == 'escalation' else 'C'}-{number:06d}"
            dispatcher.utter_message(text=NOT_FOUND.format(reference=reference))
            return []
        dispatcher.utter_message(response="utter_referral_status_item", **describe(item))
        return []
