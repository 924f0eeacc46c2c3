"""Run the concept catalogue's tests through the whole engine (python -m guidance coverage).

The pass rule (the catalogue's schema, docs/architecture.md): the risk screen's urgency is the
expected one (or one of a list); when a level is expected, the assessment is placed and its
level is the expected one (or in the list), so a lower level always fails; a question expects
urgency none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from guidance.concepts import Concept, ConceptTest

# Print progress to stderr after this long, so a slow run is visibly alive.
PROGRESS_AFTER_SECONDS = 2.0


@dataclass(frozen=True)
class TestOutcome:
    test: ConceptTest
    urgency: str
    level: int | None
    status: str  # "placed" or "unplaced"
    categories: tuple[str, ...]
    passed: bool

    def said(self) -> str:
        """What the engine said, for a failure report."""
        level = f"level {self.level}" if self.status == "placed" else "unplaced"
        cats = f" ({', '.join(self.categories)})" if self.categories else ""
        return f"urgency {self.urgency}{cats}, {level}"

    def expected(self) -> str:
        urgency = "/".join(self.test.urgencies)
        levels = "/".join(str(n) for n in self.test.levels)
        return f"urgency {urgency}" + (f", level {levels}" if levels else "")


@dataclass(frozen=True)
class ConceptResult:
    concept: Concept
    outcomes: tuple[TestOutcome, ...]

    @property
    def passed(self) -> int:
        return sum(o.passed for o in self.outcomes)

    @property
    def failures(self) -> list[TestOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def rate(self) -> float:
        return self.passed / len(self.outcomes) if self.outcomes else 0.0


def judge(test: ConceptTest, risk: Any, assessment: Any) -> TestOutcome:
    """Apply the pass rule to what the engine said about one test message."""
    urgency = getattr(risk, "urgency", "none")
    level = getattr(assessment, "level", None)
    # Before the unplaced status exists every assessment is placed; after, honour it.
    status = getattr(assessment, "status", None) or ("placed" if level is not None else
                                                     "unplaced")
    passed = urgency in test.urgencies
    if test.levels:
        passed = passed and status == "placed" and level in test.levels
    return TestOutcome(test=test, urgency=urgency, level=level, status=status,
                       categories=tuple(getattr(risk, "categories", ()) or ()), passed=passed)


def run_concept(engine: Any, concept: Concept) -> ConceptResult:
    outcomes = tuple(judge(t, engine.risk(t.text), engine.assess(t.text)) for t in concept.tests)
    return ConceptResult(concept, outcomes)


def run_catalogue(engine: Any, concepts: list[Concept],
                  progress: Callable[[int, int], None] | None = None) -> list[ConceptResult]:
    """Every concept's results; `progress(done, total)` is called once the run is slow."""
    started = time.monotonic()
    results = []
    for done, concept in enumerate(concepts, start=1):
        results.append(run_concept(engine, concept))
        if progress is not None and time.monotonic() - started > PROGRESS_AFTER_SECONDS:
            progress(done, len(concepts))
    return results


def report_lines(results: list[ConceptResult], groups: dict[str, list[Concept]],
                 failures: bool = False) -> list[str]:
    """One line per concept, grouped by list (a concept in two lists shows in both), a line
    per list and a total line counting each concept once; with `failures`, each failing test
    below its concept with what the engine said."""
    by_id = {r.concept.id: r for r in results}
    width = max((len(r.concept.id) for r in results), default=10)
    lines: list[str] = []
    for name, concepts in groups.items():
        shown = [by_id[c.id] for c in concepts if c.id in by_id]
        if not shown:
            continue
        tests = sum(len(r.outcomes) for r in shown)
        passed = sum(r.passed for r in shown)
        lines.append(f"{name}: {len(shown)} concepts, {passed}/{tests} tests passed")
        for result in shown:
            c = result.concept
            mark = "ok  " if not result.failures else "FAIL"
            lines.append(f"  [{mark}] {c.id:<{width}}  {','.join(c.lists):<24} "
                         f"tests {len(result.outcomes):>2}  passed {result.passed:>2}  "
                         f"{result.rate:>4.0%}")
            if failures:
                for outcome in result.failures:
                    lines.append(f"      {outcome.test.kind}: {outcome.test.text!r}")
                    lines.append(f"        expected {outcome.expected()}; "
                                 f"engine said {outcome.said()}")
    tests = sum(len(r.outcomes) for r in results)
    passed = sum(r.passed for r in results)
    failing = sum(1 for r in results if r.failures)
    rate = passed / tests if tests else 0.0
    lines.append(f"total: {len(results)} concepts, {tests} tests, {passed} passed ({rate:.1%}); "
                 f"{failing} concepts with failures")
    return lines
