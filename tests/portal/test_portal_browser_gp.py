"""Browser journey (issue 14, points 4 and 5) in Debian's chromium: a GP chats a bruised
9-month-old, sees the safety message, the reference, and a card with the suggested level and a
link to the guide's section on bruising in non-mobile babies, under a tab called "My practice";
a second message about the same baby joins the first escalation. Rasa is not running: the
relay's safety message, escalation and the GP's card are what is tested. Screenshots go to
artefacts/screenshots/gp-*.png (not in git)."""

from __future__ import annotations

import re

# The live portal, the browser and the Visitor of the issue-14 journeys (module-scoped here too).
from test_portal_browser import Visitor, browser, live_portal  # noqa: F401

BRUISED_BABY = "9-month-old with a bruise on his cheek, mum says he rolled off the sofa."
AGAIN = "Re the 9 month old I just mentioned: the bruise looks like fingertip marks."


def send(visitor: Visitor, text: str) -> None:
    visitor.tab_to("#chat-text")
    visitor.page.keyboard.type(text)
    visitor.page.keyboard.press("Control+Enter")


def test_a_gps_threshold_answer_shows_a_level_and_a_section_link(live_portal, browser):  # noqa: F811
    gp = Visitor(browser, live_portal, "gp")
    try:
        gp.sign_in("gp")
        nav = gp.page.inner_text("nav[aria-label='Main']")
        assert "My practice" in nav and "My school" not in nav
        send(gp, BRUISED_BABY)
        alert = gp.page.wait_for_selector("#risk-alert")
        text = alert.inner_text()
        assert "999" in text and "My practice" in text and "My school" not in text
        reference = re.search(r"E-\d{6}", text).group(0)
        card = gp.page.wait_for_selector(".threshold-card")
        assert "Suggested level 4" in card.inner_text()
        link = gp.page.locator(".threshold-card a[href='/guidance/sections/"
                               "bruising-non-mobile-babies']")
        assert link.count() == 1
        assert "own words" not in gp.page.inner_text("#chat-log")
        gp.shot("gp-bruised-baby")
        gp.axe("a GP's chat with the card")

        # The same baby again, in other words: the same reference, and the safety message.
        send(gp, AGAIN)
        gp.page.wait_for_selector("#risk-alert >> text=added to the concern you raised earlier")
        again = gp.page.inner_text("#risk-alert")
        assert reference in again and "999" in again
        gp.shot("gp-same-baby-again")

        # The card's link opens the section.
        link.first.click()
        gp.page.wait_for_url(re.compile(r"/guidance/sections/bruising-non-mobile-babies$"))
        assert "non-mobile" in gp.page.inner_text("h1")
    finally:
        gp.close()
