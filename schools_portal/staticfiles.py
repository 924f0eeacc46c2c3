"""The portal's static files: Starlette's StaticFiles, with a path no file can have answered
404 (a NUL, e.g. `/static/app%00.js`, otherwise makes the file-system call raise: a 500)."""

from __future__ import annotations

import os

from starlette.staticfiles import StaticFiles


class PortalStaticFiles(StaticFiles):
    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if "\x00" in path:
            return "", None  # not found
        return super().lookup_path(path)
