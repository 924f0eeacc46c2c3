import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from mash import escalations
from mash.clock import utcnow
from mash.dispatcher import Dispatcher, Policy, backoff_seconds
from mash.models import Escalation, OutboxMessage
from mash.outbox import Message, Target
from mash.targets import FileTarget, read_file_target


class Recorder:
    """An idempotent receiver: counts every delivery, shows each key once."""

    name = "recorder"

    def __init__(self, fail_times: int = 0) -> None:
        self.deliveries: list[str] = []
        self.shown: dict[str, Message] = {}
        self.fail_times = fail_times
        self.lock = threading.Lock()

    def deliver(self, message: Message) -> None:
        with self.lock:
            if self.fail_times:
                self.fail_times -= 1
                raise ConnectionError("receiver down")
            self.deliveries.append(message.idempotency_key)
            self.shown.setdefault(message.idempotency_key, message)


def test_recorder_and_file_target_satisfy_the_protocol(tmp_path):
    assert isinstance(Recorder(), Target)
    assert isinstance(FileTarget(tmp_path / "x"), Target)


def test_delivers_and_closes_the_loop(factory, raise_esc, actors, settings):
    esc = raise_esc()
    with factory() as s:
        escalations.pick_up(session=s, actor=actors["duty"], escalation_id=esc.id)
        escalations.record_outcome(
            session=s, actor=actors["duty"], escalation_id=esc.id, outcome_code="advice_given"
        )
    recorder = Recorder()
    report = Dispatcher(factory=factory, targets={"*": recorder}, settings=settings).run_once()
    assert report.delivered == 4 and report.failed == 0
    assert recorder.deliveries == [
        f"escalation:{esc.id}:raised:duty",
        f"escalation:{esc.id}:picked_up:duty",
        f"escalation:{esc.id}:outcome:originator",
        f"escalation:{esc.id}:outcome:originator_portal",
    ]
    outcome = recorder.shown[f"escalation:{esc.id}:outcome:originator"]
    assert outcome.audience == "originator" and outcome.payload["outcome_label"] == "Advice given"
    assert outcome.attempt == 1
    with factory() as s:
        row = s.get(Escalation, esc.id)
        assert row.status == "originator_informed" and row.originator_informed_at is not None
        assert {m.status for m in s.execute(select(OutboxMessage)).scalars()} == {"delivered"}
    assert Dispatcher(factory=factory, targets={"*": recorder}).run_once().claimed == 0


def test_failures_back_off_and_retry_until_delivered(factory, raise_esc):
    raise_esc()
    recorder = Recorder(fail_times=2)
    dispatcher = Dispatcher(
        factory=factory, targets={"*": recorder}, policy=Policy(base_backoff=30)
    )
    assert dispatcher.run_once().failed == 1
    assert dispatcher.run_once().claimed == 0  # waiting out the backoff
    with factory() as s:
        row = s.execute(select(OutboxMessage)).scalar_one()
        assert row.attempts == 1 and row.lease_owner is None and "receiver down" in row.last_error
        wait = (row.next_attempt_at - utcnow()).total_seconds()
        assert 25 < wait <= 37
    later = utcnow() + timedelta(seconds=40)
    assert dispatcher.run_once(now=later).failed == 1
    with factory() as s:
        row = s.execute(select(OutboxMessage)).scalar_one()
        assert row.attempts == 2 and (row.next_attempt_at - later).total_seconds() >= 60  # doubled
    assert dispatcher.run_once(now=utcnow() + timedelta(seconds=200)).delivered == 1
    assert len(recorder.deliveries) == 1


def test_backoff_grows_and_is_capped():
    policy = Policy(base_backoff=2, max_backoff=60)
    delays = [backoff_seconds(n, policy) for n in range(1, 10)]
    assert 2 <= delays[0] <= 2.4 and 4 <= delays[1] <= 4.8
    assert all(d <= 72 for d in delays) and delays[-1] >= 60


def test_missing_target_is_a_retry_not_a_loss(factory, raise_esc):
    raise_esc()
    report = Dispatcher(factory=factory, targets={"originator": Recorder()}).run_once()
    assert report.failed == 1
    with factory() as s:
        assert "no delivery target" in s.execute(select(OutboxMessage.last_error)).scalar_one()


def test_expired_lease_is_claimed_again(factory, raise_esc):
    raise_esc()
    now = utcnow()
    crashed = Dispatcher(
        factory=factory, targets={}, policy=Policy(lease_seconds=30), owner="crashed"
    )
    assert len(crashed.claim(now)) == 1  # claimed, then the process "dies"
    recorder = Recorder()
    other = Dispatcher(factory=factory, targets={"*": recorder}, owner="other")
    assert other.run_once(now=now + timedelta(seconds=10)).claimed == 0  # lease still held
    report = other.run_once(now=now + timedelta(seconds=31))
    assert report.delivered == 1
    assert next(iter(recorder.shown.values())).attempt == 2


def test_two_dispatchers_at_once_never_claim_the_same_message(factory, raise_esc):
    for _ in range(30):
        raise_esc()
    recorder = Recorder()
    barrier = threading.Barrier(2)

    def run(owner: str) -> None:
        dispatcher = Dispatcher(
            factory=factory, targets={"*": recorder}, policy=Policy(batch=4), owner=owner
        )
        barrier.wait()
        while dispatcher.run_once().claimed:
            pass

    threads = [threading.Thread(target=run, args=(f"d{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(recorder.deliveries) == 30 == len(set(recorder.deliveries))


def test_file_target_reader_counts_deliveries_and_keys(tmp_path, factory, raise_esc):
    raise_esc()
    path = tmp_path / "out.jsonl"
    target = FileTarget(path)
    with factory() as s:
        from mash.outbox import to_message

        row = s.execute(select(OutboxMessage)).scalar_one()
        message = to_message(row)
    target.deliver(message)
    target.deliver(message)
    deliveries, first = read_file_target(path)
    assert deliveries == 2 and list(first) == [message.idempotency_key]


@pytest.mark.parametrize("audience", ["duty", "duty_manager"])
def test_deadline_messages_go_through_the_dispatcher(factory, raise_esc, settings, audience):
    raise_esc(now=utcnow() - timedelta(minutes=45))
    recorder = Recorder()
    report = Dispatcher(factory=factory, targets={"*": recorder}, settings=settings).run_once()
    assert report.renotified and report.sent_to_manager
    assert any(m.audience == audience for m in recorder.shown.values())
