"""uvicorn's access log without query strings: the guidance search box sends what a person
typed (which may describe a child) as `?q=`, and the log must hold no case text."""

from __future__ import annotations

import copy
import logging
from typing import Any

import uvicorn.config


class PathWithoutQuery(logging.Filter):
    """Drops the query string from an access log record (method, path, status stay)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn logs: '%s - "%s %s HTTP/%s" %d' % (client, method, path?query, version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the filter on its access handler."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config.setdefault("filters", {})["path_without_query"] = {"()": PathWithoutQuery}
    config["handlers"]["access"].setdefault("filters", []).append("path_without_query")
    return config
