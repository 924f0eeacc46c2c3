"""Expected against decided (issue 16): how often the level a practitioner expected matches the
level the MASH decided, by source agency and by category, the commonest disagreements with
redacted examples (for the partnership's threshold workshops), aggregated in SQL.

Only escalations with both halves count: an expectation recorded (`expected_source`) and a
decided level. An expectation of no level (the check could not place it) against a decided
level is counted apart ("no level expected"), never as agreement.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mash import lifecycle
from mash.access import FIGURES_ROLES, Actor
from mash.db import unit_of_work
from mash.errors import Forbidden
from mash.models import Escalation, EscalationCategory

LEVELS = (1, 2, 3, 4)
EXPECTED = (*LEVELS, None)  # None: no level expected
EXAMPLES_PER_PAIR = 3
TOP_DISAGREEMENTS = 5


@dataclass
class Agreement:
    """One group's comparison: `cells[(expected, decided)]` counts escalations."""

    group: str
    cells: dict[tuple[int | None, int], int] = field(default_factory=dict)

    def add(self, expected: int | None, decided: int, count: int) -> None:
        self.cells[(expected, decided)] = self.cells.get((expected, decided), 0) + count

    @property
    def compared(self) -> int:
        return sum(self.cells.values())

    @property
    def agreed(self) -> int:
        return sum(n for (e, d), n in self.cells.items() if e == d)

    @property
    def mash_higher(self) -> int:
        return sum(n for (e, d), n in self.cells.items() if e is not None and d > e)

    @property
    def mash_lower(self) -> int:
        return sum(n for (e, d), n in self.cells.items() if e is not None and d < e)

    @property
    def no_level_expected(self) -> int:
        return sum(n for (e, _d), n in self.cells.items() if e is None)

    @property
    def rate(self) -> float | None:
        """The share that agreed, as a percentage to one place (None when nothing compared)."""
        return round(100 * self.agreed / self.compared, 1) if self.compared else None

    def count(self, expected: int | None, decided: int) -> int:
        return self.cells.get((expected, decided), 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "compared": self.compared,
            "agreed": self.agreed,
            "mash_higher": self.mash_higher,
            "mash_lower": self.mash_lower,
            "no_level_expected": self.no_level_expected,
            "agreement_percent": self.rate,
            "matrix": [
                {"expected_level": e, "decided_level": d, "count": n}
                for (e, d), n in sorted(self.cells.items(), key=_cell_order)
            ],
        }


def _cell_order(item: tuple[tuple[int | None, int], int]) -> tuple[int, int]:
    (e, d), _n = item
    return (5 if e is None else e, d)


@dataclass
class Disagreement:
    expected_level: int | None
    decided_level: int
    count: int
    examples: list[str] = field(default_factory=list)  # redacted excerpts, newest first

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AgreementFigures:
    overall: Agreement
    by_source: list[Agreement]
    by_category: list[Agreement]
    disagreements: list[Disagreement]

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            "by_source": [a.to_dict() for a in self.by_source],
            "by_category": [a.to_dict() for a in self.by_category],
            "disagreements": [d.to_dict() for d in self.disagreements],
        }


def compared_where(since: date | None, until: date | None) -> list[Any]:
    """The escalations that count: an expectation recorded, a level decided, in the weeks."""
    where = [Escalation.expected_source.isnot(None), Escalation.decided_level.isnot(None)]
    if since is not None:
        where.append(Escalation.week_start >= since)
    if until is not None:
        where.append(Escalation.week_start < until)
    return where


def _groups(rows: Iterable[Any]) -> list[Agreement]:
    groups: dict[str, Agreement] = {}
    for group, expected, decided, count in rows:
        groups.setdefault(group, Agreement(group)).add(expected, decided, count)
    return sorted(groups.values(), key=lambda a: (-a.compared, a.group))


