"""Expected against decided in the figures (issue 16, part 1): the agreement matrix by source
agency and by category over known data, the commonest disagreements with redacted examples,
the weekly trend and the CSV."""

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from mash import agreement, escalations, figures
from mash.access import Actor
from mash.errors import Forbidden
from mash.models import AuditEntry

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday

# (who, category, expected level, expected source, decided level, week)
KNOWN = [
    ("oakfield_dsl", "neglect", 2, "check", 2, 0),
    ("oakfield_dsl", "neglect", 2, "assess", 3, 0),
    ("oakfield_dsl", "physical_abuse", 3, "check", 4, 0),
    ("riverside_dsl", "neglect", 3, "chosen", 3, 0),
    ("gp", "physical_abuse", 4, "assess", 4, 0),
    ("gp", "neglect", 3, "check", 2, 1),
    ("gp", "neglect", None, "check", 2, 1),
    ("oakfield_dsl", "neglect", 2, "check", 3, 1),
]


def _raise_and_decide(factory, raise_esc, identity_of, actors, known=KNOWN):
    ids = []
    for i, (who, category, expected, source, decided, week) in enumerate(known):
        raised = MONDAY + timedelta(weeks=week, hours=i)
        esc = raise_esc(
            identity=identity_of(who), categories=[category], now=raised,
            text=f"Case {i}: worried about Jo Bloggs, ring 0151 496 000{i}.",
            expected_level=expected, expected_source=source,
        )
        with factory() as s:
            escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id, now=raised)
            escalations.record_outcome(
                session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="other",
                decided_level=decided, now=raised + timedelta(minutes=30),
            )
        ids.append(esc.id)
    return ids


def test_the_agreement_matrix_over_known_data(factory, raise_esc, identity_of, actors):
    _raise_and_decide(factory, raise_esc, identity_of, actors)
    # Not compared: no decided level, and no expectation recorded.
    for extra in ({"expected_level": 2, "expected_source": "check"}, {}):
        esc = raise_esc(now=MONDAY, text="Another family entirely.", **extra)
        with factory() as s:
            escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id)
            escalations.record_outcome(
                session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="other",
                decided_level=None if extra else 3,
            )
    with factory() as s:
        result = agreement.agreement_figures(session=s, actor=actors["manager"])

    overall = result.overall
    assert (overall.compared, overall.agreed) == (8, 3)
    assert (overall.mash_higher, overall.mash_lower, overall.no_level_expected) == (3, 1, 1)
    assert overall.rate == 37.5
    assert overall.count(2, 3) == 2 and overall.count(None, 2) == 1 and overall.count(2, 2) == 1

    by_source = {a.group: a for a in result.by_source}
    assert set(by_source) == {"school", "gp_practice"}
    school, gp = by_source["school"], by_source["gp_practice"]
    assert (school.compared, school.agreed, school.mash_higher, school.mash_lower) == (5, 2, 3, 0)
    assert school.cells == {(2, 2): 1, (2, 3): 2, (3, 4): 1, (3, 3): 1}
    assert (gp.compared, gp.agreed, gp.mash_lower, gp.no_level_expected) == (3, 1, 1, 1)

    by_category = {a.group: a for a in result.by_category}
    assert by_category["neglect"].cells == {(2, 2): 1, (2, 3): 2, (3, 3): 1, (3, 2): 1,
                                            (None, 2): 1}
    assert by_category["physical_abuse"].cells == {(3, 4): 1, (4, 4): 1}
    assert by_category["physical_abuse"].rate == 50.0

    # The commonest disagreement first: expected 2, decided 3 (twice).
    first = result.disagreements[0]
    assert (first.expected_level, first.decided_level, first.count) == (2, 3, 2)
    assert sorted((d.expected_level or 0, d.decided_level) for d in result.disagreements) == [
        (0, 2), (2, 3), (3, 2), (3, 4)]
    assert all(d.examples == [] for d in result.disagreements)  # counts only unless asked


def test_disagreements_carry_redacted_examples_for_mash_staff_audited(
    factory, raise_esc, identity_of, actors
):
    ids = _raise_and_decide(factory, raise_esc, identity_of, actors)
    with factory() as s:
        result = agreement.agreement_figures(
            session=s, actor=actors["manager"], with_examples=True
        )
    first = result.disagreements[0]
    assert len(first.examples) == 2
    for example in first.examples:
        assert "0151" not in example and "[phone]" in example  # redacted
    assert first.examples[0].startswith("Case 7")  # newest first
    with factory() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "escalation.list")
        ).scalars().all()[-1]
    assert entry.detail["with_excerpts"] and ids[7] in entry.detail["ids"]
    assert entry.actor_user_id == actors["manager"].user_id
    # An administrator sees the counts, never the case text.
    with factory() as s, pytest.raises(Forbidden):
        agreement.agreement_figures(session=s, actor=actors["admin"], with_examples=True)
    with factory() as s:
        assert agreement.agreement_figures(session=s, actor=actors["admin"]).overall.compared == 8
    with factory() as s, pytest.raises(Forbidden):
        agreement.agreement_figures(session=s, actor=actors["oakfield_dsl"])


def test_the_weekly_trend_and_the_quiet_weeks(factory, raise_esc, identity_of, actors):
    _raise_and_decide(factory, raise_esc, identity_of, actors)
    with factory() as s:
        rows = figures.weekly_figures(session=s, actor=Actor.system())
    weeks = {r.week_start: r for r in rows}
    first, second = weeks[date(2026, 3, 2)], weeks[date(2026, 3, 9)]
    assert (first.levels_compared, first.levels_agreed, first.agreement_percent) == (5, 3, 60.0)
    assert (second.levels_compared, second.levels_agreed, second.agreement_percent) == (3, 0, 0.0)
    filled = figures.every_week(rows, since=date(2026, 2, 23), until=date(2026, 3, 23))
    assert [(r.levels_compared, r.levels_agreed) for r in filled] == [
        (0, 0), (5, 3), (3, 0), (0, 0)]
    assert filled[0].agreement_percent is None
    table = list(csv.DictReader(io.StringIO(figures.to_csv(filled))))
    assert [(r["levels_compared"], r["levels_agreed"]) for r in table] == [
        ("0", "0"), ("5", "3"), ("3", "0"), ("0", "0")]


def test_the_agreement_csv_writes_every_cell(factory, raise_esc, identity_of, actors):
    _raise_and_decide(factory, raise_esc, identity_of, actors)
    with factory() as s:
        result = agreement.agreement_figures(session=s, actor=Actor.system())
    rows = list(csv.DictReader(io.StringIO(agreement.to_csv(result, ["school", "agency"]))))

    def cell(table, group, expected, decided):
        [row] = [r for r in rows if (r["table"], r["group"], r["expected_level"],
                                     r["decided_level"]) == (table, group, expected, decided)]
        return int(row["count"])

    assert cell("overall", "all", "2", "3") == 2
    assert cell("overall", "all", "", "2") == 1
    assert cell("source", "school", "3", "4") == 1
    assert cell("source", "agency", "1", "1") == 0  # named, so written with zeros
    assert cell("category", "neglect", "3", "2") == 1
    assert cell("disagreement", "all", "2", "3") == 2
    assert len([r for r in rows if r["table"] == "source"]) == 3 * 5 * 4
