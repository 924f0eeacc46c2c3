"""Dashboard figures per week (Recommendation 3), aggregated in SQL.

Per ISO week (starting Monday, UTC): contacts (escalations + consultation requests),
escalations by urgency, by category and by source agency type, the questions the assistant
answered without confidence (the gap list, mash/gaps.py), how many escalations had both an
expected and a decided level and how many of those agreed (mash/agreement.py has the
matrices), and the time from raising to
acknowledgement and to outcome (median and 90th percentile, in minutes, interpolated like
PostgreSQL's percentile_cont). Every figure is computed by indexed SQL that SQLite and
PostgreSQL both run, so the two give the same numbers and only a few rows per week leave the
database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from mash.access import FIGURES_ROLES, Actor
from mash.agreement import compared_where
from mash.db import unit_of_work
from mash.errors import Forbidden
from mash.models import (
    ORGANISATION_KINDS,
    URGENCIES,
    Consultation,
    Escalation,
    EscalationCategory,
    QuestionGap,
)

# The CSV's source columns: every organisation kind, and senders the directory did not know.
SOURCE_KINDS = (*ORGANISATION_KINDS, "unknown")

PERCENTILES = {"median": (1, 2), "p90": (9, 10)}  # p as a fraction, for integer SQL arithmetic


@dataclass
class WeekFigures:
    week_start: date
    contacts: int = 0
    escalations: int = 0
    consultations: int = 0
    unanswered_questions: int = 0  # answered without confidence: the guide may not cover them
    by_urgency: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    ack_median_minutes: float | None = None
    ack_p90_minutes: float | None = None
    outcome_median_minutes: float | None = None
    outcome_p90_minutes: float | None = None
    # Expected against decided (mash/agreement.py): escalations raised this week with both an
    # expected and a decided level, and how many of them agreed.
    levels_compared: int = 0
    levels_agreed: int = 0

    @property
    def agreement_percent(self) -> float | None:
        if not self.levels_compared:
            return None
        return round(100 * self.levels_agreed / self.levels_compared, 1)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "week_start": self.week_start.isoformat()}


def _range(column: Any, since: date | None, until: date | None) -> list[Any]:
    where = []
    if since is not None:
        where.append(column >= since)
    if until is not None:
        where.append(column < until)
    return where


def _percentiles(session: Session, seconds: Any, where: list[Any]) -> dict[date, dict[str, float]]:
    """{week: {"median": minutes, "p90": minutes}} for a seconds column, ignoring NULLs.

    Counts per week first (an index-only GROUP BY), then for each percentile reads just the two
    values around its position with ORDER BY ... LIMIT 2 OFFSET k, which the (week_start,
    seconds) index answers without sorting: a few dozen index seeks instead of sorting 100,000
    rows (window functions took over a second on SQLite).
    """
    week = Escalation.week_start
    counts = session.execute(
        select(week, func.count(seconds)).where(seconds.isnot(None), *where).group_by(week)
    ).all()

    def around(name: str) -> Any:
        return (
            select(seconds.label("value"))
            .where(week == bindparam("week"), seconds.isnot(None))
            .order_by(seconds)
            .limit(2)
            .offset(bindparam(name))
            .subquery()
        )

    # One round trip per week: the two values around each percentile's position.
    parts = {name: around(f"k_{name}") for name in PERCENTILES}
    query = union_all(
        *(select(literal(name).label("which"), sub.c.value) for name, sub in parts.items())
    )
    out: dict[date, dict[str, float]] = {}
    for week_value, n in counts:
        if not n:
            continue
        positions = {name: divmod(num * (n - 1), den) for name, (num, den) in PERCENTILES.items()}
        params = {f"k_{name}": k for name, (k, _) in positions.items()}
        values: dict[str, list[int]] = {name: [] for name in PERCENTILES}
        for which, value in session.execute(query, {"week": week_value, **params}):
            values[which].append(value)
        result = {}
        for name, (_, remainder) in positions.items():
            pair = sorted(values[name])
            low = pair[0]
            high = pair[1] if len(pair) > 1 else low
            den = PERCENTILES[name][1]
            result[name] = round((low + (high - low) * remainder / den) / 60, 1)
        out[week_value] = result
    return out


@unit_of_work
def weekly_figures(
    *, session: Session, actor: Actor, since: date | None = None, until: date | None = None
) -> list[WeekFigures]:
    """Figures for each week with any activity in [since, until), oldest first. MASH staff and
    admins only (counts and times: no item is read, so nothing is audited)."""
    if actor.role not in FIGURES_ROLES and actor.role != "system":
        raise Forbidden("Only MASH staff and administrators can see the figures.")
    where = _range(Escalation.week_start, since, until)
    weeks: dict[date, WeekFigures] = {}

    def week(w: date) -> WeekFigures:
        return weeks.setdefault(w, WeekFigures(week_start=w))

    for w, urgency, count in session.execute(
        select(Escalation.week_start, Escalation.urgency, func.count())
        .where(*where)
        .group_by(Escalation.week_start, Escalation.urgency)
    ):
        week(w).by_urgency[urgency] = count
    for w, kind, count in session.execute(
        select(Escalation.week_start, Escalation.source_kind, func.count())
        .where(*where)
        .group_by(Escalation.week_start, Escalation.source_kind)
    ):
        week(w).by_source[kind] = count
    for w, category, count in session.execute(
        select(EscalationCategory.week_start, EscalationCategory.category, func.count())
        .where(*_range(EscalationCategory.week_start, since, until))
        .group_by(EscalationCategory.week_start, EscalationCategory.category)
    ):
        week(w).by_category[category] = count
    for w, count in session.execute(
        select(Consultation.week_start, func.count())
        .where(*_range(Consultation.week_start, since, until))
        .group_by(Consultation.week_start)
    ):
        week(w).consultations = count
    for w, count in session.execute(
        select(QuestionGap.week_start, func.count())
        .where(*_range(QuestionGap.week_start, since, until))
        .group_by(QuestionGap.week_start)
    ):
        week(w).unanswered_questions = count
    agreed = func.sum(case((Escalation.expected_level == Escalation.decided_level, 1), else_=0))
    for w, compared, agreed_count in session.execute(
        select(Escalation.week_start, func.count(), agreed)
        .where(*compared_where(since, until))
        .group_by(Escalation.week_start)
    ):
        week(w).levels_compared = compared
        week(w).levels_agreed = int(agreed_count or 0)
    for prefix, column in (
        ("ack", Escalation.ack_seconds),
        ("outcome", Escalation.outcome_seconds),
    ):
        for w, result in _percentiles(session, column, where).items():
            setattr(week(w), f"{prefix}_median_minutes", result["median"])
            setattr(week(w), f"{prefix}_p90_minutes", result["p90"])
    for figures in weeks.values():
        figures.escalations = sum(figures.by_urgency.values())
        figures.contacts = figures.escalations + figures.consultations
        for urgency in URGENCIES:
            figures.by_urgency.setdefault(urgency, 0)
    return [weeks[w] for w in sorted(weeks)]


def every_week(rows: Iterable[WeekFigures], *, since: date, until: date) -> list[WeekFigures]:
    """`rows` (from weekly_figures) with a row of zeros for each week in [since, until) that
    had no activity, oldest first: a chart of 52 weeks draws 52 columns, not one fat bar."""
    by_week = {r.week_start: r for r in rows}
    out, week = [], since - timedelta(days=since.weekday())
    while week < until:
        out.append(by_week.pop(week, None) or WeekFigures(
            week_start=week, by_urgency={u: 0 for u in URGENCIES}))
        week += timedelta(weeks=1)
    return sorted(out + list(by_week.values()), key=lambda r: r.week_start)


def to_csv(rows: Iterable[WeekFigures], *, categories: Sequence[str] = ()) -> str:
    """One line per week. Fixed columns, whatever occurred: every urgency, every source type
    (SOURCE_KINDS) and every category in `categories` (the pack's, in the pack's order), then
    any other source or category that occurred (sorted), so nothing counted is left out."""
    rows = list(rows)
    sources = [*SOURCE_KINDS, *sorted({k for r in rows for k in r.by_source} - set(SOURCE_KINDS))]
    categories = [*categories,
                  *sorted({k for r in rows for k in r.by_category} - set(categories))]
    header = (
        ["week_start", "contacts", "escalations", "consultations"]
        + [f"urgency_{u}" for u in URGENCIES]
        + [f"source_{s}" for s in sources]
        + [f"category_{c}" for c in categories]
        + ["ack_median_minutes", "ack_p90_minutes", "outcome_median_minutes", "outcome_p90_minutes"]
        + ["unanswered_questions"]  # later columns at the end: earlier ones keep their places
        + ["levels_compared", "levels_agreed"]
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow(
            [r.week_start.isoformat(), r.contacts, r.escalations, r.consultations]
            + [r.by_urgency.get(u, 0) for u in URGENCIES]
            + [r.by_source.get(s, 0) for s in sources]
            + [r.by_category.get(c, 0) for c in categories]
            + [
                "" if v is None else v
                for v in (
                    r.ack_median_minutes,
                    r.ack_p90_minutes,
                    r.outcome_median_minutes,
                    r.outcome_p90_minutes,
                )
            ]
            + [r.unanswered_questions]
            + [r.levels_compared, r.levels_agreed]
        )
    return buffer.getvalue()
