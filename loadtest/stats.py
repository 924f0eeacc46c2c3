"""Latency and throughput figures."""

from __future__ import annotations

from dataclasses import dataclass, field


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of `values`; 0.0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def line(self) -> str:
        ms = [v * 1000 for v in self.latencies]
        return (
            f"{self.name:<28} {len(self.latencies):>6} ok {len(self.errors):>4} errors "
            f"{self.wall:7.1f} s {self.throughput:7.2f} msg/s   p50 {percentile(ms, 50):6.0f} ms"
            f"  p95 {percentile(ms, 95):6.0f} ms  p99 {percentile(ms, 99):6.0f} ms"
        )
