import statistics
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from mash import escalations, figures
from mash.access import Actor
from mash.errors import Forbidden

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


def _handle(factory, actors, esc_id, *, ack_after, outcome_after, raised):
    with factory() as s:
        escalations.acknowledge(
            session=s,
            actor=actors["duty"],
            escalation_id=esc_id,
            now=raised + timedelta(minutes=ack_after),
        )
        if outcome_after is not None:
            escalations.pick_up(
                session=s,
                actor=actors["duty"],
                escalation_id=esc_id,
                now=raised + timedelta(minutes=ack_after),
            )
            escalations.record_outcome(
                session=s,
                actor=actors["duty"],
                escalation_id=esc_id,
                outcome_code="advice_given",
                now=raised + timedelta(minutes=outcome_after),
            )


def test_weekly_figures(factory, raise_esc, identity_of, actors, engine):
    from mash import consultations

    acks = [5, 10, 20, 40, 80]
    for i, ack in enumerate(acks):
        raised = MONDAY + timedelta(hours=i)
        esc = raise_esc(
            urgency="immediate" if i < 2 else "concern",
            categories=["neglect"] if i % 2 else ["neglect", "physical_abuse"],
            now=raised,
            **({"identity": identity_of("gp")} if i == 4 else {}),
        )
        _handle(
            factory,
            actors,
            esc.id,
            ack_after=ack,
            outcome_after=ack * 3 if i < 4 else None,
            raised=raised,
        )
    raise_esc(now=MONDAY + timedelta(days=8), categories=["exploitation"])  # next week, unhandled
    with factory() as s:
        consultations.request_consultation(
            session=s,
            identity=identity_of("oakfield_dsl"),
            topic="t",
            callback_number="0151 000 1111",
            now=MONDAY + timedelta(days=1),
        )
        rows = figures.weekly_figures(session=s, actor=actors["manager"])
    assert [r.week_start for r in rows] == [date(2026, 3, 2), date(2026, 3, 9)]
    week = rows[0]
    assert (week.contacts, week.escalations, week.consultations) == (6, 5, 1)
    assert week.by_urgency == {"immediate": 2, "concern": 3}
    assert week.by_category == {"neglect": 5, "physical_abuse": 3}
    assert week.by_source == {"school": 4, "gp_practice": 1}
    assert week.ack_median_minutes == statistics.median(acks) == 20
    assert week.ack_p90_minutes == pytest.approx(
        statistics.quantiles(acks, n=10, method="inclusive")[-1], abs=0.1
    )
    outcomes = [a * 3 for a in acks[:4]]
    assert week.outcome_median_minutes == statistics.median(outcomes)
    assert week.outcome_p90_minutes == pytest.approx(
        statistics.quantiles(outcomes, n=10, method="inclusive")[-1], abs=0.1
    )
    second = rows[1]
    assert second.escalations == 1 and second.ack_median_minutes is None
    if engine.dialect.name == "postgresql":  # the portable window query agrees with percentile_cont
        with engine.connect() as conn:
            pg = conn.execute(
                text(
                    "SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY ack_seconds) / 60 "
                    "FROM escalations "
                    "WHERE week_start = '2026-03-02'"
                )
            ).scalar_one()
        assert week.ack_p90_minutes == pytest.approx(pg, abs=0.1)
    with factory() as s:
        only_second = figures.weekly_figures(
            session=s, actor=actors["admin"], since=date(2026, 3, 9)
        )
    assert [r.week_start for r in only_second] == [date(2026, 3, 9)]

    csv_text = figures.to_csv(rows)
    header, first, *_ = csv_text.splitlines()
    assert header.split(",")[:6] == [
        "week_start",
        "contacts",
        "escalations",
        "consultations",
        "urgency_immediate",
        "urgency_concern",
    ]
    assert "category_exploitation" in header and "source_gp_practice" in header
    assert first.startswith("2026-03-02,6,5,1,2,3,")


def test_figures_need_the_right_role(session, actors):
    with pytest.raises(Forbidden):
        figures.weekly_figures(session=session, actor=actors["oakfield_dsl"])
    assert figures.weekly_figures(session=session, actor=Actor.system()) == []


def test_every_week_fills_quiet_weeks_with_zeros_in_order():
    busy = figures.WeekFigures(week_start=date(2026, 3, 9), escalations=2, contacts=2)
    rows = figures.every_week([busy], since=date(2026, 3, 4), until=date(2026, 3, 30))
    assert [r.week_start for r in rows] == [date(2026, 3, 2), date(2026, 3, 9),
                                            date(2026, 3, 16), date(2026, 3, 23)]
    assert rows[1] is busy
    quiet = rows[0]
    assert (quiet.contacts, quiet.escalations, quiet.by_urgency) == (
        0, 0, {"immediate": 0, "concern": 0})
    assert figures.to_csv(rows).splitlines()[0] == figures.to_csv([]).splitlines()[0]
