"""The partnership's gap list: questions the assistant answered without confidence.

The assistant (bot action) and the portal's guide search record a question here when the
guidance engine was not sure the guide answers it (`Engine.gap` gives the text with names
masked and its topic). Nothing identifies the asker: the text is redacted as escalation
excerpts are (mash/redact.py), and only the role and the time are kept. Managers read the list
and mark a topic "added to the guide" with the section they added; both are audited. Grouping
by topic is guidance.gaps.group_gaps (pure), which the portal and `python -m guidance gaps`
apply to these records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mash import audit
from mash.access import Actor
from mash.clock import utcnow, week_start
from mash.db import unit_of_work
from mash.errors import Forbidden, InvalidInput
from mash.models import ROLES, QuestionGap
from mash.redact import redact

MAX_TEXT = 500
MAX_READ = 5000
_SECTION_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TOPIC = re.compile(r"^(section:[a-z0-9-]{1,100}|kind:[a-z]{1,20}|none)$")
GAPS_ROLES = frozenset({"mash_manager"})


@dataclass(frozen=True)
class GapRecord:
    id: int
    asked_at: datetime
    role: str | None
    text: str
    topic: str
    added_section: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "asked_at": self.asked_at.isoformat()}


def _check_reader(actor: Actor) -> None:
    if actor.role not in GAPS_ROLES:
        raise Forbidden("Only MASH managers can read or change the gap list.")


@unit_of_work
def record_gap(
    *, session: Session, text: str, topic: str, role: str | None, now: datetime | None = None
) -> int:
    """Keep one unanswered question (redacted; the role only if it is a known one)."""
    if not _TOPIC.match(topic or ""):
        raise InvalidInput("unknown topic", field="topic")
    now = now or utcnow()
    row = QuestionGap(
        asked_at=now,
        week_start=week_start(now),
        role=role if role in ROLES else None,
        text=redact(" ".join(str(text).split()))[:MAX_TEXT] or "(empty)",  # "" means purged
        topic=topic,
    )
    session.add(row)
    session.flush()
    return int(row.id)


@unit_of_work
def list_gaps(*, session: Session, actor: Actor, limit: int = MAX_READ) -> list[GapRecord]:
    """The recorded questions, newest first. MASH managers only; audited."""
    _check_reader(actor)
    rows = session.execute(
        select(QuestionGap).order_by(QuestionGap.asked_at.desc()).limit(min(limit, MAX_READ))
    ).scalars()
    out = [
        GapRecord(row.id, row.asked_at, row.role, row.text, row.topic, row.added_section)
        for row in rows
    ]
    audit.record(session, actor=actor, action="gaps_read", subject_type="question_gaps",
                 subject_id=None, detail={"count": len(out)})
    return out


@unit_of_work
def mark_added(
    *, session: Session, actor: Actor, topic: str, section_id: str, now: datetime | None = None
) -> int:
    """Mark every open question of `topic` as answered by `section_id` (the section the
    partnership added to the guide; the caller checks it exists). Returns how many."""
    _check_reader(actor)
    if not _TOPIC.match(topic or ""):
        raise InvalidInput("unknown topic", field="topic")
    if not _SECTION_ID.match(section_id or "") or len(section_id) > 100:
        raise InvalidInput("a section id is lower-case words joined by hyphens", field="section")
    now = now or utcnow()
    result = session.execute(
        update(QuestionGap)
        .where(QuestionGap.topic == topic, QuestionGap.added_section.is_(None))
        .values(added_section=section_id, added_at=now, added_by=actor.user_id)
    )
    count = int(result.rowcount or 0)
    audit.record(session, actor=actor, action="gaps_marked_added", subject_type="question_gaps",
                 subject_id=None, detail={"group": topic, "section": section_id, "count": count},
                 now=now)
    return count
