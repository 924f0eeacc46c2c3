"""The one settings object, read from the environment.

Every process (guidance CLI, MASH service, Rasa actions, portal, Slack app) builds a
`Settings` with `Settings.from_env()` at start-up and passes it down; nothing reads the
environment anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent

# Values that must never reach production; the development defaults use them on purpose.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "dev", "development", "secret"})
DEV_SECRET = "development"  # noqa: S105 - refused outside development by check()
# Production secrets must carry at least 32 random bytes: secrets.token_urlsafe(32) is 43
# characters. A long run of a few repeated characters is not random either.
MIN_SECRET_CHARS = 43
MIN_SECRET_DISTINCT = 12


class SettingsError(ValueError):
    """The environment holds a missing, malformed or unsafe setting."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    guidance_pack: str = "wirral"
    packs_dir: Path = ROOT / "guidance" / "packs"
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    # The role that runs migrations and owns the schema (production: not the runtime role in
    # database_url, which gets no DDL rights: mash/roles.py). Empty: database_url.
    database_owner_url: str = ""
    redis_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    # The relay signs every post to Rasa's channel with this (chat/signing.py); empty: no
    # signing, so Rasa answers nothing. scripts/run.sh makes one per run; production needs 32
    # random bytes or more.
    channel_secret: str = ""
    # Rasa (DIET and the rest) reads at most this many characters of a message; the risk screen
    # reads all of it.
    rasa_max_chars: int = 2_000
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    action_server_token: str = DEV_SECRET
    secret_key: str = DEV_SECRET
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    slack_duty_channel: str = "mash-duty"
    # Where people reach the portal: links to the guide's sections from Slack answers.
    portal_url: str = "http://127.0.0.1:8000"
    # Minutes an escalation may wait for acknowledgement before re-notifying / going up.
    ack_limit_minutes: Mapping[str, int] = field(
        default_factory=lambda: {"immediate": 15, "concern": 240}
    )
    transcript_retention_days: int = 90
    # A further disclosure from the same person joins their open escalation (mash/followups.py)
    # within this many minutes of its latest message when the child's details agree, and within
    # the short window when there are no details to compare. 0 turns joining off.
    follow_up_window_minutes: int = 120
    follow_up_short_window_minutes: int = 30
    # Portal sessions (server-side): signed out after this long idle, and after this long at all.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # A portal conversation unused this long has any half-finished form (threshold check,
    # consultation request) stopped before its next message, so that message is a new question.
    chat_form_idle_minutes: int = 10
    # A one-time enrolment code (staff setting up their second factor) is good this long.
    enrolment_code_hours: int = 72

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def migration_url(self) -> str:
        """The URL migrations and grants connect with: the owner's, else DATABASE_URL."""
        return self.database_owner_url or self.database_url

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def pack_path(self) -> Path:
        """GUIDANCE_PACK is a pack name under packs_dir, or a path to a pack folder."""
        candidate = Path(self.guidance_pack)
        if candidate.is_dir():
            return candidate
        return self.packs_dir / self.guidance_pack

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("VAR_DIR") or ROOT / "var")
        settings = cls(
            environment=env.get("APP_ENV", "development"),
            guidance_pack=env.get("GUIDANCE_PACK", "wirral"),
            packs_dir=Path(env.get("GUIDANCE_PACKS_DIR") or ROOT / "guidance" / "packs"),
            var_dir=var_dir,
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'app.db'}",
            database_owner_url=env.get("DATABASE_OWNER_URL", ""),
            redis_url=env.get("REDIS_URL", ""),
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005"),
            channel_secret=env.get("CHANNEL_SECRET", ""),
            rasa_max_chars=_int(env, "RASA_MAX_CHARS", 2_000),
            action_server_url=env.get("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook"),
            action_server_token=env.get("ACTION_SERVER_TOKEN", DEV_SECRET),
            secret_key=env.get("SECRET_KEY", DEV_SECRET),
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            slack_app_token=env.get("SLACK_APP_TOKEN", ""),
            slack_api_url=env.get("SLACK_API_URL", "https://slack.com/api/"),
            slack_duty_channel=env.get("SLACK_DUTY_CHANNEL", "mash-duty"),
            portal_url=env.get("PORTAL_URL", "http://127.0.0.1:8000").rstrip("/"),
            ack_limit_minutes={
                "immediate": _int(env, "ACK_LIMIT_MINUTES_IMMEDIATE", 15),
                "concern": _int(env, "ACK_LIMIT_MINUTES_CONCERN", 240),
            },
            transcript_retention_days=_int(env, "TRANSCRIPT_RETENTION_DAYS", 90),
            follow_up_window_minutes=_int(env, "FOLLOW_UP_WINDOW_MINUTES", 120),
            follow_up_short_window_minutes=_int(env, "FOLLOW_UP_SHORT_WINDOW_MINUTES", 30),
            session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 30),
            session_absolute_hours=_int(env, "SESSION_ABSOLUTE_HOURS", 12),
            chat_form_idle_minutes=_int(env, "CHAT_FORM_IDLE_MINUTES", 10),
            enrolment_code_hours=_int(env, "ENROLMENT_CODE_HOURS", 72),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.environment not in {"development", "test", "production"}:
            raise SettingsError(
                f"APP_ENV must be development, test or production, got {self.environment!r}"
            )
        if self.is_production:
            for name in ("secret_key", "action_server_token", "channel_secret"):
                if getattr(self, name).strip().lower() in PLACEHOLDER_SECRETS:
                    raise SettingsError(
                        f"{name.upper()} is unset or a placeholder; production needs a real secret"
                    )
                _check_random_enough(name.upper(), getattr(self, name))
            if not self.redis_url:
                raise SettingsError(
                    "production needs REDIS_URL: every Rasa replica shares the channel's nonces"
                )
            password = urlsplit(self.redis_url).password or ""
            if password.strip().lower() in PLACEHOLDER_SECRETS:
                raise SettingsError(
                    "REDIS_URL needs a password (redis://[USER]:PASSWORD@HOST:PORT/DB, with "
                    "requirepass or an ACL user in Redis): sign-in limits and the channel's "
                    "nonces live there, and any account on the machine could rewrite them"
                )
            if self.database_url.startswith("sqlite"):
                raise SettingsError("production needs DATABASE_URL pointing at PostgreSQL")
        if urlsplit(self.portal_url).scheme not in {"http", "https"} or "|" in self.portal_url:
            raise SettingsError("PORTAL_URL must be an http(s) address, e.g. https://portal.example")
        if self.rasa_max_chars < 100:
            raise SettingsError("RASA_MAX_CHARS must be at least 100")
        if self.session_idle_minutes <= 0 or self.session_absolute_hours <= 0:
            raise SettingsError("SESSION_IDLE_MINUTES and SESSION_ABSOLUTE_HOURS must be positive")
        if self.chat_form_idle_minutes <= 0:
            raise SettingsError("CHAT_FORM_IDLE_MINUTES must be positive")
        if self.enrolment_code_hours <= 0:
            raise SettingsError("ENROLMENT_CODE_HOURS must be positive")
        if not 0 <= self.follow_up_short_window_minutes <= self.follow_up_window_minutes:
            raise SettingsError(
                "FOLLOW_UP_SHORT_WINDOW_MINUTES must be between 0 and FOLLOW_UP_WINDOW_MINUTES"
            )
        for urgency, minutes in self.ack_limit_minutes.items():
            if minutes <= 0:
                raise SettingsError(f"the {urgency} acknowledgement limit must be positive")


def _check_random_enough(name: str, value: str) -> None:
    """Refuse a secret that cannot hold 32 random bytes (generate one with
    `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."""
    if len(value) < MIN_SECRET_CHARS or len(set(value)) < MIN_SECRET_DISTINCT:
        raise SettingsError(
            f"{name} is too short or not random: production needs at least 32 random bytes "
            f"({MIN_SECRET_CHARS} url-safe characters, e.g. secrets.token_urlsafe(32))"
        )
