"""The guidance browser: every level and section has its own page; search finds things."""

from __future__ import annotations


def test_every_level_and_section_has_a_page(as_user, guidance_engine):
    client, _ = as_user("gp")
    index = client.get("/guidance").text
    pack = guidance_engine.pack
    for level in pack.levels:
        assert f'href="/guidance/levels/{level.number}"' in index
        page = client.get(f"/guidance/levels/{level.number}").text
        assert level.name in page
        assert level.indicators[0].text.split()[0] in page
    for section in pack.sections:
        assert f'href="/guidance/sections/{section.id}"' in index
        response = client.get(f"/guidance/sections/{section.id}")
        assert response.status_code == 200
        assert "{{" not in response.text  # placeholders were filled from the pack


def test_section_markdown_lists_render_as_lists(as_user):
    client, _ = as_user("oakfield_dsl")
    page = client.get("/guidance/sections/front-door-contacts").text
    assert "0151 606 2008" in page and "<p>" in page


def test_search_answers_and_lists_sections(as_user):
    client, _ = as_user("oakfield_dsl")
    page = client.get("/guidance/search", params={"q": "consent"}).text
    assert "/guidance/sections/consent" in page
    api = client.get("/api/guidance/search", params={"q": "what is the out of hours number"})
    body = api.json()
    assert body["answer"] and body["sources"]
    empty = client.get("/guidance/search", params={"q": ""})
    assert empty.status_code == 200


def test_guidance_api(as_user):
    client, _ = as_user("duty")
    levels = client.get("/api/guidance/levels").json()
    assert [level["number"] for level in levels] == [1, 2, 3, 4]
    sections = client.get("/api/guidance/sections").json()
    assert all(s["url"].startswith("/guidance/sections/") for s in sections)
    one = client.get("/api/guidance/sections/consent").json()
    assert one["body"] and one["title"]


def test_markdown_escapes_and_lists():
    from schools_portal.rendering import guide_markdown

    html = guide_markdown("Intro <b>bold</b>:\n- one & two\n- three\n\nPara\nline two")
    assert html == (
        "<p>Intro &lt;b&gt;bold&lt;/b&gt;:</p>\n<ul><li>one &amp; two</li><li>three</li></ul>\n"
        "<p>Para line two</p>"
    )
