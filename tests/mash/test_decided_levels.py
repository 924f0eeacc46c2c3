"""Expected against decided (issue 16, part 1): the level a practitioner expected is stored
with its source when something reaches the MASH; the MASH records the level and route it
decided with the outcome; the originator is told the decided level and the guide's reason
for it when the two differ."""

import pytest
from mash_helpers import count_rows
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from mash import consultations, escalations
from mash.errors import Conflict, InvalidInput
from mash.models import AuditEntry, Escalation, OutboxMessage


@pytest.fixture(scope="module")
def guide():
    """The pack's levels by number, as the portal and the Slack app pass them."""
    from guidance.levels import load_levels
    from settings import Settings

    levels, problems = load_levels(Settings().pack_path)
    assert levels is not None, problems
    return levels.levels


def _pack_level(guide, number):
    """The pack's own words for a level, as the guide holds them (never written here)."""
    level = guide[number]
    return level.name, " ".join(level.description.split())


def _picked_up(factory, raise_esc, actors, **fields):
    esc = raise_esc(**fields)
    with factory() as s:
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id)
    return esc


def _outcome_payloads(factory, escalation_id):
    with factory() as s:
        return {
            m.audience: m.payload
            for m in s.execute(
                select(OutboxMessage).where(
                    OutboxMessage.subject_id == escalation_id,
                    OutboxMessage.topic == "escalation.outcome",
                )
            ).scalars()
        }


@pytest.mark.parametrize(
    ("level", "source"), [(2, "check"), (3, "assess"), (1, "chosen"), (None, "check")]
)
def test_the_expected_level_is_stored_with_its_source(factory, raise_esc, level, source):
    view = raise_esc(expected_level=level, expected_source=source)
    assert (view.expected_level, view.expected_source) == (level, source)
    with factory() as s:
        row = s.get(Escalation, view.id)
        assert (row.expected_level, row.expected_source) == (level, source)


@pytest.mark.parametrize(
    ("level", "source", "field"),
    [(5, "check", "expected_level"), (0, "assess", "expected_level"),
     ("2", "check", "expected_level"), (True, "check", "expected_level"),
     (2, "guess", "expected_source"), (2, None, "expected_source")],
)
def test_a_bad_expected_level_is_refused_and_nothing_stored(factory, raise_esc, level, source,
                                                            field):
    with pytest.raises(InvalidInput) as refused:
        raise_esc(expected_level=level, expected_source=source)
    assert refused.value.field == field
    assert count_rows(factory, Escalation) == 0


def test_a_consultation_stores_the_expected_level(factory, identity_of):
    with factory() as s:
        view = consultations.request_consultation(
            session=s, identity=identity_of("oakfield_dsl"), topic="Advice about a family",
            callback_number="0151 496 0000", expected_level=2, expected_source="chosen",
        )
    assert (view.expected_level, view.expected_source) == (2, "chosen")
    with factory() as s, pytest.raises(InvalidInput):
        consultations.request_consultation(
            session=s, identity=identity_of("oakfield_dsl"), topic="Advice",
            callback_number="0151 496 0000", expected_level=7, expected_source="chosen",
        )


def test_recording_the_decided_level_and_route(factory, raise_esc, actors, guide):
    esc = _picked_up(factory, raise_esc, actors, expected_level=3, expected_source="check")
    with factory() as s:
        view = escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id,
            outcome_code="child_in_need_assessment", decided_level=4,
            decided_route="child_in_need_assessment", level_guide=guide,
        )
    assert (view.decided_level, view.decided_route) == (4, "child_in_need_assessment")
    assert (view.expected_level, view.expected_source) == (3, "check")
    with factory() as s:
        row = s.get(Escalation, esc.id)
        assert (row.decided_level, row.decided_route) == (4, "child_in_need_assessment")
        audit = s.execute(
            select(AuditEntry).where(AuditEntry.action == "escalation.record_outcome")
        ).scalar_one()
        assert audit.detail["decided_level"] == 4
        # Repeating the same outcome changes nothing; a different decision is a Conflict.
        again = escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id,
            outcome_code="child_in_need_assessment", decided_level=4,
            decided_route="child_in_need_assessment", level_guide=guide,
        )
        assert again.decided_level == 4
        with pytest.raises(Conflict):
            escalations.record_outcome(
                session=s, actor=actors["duty"], escalation_id=esc.id,
                outcome_code="child_in_need_assessment", decided_level=3,
                decided_route="child_in_need_assessment", level_guide=guide,
            )


@pytest.mark.parametrize(
    ("level", "route", "field"),
    [(5, "universal", "decided_level"), ("high", None, "decided_level"),
     (2, "early help", "decided_route"), (2, "closed", "decided_route")],
)
def test_a_bad_decision_is_refused_and_nothing_changes(factory, raise_esc, actors, level, route,
                                                       field):
    esc = _picked_up(factory, raise_esc, actors)
    audits = count_rows(factory, AuditEntry)
    with factory() as s, pytest.raises(InvalidInput) as refused:
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="other",
            decided_level=level, decided_route=route,
        )
    assert refused.value.field == field
    with factory() as s:
        row = s.get(Escalation, esc.id)
        assert (row.status, row.decided_level, row.decided_route) == ("picked_up", None, None)
    assert count_rows(factory, AuditEntry) == audits
    assert _outcome_payloads(factory, esc.id) == {}


