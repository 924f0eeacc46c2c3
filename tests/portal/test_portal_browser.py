"""Browser tests in Debian's chromium driven by Playwright (never a downloaded browser).

The journey: a DSL signs in and chats a disclosure and sees the safety message and the
reference; in a second browser context MASH staff see it arrive in the queue without a
reload, pick it up and record an outcome; the DSL then sees the outcome. Main actions are done
with the keyboard alone. axe-core (tests/portal/browser, installed by scripts/ensure_axe.sh)
checks every page for serious or critical violations; every page is also checked at phone
width (390 px) for sideways scrolling, and axe runs there too. Screenshots go to
artefacts/screenshots/ (and the notification journey's to artefacts/notification-journey.png).

A second journey (issue 14): the DSL raises a concern in the chat, a MASH worker in another
context sees who raised it and records an outcome, and the DSL's notification count and chat
banner change without a reload (the outbox dispatcher runs beside the portal here).

Rasa is not running here: the relay still gives the safety message and raises the escalation,
which is the guarantee this journey relies on.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app_context import AppContext
from mash import twofactor
from mash.demo import DEMO_PASSWORD, PEOPLE
from mash.dispatcher import Dispatcher
from mash.notifications import with_inbox
from mash.targets import LogTarget
from schools_portal import create_app

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "portal" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "artefacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DISCLOSURE = (
    "A Year 5 girl has just told me her stepdad hit her with a belt and she is scared to go home."
)
POLL_WAIT_MS = 20_000  # the queue polls every 5 s
PHONE = 390  # px: a current phone's width (issue 14)
NOTIFICATION_WAIT_MS = 30_000  # the notification count every 10 s, after the dispatcher's pass

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium: scripts/ensure_chromium.sh"),
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: scripts/ensure_axe.sh"),
]


# Each live portal's app by its address, so a test can stand in for Rasa (app.state.context's
# relay) or move the portal's clock (app.state.clock), and put them back after.
LIVE_APPS: dict[str, Any] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_portal(
    tmp_path_factory, guidance_engine, make_settings, demo_db_template
) -> Iterator[str]:
    """The portal served by uvicorn in a background thread on a free loopback port, with the
    outbox dispatcher running beside it (as `make run` has it), delivering to the log and the
    portal's notifications."""
    tmp = tmp_path_factory.mktemp("browser")
    shutil.copyfile(demo_db_template, tmp / "portal.db")
    settings = make_settings(f"sqlite:///{tmp / 'portal.db'}", tmp)
    context = AppContext.build(settings, guidance=guidance_engine)
    port = free_port()
    app = create_app(settings, context=context)
    LIVE_APPS[f"http://127.0.0.1:{port}"] = app
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stop = threading.Event()
    dispatcher = Dispatcher(factory=context.sessions, settings=settings,
                            targets=with_inbox({"*": LogTarget()}, context.sessions))
    dispatching = threading.Thread(target=dispatcher.run_forever,
                                   kwargs={"interval": 0.5, "stop": stop}, daemon=True)
    dispatching.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    stop.set()
    dispatching.join(timeout=10)
    server.should_exit = True
    thread.join(timeout=10)
    context.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visitor:
    """One person in their own browser context, watching for CSP violations."""

    def __init__(self, browser, base: str, name: str, *, width: int = 1280) -> None:
        self.base, self.name = base, name
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.csp_errors: list[str] = []
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.csp_errors.append(message.text)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def tab_to(self, selector: str, limit: int = 60) -> None:
        """Press Tab until `selector` has the focus: proves it is reachable by keyboard."""
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            if self.page.evaluate(
                "s => document.activeElement && document.activeElement.matches(s)", selector
            ):
                return
        raise AssertionError(f"{selector} cannot be reached with the Tab key")

    def sign_in(self, key: str) -> None:
        self.go("/signin")
        self.tab_to("#email")
        self.page.keyboard.type(PEOPLE[key]["email"])
        self.page.keyboard.press("Tab")
        self.page.keyboard.type(DEMO_PASSWORD)
        self.page.keyboard.press("Enter")
        self.page.wait_for_url(re.compile(r"/(chat|queue|dashboard|signin/code)$"))
        if self.page.url.endswith("/signin/code"):  # staff: the second factor, by keyboard
            for ahead in (0, twofactor.STEP_SECONDS):  # a code is accepted once only
                self.tab_to("#code")
                when = datetime.now(timezone.utc) + timedelta(seconds=ahead)
                self.page.keyboard.type(twofactor.current_code(twofactor.DEMO_TOTP_SECRET, when))
                with self.page.expect_navigation():
                    self.page.keyboard.press("Enter")
                if not self.page.url.endswith("/signin/code"):
                    break
        self.page.wait_for_url(re.compile(r"/(chat|queue|dashboard)$"))

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def axe(self, label: str) -> None:
        """No serious or critical axe-core violations on the current page."""
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        self.page.evaluate(AXE.read_text())
        result = self.page.evaluate(
            "() => axe.run(document, {resultTypes: ['violations']})"
        )
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} -> "
            + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not bad, f"axe on {label}:\n" + "\n".join(bad)

    def close(self) -> None:
        assert not self.csp_errors, f"CSP violations for {self.name}: {self.csp_errors}"
        self.context.close()


