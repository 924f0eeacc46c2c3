"""The risk screen as an NLU component: every message is screened by the guidance engine.

It runs last in the NLU pipeline (after DIET and the FallbackClassifier) so nothing can undo
it. It adds `risk` (urgency, categories, matches) to the parse data, and when the urgency is
immediate it forces the intent to `report_immediate_risk` so a rule utters the safety message
before any custom action. With that intent it also adds the pack's safety numbers *for now*
as entities; Rasa fills the safety slots from them itself, so the message needs neither the
action server nor the database, and a second council's numbers come from its own pack.

Rasa reads at most RASA_MAX_CHARS characters of a message (bot/channels/signed.py cuts it); the
channel screens the whole text first and passes the result as `metadata.channel_screen`. The
component acts on the higher of that and its own screen, so nothing past the cut is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    METADATA,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.runtime import get_engine, get_settings
from guidance.combine import merge_by

logger = logging.getLogger(__name__)

RISK_KEY = "risk"
EXTRACTOR = "RiskScreen"
FALLBACK_INTENT = "nlu_fallback"
URGENCY_ORDER = {"unknown": -1, "none": 0, "concern": 1, "immediate": 2}
# The engine takes at most 20,000 characters at a time: longer messages are screened in
# overlapping windows (so a phrase cut by a window edge is seen whole) and the highest wins.
WINDOW_CHARS = 20_000
WINDOW_OVERLAP = 500
# Where the signed channel (bot/channels/signed.py) puts its screen of the whole text.
CHANNEL_SCREEN_KEY = "channel_screen"


def screen_text(engine: Any, text: str) -> dict[str, Any]:
    """The engine's risk result for the whole text, however long; 'none' for blank text.

    The engine's combined result (rules and the learned second opinion): `by` names the
    layers that decided the final urgency, `reasons` says when the model raised it.
    """
    result: dict[str, Any] = {"urgency": "none", "categories": [], "matches": [],
                              "by": ["rules"], "reasons": []}
    windows: list[dict[str, Any]] = []
    for start in range(0, len(text), WINDOW_CHARS - WINDOW_OVERLAP):
        window = text[start : start + WINDOW_CHARS]
        if not window.strip():
            continue
        found = engine.risk(window).to_dict()
        windows.append(found)
        if URGENCY_ORDER[found["urgency"]] > URGENCY_ORDER[result["urgency"]]:
            result["urgency"] = found["urgency"]
        result["categories"] += [c for c in found["categories"] if c not in result["categories"]]
        result["matches"] += [
            m | {"start": m["start"] + start, "end": m["end"] + start} for m in found["matches"]
        ]
        result["reasons"] += [r for r in found.get("reasons", []) if r not in result["reasons"]]
        if start + WINDOW_CHARS >= len(text):
            break
    deciding = [w for w in windows if w["urgency"] == result["urgency"]]
    if deciding:
        result["by"] = merge_by(deciding)
    return result


def higher_screen(own: dict[str, Any], metadata: Any) -> dict[str, Any]:
    """`own` raised to the signed channel's screen of the whole text (bot/channels/signed.py
    puts it in the metadata; Rasa itself reads only the first RASA_MAX_CHARS characters), so a
    disclosure far into a long message still forces the immediate intent. Never lowers."""
    channel = metadata.get(CHANNEL_SCREEN_KEY) if isinstance(metadata, dict) else None
    if not isinstance(channel, dict) or channel.get("urgency") not in URGENCY_ORDER:
        return own
    merged = dict(own)
    if URGENCY_ORDER[channel["urgency"]] > URGENCY_ORDER.get(own.get("urgency"), -1):
        merged["urgency"] = channel["urgency"]
        merged["matches"] = list(own.get("matches") or []) + [
            m for m in channel.get("matches") or [] if m not in (own.get("matches") or [])
        ]
    categories = list(own.get("categories") or [])
    merged["categories"] = categories + [
        c for c in channel.get("categories") or [] if isinstance(c, str) and c not in categories
    ]
    return merged


def safety_entities(
    contacts: Any, now: dt.datetime, role: str | None = None
) -> list[dict[str, Any]]:
    """Entities that fill the safety slots: which line is open now, its name and number, 999,
    and whose words to use (`safety_audience`: a GP's advice is clinical, not a classroom's;
    the role is the signed channel's, never the text's)."""
    line = contacts.safety_line(now)
    values = {
        "safety_when": "in_hours" if line.in_hours else "out_of_hours",
        "safety_service": line.name,
        "safety_phone": line.number,
        "emergency_phone": contacts.emergency.phone or "999",
        "safety_audience": "gp" if role == "gp" else "school",
    }
    return [
        {"entity": name, "value": value, "start": 0, "end": 0, "extractor": EXTRACTOR,
         "confidence_entity": 1.0}
        for name, value in values.items()
    ]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class RiskScreen(GraphComponent):
    """Screens every message for risk and forces the immediate-risk intent when needed."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"immediate_intent": "report_immediate_risk"}

    def __init__(self, config: dict[str, Any], *, warm: bool = False) -> None:
        self._immediate_intent = config["immediate_intent"]
        if warm:
            # At server start, so the first message is not slowed and a broken pack fails fast.
            self._engine()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RiskScreen:
        return cls(config)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RiskScreen:
        return cls(config, warm=True)

    @staticmethod
    def _engine() -> Any:
        return get_engine(get_settings())

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._screen(message, now=dt.datetime.now(dt.timezone.utc))
        return messages

    def _screen(self, message: Message, *, now: dt.datetime) -> None:
        text = message.get(TEXT) or ""
        engine = self._engine()
        try:
            risk = screen_text(engine, text)
        except Exception:  # noqa: BLE001 - a screen failure must not lose the message
            logger.exception("risk screen failed; keeping the classifier's intent")
            risk = {"urgency": "unknown", "categories": [], "matches": []}
        risk = higher_screen(risk, message.get(METADATA))

        intent = message.get(INTENT) or {}
        risk["classified_intent"] = intent.get(INTENT_NAME_KEY)
        immediate = risk["urgency"] == "immediate"
        if immediate and intent.get(INTENT_NAME_KEY) != self._immediate_intent:
            forced = {INTENT_NAME_KEY: self._immediate_intent, PREDICTED_CONFIDENCE_KEY: 1.0}
            ranking = [
                r for r in message.get(INTENT_RANKING_KEY) or []
                if r.get(INTENT_NAME_KEY) != self._immediate_intent
            ]
            message.set(INTENT, forced, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [forced, *ranking], add_to_output=True)
        risk["forced"] = immediate and risk["classified_intent"] != self._immediate_intent
        classifier_says_immediate = risk["classified_intent"] == self._immediate_intent
        # The classifier alone, with not one risk cue in the text (e.g. "mum, dad and a baby
        # brother" answering "who is involved?"), is far more often a false alarm than a
        # disclosure: make it a fallback, exactly as the FallbackClassifier would, so the
        # two-stage fallback asks "Did you mean a child who may be at risk now?" and a "yes"
        # gives the safety message and the escalation. DIET's ranking stays behind it.
        risk["confirm"] = classifier_says_immediate and risk["urgency"] == "none"
        if risk["confirm"]:
            fallback = {INTENT_NAME_KEY: FALLBACK_INTENT, PREDICTED_CONFIDENCE_KEY: 0.5}
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                       if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT]
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
        message.set(RISK_KEY, risk, add_to_output=True)

        # The classifier alone may say immediate risk: the safety message needs numbers then too.
        if immediate or classifier_says_immediate:
            entities = [
                e for e in message.get(ENTITIES) or [] if e.get("extractor") != EXTRACTOR
            ]
            metadata = message.get(METADATA)
            role = metadata.get("role") if isinstance(metadata, dict) else None
            entities += safety_entities(engine.pack.contacts, now, role)
            message.set(ENTITIES, entities, add_to_output=True)
