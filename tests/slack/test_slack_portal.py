"""The Slack events endpoint as the portal mounts it (schools_portal.app.create_app)."""

from __future__ import annotations

import pytest
from slack_helpers import DISCLOSURE, DSL, SlackClient
from starlette.testclient import TestClient

portal = pytest.importorskip("schools_portal.app")


def test_the_portal_serves_signed_slack_events_at_slack_events(context, stub):
    app = portal.create_app(context.settings, context=context)
    with TestClient(app) as http:
        slack = SlackClient(http)
        assert slack.post('{"type": "url_verification", "challenge": "p"}', "application/json",
                          secret="wrong").status_code == 401
        ts = "1700000900.000100"
        assert slack.dm(DSL, DISCLOSURE, ts=ts).status_code == 200
        [reply] = stub.wait_for(lambda: stub.replies(f"D{DSL}", ts))
        assert "999" in reply["text"]
