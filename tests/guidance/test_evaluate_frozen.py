"""Frozen batches are scored and reported, never asserted (issue 12 part 5).

A stub engine with known answers, so every figure can be checked exactly.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from guidance.evaluate import (
    EvalFileError,
    Report,
    evaluate_frozen,
    frozen_batches,
    score_vignettes,
)


class StubEngine:
    """Answers by a keyword in the text: 'urgency=...' and 'level=...' (or 'level=none')."""

    def risk(self, text: str) -> SimpleNamespace:
        return SimpleNamespace(urgency=text.split("urgency=")[1].split()[0])

    def assess(self, text: str) -> SimpleNamespace:
        got = text.split("level=")[1].split()[0]
        return SimpleNamespace(level=None if got == "none" else int(got))

    def ask(self, text: str) -> SimpleNamespace:
        said = text.split("says=")[1].split()[0]
        # scoring reads only the quoted guide sentences (`quoted`), not added contact lines
        said = said.replace("_", " ")
        return SimpleNamespace(answer=said, quoted=said, sources=["a-section"], confident=True)


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    write(tmp_path / "2026-01-02-risk.jsonl", [
        {"id": "r1", "label": "immediate", "text": "urgency=immediate"},
        {"id": "r2", "label": "immediate", "text": "urgency=concern"},
        {"id": "r3", "label": "none", "text": "urgency=immediate"},
        {"id": "r4", "label": "none", "text": "urgency=none"},
        {"id": "r5", "label": "concern", "text": "urgency=none"},
    ])
    write(tmp_path / "2026-01-02-vignettes.jsonl", [
        {"id": "v1", "level": 4, "text": "level=4"},
        {"id": "v2", "level": 4, "text": "level=2"},
        {"id": "v3", "level": 4, "text": "level=none"},
        {"id": "v4", "level": 1, "text": "level=1"},
        {"id": "v5", "level": 2, "text": "level=3"},
    ])
    write(tmp_path / "2025-06-30-risk.jsonl", [
        {"id": "o1", "label": "immediate", "text": "urgency=immediate"},
    ])
    (tmp_path / "notes.txt").write_text("not a batch")
    return tmp_path


def test_every_figure_of_a_batch_is_printed(batch: Path):
    lines = evaluate_frozen(StubEngine(), batch)
    text = "\n".join(lines)
    assert "immediate recall: 1/2 (50%)" in text
    assert "none items called immediate: 1/2 (50%)" in text
    assert "concern items called none: 1/1 (100%)" in text
    assert "level exact agreement: 2/5 (40%)" in text
    # v2 is below its label; the unplaced v3 is reported apart, not as an under-call.
    assert "levels below the label (under-calls): 1/5 (20%)" in text
    assert "level-4 situations suggested below 3: 1/3" in text
    assert "situations left unplaced: 1/5 (20%)" in text


def test_batches_are_grouped_by_date_newest_first(batch: Path):
    assert sorted(frozen_batches(batch)) == ["2025-06-30", "2026-01-02"]
    headers = [line for line in evaluate_frozen(StubEngine(), batch)
               if line.startswith("frozen batch")]
    assert headers == ["frozen batch 2026-01-02", "frozen batch 2025-06-30"]


def test_details_list_the_differences(batch: Path):
    text = "\n".join(evaluate_frozen(StubEngine(), batch, details=True))
    assert "r2: immediate -> concern" in text
    assert "v3: 4 -> unplaced" in text
    assert "r1:" not in text


def test_a_second_batch_of_the_same_day_and_a_questions_file_are_scored(tmp_path: Path):
    write(tmp_path / "2026-01-02-risk.jsonl", [
        {"id": "a1", "label": "immediate", "text": "urgency=immediate"},
    ])
    write(tmp_path / "2026-01-02b-questions.jsonl", [
        {"id": "q1", "text": "says=ring_0151", "expect_any": ["0151"]},
        {"id": "q2", "text": "says=no_idea", "expect_any": ["0151"]},
        {"id": "q3", "text": "says=999_and_101", "expect_all_any": [["999"], ["101"]]},
    ])
    assert sorted(frozen_batches(tmp_path)) == ["2026-01-02", "2026-01-02b"]
    lines = evaluate_frozen(StubEngine(), tmp_path, details=True)
    assert lines[0] == "frozen batch 2026-01-02b"
    text = "\n".join(lines)
    assert "answers with the expected facts and a source: 2/3 (67%)" in text
    assert "q2: no idea" in text
    assert "q1:" not in text


def test_an_unreadable_file_or_empty_folder_is_an_error(tmp_path: Path):
    with pytest.raises(EvalFileError, match="no YYYY-MM-DD"):
        evaluate_frozen(StubEngine(), tmp_path)
    (tmp_path / "2026-01-02-risk.jsonl").write_text("{not json\n")
    with pytest.raises(EvalFileError, match=r"2026-01-02-risk.jsonl:1: not valid JSON"):
        evaluate_frozen(StubEngine(), tmp_path)


def test_labelled_eval_counts_an_unplaced_answer_as_a_disagreement(tmp_path: Path):
    path = write(tmp_path / "v.jsonl", [
        {"id": "a", "level": 1, "text": "level=none"},
        {"id": "b", "level": 4, "text": "level=none"},
    ])
    report = Report()
    score_vignettes(StubEngine(), path, report)
    text = "\n".join(report.lines)
    assert "exact level: 0% (0/2)" in text
    assert "unplaced (counted as disagreements): 2" in text
    assert report.failures == ["exact level", "level 4 called below 4"]