def test_disclosure_to_outcome_journey(live_portal, browser):
    dsl = Visitor(browser, live_portal, "dsl")
    duty = Visitor(browser, live_portal, "duty")
    try:
        # MASH staff open the queue first: the escalation must arrive without a reload.
        duty.sign_in("duty")
        duty.page.wait_for_selector("#esc-rows")
        duty.page.evaluate("() => { window.__loadedOnce = true; }")
        duty.shot("queue-empty")
        duty.axe("queue")

        dsl.sign_in("oakfield_dsl")
        dsl.shot("chat-empty")
        dsl.axe("chat")
        dsl.tab_to("#chat-text")
        dsl.page.keyboard.type(DISCLOSURE)
        dsl.page.keyboard.press("Control+Enter")
        alert = dsl.page.wait_for_selector("#risk-alert")
        text = alert.inner_text()
        assert "ring 999 now" in text
        reference = re.search(r"E-\d{6}", text).group(0)
        assert dsl.page.get_attribute("#risk-alert", "role") == "alert"
        dsl.page.wait_for_selector(".msg-bot")
        dsl.shot("chat-disclosure")
        dsl.axe("chat with the risk alert")

        # The queue updates itself: the new row appears, and the page was never reloaded.
        duty.page.wait_for_selector(f"#esc-rows a:text('{reference}')", timeout=POLL_WAIT_MS)
        assert duty.page.evaluate("() => window.__loadedOnce === true")
        assert "New in the queue" in duty.page.inner_text("#queue-status")
        duty.shot("queue-with-escalation")
        duty.axe("queue with an item")

        # Keyboard only: open the item, pick it up, record an outcome.
        duty.tab_to(f"#esc-rows a[href='/queue/escalations/{int(reference[2:])}']")
        duty.page.keyboard.press("Enter")
        duty.page.wait_for_selector("#pick-up")
        duty.shot("escalation")
        duty.axe("escalation")
        duty.tab_to("#pick-up")
        duty.page.keyboard.press("Enter")
        duty.page.wait_for_selector("text=You have picked this escalation up.")
        duty.tab_to("#outcome_code")
        duty.page.keyboard.type("Advice given")  # type-ahead selects the option
        assert duty.page.input_value("#outcome_code") == "advice_given"
        duty.page.keyboard.press("Tab")  # the level of need decided (issue 16), by keyboard
        assert duty.page.evaluate("() => document.activeElement.id") == "decided_level"
        duty.page.keyboard.type("Level 4")
        assert duty.page.input_value("#decided_level") == "4"
        duty.tab_to("#note")
        duty.page.keyboard.type("Spoke to the DSL; advice on safety planning given.")
        duty.tab_to("#record-outcome")
        duty.page.keyboard.press("Enter")
        duty.page.wait_for_selector("text=Outcome recorded. The person who raised it will be told.")
        duty.shot("escalation-outcome")
        duty.axe("escalation with outcome")

        # Back as the DSL: the loop is closed.
        dsl.go("/school")
        row = dsl.page.locator("#concerns tr", has_text=reference)
        assert "Advice given" in row.inner_text()
        dsl.shot("school")
        dsl.axe("my school")
        dsl.tab_to(f"#concerns a[href='/school/escalations/{int(reference[2:])}']")
        dsl.page.keyboard.press("Enter")
        dsl.page.wait_for_selector("text=Spoke to the DSL")
        dsl.shot("school-escalation")
        dsl.axe("concern detail")
    finally:
        dsl.close()
        duty.close()


def unread_shown(visitor: Visitor) -> int:
    """The unread count in the navigation (0 when the badge is hidden)."""
    return visitor.page.evaluate(
        "() => { const b = document.getElementById('notif-count');"
        " return b.hidden ? 0 : parseInt(document.getElementById('notif-count-number')"
        ".textContent, 10); }"
    )


