"""Score the engine on labelled JSON-lines files (the format of ../shared/eval/dev_*.jsonl).

- risk: {"id", "text", "label": "immediate"|"concern"|"none"}
- vignettes: {"id", "text", "level": 1-4}
- questions: {"id", "text", "expect_any": [str], "expect_all_any": [[str]], "role"?: dsl|gp|mash}

Thresholds (the issue's acceptance list): every immediate item immediate, no none item
immediate, at least 90% of concern items concern or higher; vignettes at least 85% exact and
no level-4 case below 4; at least 90% of answers contain the expected facts and cite a source.

Frozen batches (`evaluate_frozen`) are different: files written and committed before anything
was tuned on them, named `YYYY-MM-DD-risk.jsonl` / `YYYY-MM-DD-vignettes.jsonl`. They are
scored and reported, never asserted, so that the figures stay an honest measure of how the
engine does on wording it was not fitted to.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

URGENCIES = ("immediate", "concern", "none")
LEVELS = (1, 2, 3, 4)
FROZEN_DIR = Path(__file__).resolve().parents[1] / "tests" / "guidance" / "data" / "frozen"
# A date, with a letter for a second batch written the same day ("2026-12-07b").
_FROZEN_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2}[a-z]?)-(risk|vignettes|questions)\.jsonl$")
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


def screen_rows(engine: Any, rows: list[dict[str, Any]]
                ) -> tuple[Counter[tuple[str, str]], list[str]]:
    """(label, screened urgency) counts and a line for each difference."""
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for row in rows:
        got = engine.risk(row["text"]).urgency
        confusion[(row["label"], got)] += 1
        if got != row["label"]:
            misses.append(f"    {row.get('id', '?')}: {row['label']} -> {got}: {row['text'][:70]}")
    return confusion, misses


def place_rows(engine: Any, rows: list[dict[str, Any]]
               ) -> tuple[Counter[tuple[int, int | None]], list[str]]:
    """(labelled level, suggested level or None when unplaced) counts and the differences."""
    confusion: Counter[tuple[int, int | None]] = Counter()
    misses = []
    for row in rows:
        got = engine.assess(row["text"]).level
        want = int(row["level"])
        confusion[(want, got)] += 1
        if got != want:
            shown = "unplaced" if got is None else got
            misses.append(f"    {row.get('id', '?')}: {want} -> {shown}: {row['text'][:70]}")
    return confusion, misses


def _level_table(confusion: Counter[tuple[int, int | None]]) -> list[str]:
    lines = ["  confusion (label -> suggested: 1 2 3 4 unplaced)"]
    for want in LEVELS:
        counts = "  ".join(f"{confusion[(want, got)]:3d}" for got in (*LEVELS, None))
        lines.append(f"    level {want}  {counts}")
    return lines


def score_risk(engine: Any, path: Path, report: Report) -> None:
    rows = read_labelled(path, ("text", "label"))
    confusion, misses = screen_rows(engine, rows)
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
    confusion, misses = place_rows(engine, rows)
    exact = sum(confusion[(level, level)] for level in LEVELS)
    # An unplaced level-4 case was not placed at 4: it counts against that check too.
    under_four = sum(n for (want, got), n in confusion.items()
                     if want == 4 and (got is None or got < 4))
    unplaced = sum(n for (_, got), n in confusion.items() if got is None)
    rate = exact / len(rows)
    report.lines.append(f"vignettes ({path}, {len(rows)} items)")
    report.check("exact level", rate >= MIN_VIGNETTE_EXACT,
                 f"{rate:.0%} ({exact}/{len(rows)})", f">= {MIN_VIGNETTE_EXACT:.0%}")
    report.check("level 4 called below 4", under_four == 0, str(under_four), "0")
    report.lines.append(f"  unplaced (counted as disagreements): {unplaced}")
    report.lines.extend(_level_table(confusion))
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
    confident = confident_right = 0
    for row in rows:
        answer = engine.ask(row["text"], role=row.get("role"))  # as the asker would
        right = answer_passes(answer.quoted, list(answer.sources), row)
        confident += answer.confident
        confident_right += answer.confident and right
        if right:
            passed += 1
        else:
            misses.append(f"    {row.get('id', '?')}: {row['text'][:70]}")
    rate = passed / len(rows)
    report.lines.append(f"questions ({path}, {len(rows)} items)")
    report.check("answers with the expected facts and a source", rate >= MIN_QUESTION_RATE,
                 f"{rate:.0%} ({passed}/{len(rows)})", f">= {MIN_QUESTION_RATE:.0%}")
    report.lines.append(f"  {_confident_line(confident, confident_right, len(rows))}")
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


# -- frozen batches ---------------------------------------------------------------------------


def _confident_line(confident: int, right: int, total: int) -> str:
    """How many answers were given as confident, and how many of those were right."""
    return (f"confident answers: {confident}/{total}, of them right {right}"
            f" (the rest say the guide may not cover it)")


def _share(count: int, total: int) -> str:
    return f"{count}/{total} ({count / total:.0%})" if total else "0/0"


def frozen_risk_lines(engine: Any, path: Path, details: bool = False) -> list[str]:
    """The figures for one frozen risk file; nothing is asserted."""
    rows = read_labelled(path, ("text", "label"))
    confusion, misses = screen_rows(engine, rows)
    totals = Counter(row["label"] for row in rows)
    lines = [
        f"  risk ({Path(path).name}, {len(rows)} items)",
        "    immediate recall: "
        + _share(confusion[("immediate", "immediate")], totals["immediate"]),
        "    none items called immediate: "
        + _share(confusion[("none", "immediate")], totals["none"]),
        "    concern items called none: "
        + _share(confusion[("concern", "none")], totals["concern"]),
    ]
    return lines + (misses if details else [])


def frozen_vignette_lines(engine: Any, path: Path, details: bool = False) -> list[str]:
    """The figures for one frozen vignettes file; nothing is asserted."""
    rows = read_labelled(path, ("text", "level"))
    confusion, misses = place_rows(engine, rows)
    exact = sum(confusion[(level, level)] for level in LEVELS)
    below = sum(n for (want, got), n in confusion.items() if got is not None and got < want)
    fours = sum(n for (want, _), n in confusion.items() if want == 4)
    four_below_three = sum(n for (want, got), n in confusion.items()
                           if want == 4 and got is not None and got < 3)
    unplaced = sum(n for (_, got), n in confusion.items() if got is None)
    lines = [
        f"  vignettes ({Path(path).name}, {len(rows)} items)",
        f"    level exact agreement: {_share(exact, len(rows))}",
        f"    levels below the label (under-calls): {_share(below, len(rows))}",
        f"    level-4 situations suggested below 3: {four_below_three}/{fours}",
        f"    situations left unplaced: {_share(unplaced, len(rows))}",
    ]
    lines.extend("  " + line for line in _level_table(confusion))
    return lines + (misses if details else [])


def frozen_question_lines(engine: Any, path: Path, details: bool = False) -> list[str]:
    """The figures for one frozen questions file; nothing is asserted."""
    rows = read_labelled(path, ("text",))
    misses = []
    confident = confident_right = 0
    for row in rows:
        answer = engine.ask(row["text"])
        right = answer_passes(answer.quoted, list(answer.sources), row)
        confident += answer.confident
        confident_right += answer.confident and right
        if not right:
            misses.append(f"    {row.get('id', '?')}: {answer.quoted[:70]!s}"
                          f"  <- {row['text'][:60]}")
    passed = len(rows) - len(misses)
    lines = [
        f"  questions ({Path(path).name}, {len(rows)} items)",
        f"    answers with the expected facts and a source: {_share(passed, len(rows))}",
        f"    {_confident_line(confident, confident_right, len(rows))}",
    ]
    return lines + (misses if details else [])


_FROZEN_SCORERS = {"risk": frozen_risk_lines, "vignettes": frozen_vignette_lines,
                   "questions": frozen_question_lines}


def frozen_batches(directory: Path) -> dict[str, dict[str, Path]]:
    """batch -> {"risk"|"vignettes"|"questions": path} for the dated files in a folder."""
    if not Path(directory).is_dir():
        raise EvalFileError(f"{directory}: not a folder of frozen batches")
    batches: dict[str, dict[str, Path]] = {}
    for path in sorted(Path(directory).iterdir()):
        match = _FROZEN_NAME.match(path.name)
        if match:
            batches.setdefault(match.group(1), {})[match.group(2)] = path
    return batches


def evaluate_frozen(engine: Any, directory: Path | None = None, *, risk: Path | None = None,
                    vignettes: Path | None = None, details: bool = False) -> list[str]:
    """Figures for every frozen batch in `directory` (and any extra files), newest first.

    Raises EvalFileError for an unreadable file; never fails on the figures themselves.
    """
    lines: list[str] = []
    if directory is not None:
        batches = frozen_batches(directory)
        if not batches and not (risk or vignettes):
            raise EvalFileError(
                f"{directory}: no YYYY-MM-DD-risk/vignettes/questions.jsonl files")
        for date in sorted(batches, reverse=True):
            lines.append(f"frozen batch {date}")
            for kind, scorer in _FROZEN_SCORERS.items():
                if kind in batches[date]:
                    lines.extend(scorer(engine, batches[date][kind], details))
    for path, scorer in ((risk, frozen_risk_lines), (vignettes, frozen_vignette_lines)):
        if path:
            match = _FROZEN_NAME.match(Path(path).name)
            lines.append(f"file {path} (dated {match.group(1) if match else 'unknown'})")
            lines.extend(scorer(engine, Path(path), details))
    return lines
