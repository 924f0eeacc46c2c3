"""RulePolicy that lets the immediate-risk rules interrupt an open form or fallback.

Stock RulePolicy always runs an active loop (a form, the two-stage fallback) before any rule,
and a form first calls its validation action on the action server. With the action server
down that call fails, Rasa logs it, predicts `action_listen`, and the safety message would
never be uttered. Here, while the user's latest message carries the immediate-risk intent and
only the safety message has run since, the loop is not forced: the rules with `active_loop`
conditions in data/rules/safety.yml apply instead, and they close the loop inside Rasa
(`action_deactivate_loop`). Every other turn behaves exactly as RulePolicy.
"""

from __future__ import annotations

from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

IMMEDIATE_INTENT = "report_immediate_risk"
# Actions that may run between the immediate-risk message and closing the loop.
SAFETY_STEPS = frozenset({ACTION_LISTEN_NAME, "utter_safety_message"})


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class SafetyFirstRulePolicy(RulePolicy):
    @staticmethod
    def _find_action_from_loop_happy_path(
        tracker: DialogueStateTracker,
    ) -> tuple[str | None, str | None]:
        if (
            tracker.active_loop_name
            and tracker.latest_action_name in SAFETY_STEPS
            and tracker.latest_message
            and tracker.latest_message.intent.get(INTENT_NAME_KEY) == IMMEDIATE_INTENT
        ):
            return None, None
        return RulePolicy._find_action_from_loop_happy_path(tracker)
