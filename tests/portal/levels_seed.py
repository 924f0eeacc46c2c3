"""Known expected and decided levels for the dashboard's tests (issue 16, part 1)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mash import directory, escalations
from mash.access import ChannelIdentity

# (who, organisation, category, expected level, decided level)
KNOWN = [
    ("oakfield_dsl", "oakfield", "neglect", 2, 2),
    ("oakfield_dsl", "oakfield", "neglect", 2, 3),
    ("oakfield_dsl", "oakfield", "physical_abuse", 3, 4),
    ("riverside_dsl", "riverside", "neglect", 2, 3),
    ("gp", "harbour", "neglect", 3, 3),
    ("gp", "harbour", "physical_abuse", None, 4),
]


def seed_levels(sessions, demo) -> list[int]:
    """Raise and decide KNOWN this week, each about another child; the duty worker decides."""
    ids = []
    now = datetime.now(timezone.utc)
    with sessions() as session:
        duty = directory.actor_for(session=session, user_id=demo.people["duty"])
    for i, (who, org, category, expected, decided) in enumerate(KNOWN):
        with sessions() as session:
            item = escalations.raise_escalation(
                session=session,
                identity=ChannelIdentity(
                    channel="portal", sender=f"portal-{demo.people[who]}",
                    user_id=str(demo.people[who]),
                    organisation_id=demo.organisations[org] if org else None,
                ),
                message_id=f"lvd-{i}", urgency="concern", categories=[category],
                text=f"Child {'ABCDEFGH'[i]}.{'ABCDEFGH'[i]}. ring 07700 900{i:03d}, left alone",
                expected_level=expected, expected_source="check",
                now=now - timedelta(minutes=60 - i),
            )
            escalations.pick_up(session=session, actor=duty, escalation_id=item.id)
            escalations.record_outcome(
                session=session, actor=duty, escalation_id=item.id, outcome_code="other",
                decided_level=decided,
            )
        ids.append(item.id)
    return ids
