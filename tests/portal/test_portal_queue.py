"""The MASH queue: ranking, time left, pick-up races, outcome, reassign, audit trail."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from mash import consultations, escalations
from mash.access import ChannelIdentity


@pytest.fixture()
def raise_one(context, demo):
    counter = iter(range(1, 1000))

    def make(urgency: str = "immediate", minutes_ago: int = 0, categories=("neglect",)):
        n = next(counter)
        with context.sessions() as session:
            return escalations.raise_escalation(
                session=session,
                identity=ChannelIdentity(channel="portal", sender="portal-x",
                                         user_id=str(demo.people["oakfield_dsl"]),
                                         organisation_id=demo.organisations["oakfield"]),
                message_id=f"q-{n}", urgency=urgency, categories=list(categories),
                # each about another child (initials), so each is an item of its own
                text=f"Child {'ABCDEFGHJKLMNPQRSTUVWXYZ'[n % 24]} left alone",
                now=datetime.now(timezone.utc) - timedelta(minutes=minutes_ago),
            )

    return make


def test_queue_ranks_by_urgency_then_age_with_time_left(as_user, raise_one):
    concern_old = raise_one("concern", minutes_ago=120)
    immediate_new = raise_one("immediate", minutes_ago=1)
    immediate_old = raise_one("immediate", minutes_ago=20)  # past the 15-minute limit
    client, _ = as_user("duty")
    queue = client.get("/api/queue").json()
    order = [item["reference"] for item in queue["escalations"]]
    assert order == [immediate_old.reference, immediate_new.reference, concern_old.reference]
    overdue, fresh, concern = queue["escalations"]
    assert overdue["seconds_left"] < 0 and 0 < fresh["seconds_left"] <= 15 * 60
    assert 100 * 60 < concern["seconds_left"] <= 120 * 60
    page = client.get("/queue").text
    assert "Overdue by" in page and 'data-feed="/api/queue"' in page
    assert '<script src="/static/js/queue.js" defer></script>' in page


def test_pick_up_outcome_and_the_loop(as_user, raise_one):
    item = raise_one()
    duty, token = as_user("duty")
    page = duty.post(f"/queue/escalations/{item.id}/pick-up", data={"csrf_token": token})
    assert "You have picked this escalation up." in page.text
    assert "With a social worker: Sam Okafor" in page.text
    page = duty.post(
        f"/queue/escalations/{item.id}/outcome",
        data={"csrf_token": token, "outcome_code": "early_help_taf", "note": "TAF to be set up"},
    )
    assert "Outcome recorded" in page.text
    assert duty.get("/api/queue").json()["escalations"] == []  # no longer open
    dsl, _ = as_user("oakfield_dsl")
    assert "Early help / Team Around the Family" in dsl.get("/school").text


def test_second_worker_gets_a_clear_conflict(as_user, raise_one):
    item = raise_one()
    first, first_token = as_user("duty")
    second, second_token = as_user("duty2")
    headers = {"X-CSRF-Token": first_token}
    assert first.post(f"/api/escalations/{item.id}/pick-up", headers=headers).status_code == 200
    clash = second.post(f"/api/escalations/{item.id}/pick-up",
                        headers={"X-CSRF-Token": second_token})
    assert clash.status_code == 409
    assert "already been picked up by Sam Okafor" in clash.json()["detail"]
    page = second.post(f"/queue/escalations/{item.id}/pick-up", data={"csrf_token": second_token})
    assert page.status_code == 200 and "already been picked up by Sam Okafor" in page.text


def test_outcome_needs_the_holder_or_a_manager(as_user, raise_one):
    item = raise_one()
    duty, token = as_user("duty")
    duty.post(f"/api/escalations/{item.id}/pick-up", headers={"X-CSRF-Token": token})
    other, other_token = as_user("duty2")
    refused = other.post(f"/api/escalations/{item.id}/outcome", json={"outcome_code": "other"},
                         headers={"X-CSRF-Token": other_token})
    assert refused.status_code == 403
    bad = duty.post(f"/api/escalations/{item.id}/outcome", json={"outcome_code": "shrug"},
                    headers={"X-CSRF-Token": token})
    assert bad.status_code == 422 and "is not an outcome code" in bad.json()["detail"]


def test_reassign_by_manager_and_audit_trail(as_user, raise_one, demo):
    item = raise_one()
    manager, token = as_user("manager")
    headers = {"X-CSRF-Token": token}
    staff = manager.get("/api/mash-staff").json()
    assert {p["name"] for p in staff} >= {"Sam Okafor", "Alex Reid"}
    moved = manager.post(f"/api/escalations/{item.id}/reassign",
                         json={"to_user_id": demo.people["duty2"]}, headers=headers)
    assert moved.status_code == 200 and moved.json()["picked_up_by_name"] == "Alex Reid"
    bad = manager.post(f"/api/escalations/{item.id}/reassign",
                       json={"to_user_id": demo.people["oakfield_dsl"]}, headers=headers)
    assert bad.status_code == 422
    actions = [a["action"] for a in manager.get(f"/api/escalations/{item.id}/audit").json()]
    assert actions[0] == "escalation.raise" and "escalation.reassign" in actions
    page = manager.get(f"/queue/escalations/{item.id}").text
    assert "escalation: reassign" in page  # the trail, in words


def test_consultation_pick_up_and_close(as_user, context, demo):
    with context.sessions() as session:
        con = consultations.request_consultation(
            session=session,
            identity=ChannelIdentity(channel="portal", sender="portal-x",
                                     user_id=str(demo.people["gp"]),
                                     organisation_id=demo.organisations["harbour"]),
            topic="Report or attend the ICPC?", callback_number="0151 000 4444",
        )
    duty, token = as_user("duty")
    queue = duty.get("/api/queue").json()
    assert [c["reference"] for c in queue["consultations"]] == [con.reference]
    page = duty.get(f"/queue/consultations/{con.id}").text
    assert "Report or attend the ICPC?" in page and "0151 000 4444" in page
    duty.post(f"/queue/consultations/{con.id}/pick-up", data={"csrf_token": token})
    page = duty.post(f"/queue/consultations/{con.id}/close",
                     data={"csrf_token": token, "advice": "Send a report and attend."})
    assert "Advice recorded" in page.text
    gp, _ = as_user("gp")
    assert "Send a report and attend." in gp.get(f"/school/consultations/{con.id}").text


def test_the_item_page_says_who_to_ring_with_the_timer_and_no_idle_panels(
    as_user, raise_one, context, demo
):
    item = raise_one("immediate", minutes_ago=5)
    duty, token = as_user("duty")
    page = duty.get(f"/queue/escalations/{item.id}").text
    raiser = page[page.index('id="raiser"'):page.index("</dl>", page.index('id="raiser"'))]
    assert "Dana Price" in raiser and "Oakfield Primary School (fictional)" in raiser
    assert "Designated safeguarding lead" in raiser
    assert '<a href="tel:01510001101">0151 000 1101</a>' in raiser
    timer = re.search(r'<dd id="time-left"[^>]*data-seconds-left="(-?\d+)"[^>]*>([^<]*)</dd>',
                      page)
    assert 8 * 60 < int(timer.group(1)) <= 10 * 60 and timer.group(2) in ("9 min", "10 min")
    assert '<script src="/static/js/countdown.js" defer></script>' in page
    assert "Audit trail" not in page  # a worker may not read it: no empty panel either
    assert 'id="actions-title"' in page and 'id="pick-up"' in page

    # Picked up by a colleague: nothing this worker may do, so no actions panel.
    other, other_token = as_user("duty2")
    other.post(f"/api/escalations/{item.id}/pick-up", headers={"X-CSRF-Token": other_token})
    page = duty.get(f"/queue/escalations/{item.id}").text
    assert 'id="actions-title"' not in page
    assert re.search(r'<dd id="time-left"[^>]*>Acknowledged</dd>', page)
    manager, _ = as_user("manager")
    page = manager.get(f"/queue/escalations/{item.id}").text
    assert "Audit trail" in page and 'id="actions-title"' in page  # a manager may act


def test_an_unverified_sender_is_not_named(as_user, context):
    with context.sessions() as session:
        item = escalations.raise_escalation(
            session=session,
            identity=ChannelIdentity(channel="slack", sender="slack:T1:UNKNOWN",
                                     user_id="UNKNOWN"),
            message_id="u-1", urgency="immediate", categories=["neglect"], text="alone",
        )
    duty, _ = as_user("duty")
    page = duty.get(f"/queue/escalations/{item.id}").text
    raiser = page[page.index('id="raiser"'):page.index("</dl>", page.index('id="raiser"'))]
    assert "unverified sender" in raiser and "No number in the directory" in raiser


def test_a_consultation_shows_who_asked(as_user, demo):
    gp, token = as_user("gp")
    made = gp.post("/api/consultations", headers={"X-CSRF-Token": token},
                   json={"topic": "A bruised baby: refer?", "callback_number": "0151 000 7777"})
    consultation_id = made.json()["id"]
    duty, _ = as_user("duty")
    page = duty.get(f"/queue/consultations/{consultation_id}").text
    raiser = page[page.index('id="raiser"'):page.index("</dl>", page.index('id="raiser"'))]
    assert "Dr Gita Rao" in raiser and "GP" in raiser
    assert "Harbour Medical Centre (fictional)" in raiser
    assert '<a href="tel:01510007777">0151 000 7777</a>' in raiser  # the number she gave
    assert '<a href="tel:01510001301">0151 000 1301</a>' in raiser  # and the directory's
    assert "Audit trail" not in page


def _listings(context) -> list[tuple[str, list[int]]]:
    from sqlalchemy import select

    from mash.models import AuditEntry

    with context.sessions() as session:
        rows = session.execute(select(AuditEntry).where(AuditEntry.action.like("%.list"))
                               .order_by(AuditEntry.id)).scalars()
        return [(r.subject_type, r.detail["ids"]) for r in rows]


def test_the_live_queue_is_audited_once_per_view_and_again_only_for_new_items(
        as_user, raise_one, context):
    """Issue 14: every 5 s refresh wrote audit rows. Now the page's listing is audited; its
    refreshes only when they show an item the view has not shown yet."""
    first = raise_one("immediate")
    client, _ = as_user("duty")
    page = client.get("/queue").text
    view = re.search(r'data-view="([^"]+)"', page).group(1)
    assert _listings(context) == [("escalation", [first.id]), ("consultation", [])]
    for _ in range(3):  # three refreshes showing nothing new: no entries
        assert [e["id"] for e in client.get(f"/api/queue?view={view}").json()[
            "escalations"]] == [first.id]
    assert len(_listings(context)) == 2
    second = raise_one("immediate")  # a new item shown: that refresh is audited, naming it
    client.get(f"/api/queue?view={view}")
    client.get(f"/api/queue?view={view}")
    assert _listings(context)[2:] == [("escalation", [first.id, second.id])]
    # A view this session does not know (another's, made up, forgotten) is audited the first
    # time, then is a view like any other; without a view every listing is audited.
    client.get("/api/queue?view=not-a-view-of-this-session")
    client.get("/api/queue?view=not-a-view-of-this-session")
    other, _ = as_user("manager")
    other.get(f"/api/queue?view={view}")
    other.get("/api/queue")
    other.get("/api/queue")
    assert len(_listings(context)) == 3 + 4 * 2


def test_an_item_that_left_and_came_back_is_still_named_once(as_user, raise_one, context):
    """An item once named by the view stays named: a refresh showing fewer items writes nothing."""
    item = raise_one("immediate")
    client, token = as_user("duty")
    view = re.search(r'data-view="([^"]+)"', client.get("/queue").text).group(1)
    client.post(f"/api/escalations/{item.id}/pick-up", headers={"X-CSRF-Token": token})
    client.get(f"/api/queue?view={view}")
    assert [kind for kind, _ in _listings(context)] == ["escalation", "consultation"]


def test_two_queue_tabs_of_one_session_each_keep_their_view(as_user, raise_one, context):
    raise_one("immediate")
    client, _ = as_user("duty")
    views = [re.search(r'data-view="([^"]+)"', client.get("/queue").text).group(1)
             for _ in range(2)]
    assert views[0] != views[1]
    for _ in range(3):
        for view in views:
            client.get(f"/api/queue?view={view}")
    assert len(_listings(context)) == 2 * 2  # the two page loads only


def test_categories_read_as_the_packs_labels_on_every_page(as_user, context, raise_one):
    """Issue 14: the queue, the item's page, the concerns list, the school's detail page and
    the dashboard show "Domestic abuse in the child's home", never `domestic_abuse`."""
    labels = context.guidance.pack.lexicon.labels
    view = raise_one(categories=["domestic_abuse", "baby_injury"])
    wanted = [labels["baby_injury"], labels["domestic_abuse"]]
    duty, _ = as_user("duty")
    [item] = [i for i in duty.get("/api/queue").json()["escalations"] if i["id"] == view.id]
    assert item["categories"] == wanted
    pages = [duty.get("/queue").text, duty.get(f"/queue/escalations/{view.id}").text]
    dsl, _ = as_user("oakfield_dsl")
    pages += [dsl.get("/school").text, dsl.get(f"/school/escalations/{view.id}").text]
    manager, _ = as_user("manager")
    pages.append(manager.get("/dashboard").text)
    for page in pages:
        assert "domestic_abuse" not in page and "domestic abuse" not in page
        assert "Domestic abuse in the child&#39;s home" in page
