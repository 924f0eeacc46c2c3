"""Slow: the portal's chat through the real Rasa server and action server.

Reuses the bot's end-to-end stack (`rasa_stack` in tests/conftest.py: Rasa and the action server on
free loopback ports with a seeded SQLite; BOT_MODEL names a trained model, else it trains a
quick one). Shows that with Rasa up the portal still shows the safety message and the
reference, and that the relay and the action server together raise exactly one escalation.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app_context import AppContext
from schools_portal import create_app

pytestmark = pytest.mark.slow

DISCLOSURE = (
    "Year 5 girl has just told me her stepdad hit her with a belt and she is scared to go home"
)


def test_portal_chat_through_real_rasa(rasa_stack, guidance_engine, make_settings, portal_sign_in):
    settings = make_settings(rasa_stack.db_url, rasa_stack.logs,
                             rasa_url=f"http://127.0.0.1:{rasa_stack.rasa_port}",
                             channel_secret=rasa_stack.channel_secret)
    context = AppContext.build(settings, guidance=guidance_engine)
    try:
        with TestClient(create_app(settings, context=context)) as client:
            token = portal_sign_in(client, "oakfield_dsl")
            reply = client.post("/api/chat", json={"text": DISCLOSURE},
                                headers={"X-CSRF-Token": token}).json()
            assert reply["assistant_available"] is True
            assert reply["urgency"] == "immediate"
            assert "999" in reply["messages"][0]["text"]  # Rasa's own safety message, first
            reference = reply["escalation_reference"]
            assert reference and any(reference in m["text"] for m in reply["messages"])
            ours = [e for e in rasa_stack.escalations() if f"E-{e.id:06d}" == reference]
            assert len(ours) == 1 and ours[0].sender_verified
            assert len(rasa_stack.escalations()) == 1  # relay and action server: one escalation
            assert reference in client.get("/school").text
    finally:
        context.close()
