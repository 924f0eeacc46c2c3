"""Shared by the fuzz tests: example counts, hypothesis settings, markup probes and checks."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from urllib.parse import urlencode

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FULL = os.environ.get("FUZZ_EXAMPLES") == "full"
FULL_TARGET = 10_000
COUNTS: Counter[str] = Counter()  # generated inputs by test
STATUSES: Counter[str] = Counter()  # responses by status class, to show what was reached
CLOSED_PORT_URL = "http://127.0.0.1:9"


def examples(full: int) -> int:
    """`full` examples in the full run, a twentieth (at least 10) otherwise."""
    return full if FULL else max(10, full // 20)


def fuzz_settings(full: int) -> settings:
    return settings(
        max_examples=examples(full),
        deadline=None,
        database=None,  # no example database: every run draws afresh
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


# Markup a page must never show unescaped. Each is findable verbatim only if not escaped.
PROBES = [
    "<fz-probe>",
    '"><fz-probe x="1">',
    "<script>fzAlert(1)</script>",
    "<img src=x onerror=fzAlert(1)>",
    "</textarea><fz-probe>",
    "<svg onload=fzAlert(1)>",
]
UNESCAPED = re.compile(r"<fz-probe|<script>fzAlert|<img src=x onerror|<svg onload=fzAlert")


def assert_escaped(response) -> None:  # noqa: ANN001 - an httpx response
    if "text/html" in response.headers.get("content-type", ""):
        match = UNESCAPED.search(response.text)
        assert match is None, f"unescaped markup in {response.request.url}: {match.group(0)}"


def assert_not_server_error(response) -> None:  # noqa: ANN001
    STATUSES[f"{response.request.method} {response.status_code}"] += 1
    assert response.status_code < 500, (
        f"{response.request.method} {response.request.url} -> {response.status_code}: "
        f"{response.text[:300]}"
    )


# Input that broke the portal before it was cleaned at the boundary: lone surrogates, NUL,
# C0 and C1 control characters, a byte-order mark, next to ordinary text.
ODD_CHARACTERS = ["\ud800", "\udfff", "\udc80", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\ufeff"]
odd_text = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=80),  # surrogates included
    st.lists(
        st.one_of(st.text(max_size=20), st.sampled_from(ODD_CHARACTERS)), min_size=1, max_size=12
    ).map("".join),
)


def post_json(client, path: str, body, token: str):  # noqa: ANN001, ANN201
    """POST `body` as JSON the way any client may: a lone surrogate as a `\\ud800` escape
    (httpx's own encoder would refuse to send it)."""
    return client.post(path, content=json.dumps(body).encode(),
                       headers={"X-CSRF-Token": token, "Content-Type": "application/json"})


def post_form(client, path: str, data: dict[str, str], **kwargs):  # noqa: ANN001, ANN201
    """POST a form, a lone surrogate percent-encoded as the invalid UTF-8 it would be."""
    body = urlencode(data, encoding="utf-8", errors="surrogatepass")
    return client.post(path, content=body.encode("ascii"),
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, **kwargs)
