"""The dashboard at phone width (issue 14): chart labels were about 7 px at 390 px. In Debian's
chromium, every chart's text is drawn at 11 px or more, nothing scrolls sideways, and axe finds
no serious or critical violation. Fixtures shared with test_portal_browser.py."""

from __future__ import annotations

import pytest
import test_portal_browser as shared
from test_portal_browser import AXE, CHROMIUM, PHONE, Visitor

live_portal = shared.live_portal
browser = shared.browser

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium: scripts/ensure_chromium.sh"),
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: scripts/ensure_axe.sh"),
]


def test_chart_labels_are_readable_at_phone_width(live_portal, browser):
    manager = Visitor(browser, live_portal, "manager", width=PHONE)
    try:
        manager.sign_in("manager")
        manager.go("/dashboard?weeks=52")
        sizes = manager.page.evaluate(
            "() => [...document.querySelectorAll('svg.chart text')]"
            ".map(t => t.getBoundingClientRect().height)")
        assert sizes and min(sizes) >= 11, sorted(sizes)[:5]
        assert manager.page.locator("svg.chart text", has_text="Minutes (median)").count() == 1
        assert manager.page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        manager.shot("phone-dashboard-52-weeks")
        manager.axe("dashboard at 390px")
    finally:
        manager.close()
