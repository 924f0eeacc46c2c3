"""The Slack app's tables: built by migrations 0002_slack and 0009_slack_conversations exactly
as slack_app.store declares them, the handled-event record's rules and conversation times."""

from __future__ import annotations

from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mash.clock import utcnow
from slack_app.store import STALE_CLAIM, SlackStore, metadata


def test_the_migration_builds_exactly_the_slack_tables(context):
    mine = set(metadata.tables)
    opts = {"include_name": lambda name, type_, parent: type_ != "table" or name in mine}
    with context.db.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts=opts), metadata) == []


def test_an_event_is_handled_once_unless_its_handler_died(context):
    store = SlackStore(context.sessions)
    now = utcnow()
    assert store.claim_event("T:D:1", event_id="Ev1", now=now)
    assert not store.claim_event("T:D:1", event_id="Ev1", now=now + timedelta(seconds=5))
    # The first handler died without finishing: after STALE_CLAIM a retry may take over, once.
    later = now + STALE_CLAIM + timedelta(seconds=1)
    assert store.claim_event("T:D:1", event_id="Ev1", now=later)
    assert not store.claim_event("T:D:1", event_id="Ev1", now=later)
    store.finish_event("T:D:1")
    assert not store.claim_event("T:D:1", event_id="Ev1", now=later + 2 * STALE_CLAIM)


def test_a_conversation_remembers_its_latest_message_only(context):
    store = SlackStore(context.sessions)
    now = utcnow()
    assert store.last_message_at("slack:T:U:D:1.1") is None
    store.touch_conversation("slack:T:U:D:1.1", now)
    store.touch_conversation("slack:T:U:D:1.1", now - timedelta(minutes=5))  # a late retry
    assert store.last_message_at("slack:T:U:D:1.1") == now
    store.touch_conversation("slack:T:U:D:1.1", now + timedelta(minutes=1))
    assert store.last_message_at("slack:T:U:D:1.1") == now + timedelta(minutes=1)
    assert store.last_message_at("slack:T:U:D:2.2") is None
