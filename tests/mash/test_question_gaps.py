"""The partnership's gap list: questions answered without confidence, kept redacted with the
role and time only, read and marked by managers (audited), counted in the weekly figures, and
grouped by topic (guidance.gaps) into the gaps report."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from guidance.gaps import group_gaps, report_lines
from mash import figures, gaps
from mash.errors import Forbidden, InvalidInput
from mash.models import AuditEntry, QuestionGap

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_a_gap_is_kept_redacted_with_role_and_time_only(factory) -> None:
    with factory() as session:
        gap_id = gaps.record_gap(
            session=session,
            text="Ring me on 07700 900123 or jo@example.org about the boy born 12/03/2015",
            topic="section:front-door-contacts", role="dsl", now=MONDAY,
        )
    with factory() as session:
        row = session.get(QuestionGap, gap_id)
        assert row.text == "Ring me on [phone] or [email] about the boy born [date]"
        assert (row.role, row.asked_at, row.week_start.isoformat()) == ("dsl", MONDAY,
                                                                         "2026-03-02")
        # Nothing names the asker: no user, organisation or conversation column at all.
        assert {c.name for c in QuestionGap.__table__.columns} == {
            "id", "asked_at", "week_start", "role", "text", "topic", "added_section",
            "added_at", "added_by"}


def test_an_unknown_role_or_topic_is_not_kept_as_given(factory) -> None:
    with factory() as session:
        gap_id = gaps.record_gap(session=session, text="q", topic="none", role="hacker")
        assert session.get(QuestionGap, gap_id).role is None
    with factory() as session, pytest.raises(InvalidInput):
        gaps.record_gap(session=session, text="q", topic="<script>", role="dsl")


def test_only_managers_read_or_mark_the_list_and_both_are_audited(factory, actors) -> None:
    with factory() as session:
        gaps.record_gap(session=session, text="What is a care order?",
                        topic="section:special-guardianship", role="gp", now=MONDAY)
    for key in ("duty", "admin", "oakfield_dsl"):
        with factory() as session, pytest.raises(Forbidden):
            gaps.list_gaps(session=session, actor=actors[key])
        with factory() as session, pytest.raises(Forbidden):
            gaps.mark_added(session=session, actor=actors[key],
                            topic="section:special-guardianship", section_id="care-orders")
    with factory() as session:
        records = gaps.list_gaps(session=session, actor=actors["manager"])
        assert [r.text for r in records] == ["What is a care order?"]
        marked = gaps.mark_added(session=session, actor=actors["manager"],
                                 topic="section:special-guardianship", section_id="care-orders")
        assert marked == 1
    with factory() as session:
        trail = session.execute(
            select(AuditEntry.action, AuditEntry.actor_user_id, AuditEntry.detail)
            .where(AuditEntry.subject_type == "question_gaps").order_by(AuditEntry.id)
        ).all()
        assert [(a, u) for a, u, _ in trail] == [
            ("gaps_read", actors["manager"].user_id),
            ("gaps_marked_added", actors["manager"].user_id),
        ]
        assert trail[1][2] == {"group": "section:special-guardianship",
                               "section": "care-orders", "count": 1}
        assert session.execute(select(QuestionGap.added_section)).scalar_one() == "care-orders"
    with factory() as session, pytest.raises(InvalidInput):
        gaps.mark_added(session=session, actor=actors["manager"], topic="none",
                        section_id="Not An Id")


def test_the_weekly_figures_count_unanswered_questions(factory, actors) -> None:
    with factory() as session:
        for days in (0, 1, 8):
            gaps.record_gap(session=session, text="q", topic="none", role="dsl",
                            now=MONDAY + timedelta(days=days))
    with factory() as session:
        rows = figures.weekly_figures(session=session, actor=actors["manager"])
    assert [(r.week_start.isoformat(), r.unanswered_questions) for r in rows] == [
        ("2026-03-02", 2), ("2026-03-09", 1)]
    header, first, _ = figures.to_csv(rows).splitlines()
    # After the earlier columns (which keep their places), before expected-against-decided's.
    assert header.endswith(",unanswered_questions,levels_compared,levels_agreed")
    assert first.endswith(",2,0,0")


TEST_RUN = [
    "Who can apply for a care order?",
    "who is allowed to apply for a care order",
    "How does an emergency protection order work?",
    "What is the capital of France?",
    "Whats the weather like in Liverpool tomorrow",
    "Can Jamie Smith's foster carer take him abroad on holiday?",
    "How do I make a referral?",  # answered with confidence: not a gap
    "What is Operation Encompass?",  # likewise
]


def test_the_gaps_report_groups_the_unanswered_questions_of_a_test_run(
    factory, actors, guidance_engine
) -> None:
    """Questions through the engine as the assistant asks them; those answered without
    confidence are recorded; the report groups them by topic with counts and examples."""
    answered = []
    for number, question in enumerate(TEST_RUN):
        answer = guidance_engine.ask(question, role="dsl")
        gap = guidance_engine.gap(question, answer)
        if gap is None:
            answered.append(question)
            continue
        with factory() as session:
            gaps.record_gap(session=session, text=gap.text, topic=gap.topic, role="dsl",
                            now=MONDAY + timedelta(minutes=number))
    assert answered == TEST_RUN[-2:]
    with factory() as session:
        records = [json.loads(json.dumps(r.to_dict()))  # as `python -m mash gaps` writes them
                   for r in gaps.list_gaps(session=session, actor=actors["manager"])]
    assert len(records) == 6
    assert "Can [name] [name] foster carer take him abroad on holiday?" in [
        r["text"] for r in records]  # names masked before the record is kept
    titles = {s.id: s.title for s in guidance_engine.pack.sections}
    groups = group_gaps(records, titles)
    assert [(g.topic, g.count) for g in groups] == [
        ("kind:definition", 2),  # nothing in the guide comes near these two "what is" questions
        ("section:special-guardianship", 2),  # both wordings of the care order question
        ("section:forced-marriage", 1),  # the protection order it does have
        ("section:private-fostering", 1),
    ]
    assert groups[0].examples == ["Whats the weather like in [name] tomorrow",
                                  "What is the capital of [name]?"]  # newest first
    assert groups[1].title == "near “Special guardianship orders (SGO)”"
    assert all(g.roles == {"dsl": g.count} for g in groups)
    lines = report_lines(groups)
    assert lines[0] == "6 unanswered questions in 4 groups"
    assert "   2  section:special-guardianship" in "\n".join(lines)


def test_question_texts_are_purged_after_the_retention_period_but_still_counted(
    factory, actors, settings
) -> None:
    from mash.retention import purge

    with factory() as session:
        gaps.record_gap(session=session, text="old question", topic="none", role="dsl",
                        now=MONDAY)
        gaps.record_gap(session=session, text="new question", topic="none", role="dsl",
                        now=MONDAY + timedelta(days=100))
    with factory() as session:
        report = purge(session=session, settings=settings, now=MONDAY + timedelta(days=101))
    assert report.questions == 1
    with factory() as session:
        records = [r.to_dict() for r in gaps.list_gaps(session=session, actor=actors["manager"])]
        rows = figures.weekly_figures(session=session, actor=actors["manager"])
    assert [r["text"] for r in records] == ["new question", ""]
    [group] = group_gaps(records)
    assert group.count == 2 and group.examples == ["new question"]
    assert sum(r.unanswered_questions for r in rows) == 2
