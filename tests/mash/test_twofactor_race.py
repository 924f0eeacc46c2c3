"""A second-factor code works once, even when it arrives twice at the same moment: at the
portal's sign-in and in Slack, in two sign-ins, or in many Slack submissions (security re-review
R7-1 and I-4). Run on SQLite (BEGIN IMMEDIATE serialises the writers) and, with
TEST_DATABASE_URL, on PostgreSQL (marked `postgres`), where READ COMMITTED would let two
transactions both read the last used step before either wrote it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from mash import twofactor
from mash.clock import utcnow
from mash.models import AuditEntry, Person

TRIALS = 10


def at_once(factory, calls: list[Callable[[Any], Any]]) -> list[Any]:
    """Run each call with its own session, all released together; their results in order."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(index: int) -> None:
        try:
            with factory() as session:
                barrier.wait()
                results[index] = calls[index](session)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def portal(person_id: int, code: str, now) -> Callable[[Any], bool]:
    def call(session) -> bool:
        return twofactor.verify(session=session, person_id=person_id, code=code,
                                address="203.0.113.1", production=False, now=now)
    return call


def slack(person_id: int, code: str, now=None) -> Callable[[Any], str]:
    def call(session) -> str:
        return twofactor.slack_step_up(session=session, person_id=person_id, code=code,
                                       production=False, action="view_excerpt",
                                       item="escalation:1", now=now)
    return call


def audit_rows(factory, action: str, person_id: int) -> list[AuditEntry]:
    with factory() as session:
        return list(session.execute(select(AuditEntry).where(
            AuditEntry.action == action, AuditEntry.subject_id == person_id)).scalars())


def test_one_code_at_the_portal_and_in_slack_at_once_is_accepted_once(factory, demo):
    """R7-1: someone watching the worker type a code into the portal, and holding their Slack
    session, must not get the same code accepted in Slack as well; nor two portal sign-ins."""
    person_id = demo.people["duty"]
    base = utcnow()
    for trial in range(TRIALS):
        now = base + timedelta(seconds=3 * twofactor.STEP_SECONDS * trial)  # a fresh step each
        code = twofactor.current_code(twofactor.DEMO_TOTP_SECRET, now)
        if trial % 2 == 0:
            signed_in, stepped_up = at_once(factory, [portal(person_id, code, now),
                                                      slack(person_id, code, now)])
            assert (signed_in is True) + (stepped_up == "ok") == 1, (trial, signed_in, stepped_up)
            assert stepped_up in ("ok", "wrong")  # a refused code is a replay, not a wait
        else:
            results = at_once(factory, [portal(person_id, code, now)] * 2)
            assert sorted(results) == [False, True], (trial, results)
    with factory() as session:
        assert session.get(Person, person_id).totp_last_step == (
            int((base + timedelta(seconds=3 * twofactor.STEP_SECONDS * (TRIALS - 1))).timestamp())
            // twofactor.STEP_SECONDS)
    replays = [r.detail["reason"] for r in audit_rows(factory, "signin_failed", person_id)]
    assert replays == ["replayed_code"] * TRIALS  # each loser is audited as a replay


def test_one_right_code_in_twenty_simultaneous_slack_submissions_is_accepted_once(factory, demo):
    """I-4: a double (or twentyfold) submit of one right code does one action."""
    person_id = demo.people["duty"]
    code = twofactor.current_code(twofactor.DEMO_TOTP_SECRET)
    results = at_once(factory, [slack(person_id, code)] * 20)
    assert results.count("ok") == 1, results
    assert len(audit_rows(factory, "slack.step_up", person_id)) == 1


def test_forty_simultaneous_wrong_codes_are_checked_only_five_times(factory, demo):
    """I-4: the limit of five wrong codes in 15 minutes holds against a burst (the person's
    row is locked while the recent failures are counted)."""
    person_id = demo.people["duty"]
    right = int(twofactor.current_code(twofactor.DEMO_TOTP_SECRET))
    wrong = [f"{(right + i) % 1_000_000:06d}" for i in range(100, 140)]
    results = at_once(factory, [slack(person_id, code) for code in wrong])
    assert results.count("wrong") == twofactor.SLACK_MAX_FAILURES, results
    assert results.count("wait") == len(wrong) - twofactor.SLACK_MAX_FAILURES
    failed = audit_rows(factory, "slack.step_up_failed", person_id)
    assert len(failed) == twofactor.SLACK_MAX_FAILURES


def test_one_recovery_code_used_twice_at_once_is_accepted_once(factory, demo):
    """A recovery code is marked used by a conditional update too (found after R7-1)."""
    person_id = demo.people["duty"]
    with factory() as session:
        codes = twofactor._replace_recovery_codes(session, session.get(Person, person_id),
                                                  utcnow())
        session.commit()
    results = at_once(factory, [portal(person_id, codes[0], utcnow())] * 2)
    assert sorted(results) == [False, True], results
    assert len(audit_rows(factory, "recovery_code_used", person_id)) == 1
