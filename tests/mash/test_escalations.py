import threading
from datetime import timedelta

import pytest
from mash_helpers import count_rows
from sqlalchemy import select

from mash import escalations
from mash.access import ChannelIdentity
from mash.clock import utcnow
from mash.errors import Conflict, Forbidden, InvalidInput
from mash.models import AuditEntry, Escalation, EscalationCategory, OutboxMessage


def outbox_keys(factory) -> list[str]:
    with factory() as session:
        return list(
            session.execute(
                select(OutboxMessage.idempotency_key).order_by(OutboxMessage.id)
            ).scalars()
        )


def test_raise_records_everything_redacted_with_outbox_and_audit(factory, raise_esc, demo):
    view = raise_esc(categories=["physical_abuse", "neglect", "neglect"])
    assert view.status == "raised"
    assert view.sender_verified and view.originator_user_id == demo.people["oakfield_dsl"]
    assert view.organisation_id == demo.organisations["oakfield"]
    assert view.source_kind == "school"
    assert view.categories == ["neglect", "physical_abuse"]
    assert view.excerpt == "She said her dad hit her; ring [phone] or [email], [postcode]."
    assert view.suggested_level == 4 and view.level_reasons == ["disclosure of physical harm"]
    assert outbox_keys(factory) == [f"escalation:{view.id}:raised:duty"]
    assert count_rows(factory, EscalationCategory) == 2
    with factory() as session:
        entry = session.execute(
            select(AuditEntry).where(AuditEntry.subject_id == view.id)
        ).scalar_one()
        assert entry.action == "escalation.raise" and entry.actor_user_id == view.originator_user_id


def test_same_message_twice_gives_one_escalation(factory, raise_esc):
    first = raise_esc(message_id="rasa-abc")
    second = raise_esc(message_id="rasa-abc", urgency="concern", text="different")
    assert first.id == second.id and second.urgency == "immediate"
    assert count_rows(factory, Escalation) == 1
    assert len(outbox_keys(factory)) == 1


def test_same_message_raised_concurrently_gives_one_escalation(factory, identity_of):
    workers = 6
    barrier = threading.Barrier(workers)
    ids: list[int] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            with factory() as session:
                barrier.wait()
                view = escalations.raise_escalation(
                    session=session,
                    identity=identity_of("oakfield_dsl"),
                    message_id="rasa-same",
                    urgency="immediate",
                    categories=["neglect"],
                    text="left alone at home",
                )
                ids.append(view.id)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=go) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(ids) == workers and len(set(ids)) == 1
    assert count_rows(factory, Escalation) == 1
    assert len(outbox_keys(factory)) == 1


def test_unknown_sender_is_escalated_as_unverified(factory, demo):
    identity = ChannelIdentity(channel="slack", sender="U-STRANGER", user_id="U-STRANGER")
    with factory() as session:
        view = escalations.raise_escalation(
            session=session,
            identity=identity,
            message_id="m-unverified",
            urgency="immediate",
            categories=["sexual_abuse"],
            text="x",
        )
    assert not view.sender_verified and view.originator_user_id is None
    assert view.organisation_id is None and view.source_kind == "unknown"


def test_person_claiming_another_organisation_is_unverified(factory, demo):
    identity = ChannelIdentity(
        channel="portal",
        sender="s",
        user_id=str(demo.people["oakfield_dsl"]),
        organisation_id=demo.organisations["riverside"],
    )
    with factory() as session:
        view = escalations.raise_escalation(
            session=session,
            identity=identity,
            message_id="m-claim",
            urgency="concern",
            categories=[],
            text="",
        )
    assert not view.sender_verified and view.originator_user_id is None
    assert view.organisation_id == demo.organisations["riverside"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"identity": ChannelIdentity(channel="portal", sender="s", organisation_id=987654)},
            "organisation_id",
        ),
        ({"urgency": "urgent"}, "urgency"),
        ({"message_id": "  "}, "message_id"),
        ({"suggested_level": 7}, "suggested_level"),
        ({"categories": "neglect"}, "categories"),
    ],
)
def test_bad_raise_input_is_refused_and_changes_nothing(factory, raise_esc, overrides, field):
    with pytest.raises(InvalidInput) as caught:
        raise_esc(**overrides)
    assert caught.value.field == field
    assert str(caught.value) and "Traceback" not in str(caught.value)
    for model in (Escalation, OutboxMessage, AuditEntry, EscalationCategory):
        assert count_rows(factory, model) == 0


