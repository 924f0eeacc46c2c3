"""Sign-in rate limiting: failed attempts per account and per client address.

Kept in memory, per process: enough for one portal process (the default deployment). With
several processes or machines each keeps its own counts, so the effective limit multiplies by
the number of processes; a shared store (Redis) would be the next step then.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_KEYS = 10_000  # bound memory under a spray of made-up e-mail addresses


class LoginLimiter:
    def __init__(
        self,
        *,
        window: float = WINDOW_SECONDS,
        per_account: int = MAX_FAILURES_PER_ACCOUNT,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window = window
        self.limits = {"account": per_account, "address": per_address}
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()  # sign-in runs in the threadpool

    def retry_after(self, *, account: str, address: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in (("account", account), ("address", address)):
                times = self._recent(key, now)
                if len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *, account: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                self._prune(now)
            for key in (("account", account), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, *, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account), None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _prune(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        if len(self._failures) > MAX_KEYS:  # still full: forget the oldest accounts
            for key in list(self._failures)[: len(self._failures) - MAX_KEYS]:
                del self._failures[key]
