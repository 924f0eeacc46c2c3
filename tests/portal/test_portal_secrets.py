"""Secrets: production refuses short or placeholder ones; `make run` makes its own once."""

from __future__ import annotations

import secrets
import stat
import subprocess

import pytest

from settings import ROOT, Settings, SettingsError

DEV_SECRET_SCRIPT = ROOT / "scripts" / "dev_secret.sh"


def production_env(**overrides: str) -> dict[str, str]:
    return {
        "APP_ENV": "production",
        "DATABASE_URL": "postgresql+psycopg2://app@db/app",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32),
        "CHANNEL_SECRET": secrets.token_urlsafe(32),
        "REDIS_URL": f"redis://:{secrets.token_urlsafe(24)}@127.0.0.1:6379/0",
        **overrides,
    }


def test_production_accepts_32_random_bytes() -> None:
    assert Settings.from_env(production_env()).is_production


@pytest.mark.parametrize("name", ["SECRET_KEY", "ACTION_SERVER_TOKEN", "CHANNEL_SECRET"])
@pytest.mark.parametrize(
    "value",
    [
        "x",
        secrets.token_urlsafe(31)[:42],
        "k" * 60,
        "development",
        "abababababababababababababababababababababab",
    ],
)
def test_production_refuses_a_short_or_non_random_secret(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(production_env(**{name: value}))


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "redis://cache.internal:6380/3", "redis://:@127.0.0.1/0",
     "redis://:change-me@127.0.0.1:6379/3"],
)
def test_production_refuses_a_redis_anyone_on_the_machine_could_use(url: str) -> None:
    """Security re-review F2: sign-in limits, claims and the channel's nonces live in Redis; on
    an open one any local account could delete the counters or park a claim."""
    with pytest.raises(SettingsError, match="REDIS_URL"):
        Settings.from_env(production_env(REDIS_URL=url))


@pytest.mark.parametrize(
    "url",
    ["redis://:{pw}@127.0.0.1:6379/3", "redis://guidance:{pw}@cache.internal:6380/3",
     "rediss://guidance:{pw}@cache.internal:6380/3"],
)
def test_production_accepts_a_redis_url_with_credentials(url: str) -> None:
    pw = secrets.token_urlsafe(24)
    assert Settings.from_env(production_env(REDIS_URL=url.format(pw=pw))).is_production


def test_development_and_tests_keep_their_convenient_defaults() -> None:
    assert Settings.from_env({"APP_ENV": "test", "SECRET_KEY": "short"}).secret_key == "short"
    assert Settings.from_env({}).environment == "development"


def test_make_run_creates_its_secret_once_with_mode_0600(tmp_path) -> None:
    var = tmp_path / "var"
    first = subprocess.run(
        [str(DEV_SECRET_SCRIPT), str(var)], capture_output=True, text=True, check=True
    ).stdout.strip()
    path = var / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 43 and first != "development"
    Settings.from_env(production_env(SECRET_KEY=first))  # strong enough for production too
    again = subprocess.run(
        [str(DEV_SECRET_SCRIPT), str(var)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert again == first  # reused: sessions survive a restart of `make run`
    other = subprocess.run(
        [str(DEV_SECRET_SCRIPT), str(tmp_path / "other")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert other != first  # random per install


def test_make_run_uses_the_secret_file() -> None:
    script = (ROOT / "scripts" / "run.sh").read_text(encoding="utf-8")
    assert "SECRET_KEY=$(scripts/dev_secret.sh var)" in script


def test_the_portal_url_for_links_is_an_http_address() -> None:
    assert Settings.from_env({"APP_ENV": "test"}).portal_url == "http://127.0.0.1:8000"
    assert Settings.from_env(
        {"APP_ENV": "test", "PORTAL_URL": "https://portal.example/"}
    ).portal_url == "https://portal.example"
    for bad in ("javascript:alert(1)", "portal.example", "https://a|b"):
        with pytest.raises(SettingsError):
            Settings.from_env({"APP_ENV": "test", "PORTAL_URL": bad})
