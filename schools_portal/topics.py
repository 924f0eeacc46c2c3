"""Group a pack's guide sections into a few topics for browsing.

Sections carry ids and tags but no topic, so the portal groups them by words in their ids
(presentation only; the first matching topic wins and anything unmatched is "Other topics",
so another council's pack still browses sensibly)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

TOPICS: list[tuple[str, str, tuple[str, ...]]] = [
    (
        "child-protection",
        "Child protection processes",
        ("section-17", "section-47", "strategy", "conference", "child-protection-plans",
         "family-participation", "strengthening-families", "signs-of-safety"),
    ),
    (
        "referrals",
        "Referrals, the front door and the MASH",
        ("front-door", "mash", "referral", "feedback", "out-of-hours", "consultation",
         "crimestoppers", "consent", "information-sharing", "recording", "disclosure"),
    ),
    (
        "levels",
        "Levels of need and thresholds",
        ("level", "stepping", "assessment", "duty-to-refer", "early-help", "team-around"),
    ),
    (
        "roles",
        "Roles, training and disagreements",
        ("dsl-role", "gp-", "training", "allegations", "resolving", "about-the-guide"),
    ),
    (
        "harm",
        "Abuse, neglect and particular risks",
        ("abuse", "neglect", "bruising", "exploitation", "fgm", "marriage", "self-harm",
         "radicalisation", "nudes", "left-alone", "missing", "parental", "carers",
         "fostering", "looked-after", "guardianship", "encompass"),
    ),
]
OTHER = ("other", "Other topics")


def topic_of(section_id: str) -> tuple[str, str]:
    for key, title, words in TOPICS:
        if any(word in section_id for word in words):
            return key, title
    return OTHER


def by_topic(sections: Iterable[Any]) -> list[dict[str, Any]]:
    """[{"key", "title", "sections": [...]}] in TOPICS order, sections by title."""
    groups: dict[str, dict[str, Any]] = {}
    for section in sections:
        key, title = topic_of(section.id)
        groups.setdefault(key, {"key": key, "title": title, "sections": []})["sections"].append(
            section
        )
    order = [key for key, _, _ in TOPICS] + [OTHER[0]]
    result = [groups[key] for key in order if key in groups]
    for group in result:
        group["sections"].sort(key=lambda s: s.title.lower())
    return result
