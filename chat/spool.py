"""A file spool for escalations that could not be written because the database was down.

One JSON file per message id (so a retried message is spooled once); drained into the MASH
service as soon as the database answers again. The file is removed only after the escalation
is committed, so a crash between the two at worst raises it twice, and raising is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from private_files import open_private, private_dir

log = logging.getLogger(__name__)


class EscalationSpool:
    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, message_id: str) -> Path:
        digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def put(self, record: dict[str, Any]) -> Path:
        """Write atomically (temp file + rename) so a half-written record is never drained.
        The record holds the message text: the file is 0600 in a 0700 directory."""
        private_dir(self.directory)
        path = self._path(record["message_id"])
        temp = path.with_suffix(".tmp")
        with open_private(temp) as handle:
            handle.write(json.dumps(record, default=str))
        os.replace(temp, path)
        return path

    def pending(self) -> Iterator[tuple[Path, dict[str, Any]]]:
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.json")):
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:  # another drainer (thread or process) just finished it
                continue
            yield path, json.loads(text)

    def drain(self, raise_one: Callable[[dict[str, Any]], Any],
              retry_later: tuple[type[BaseException], ...] = ()) -> int:
        """Raise each spooled record. A `retry_later` error (the database is still down) stops
        the drain; any other failure, an unreadable file included, sets that record aside in
        `refused/` (kept for an operator, logged) so it cannot block the records behind it."""
        done = 0
        if not self.directory.is_dir():
            return 0
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
                raise_one(record)
            except FileNotFoundError:  # another drainer (thread or process) just finished it
                continue
            except retry_later:
                raise
            except Exception:  # noqa: BLE001 - one bad record must not stall the rest
                log.exception("spooled escalation %s refused; set aside in refused/", path.name)
                refused = private_dir(self.directory / "refused")
                os.replace(path, refused / path.name)
                continue
            path.unlink(missing_ok=True)  # two drainers may raise the same record: idempotent
            done += 1
        return done

    def count(self) -> int:
        """Records waiting for the database (files, whether or not they parse)."""
        return len(list(self.directory.glob("*.json"))) if self.directory.is_dir() else 0

    def refused_count(self) -> int:
        """Records set aside because the service refused them: an operator must look."""
        refused = self.directory / "refused"
        return len(list(refused.glob("*.json"))) if refused.is_dir() else 0
