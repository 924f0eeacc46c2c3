"""Time in one place: the service stores and compares UTC, always timezone-aware."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Aware UTC from aware or naive input (naive is taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def week_start(value: datetime) -> date:
    """The Monday (UTC) of the week holding `value`: the bucket for the weekly figures."""
    day = as_utc(value).date()
    return day - timedelta(days=day.weekday())
