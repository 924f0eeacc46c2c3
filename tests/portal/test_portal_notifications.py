"""Notifications in the portal: the count in the navigation, the chat page's banner, the
notifications page (audited, marking read), the JSON count the pages poll (no audit rows), and
nobody else's notifications."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from mash import escalations
from mash.access import ChannelIdentity
from mash.dispatcher import Dispatcher
from mash.models import AuditEntry
from mash.notifications import with_inbox
from mash.targets import LogTarget


@pytest.fixture()
def decided(context, demo, as_user):
    """An escalation Oakfield's DSL raised in the portal, decided by the duty worker, with the
    outbox delivered: (escalation, the DSL's client, her CSRF token)."""
    with context.sessions() as session:
        item = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(
                channel="portal", sender=f"portal-{demo.people['oakfield_dsl']}",
                user_id=str(demo.people["oakfield_dsl"]), role="dsl",
                organisation_id=demo.organisations["oakfield"],
            ),
            message_id="n-1", urgency="immediate", categories=["physical_abuse"],
            text="She said her stepdad hit her with a belt.",
        )
    dsl, dsl_token = as_user("oakfield_dsl")
    assert dsl.get("/api/notifications/unread").json() == {"unread": 0, "latest": None}
    duty, token = as_user("duty")
    headers = {"X-CSRF-Token": token}
    assert duty.post(f"/api/escalations/{item.id}/pick-up", headers=headers).status_code == 200
    assert duty.post(f"/api/escalations/{item.id}/outcome", headers=headers,
                     json={"outcome_code": "advice_given", "note": "Safety plan agreed."}
                     ).status_code == 200
    dispatch(context)
    return item, dsl, dsl_token


def dispatch(context) -> None:
    Dispatcher(
        factory=context.sessions, targets=with_inbox({"*": LogTarget()}, context.sessions)
    ).run_once()


def audit_rows(context) -> int:
    with context.sessions() as session:
        return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def nav_count(page: str) -> str | None:
    """The unread count the navigation shows (None when it is hidden: nothing unread)."""
    found = re.search(r'(<span id="notif-count"[^>]*>)<span id="notif-count-number">(\d+)</span>',
                      page)
    assert found, "no notification count in the navigation"
    return None if " hidden" in found.group(1) else found.group(2)


def test_the_count_the_banner_and_the_page(context, decided):
    item, dsl, token = decided
    unread = dsl.get("/api/notifications/unread").json()
    assert unread == {
        "unread": 1,
        "latest": {"id": unread["latest"]["id"],
                   "title": f"Outcome of your concern {item.reference}",
                   "url": f"/school/escalations/{item.id}"},
    }
    chat = dsl.get("/chat").text
    assert nav_count(chat) == "1"
    assert '<script src="/static/js/notifications.js" defer></script>' in chat
    banner = re.search(r'<div id="notif-banner"[^>]*>', chat).group(0)
    assert "hidden" not in banner
    assert f"Outcome of your concern {item.reference}" in chat
    assert f'href="/school/escalations/{item.id}"' in chat

    before = audit_rows(context)
    page = dsl.get("/notifications").text
    assert audit_rows(context) == before + 1  # the list is a read of outcomes: audited once
    assert "Advice given" in page and "New" in page and "Safety plan agreed" not in page
    note_id = unread["latest"]["id"]
    done = dsl.post(f"/notifications/{note_id}/read", data={"csrf_token": token})
    assert done.status_code == 200 and "Marked as read." in done.text
    assert nav_count(done.text) is None  # zero: the count is hidden
    assert dsl.get("/api/notifications/unread").json()["unread"] == 0
    assert "hidden" in re.search(r'<div id="notif-banner"[^>]*>', dsl.get("/chat").text).group(0)


def test_polling_writes_no_audit_rows(context, decided):
    _item, dsl, _token = decided
    before = audit_rows(context)
    for _ in range(5):
        assert dsl.get("/api/notifications/unread").status_code == 200
    assert audit_rows(context) == before


def test_opening_the_concern_reads_its_notification_and_shows_the_outcome(decided):
    item, dsl, _token = decided
    page = dsl.get(f"/school/escalations/{item.id}").text
    assert "Advice given" in page and "Safety plan agreed." in page
    assert dsl.get("/api/notifications/unread").json()["unread"] == 0
    row = re.search(rf"<tr>\s*<td[^>]*><a href=\"/school/escalations/{item.id}\">.*?</tr>",
                    dsl.get("/school").text, re.S).group(0)
    assert "Advice given" in row


def test_nobody_else_sees_them(decided, as_user):
    _item, dsl, token = decided
    note_id = dsl.get("/api/notifications/unread").json()["latest"]["id"]
    deputy, deputy_token = as_user("oakfield_deputy")  # sees the concern, not her messages
    assert deputy.get("/api/notifications/unread").json()["unread"] == 0
    assert deputy.get("/api/notifications").json() == []
    refused = deputy.post(f"/api/notifications/{note_id}/read",
                          headers={"X-CSRF-Token": deputy_token})
    assert refused.status_code == 404
    assert dsl.get("/api/notifications/unread").json()["unread"] == 1
    duty, _ = as_user("duty")
    assert duty.get("/api/notifications/unread").status_code == 403
    assert 'id="notif-count"' not in duty.get("/queue").text


def test_marking_needs_the_csrf_token(decided):
    _item, dsl, token = decided
    assert dsl.post("/api/notifications/read").status_code == 403
    assert dsl.post("/api/notifications/read", headers={"X-CSRF-Token": token}).json() == {
        "marked_read": 1
    }


def test_a_page_showing_a_secret_loads_no_script_even_with_unread(decided):
    _item, dsl, _token = decided
    assert dsl.get("/api/notifications/unread").json()["unread"] == 1
    page = dsl.get("/account/two-factor").text
    assert '<code class="secret">' in page and "<script" not in page
