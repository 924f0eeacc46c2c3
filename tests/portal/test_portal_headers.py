"""Security headers on every response, and templates that need no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "schools_portal" / "templates"


def assert_headers(response) -> None:
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/signin", "/no-such-page", "/static/css/portal.css",
                                  "/api/health", "/openapi.json", "/chat"])
def test_headers_everywhere(client, path):
    assert_headers(client.get(path))


def test_headers_on_signed_in_pages_and_errors(as_user):
    client, token = as_user("oakfield_dsl")
    for response in (client.get("/school"), client.get("/queue"),
                     client.post("/api/chat", json={}, headers={"X-CSRF-Token": token})):
        assert_headers(response)
    assert client.get("/school").headers["cache-control"] == "no-store"


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_inline_script_or_style(template):
    text = (TEMPLATES / template).read_text()
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag, f"inline script in {template}"
    assert not re.search(r"\son[a-z]+\s*=", text), f"inline event handler in {template}"
    assert "style=" not in text and "<style" not in text, f"inline style in {template}"
    assert "|safe" not in text, f"unescaped output in {template}"


def test_openapi_describes_the_api(client):
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    for path in ("/api/chat", "/api/queue", "/api/escalations/{escalation_id}/pick-up",
                 "/api/escalations/{escalation_id}/outcome", "/api/consultations",
                 "/api/figures.csv", "/api/guidance/search", "/api/school"):
        assert path in paths
    assert all(p.startswith("/api/") for p in paths)  # pages are not in the API document
    assert client.get("/docs").status_code == 404  # Swagger UI would need inline script
