from datetime import datetime, timezone

import pytest

from mash.outbox import Message
from mash.targets import SmtpTarget


def _message(audience="originator", people=({"email": "dsl@school.example"},)):
    return Message(
        id=1,
        idempotency_key="escalation:7:outcome:originator",
        topic="escalation.outcome",
        audience=audience,
        recipient={"people": list(people)},
        subject_type="escalation",
        subject_id=7,
        payload={"title": "Outcome of your concern E-000007", "text": "Advice given."},
        attempt=1,
        created_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout):
        self.address = (host, port)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, mail):
        FakeSMTP.sent.append(mail)


def test_smtp_target_builds_an_idempotent_mail(monkeypatch):
    monkeypatch.setattr("smtplib.SMTP", FakeSMTP)
    FakeSMTP.sent = []
    target = SmtpTarget(
        host="mail.example", sender="mash@council.example", duty_address="duty@council.example"
    )
    target.deliver(_message())
    target.deliver(_message())  # a retry
    target.deliver(_message(audience="duty", people=()))
    first, retry, duty = FakeSMTP.sent
    assert (
        first["To"] == "dsl@school.example"
        and first["Subject"] == "Outcome of your concern E-000007"
    )
    assert first["X-Idempotency-Key"] == "escalation:7:outcome:originator"
    assert (
        first["Message-ID"]
        == retry["Message-ID"]
        == "<escalation.7.outcome.originator@council.example>"
    )
    assert duty["To"] == "duty@council.example"


def test_smtp_target_without_an_address_raises_so_the_dispatcher_retries():
    target = SmtpTarget(host="mail.example", sender="mash@council.example")
    with pytest.raises(RuntimeError, match="no e-mail address"):
        target.deliver(_message(people=()))
