"""The benchmark: pack load time, then messages per second for risk, assess and ask.

One process, one Engine (rules and the learned second opinion), on a mixed corpus of the kinds
of text practitioners send: questions, short worries, disclosures, long case notes and
text-speak. Two figures per verb:
- batch: messages per second through the engine's batch methods (risk_many / assess_many /
  ask_many: one nlp.pipe over the batch), the honest per-process throughput of a batch
  workload such as `--jsonl` or `eval`; this is the figure checked against the target;
- single: one message per call (how the bot and the portal call it), shown with its mean
  latency in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TARGETS = {"risk": 5_000.0, "assess": 2_000.0, "ask": 500.0}
MAX_LOAD_SECONDS = 3.0
SECONDS_PER_VERB = 2.0

_CORPUS = [
    "What number do I ring for the Integrated Front Door?",
    "What does level 3 mean and who leads the TAF?",
    "Do I need consent before making a referral?",
    "How long does social care have to decide on a referral?",
    "what are the signs of CSE",
    "Year 4 boy says his dad hit him with a belt last night and he is scared to go home.",
    "Bruise on the cheek of a 5-month-old baby, mum says she doesn't know how it happened.",
    "7yo often arrives hungry in the same unwashed uniform all week.",
    "Mum seems really low since the baby and says she isn't coping.",
    "Attendance down to 84% this term and he is falling asleep in lessons.",
    "cut herself again n says shes been saving tablets",
    "he sed his step dad punched him and their is blood on his shirt",
    "14yo has a 22 year old boyfriend who picks her up from school in different cars",
    "Family in temporary housing after an eviction, children attending school, mum coping.",
    "Dad in alcohol treatment, grandparents helping, children mostly OK.",
    "Checked at swimming, no bruises, no concerns, just recording.",
    "Is self-harm level 3 or level 4?",
    "How do I write a GP report for a child protection conference?",
    "Girl in year 6 says she is going abroad this summer for a special ceremony.",
    "Parents argue a lot; she says it scares her, no violence mentioned.",
    (
        "Case note: Liam (9) has 86% attendance this year and is often late. Mum says things "
        "have been hard since dad moved out in the spring; money is tight and they have used "
        "the food bank twice. Liam is polite, has friends and is making progress in reading. "
        "Mum agreed to meet the pastoral lead and accepted a referral to the school counsellor. "
        "No marks or injuries seen, no disclosures, no concerns about his safety at home."
    ),
    (
        "Following the strategy discussion the school was asked to share attendance, "
        "behaviour records and any worries from staff. Since September there have been three "
        "low-level worries logged by different staff about hunger and hygiene, and the health "
        "visitor reports that the youngest has missed two development checks."
    ),
]


@dataclass(frozen=True)
class BenchResult:
    name: str
    value: float
    target: float
    unit: str
    higher_is_better: bool
    checked: bool = True  # False: shown for information, not held to the target
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        if not self.checked:
            return True
        return self.value >= self.target if self.higher_is_better else self.value < self.target

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<"
        if not self.checked:
            note = (f"(one message per call; {self.latency_ms:.3f} ms per call)"
                    if self.latency_ms else "(part of the load total)")
            return f"  [info] {self.name:17s} {self.value:10,.1f} {self.unit:12s} {note}"
        mark = "ok  " if self.ok else "MISS"
        return f"  [{mark}] {self.name:17s} {self.value:10,.1f} {self.unit:12s} (target {sign} " \
               f"{self.target:,.0f})"


def corpus(size: int) -> list[str]:
    """`size` messages cycling through the corpus, each slightly different (no caching wins)."""
    return [
        f"{_CORPUS[i % len(_CORPUS)]}{' ' * (i // len(_CORPUS) % 3)}" for i in range(size)
    ]


def _batch_rate(call: Callable[[list[str]], Any], texts: list[str], seconds: float) -> float:
    call(texts[:8])  # warm-up
    done = 0
    start = time.perf_counter()
    while True:
        call(texts)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def _rate(call: Callable[[str], Any], texts: list[str], seconds: float) -> float:
    call(texts[0])  # warm-up
    done = 0
    start = time.perf_counter()
    while True:
        for text in texts:
            call(text)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def run_bench(pack_path: Path, *, seconds: float = SECONDS_PER_VERB) -> list[BenchResult]:
    from guidance.classifier import load_or_train
    from guidance.engine import Engine
    from guidance.pack import load_pack

    start = time.perf_counter()
    pack = load_pack(pack_path)
    loaded = time.perf_counter()
    model = load_or_train()  # trains first only if the cache is missing (not timed then)
    model_start = time.perf_counter()
    model = load_or_train()
    model_loaded = time.perf_counter()
    engine = Engine(pack, second_opinion=model)
    built = time.perf_counter()
    texts = corpus(len(_CORPUS) * 10)
    load_seconds = (loaded - start) + (model_loaded - model_start) + (built - model_loaded)
    results = [
        BenchResult("pack load", loaded - start, MAX_LOAD_SECONDS, "s", False, checked=False),
        BenchResult("model load", model_loaded - model_start, MAX_LOAD_SECONDS, "s", False,
                    checked=False),
        BenchResult("engine build", built - model_loaded, MAX_LOAD_SECONDS, "s", False,
                    checked=False),
        BenchResult("pack+model+engine", load_seconds, MAX_LOAD_SECONDS, "s", False),
    ]
    verbs = (
        ("risk", engine.risk, engine.risk_many),
        ("assess", engine.assess, engine.assess_many),
        ("ask", engine.ask, engine.ask_many),
    )
    for name, single, many in verbs:
        results.append(BenchResult(f"{name} batch", _batch_rate(many, texts, seconds),
                                   TARGETS[name], "messages/s", True))
        rate = _rate(single, texts, seconds)
        results.append(BenchResult(f"{name} single", rate, TARGETS[name], "messages/s", True,
                                   checked=False, latency_ms=1000.0 / rate))
    return results
