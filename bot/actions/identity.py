"""Stating a role in the chat changes nothing: say what the sign-in says instead."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import common

logger = logging.getLogger(__name__)


def organisation_name(organisation_id: int) -> str | None:
    from mash import directory

    try:
        with common.sessions()() as session:
            return directory.get_organisation(session=session, organisation_id=organisation_id).name
    except Exception:  # noqa: BLE001 - the name is a courtesy
        logger.warning("could not look up organisation %s", organisation_id)
        return None


class ActionAcknowledgeRole(Action):
    def name(self) -> str:
        return "action_acknowledge_role"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        role = common.role(tracker)
        if role not in common.ROLE_LABELS:
            dispatcher.utter_message(response="utter_role_unknown")
            return []
        org = common.organisation_id(tracker)
        name = await common.in_thread(organisation_name, org) if org is not None else None
        dispatcher.utter_message(
            response="utter_role_from_signin",
            role_label=common.ROLE_LABELS[role],
            organisation_part=f" at {name}" if name else "",
        )
        return []