def test_the_notification_names_the_decided_level_and_the_guides_reason_when_they_differ(
    factory, raise_esc, actors, guide
):
    esc = _picked_up(factory, raise_esc, actors, expected_level=2, expected_source="assess")
    with factory() as s:
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id,
            outcome_code="early_help_taf", decided_level=3,
            decided_route="early_help_multi_agency", level_guide=guide,
        )
    name, description = _pack_level(guide, 3)
    payloads = _outcome_payloads(factory, esc.id)
    assert set(payloads) == {"originator", "originator_portal"}
    for payload in payloads.values():
        assert "level 3" in payload["text"] and name in payload["text"]
        assert description in payload["text"]
        assert "level 2 was expected" in payload["text"]
        assert (payload["expected_level"], payload["decided_level"]) == (2, 3)
        assert payload["decided_route"] == "early_help_multi_agency"
        assert payload["level_feedback"] and description in payload["level_feedback"]


def test_no_level_expected_and_a_level_decided_is_a_difference(factory, raise_esc, actors,
                                                               guide):
    """The threshold check could not place it (no level); the MASH decided level 4."""
    esc = _picked_up(factory, raise_esc, actors, expected_level=None, expected_source="check")
    with factory() as s:
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id,
            outcome_code="strategy_discussion_s47", decided_level=4, level_guide=guide,
        )
    name, description = _pack_level(guide, 4)
    text_sent = _outcome_payloads(factory, esc.id)["originator"]["text"]
    assert f"level 4 ({name})" in text_sent and description in text_sent


def test_without_the_guide_the_decided_level_is_still_named(factory, raise_esc, actors):
    esc = _picked_up(factory, raise_esc, actors, expected_level=2, expected_source="check")
    with factory() as s:
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="other",
            decided_level=1,
        )
    assert _outcome_payloads(factory, esc.id)["originator"]["text"].endswith(
        "The MASH decided level 1; level 2 was expected.")


def test_mash_imports_nothing_from_guidance():
    """mash/ and guidance/ stay apart (README): the caller passes the pack's levels."""
    import ast
    from pathlib import Path

    for path in Path(escalations.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "guidance" or n.startswith("guidance.") for n in names), path


@pytest.mark.parametrize(
    ("expected", "source", "decided"),
    [(3, "check", 3), (2, "assess", None), (None, None, 2)],
)
def test_the_notification_says_nothing_of_levels_when_they_agree_or_one_is_missing(
    factory, raise_esc, actors, guide, expected, source, decided
):
    esc = _picked_up(factory, raise_esc, actors, expected_level=expected,
                     expected_source=source)
    with factory() as s:
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="other",
            decided_level=decided, level_guide=guide,
        )
    payload = _outcome_payloads(factory, esc.id)["originator"]
    assert payload["text"] == (
        "The MASH has recorded an outcome for the concern you raised: Other."
    )
    assert payload["level_feedback"] is None
    for number in (1, 2, 3, 4):
        assert _pack_level(guide, number)[1] not in payload["text"]


def test_the_portal_inbox_keeps_the_whole_reason(factory, raise_esc, actors, guide):
    """The longest level description reaches the practitioner's portal inbox uncut."""
    from mash.notifications import PortalInbox
    from mash.outbox import Message

    esc = _picked_up(factory, raise_esc, actors, expected_level=1, expected_source="chosen")
    with factory() as s:
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="other",
            decided_level=4, level_guide=guide,
        )
        row = s.execute(
            select(OutboxMessage).where(OutboxMessage.audience == "originator_portal")
        ).scalar_one()
        message = Message(
            id=row.id, idempotency_key=row.idempotency_key, topic=row.topic,
            audience=row.audience, recipient=row.recipient, subject_type=row.subject_type,
            subject_id=row.subject_id, payload=row.payload, attempt=1,
            created_at=row.created_at,
        )
    PortalInbox(factory).deliver(message)
    with factory() as s:
        stored = s.execute(text("SELECT text FROM notifications")).scalar_one()
    assert stored == row.payload["text"] and _pack_level(guide, 4)[1] in stored


def test_migration_0010_downgrades_and_upgrades_keeping_the_rows(db_url, raise_esc, actors,
                                                                 factory):
    from sqlalchemy import inspect

    from mash.db import make_engine
    from mash.migrate import downgrade, upgrade

    esc = _picked_up(factory, raise_esc, actors, expected_level=2, expected_source="check")

    def columns(table):
        engine = make_engine(url=db_url)
        try:
            return {c["name"] for c in inspect(engine).get_columns(table)}
        finally:
            engine.dispose()

    downgrade(db_url, "0009_slack_conversations")
    assert not {"expected_level", "decided_level", "decided_route"} & columns("escalations")
    assert "expected_level" not in columns("consultations")
    upgrade(db_url)
    assert {"expected_level", "expected_source", "decided_level", "decided_route"} <= columns(
        "escalations"
    )
    assert count_rows(factory, Escalation) == 1
    with factory() as s:
        assert s.get(Escalation, esc.id).status == "picked_up"
        # The database refuses a level outside 1-4 whatever writes it.
        with pytest.raises(IntegrityError):
            s.execute(text("UPDATE escalations SET decided_level = 5"))
            s.flush()