def test_the_dsl_sees_the_outcome_arrive_without_reloading(live_portal, browser):
    dsl = Visitor(browser, live_portal, "dsl")
    duty = Visitor(browser, live_portal, "duty")
    try:
        # The DSL raises a concern in the chat (Rasa is down: the relay escalates it).
        dsl.sign_in("oakfield_dsl")
        before = unread_shown(dsl)  # earlier tests may have left her outcomes to read
        dsl.tab_to("#chat-text")
        dsl.page.keyboard.type(
            "A Year 3 boy has just told me his mum's boyfriend burnt his arm with a cigarette."
        )
        dsl.page.keyboard.press("Control+Enter")
        alert = dsl.page.wait_for_selector("#risk-alert")
        reference = re.search(r"E-\d{6}", alert.inner_text()).group(0)
        number = int(reference[2:])
        dsl.page.evaluate("() => { window.__loadedOnce = true; }")

        # A MASH worker, in another browser context, sees who to ring, picks it up and
        # records an outcome.
        duty.sign_in("duty")
        duty.go(f"/queue/escalations/{number}")
        raiser = duty.page.inner_text("#raiser")
        assert "Dana Price" in raiser and "0151 000 1101" in raiser
        assert "min" in duty.page.inner_text("#time-left")
        assert duty.page.locator("#trail-title").count() == 0  # no panel a worker cannot use
        duty.shot("notify-escalation-who-raised-it")
        duty.axe("escalation with who raised it")
        duty.page.click("#pick-up")
        duty.page.wait_for_selector("text=You have picked this escalation up.")
        duty.page.select_option("#outcome_code", "child_in_need_assessment")
        duty.page.fill("#note", "Social worker visiting today; please share attendance.")
        duty.page.click("#record-outcome")
        duty.page.wait_for_selector("text=Outcome recorded. The person who raised it will be told.")

        # The DSL's count goes up and the banner names the outcome, without a reload.
        dsl.page.wait_for_function(
            "n => !document.getElementById('notif-count').hidden && parseInt("
            "document.getElementById('notif-count-number').textContent, 10) > n",
            arg=before, timeout=NOTIFICATION_WAIT_MS,
        )
        assert dsl.page.evaluate("() => window.__loadedOnce === true")  # never reloaded
        assert unread_shown(dsl) == before + 1
        banner = dsl.page.wait_for_selector("#notif-banner:not([hidden])")
        assert f"Outcome of your concern {reference}" in banner.inner_text()
        assert f"New notification: Outcome of your concern {reference}" in dsl.page.inner_text(
            "#notif-live"
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        dsl.page.screenshot(path=str(SHOTS.parent / "notification-journey.png"), full_page=True)
        dsl.shot("notify-chat-banner")
        dsl.axe("chat with a notification")

        # She reads the outcome: from the banner to the concern, then the list is read.
        dsl.page.click("#notif-banner-link")
        dsl.page.wait_for_url(re.compile(rf"/school/escalations/{number}$"))
        assert "Child in need assessment" in dsl.page.inner_text(".outcome")
        assert "Social worker visiting today" in dsl.page.inner_text("main")
        assert unread_shown(dsl) == before  # opening the concern read its notification
        dsl.go("/notifications")
        first = dsl.page.locator("#notifications li").first
        assert reference in first.inner_text() and "Child in need assessment" in first.inner_text()
        dsl.shot("notify-notifications")
        dsl.axe("notifications")
        dsl.go("/school")
        row = dsl.page.locator("#concerns tr", has_text=reference)
        assert "Child in need assessment" in row.inner_text()
        assert "burnt his arm" in row.inner_text()  # the redacted excerpt tells rows apart
    finally:
        dsl.close()
        duty.close()


def test_consultation_by_keyboard(live_portal, browser):
    gp = Visitor(browser, live_portal, "gp")
    try:
        gp.sign_in("gp")
        gp.go("/school")
        gp.tab_to("#topic")
        gp.page.keyboard.type("Should I send a report or attend the conference for R?")
        gp.page.keyboard.press("Tab")
        gp.page.keyboard.type("0151 000 7777")
        gp.page.keyboard.press("Tab")
        gp.page.keyboard.type("Mornings")
        gp.page.keyboard.press("Enter")
        gp.page.wait_for_selector("text=A duty social worker will ring you back.")
        gp.shot("school-consultation-requested")
        gp.axe("my practice after a request")
    finally:
        gp.close()


PAGES = {
    "dsl": ["/guidance", "/guidance/levels/1", "/guidance/levels/4",
            "/guidance/sections/responding-to-disclosure", "/guidance/search?q=consent",
            "/school", "/chat", "/notifications", "/no-such-page"],
    "manager": ["/dashboard", "/queue", "/queue/escalations/1", "/queue/consultations/1"],
}


def test_every_page_is_accessible_and_fits_a_phone(live_portal, browser):
    anonymous = Visitor(browser, live_portal, "anonymous", width=PHONE)
    try:
        anonymous.go("/signin")
        anonymous.shot("phone-signin")
        anonymous.axe("sign in")
        assert _fits(anonymous), f"sign-in scrolls sideways at {PHONE} px"
    finally:
        anonymous.close()
    for key, paths in (("oakfield_dsl", PAGES["dsl"]), ("manager", PAGES["manager"])):
        for width in (1280, PHONE):
            visitor = Visitor(browser, live_portal, key, width=width)
            try:
                visitor.sign_in(key)
                for path in paths:
                    visitor.go(path)
                    name = (path.strip("/").replace("/", "-").split("?")[0] or "home")
                    visitor.shot(("phone-" if width == PHONE else "") + f"{key}-{name}")
                    visitor.axe(f"{path} at {width}px")
                    assert _fits(visitor), f"{path} scrolls sideways at {width} px"
            finally:
                visitor.close()


def _fits(visitor: Visitor) -> bool:
    return visitor.page.evaluate(
        "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
    )


def test_screenshots_are_kept():
    shots = sorted(p.name for p in SHOTS.glob("*.png")) if SHOTS.exists() else []
    assert shots, "no screenshots were saved"