@unit_of_work
def agreement_figures(
    *,
    session: Session,
    actor: Actor,
    since: date | None = None,
    until: date | None = None,
    with_examples: bool = False,
) -> AgreementFigures:
    """Expected against decided for escalations raised in [since, until). Counts for MASH staff
    and administrators (nothing read, nothing audited). `with_examples` adds up to
    EXAMPLES_PER_PAIR redacted excerpts (mash/redact.py, applied again) to each of the
    TOP_DISAGREEMENTS commonest disagreements: MASH staff only, audited as a listing of the
    escalations whose excerpts were shown."""
    if actor.role not in FIGURES_ROLES and actor.role != "system":
        raise Forbidden("Only MASH staff and administrators can see the figures.")
    if with_examples and not actor.is_mash:
        raise Forbidden("Only MASH staff can read the examples of disagreements.")
    where = compared_where(since, until)
    levels = (Escalation.expected_level, Escalation.decided_level)
    by_source = _groups(
        session.execute(
            select(Escalation.source_kind, *levels, func.count())
            .where(*where)
            .group_by(Escalation.source_kind, *levels)
        )
    )
    by_category = _groups(
        session.execute(
            select(EscalationCategory.category, *levels, func.count())
            .join(Escalation, Escalation.id == EscalationCategory.escalation_id)
            .where(*where)
            .group_by(EscalationCategory.category, *levels)
        )
    )
    overall = Agreement("all")
    for group in by_source:
        for (e, d), n in group.cells.items():
            overall.add(e, d, n)
    pairs = sorted(
        ((e, d, n) for (e, d), n in overall.cells.items() if e != d),
        key=lambda p: (-p[2], 5 if p[0] is None else p[0], p[1]),
    )[:TOP_DISAGREEMENTS]
    disagreements = [Disagreement(e, d, n) for e, d, n in pairs]
    if with_examples and disagreements:
        _add_examples(session, actor, disagreements, where)
    return AgreementFigures(overall, by_source, by_category, disagreements)


def _add_examples(
    session: Session, actor: Actor, disagreements: list[Disagreement], where: list[Any]
) -> None:
    from mash.escalations import ESCALATION

    shown: list[int] = []
    for d in disagreements:
        expected = (
            Escalation.expected_level.is_(None)
            if d.expected_level is None
            else Escalation.expected_level == d.expected_level
        )
        rows = session.execute(
            select(Escalation.id, Escalation.excerpt)
            .where(*where, expected, Escalation.decided_level == d.decided_level,
                   Escalation.excerpt.isnot(None))
            .order_by(Escalation.raised_at.desc(), Escalation.id.desc())
            .limit(EXAMPLES_PER_PAIR)
        ).all()
        d.examples = [lifecycle.preview(excerpt) or "" for _id, excerpt in rows]
        shown.extend(row_id for row_id, _excerpt in rows)
    lifecycle.record(
        session, actor=actor, kind=ESCALATION, action="list", item_id=None,
        detail={"ids": shown, "with_excerpts": True, "view": "disagreements"},
    )


def level_name(level: int | None) -> str:
    return "no level" if level is None else f"level {level}"


def to_csv(figures: AgreementFigures, sources: Sequence[str] = ()) -> str:
    """The matrices in long form, one line per (table, group, expected, decided) with a count,
    every cell written (zeros too) for the groups `sources` names and every group that occurred;
    then the commonest disagreements (counts only: examples stay in the audited dashboard)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["table", "group", "expected_level", "decided_level", "count"])
    seen = {a.group for a in figures.by_source}
    source_groups = [*figures.by_source,
                     *(Agreement(s) for s in sources if s not in seen)]
    for table, groups in (
        ("overall", [figures.overall]),
        ("source", source_groups),
        ("category", figures.by_category),
    ):
        for group in groups:
            for e in EXPECTED:
                for d in LEVELS:
                    writer.writerow(
                        [table, group.group, "" if e is None else e, d, group.count(e, d)]
                    )
    for d in figures.disagreements:
        writer.writerow(
            ["disagreement", "all", "" if d.expected_level is None else d.expected_level,
             d.decided_level, d.count]
        )
    return buffer.getvalue()
