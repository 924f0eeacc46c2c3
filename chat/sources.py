"""The guide sections an answer cites, carried with its message so each channel can link them.

The answer action utters "From the guide: Title (id); ..." with the same sources as a custom
payload (`{"sources": [{"id", "title"}]}`); Rasa's collecting channel sends the two as separate
messages. `fold_sources` puts the payload back on the text message before it as
`message["sources"]`, which the portal renders as links to /guidance/sections/<id> and Slack as
`<url|title>`; a client that ignores `sources` still has the text.
"""

from __future__ import annotations

import re
from typing import Any

_SECTION_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MAX_SOURCES = 5


def clean_sources(value: Any) -> list[dict[str, str]]:
    """Only well-formed section ids and short titles: this is what a link is built from."""
    if not isinstance(value, list):
        return []
    out = []
    for item in value[:MAX_SOURCES]:
        if not isinstance(item, dict):
            continue
        ident, title = item.get("id"), item.get("title")
        if isinstance(ident, str) and _SECTION_ID.match(ident) and len(ident) <= 100:
            out.append({"id": ident, "title": str(title or ident)[:200]})
    return out


def fold_sources(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's messages with each sources payload attached to the text message before it."""
    out: list[dict[str, Any]] = []
    for message in messages:
        custom = message.get("custom")
        if isinstance(custom, dict) and "sources" in custom:
            sources = clean_sources(custom["sources"])
            if out and out[-1].get("text") and not out[-1].get("sources"):
                if sources:
                    out[-1] = {**out[-1], "sources": sources}
            elif sources:
                titles = "; ".join(f"{s['title']} ({s['id']})" for s in sources)
                out.append({"text": f"From the guide: {titles}", "sources": sources})
            continue
        out.append(message)
    return out


def section_url(base: str, section_id: str) -> str:
    return f"{base.rstrip('/')}/guidance/sections/{section_id}"
