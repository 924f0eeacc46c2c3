"""Parsed input (JSON bodies, Slack payloads) cleaned string by string with `clean_text`, so
every field, however deeply nested, is safe before a channel's code reads it."""

from __future__ import annotations

from typing import Any

from chat.inputs import clean_text


def clean_values(value: Any) -> Any:
    """`value` with every string in it (dictionary keys too) passed through `clean_text`;
    lists, dictionaries and other values keep their shape."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_values(key): clean_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_values(item) for item in value]
    return value