def test_excerpt_is_cut_to_the_limit(raise_esc):
    view = raise_esc(text="word " * 2000)
    assert len(view.excerpt) == escalations.EXCERPT_MAX


def test_full_lifecycle_closes_the_loop(factory, raise_esc, actors):
    esc = raise_esc()
    duty = actors["duty"]
    with factory() as s:
        acked = escalations.acknowledge(session=s, actor=duty, escalation_id=esc.id)
        assert acked.status == "acknowledged" and acked.acknowledged_at is not None
        again = escalations.acknowledge(session=s, actor=duty, escalation_id=esc.id)
        assert again.acknowledged_at == acked.acknowledged_at
        picked = escalations.pick_up(session=s, actor=duty, escalation_id=esc.id)
        assert picked.status == "picked_up" and picked.picked_up_by_name == "Sam Okafor"
        assert (
            escalations.pick_up(session=s, actor=duty, escalation_id=esc.id).status == "picked_up"
        )
        done = escalations.record_outcome(
            session=s,
            actor=duty,
            escalation_id=esc.id,
            outcome_code="strategy_discussion_s47",
            note="Strat held",
        )
        assert done.status == "outcome_recorded" and done.outcome_label.startswith(
            "Strategy discussion"
        )
        same = escalations.record_outcome(
            session=s,
            actor=duty,
            escalation_id=esc.id,
            outcome_code="strategy_discussion_s47",
            note="Strat held",
        )
        assert same.outcome_at == done.outcome_at
        with pytest.raises(Conflict):
            escalations.record_outcome(
                session=s, actor=duty, escalation_id=esc.id, outcome_code="other"
            )
        informed = escalations.mark_originator_informed(
            session=s, actor=duty, escalation_id=esc.id, how="phone"
        )
        assert informed.status == "originator_informed"
    keys = outbox_keys(factory)
    # Acknowledging and picking up are announced to the duty desk once each (a repeated
    # acknowledgement queues nothing); the outcome goes to the originator, and to their
    # portal notifications as a message of its own.
    assert keys == [
        f"escalation:{esc.id}:raised:duty",
        f"escalation:{esc.id}:acknowledged:duty",
        f"escalation:{esc.id}:picked_up:duty",
        f"escalation:{esc.id}:outcome:originator",
        f"escalation:{esc.id}:outcome:originator_portal",
    ]
    with factory() as s:
        message = s.execute(
            select(OutboxMessage).where(OutboxMessage.audience == "originator")
        ).scalar_one()
        assert message.recipient["people"][0]["email"] == "dana.price@oakfield.example"
        assert "Strat held" not in str(message.payload)  # no case text in notifications


def test_picking_up_a_raised_escalation_acknowledges_it(factory, raise_esc, actors):
    esc = raise_esc()
    with factory() as s:
        view = escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id)
    assert view.acknowledged_at == view.picked_up_at


