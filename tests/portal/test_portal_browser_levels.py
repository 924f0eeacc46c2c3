"""Expected against decided on the dashboard in Debian's chromium (issue 16, part 1): the new
tables and chart with known data, for a MASH manager at desktop and phone width. axe-core
finds no serious or critical violation; screenshots are kept in artefacts/screenshots/."""

from __future__ import annotations

import shutil

import pytest
import test_portal_browser as shared
from levels_seed import seed_levels
from test_portal_browser import AXE, CHROMIUM, PHONE, Visitor

from mash.db import make_engine, session_factory
from mash.demo import seed_demo
from settings import Settings

browser = shared.browser
live_portal = shared.live_portal

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs chromium: scripts/ensure_chromium.sh"),
    pytest.mark.skipif(not AXE.exists(), reason="needs axe-core: scripts/ensure_axe.sh"),
]


@pytest.fixture(scope="module")
def demo_db_template(demo_db_template, tmp_path_factory):
    """The demo database with known expected and decided levels (for this module's portal)."""
    path = tmp_path_factory.mktemp("levels") / "template.db"
    shutil.copyfile(demo_db_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url=url)
    try:
        sessions = session_factory(engine)
        demo = seed_demo(sessions, settings=Settings(environment="test", database_url=url,
                                                     var_dir=path.parent))
        seed_levels(sessions, demo)
    finally:
        engine.dispose()
    return path


@pytest.mark.parametrize(("width", "name"), [(1280, "desktop"), (PHONE, "phone")])
def test_the_expected_against_decided_section_is_accessible(live_portal, browser, width, name):
    manager = Visitor(browser, live_portal, "manager", width=width)
    try:
        manager.sign_in("manager")
        manager.go("/dashboard?weeks=4")
        section = manager.page.locator("#agreement")
        assert section.locator("#agreement-matrix").is_visible()
        assert section.locator("table").count() == 3
        chart = manager.page.locator("svg.chart", has=manager.page.locator(
            "title", has_text="Expected against decided"))
        assert chart.count() == 1
        sizes = chart.evaluate(
            "svg => [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height)")
        assert min(sizes) >= 11, sorted(sizes)[:5]  # readable at phone width (issue 14)
        assert "Level 2 expected, level 3 decided" in section.inner_text()
        assert manager.page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert not manager.csp_errors, manager.csp_errors
        manager.shot(f"{name}-dashboard-expected-against-decided")
        section.screenshot(path=str(shared.SHOTS / f"{name}-expected-against-decided-tables.png"))
        chart.screenshot(path=str(shared.SHOTS / f"{name}-expected-against-decided-chart.png"))
        manager.axe(f"dashboard's expected against decided at {width}px")
    finally:
        manager.close()
