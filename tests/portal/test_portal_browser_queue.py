"""Browser tests for the live MASH queue (issue 14), in Debian's chromium: updates patch the
table in place, so keyboard focus stays on the same row across three updates; items that
arrive are marked New until the worker focuses them, and their count leads the tab's title,
also after a reload; at phone width (390 px) the rows are cards with the time left and status
in view and nothing scrolls sideways. The portal and chromium start as in
test_portal_browser.py (its fixtures are shared); Rasa is not running, so the relay raises
each disclosure's escalation itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import test_portal_browser as shared
from test_portal_browser import AXE, CHROMIUM, POLL_WAIT_MS, Visitor

live_portal = shared.live_portal
browser = shared.browser

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium: scripts/ensure_chromium.sh"),
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: scripts/ensure_axe.sh"),
]

DISCLOSURES = [
    "A Year 2 girl told me this morning her dad hit her with a belt last night.",
    "A Year 4 boy has a burn on his arm and says mum's boyfriend did it with a cigarette.",
    "A Year 6 girl says her uncle touches her private parts when he babysits.",
    "A Year 3 boy told me his stepdad punched him in the stomach and he is scared to go home.",
]


def disclose(dsl: Visitor, text: str) -> str:
    """Raise an escalation as the DSL through the chat API; its reference."""
    token = dsl.page.get_attribute('meta[name="csrf-token"]', "content")
    response = dsl.page.request.post(dsl.base + "/api/chat", data={"text": text},
                                     headers={"X-CSRF-Token": token})
    assert response.ok, response.status
    return response.json()["escalation_reference"]


def wait_for_row(visitor: Visitor, reference: str) -> None:
    visitor.page.wait_for_selector(f"#esc-rows a:text('{reference}')", timeout=POLL_WAIT_MS)


@contextmanager
def queue_with_one_item(live_portal, browser, *, duty_width: int = 1280
                        ) -> Iterator[tuple[Visitor, Visitor, str]]:
    """A DSL who has raised the first disclosure, and a duty worker on the queue showing it:
    (dsl, duty, its reference). Both browsers are closed afterwards."""
    dsl = Visitor(browser, live_portal, "dsl")
    duty = Visitor(browser, live_portal, "duty", width=duty_width)
    try:
        dsl.sign_in("oakfield_dsl")
        first = disclose(dsl, DISCLOSURES[0])
        duty.sign_in("duty")
        duty.go("/queue")
        wait_for_row(duty, first)
        yield dsl, duty, first
    finally:
        dsl.close()
        duty.close()


def test_focus_stays_on_its_row_across_three_updates_and_new_rows_are_marked(
        live_portal, browser):
    with queue_with_one_item(live_portal, browser) as (dsl, duty, first):
        duty.page.evaluate("() => { window.__loadedOnce = true; }")
        link = f"#esc-rows a[href='/queue/escalations/{int(first[2:])}']"
        duty.tab_to(link)
        duty.page.evaluate("() => { window.__focused = document.activeElement; }")
        assert not duty.page.title().startswith("(")

        arrived = []
        for text in DISCLOSURES[1:]:  # three updates, each bringing a new row
            arrived.append(disclose(dsl, text))
            wait_for_row(duty, arrived[-1])
            assert duty.page.evaluate("() => document.activeElement === window.__focused"), (
                f"focus left the row after {arrived[-1]} arrived")
        assert duty.page.evaluate("() => window.__loadedOnce === true")  # never reloaded
        # One more refresh with nothing new: focus still there.
        duty.page.wait_for_timeout(6_000)
        assert duty.page.evaluate("() => document.activeElement === window.__focused")

        # The new rows are marked, the focused (old) one is not; the title counts them.
        for reference in arrived:
            row = duty.page.locator("#esc-rows tr", has_text=reference)
            assert "is-new" in row.get_attribute("class") and "New" in row.inner_text()
        assert "is-new" not in (duty.page.locator("#esc-rows tr", has_text=first)
                                .get_attribute("class") or "")
        assert duty.page.title().startswith("(3 new) MASH queue")
        assert "New in the queue" in duty.page.inner_text("#queue-status")
        duty.shot("queue-live-new-rows")
        duty.axe("queue with new rows")

        # Focusing a new row is seeing it: its mark goes, the count drops; the rest stay
        # marked after a reload.
        duty.page.keyboard.press("Shift+Tab")  # off the table, then onto the first new row
        duty.tab_to(f"#esc-rows a[href='/queue/escalations/{int(arrived[0][2:])}']")
        row = duty.page.locator("#esc-rows tr", has_text=arrived[0])
        assert "is-new" not in row.get_attribute("class") and "New" not in row.inner_text()
        assert duty.page.title().startswith("(2 new) MASH queue")
        duty.page.reload()
        wait_for_row(duty, arrived[-1])
        duty.page.wait_for_function("() => document.title.startsWith('(2 new)')")
        marked = duty.page.locator("#esc-rows tr.is-new").all_inner_texts()
        assert sorted(re.search(r"E-\d{6}", m).group(0) for m in marked) == sorted(arrived[1:])


def test_at_phone_width_the_queue_is_cards_with_time_left_and_status_in_view(
        live_portal, browser):
    with queue_with_one_item(live_portal, browser, duty_width=390) as (_dsl, duty, reference):
        row = duty.page.locator("#esc-rows tr", has_text=reference)
        width = duty.page.evaluate("() => window.innerWidth")
        for label in ("Time left to acknowledge", "Status"):
            cell = row.locator(f"td[data-label='{label}']")
            box = cell.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, label
            assert cell.is_visible()
        # Nothing scrolls sideways: not the page, not the table's own region.
        assert duty.page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert duty.page.evaluate(
            "() => [...document.querySelectorAll('.table-wrap')]"
            ".every(w => w.scrollWidth <= w.clientWidth + 1)")
        # The reference is one piece.
        assert row.locator("a").first.evaluate("a => a.getClientRects().length") == 1
        duty.shot("phone-queue-cards")
        duty.axe("queue at 390px")
