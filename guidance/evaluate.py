"""Score the engine on labelled JSON-lines files (the format of ../shared/eval/dev_*.jsonl).

- risk: {"id", "text", "label": "immediate"|"concern"|"none"}
- vignettes: {"id", "text", "level": 1-4}
- questions: {"id", "text", "expect_any": [str], "expect_all_any": [[str]]}

Thresholds (the issue's acceptance list): every immediate item immediate, no none item
immediate, at least 90% of concern items concern or higher; vignettes at least 85% exact and
no level-4 case below 4; at least 90% of answers contain the expected facts and cite a source.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

URGENCIES = ("immediate", "concern", "none")
MIN_CONCERN_RATE = 0.90
MIN_VIGNETTE_EXACT = 0.85
MIN_QUESTION_RATE = 0.90


class EvalFileError(ValueError):
    """A labelled file is missing or malformed; the message names the file and line."""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # thresholds not met

    @property
    def ok(self) -> bool:
        return not self.failures

    def check(self, name: str, passed: bool, shown: str, target: str) -> None:
        mark = "ok  " if passed else "FAIL"
        self.lines.append(f"  [{mark}] {name}: {shown} (target {target})")
        if not passed:
            self.failures.append(name)


def read_labelled(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise EvalFileError(f"{path}: cannot read ({exc.strerror})") from None
    rows = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise EvalFileError(f"{path}:{number}: not valid UTF-8") from None
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise EvalFileError(f"{path}:{number}: each line must be a JSON object")
        missing = [key for key in required if key not in row]
        if missing:
            raise EvalFileError(f"{path}:{number}: missing {', '.join(missing)}")
        rows.append(row)
    if not rows:
        raise EvalFileError(f"{path}: no labelled items")
    return rows


def score_risk(engine: Any, path: Path, report: Report) -> None:
    rows = read_labelled(path, ("text", "label"))
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for row in rows:
        got = engine.risk(row["text"]).urgency
        confusion[(row["label"], got)] += 1
        if got != row["label"]:
            misses.append(f"    {row.get('id', '?')}: {row['label']} -> {got}: {row['text'][:70]}")
    totals = Counter(row["label"] for row in rows)
    report.lines.append(f"risk ({path}, {len(rows)} items)")
    immediate = totals["immediate"]
    recalled = confusion[("immediate", "immediate")]
    report.check("immediate recall", recalled == immediate,
                 f"{recalled}/{immediate}", "all")
    none_immediate = confusion[("none", "immediate")]
    report.check("none called immediate", none_immediate == 0, str(none_immediate), "0")
    concern = totals["concern"]
    raised = confusion[("concern", "concern")] + confusion[("concern", "immediate")]
    rate = raised / concern if concern else 1.0
    report.check("concern called concern or higher", rate >= MIN_CONCERN_RATE,
                 f"{rate:.0%} ({raised}/{concern})", f">= {MIN_CONCERN_RATE:.0%}")
    report.lines.append("  confusion (label -> screen: " + ", ".join(URGENCIES) + ")")
    for label in URGENCIES:
        counts = "  ".join(f"{confusion[(label, got)]:3d}" for got in URGENCIES)
        report.lines.append(f"    {label:9s} {counts}")
    if misses:
        report.lines.append("  differences:")
        report.lines.extend(misses)


def score_vignettes(engine: Any, path: Path, report: Report) -> None:
    rows = read_labelled(path, ("text", "level"))
    exact = 0
    under_four = 0
    confusion: Counter[tuple[int, int]] = Counter()
    misses = []
    for row in rows:
        got = engine.assess(row["text"]).level
        want = int(row["level"])
        confusion[(want, got)] += 1
        exact += got == want
        under_four += want == 4 and got < 4
        if got != want:
            misses.append(f"    {row.get('id', '?')}: {want} -> {got}: {row['text'][:70]}")
    rate = exact / len(rows)
    report.lines.append(f"vignettes ({path}, {len(rows)} items)")
    report.check("exact level", rate >= MIN_VIGNETTE_EXACT,
                 f"{rate:.0%} ({exact}/{len(rows)})", f">= {MIN_VIGNETTE_EXACT:.0%}")
    report.check("level 4 called below 4", under_four == 0, str(under_four), "0")
    report.lines.append("  confusion (label -> suggested: 1 2 3 4)")
    for want in (1, 2, 3, 4):
        counts = "  ".join(f"{confusion[(want, got)]:3d}" for got in (1, 2, 3, 4))
        report.lines.append(f"    level {want}  {counts}")
    if misses:
        report.lines.append("  differences:")
        report.lines.extend(misses)


def answer_passes(answer: str, sources: list[Any], row: dict[str, Any]) -> bool:
    """Contains the expected facts (case-insensitive) and cites at least one source."""
    text = answer.lower()
    any_of = [s.lower() for s in row.get("expect_any") or []]
    groups = [[s.lower() for s in group] for group in row.get("expect_all_any") or []]
    if any_of and not any(s in text for s in any_of):
        return False
    if any(not any(s in text for s in group) for group in groups):
        return False
    return bool(sources)


def score_questions(engine: Any, path: Path, report: Report) -> None:
    rows = read_labelled(path, ("text",))
    passed = 0
    misses = []
    for row in rows:
        answer = engine.ask(row["text"])
        if answer_passes(answer.answer, list(answer.sources), row):
            passed += 1
        else:
            misses.append(f"    {row.get('id', '?')}: {row['text'][:70]}")
    rate = passed / len(rows)
    report.lines.append(f"questions ({path}, {len(rows)} items)")
    report.check("answers with the expected facts and a source", rate >= MIN_QUESTION_RATE,
                 f"{rate:.0%} ({passed}/{len(rows)})", f">= {MIN_QUESTION_RATE:.0%}")
    if misses:
        report.lines.append("  not passing:")
        report.lines.extend(misses)


def evaluate(engine: Any, *, risk: Path | None = None, vignettes: Path | None = None,
             questions: Path | None = None) -> Report:
    """Score whichever files are given; raises EvalFileError for an unreadable file."""
    report = Report()
    if risk:
        score_risk(engine, risk, report)
    if vignettes:
        score_vignettes(engine, vignettes, report)
    if questions:
        score_questions(engine, questions, report)
    return report