def _pick_up_race(factory, actors, esc_id: int) -> dict[str, object]:
    """Two workers, separate sessions and connections, released together by a barrier."""
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def go(key: str) -> None:
        with factory() as session:
            barrier.wait()
            try:
                results[key] = escalations.pick_up(
                    session=session, actor=actors[key], escalation_id=esc_id
                )
            except Conflict as error:
                results[key] = error

    threads = [threading.Thread(target=go, args=(k,)) for k in ("duty", "duty2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_workers_picking_up_at_once_exactly_one_wins(factory, raise_esc, actors):
    for _ in range(4):
        esc = raise_esc()
        results = _pick_up_race(factory, actors, esc.id)
        winners = [k for k, r in results.items() if not isinstance(r, Exception)]
        losers = [r for r in results.values() if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, results
        winner_name = {"duty": "Sam Okafor", "duty2": "Alex Reid"}[winners[0]]
        assert winner_name in str(losers[0])
        with factory() as s:
            row = s.get(Escalation, esc.id)
            assert row.picked_up_by == actors[winners[0]].user_id


def test_outcome_validation_changes_nothing(factory, raise_esc, actors):
    esc = raise_esc()
    duty = actors["duty"]
    with factory() as s:
        escalations.pick_up(session=s, actor=duty, escalation_id=esc.id)
    audits = count_rows(factory, AuditEntry)
    queued = outbox_keys(factory)
    with factory() as s:
        with pytest.raises(InvalidInput, match="not an outcome code"):
            escalations.record_outcome(
                session=s, actor=duty, escalation_id=esc.id, outcome_code="closed"
            )
        with pytest.raises(InvalidInput, match="limit is 4000"):
            escalations.record_outcome(
                session=s, actor=duty, escalation_id=esc.id, outcome_code="other", note="x" * 4001
            )
        with pytest.raises(Forbidden):
            escalations.record_outcome(
                session=s, actor=actors["duty2"], escalation_id=esc.id, outcome_code="other"
            )
        assert s.get(Escalation, esc.id).status == "picked_up"
    assert count_rows(factory, AuditEntry) == audits
    assert outbox_keys(factory) == queued


def test_outcome_needs_a_pick_up_first(factory, raise_esc, actors):
    esc = raise_esc()
    with factory() as s, pytest.raises(Conflict, match="picked up before"):
        escalations.record_outcome(
            session=s, actor=actors["manager"], escalation_id=esc.id, outcome_code="other"
        )


def test_reassign(factory, raise_esc, actors, demo):
    esc = raise_esc()
    with factory() as s:
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id)
        with pytest.raises(InvalidInput):
            escalations.reassign(
                session=s,
                actor=actors["duty"],
                escalation_id=esc.id,
                to_user_id=demo.people["oakfield_dsl"],
            )
        view = escalations.reassign(
            session=s, actor=actors["duty"], escalation_id=esc.id, to_user_id=demo.people["duty2"]
        )
        assert view.picked_up_by == demo.people["duty2"]
        with pytest.raises(Forbidden):  # no longer the holder, not a manager
            escalations.reassign(
                session=s,
                actor=actors["duty"],
                escalation_id=esc.id,
                to_user_id=demo.people["duty"],
            )
        back = escalations.reassign(
            session=s, actor=actors["manager"], escalation_id=esc.id, to_user_id=demo.people["duty"]
        )
        assert back.picked_up_by == demo.people["duty"]
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="advice_given"
        )
    assert sum(k.startswith(f"escalation:{esc.id}:reassigned") for k in outbox_keys(factory)) == 2


def test_deadlines_renotify_then_go_up_once_each(factory, raise_esc, settings, actors):
    now = utcnow()
    # five different children (initials), so none joins another as a further message
    late = raise_esc(text="AB hit", now=now - timedelta(minutes=20))  # immediate: limit 15
    later = raise_esc(text="CD hit", now=now - timedelta(minutes=31))  # past twice the limit
    fresh = raise_esc(text="EF hit", now=now - timedelta(minutes=5))
    concern = raise_esc(text="GH hit", urgency="concern", now=now - timedelta(minutes=60))
    acked = raise_esc(text="JK hit", now=now - timedelta(minutes=40))
    with factory() as s:
        escalations.acknowledge(session=s, actor=actors["duty"], escalation_id=acked.id)
        report = escalations.check_deadlines(session=s, settings=settings, now=now)
        assert sorted(report.renotified) == sorted([late.id, later.id])
        assert report.sent_to_manager == [later.id]
        again = escalations.check_deadlines(
            session=s, settings=settings, now=now + timedelta(minutes=1)
        )
        assert again.renotified == [] and again.sent_to_manager == []
        third = escalations.check_deadlines(
            session=s, settings=settings, now=now + timedelta(minutes=11)
        )
        assert third.sent_to_manager == [late.id] and third.renotified == [fresh.id]
    keys = outbox_keys(factory)
    assert f"escalation:{later.id}:overdue:duty_manager" in keys
    assert not any(k.startswith(f"escalation:{concern.id}:renotify") for k in keys)
    with factory() as s:
        up = (
            s.execute(select(OutboxMessage).where(OutboxMessage.topic == "escalation.overdue"))
            .scalars()
            .first()
        )
        assert [p["email"] for p in up.recipient["people"]] == ["morgan.hale@mash.example"]


def test_queue_lists_most_urgent_first(factory, raise_esc, actors):
    now = utcnow()
    concern = raise_esc(urgency="concern", now=now - timedelta(hours=2))
    immediate = raise_esc(now=now - timedelta(minutes=1))
    with factory() as s:
        queue = escalations.list_escalations(session=s, actor=actors["duty"], open_only=True)
        assert [e.id for e in queue] == [immediate.id, concern.id]
        assert all(not hasattr(e, "excerpt") for e in queue)
        with pytest.raises(InvalidInput):
            escalations.list_escalations(session=s, actor=actors["duty"], status="lost")


def test_too_many_phrases_or_categories_are_cut_never_refused(raise_esc):
    """A long chronology can match more phrases (and categories) than an escalation keeps; the
    escalation must still be raised (security re-review F1), with the lists cut to the caps."""
    phrases = [f"phrase number {i}" for i in range(escalations.MAX_PHRASES + 30)]
    categories = [f"category_{i:02d}" for i in range(escalations.MAX_CATEGORIES + 5)]
    view = raise_esc(matched_phrases=phrases, categories=categories)
    assert view.status == "raised" and view.reference.startswith("E-")
    assert len(view.categories) == escalations.MAX_CATEGORIES
    assert view.categories == categories[: escalations.MAX_CATEGORIES]  # the first found, sorted


def test_the_pack_cannot_produce_more_categories_than_an_escalation_keeps():
    from guidance.pack import load_pack
    from settings import Settings

    pack = load_pack(Settings.from_env().pack_path)
    assert len(pack.lexicon.categories) <= escalations.MAX_CATEGORIES


def test_a_listing_with_excerpts_shows_the_redacted_start_and_says_so_in_the_audit(
    factory, raise_esc, actors
):
    # two children (ages 9 and 6), so the second is an escalation of its own
    long = "She said her dad hit her with a belt last night; " * 6 + "ring 0151 496 0000, aged 9."
    esc = raise_esc(text=long)
    other = raise_esc(text="Left alone, aged 6; mum on 07700 900123, born 12/03/2015.")
    with factory() as s:
        plain = escalations.list_escalations(session=s, actor=actors["oakfield_dsl"])
    assert {e.excerpt_preview for e in plain} == {None}  # only when asked for
    with factory() as s:
        rows = escalations.list_escalations(
            session=s, actor=actors["oakfield_dsl"], with_excerpts=True
        )
        entry = s.execute(select(AuditEntry).order_by(AuditEntry.id.desc())).scalars().first()
    previews = {e.id: e.excerpt_preview for e in rows}
    assert previews[other.id] == "Left alone, aged 6; mum on [phone], born [date]."
    cut = previews[esc.id]
    assert cut.startswith("She said her dad hit her") and cut.endswith("…")
    assert len(cut) <= 141 and "0151" not in cut
    assert entry.action == "escalation.list" and entry.detail["with_excerpts"] is True
    assert sorted(entry.detail["ids"]) == sorted([esc.id, other.id])
    with factory() as s:  # another school's DSL sees no rows, so no excerpt
        assert escalations.list_escalations(
            session=s, actor=actors["riverside_dsl"], with_excerpts=True
        ) == []


def test_the_full_view_names_a_verified_raiser_with_their_directory_phone(
    factory, raise_esc, actors
):
    esc = raise_esc()
    stranger = raise_esc(identity=ChannelIdentity(channel="slack", sender="slack:T:U9",
                                                  user_id="U9"))
    with factory() as s:
        seen = escalations.get_escalation(session=s, actor=actors["duty"], escalation_id=esc.id)
        unknown = escalations.get_escalation(
            session=s, actor=actors["duty"], escalation_id=stranger.id
        )
    assert (seen.raised_by_name, seen.raised_by_phone) == ("Dana Price", "0151 000 1101")
    assert (unknown.raised_by_name, unknown.raised_by_phone) == (None, None)
    assert esc.raised_by_name == "Dana Price"  # the raiser's own view says it too
