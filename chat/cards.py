"""The threshold result as a short structured card, for every channel to draw its own way.

A card is plain data carried on a chat message as `message["card"]`: the suggested level and
its name, the reasons, the next steps, the questions (when no level could be suggested) and
the guide sections to link. The portal draws it as a card with lists and links to
/guidance/sections/<id>; Slack as mrkdwn sections with `<url|title>` links; a client that
ignores `card` still has the message's text. Actions send it as a custom payload beside their
text (`{"card": {...}}`); `fold_cards` puts it back on that text message, as
chat/sources.py does for sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chat.labels import humanise_reason
from chat.sources import clean_sources

MAX_ITEMS = 8
MAX_ITEM_CHARS = 600
MAX_CARD_SOURCES = 6


def threshold_card(
    assessment: Any, level_name: str = "", labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The card for a guidance Assessment (placed or unplaced); `labels` (the pack's category
    labels) put the risk screen's category ids in its reasons as words."""
    return clean_card(
        {
            "kind": "threshold",
            "level": assessment.level,
            "level_name": level_name,
            "reasons": [humanise_reason(r, labels or {}) for r in assessment.reasons],
            "next_steps": list(assessment.next_steps),
            "questions": list(assessment.questions),
            "sources": [{"id": s.id, "title": s.title} for s in assessment.sources],
        }
    )


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(v).strip()[:MAX_ITEM_CHARS] for v in value[:MAX_ITEMS]
            if isinstance(v, str) and v.strip()]


def clean_card(value: Any) -> dict[str, Any] | None:
    """Only the fields a card has, as text, lists of text and well-formed section links."""
    if not isinstance(value, dict) or value.get("kind") != "threshold":
        return None
    level = value.get("level")
    sources = clean_sources(value.get("sources"))
    return {
        "kind": "threshold",
        "level": level if level in (1, 2, 3, 4) else None,
        "level_name": str(value.get("level_name") or "")[:100],
        "reasons": _texts(value.get("reasons")),
        "next_steps": _texts(value.get("next_steps")),
        "questions": _texts(value.get("questions")),
        "sources": sources[:MAX_CARD_SOURCES],
    }


def fold_cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's messages with each card payload attached to the text message before it (or, with
    none, as a message of its own)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict) and "card" in custom:
            card = clean_card(custom["card"])
            if card is None:
                continue
            if out and out[-1].get("text") and not out[-1].get("card"):
                out[-1] = {**out[-1], "card": card}
            else:
                out.append({"text": card_text(card), "card": card})
            continue
        out.append(message)
    return out


def card_text(card: dict[str, Any]) -> str:
    """The card as plain text, for a client that cannot draw it."""
    if card["level"]:
        lines = [f"Suggested level: Level {card['level']} ({card['level_name']})."]
    else:
        lines = ["No level can be suggested yet."]
    for title, key in (("Why", "reasons"), ("Next steps", "next_steps"),
                       ("What would help place it", "questions")):
        if card[key]:
            lines.append(f"{title}:")
            lines += [f"- {item}" for item in card[key]]
    if card["sources"]:
        lines.append("In the guide: " + "; ".join(s["title"] for s in card["sources"]))
    return "\n".join(lines)


# Roles whose disclosures get the suggested level with the safety message: a GP refers
# straight to the front door, with the level, its reasons and the guide's sections to hand
# (issue 14: the GP journey). A school's DSL keeps the threshold check the assistant offers.
LEVEL_WITH_DISCLOSURE = frozenset({"gp"})


def disclosure_card(engine: Any, text: str, role: str | None) -> dict[str, Any] | None:
    """For a role in LEVEL_WITH_DISCLOSURE, the card of the engine's assessment of `text` in
    that role's words (guidance.roles.for_role); None for other roles or if it is unplaced."""
    from guidance.roles import for_role

    if role not in LEVEL_WITH_DISCLOSURE:
        return None
    assessment = for_role(engine.assess(text), engine.pack, role)
    if not assessment.placed:
        return None
    return threshold_card(assessment, engine.pack.levels[assessment.level].name,
                          engine.pack.lexicon.labels)
