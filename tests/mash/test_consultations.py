import threading

import pytest
from mash_helpers import count_rows
from sqlalchemy import select

from mash import consultations
from mash.errors import Conflict, Forbidden, InvalidInput
from mash.models import AuditEntry, Consultation, OutboxMessage


def request(factory, identity, **overrides):
    fields = dict(
        identity=identity,
        topic="Worried about a pupil's weight loss; call me on 07700 900111",
        callback_number="0151 000 1234",
        best_time="after 3pm",
    )
    fields.update(overrides)
    with factory() as s:
        return consultations.request_consultation(session=s, **fields)


def test_request_pick_up_close_and_inform(factory, identity_of, actors):
    c = request(factory, identity_of("riverside_dsl"), message_id="m-c1")
    assert c.status == "queued" and c.sender_verified
    assert c.topic == "Worried about a pupil's weight loss; call me on [phone]"
    assert c.callback_number == "0151 000 1234"
    assert request(factory, identity_of("riverside_dsl"), message_id="m-c1").id == c.id
    with factory() as s:
        assert consultations.pick_up_consultation(
            session=s, actor=actors["duty"], consultation_id=c.id
        ).status == ("picked_up")
        with pytest.raises(Conflict, match="Sam Okafor"):
            consultations.pick_up_consultation(
                session=s, actor=actors["duty2"], consultation_id=c.id
            )
        with pytest.raises(Forbidden):
            consultations.close_consultation(
                session=s, actor=actors["duty2"], consultation_id=c.id, advice="x"
            )
        closed = consultations.close_consultation(
            session=s, actor=actors["duty"], consultation_id=c.id, advice="Refer to early help"
        )
        assert closed.status == "closed" and closed.advice == "Refer to early help"
        mine = consultations.get_consultation(
            session=s, actor=actors["riverside_dsl"], consultation_id=c.id
        )
        assert mine.advice == "Refer to early help"
        listed = consultations.list_consultations(session=s, actor=actors["riverside_dsl"])
        assert [x.id for x in listed] == [c.id] and listed[0].topic is None
    with factory() as s:
        keys = (
            s.execute(select(OutboxMessage.idempotency_key).order_by(OutboxMessage.id))
            .scalars()
            .all()
        )
    # The duty desk hears of the pick-up (so a Slack card redraws whoever picked it up where).
    assert keys == [
        f"consultation:{c.id}:requested:duty",
        f"consultation:{c.id}:picked_up:duty",
        f"consultation:{c.id}:closed:originator",
        f"consultation:{c.id}:closed:originator_portal",
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"topic": ""}, "topic"),
        ({"topic": "x" * 2001}, "topic"),
        ({"callback_number": "call me"}, "callback_number"),
        ({"best_time": "y" * 201}, "best_time"),
    ],
)
def test_bad_requests_change_nothing(factory, identity_of, overrides, field):
    with pytest.raises(InvalidInput) as caught:
        request(factory, identity_of("oakfield_dsl"), **overrides)
    assert caught.value.field == field
    assert count_rows(factory, Consultation) == count_rows(factory, OutboxMessage) == 0
    assert count_rows(factory, AuditEntry) == 0


def test_two_workers_pick_up_one_consultation(factory, identity_of, actors):
    c = request(factory, identity_of("oakfield_dsl"))
    barrier = threading.Barrier(2)
    outcomes = []

    def go(key):
        with factory() as s:
            barrier.wait()
            try:
                consultations.pick_up_consultation(
                    session=s, actor=actors[key], consultation_id=c.id
                )
                outcomes.append("won")
            except Conflict:
                outcomes.append("lost")

    threads = [threading.Thread(target=go, args=(k,)) for k in ("duty", "duty2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "won"]
