"""The gap list's pure half: which answers are gaps, names masked, grouping by topic with
counts and examples, groups marked added, and `python -m guidance gaps --from FILE`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from guidance.gaps import gap_for, group_gaps, report_lines, topic_of, without_names

ROOT = Path(__file__).resolve().parents[2]
KNOWN = {"can", "a", "foster", "carer", "take", "him", "abroad", "what", "is", "the", "mash"}


@dataclass
class Source:
    id: str


@dataclass
class FakeAnswer:
    confident: bool
    sources: list = field(default_factory=list)
    kinds: frozenset = frozenset()
    question: bool = True


def test_only_questions_answered_without_confidence_are_gaps() -> None:
    known = KNOWN.__contains__
    assert gap_for("What is the MASH?", FakeAnswer(True, [Source("mash-partners")]), known) is None
    assert gap_for("???", FakeAnswer(False, question=False), known) is None
    gap = gap_for("Can Jamie  Smith's foster carer take him abroad?",
                  FakeAnswer(False, [Source("private-fostering")]), known)
    assert gap.text == "Can [name] [name] foster carer take him abroad?"
    assert gap.topic == "section:private-fostering"


def test_topics_are_the_nearest_section_else_the_kind_asked_else_none() -> None:
    assert topic_of(FakeAnswer(False, [Source("a"), Source("b")])) == "section:a"
    assert topic_of(FakeAnswer(False, kinds=frozenset({"time", "number"}))) == "kind:number"
    assert topic_of(FakeAnswer(False)) == "none"


def test_names_are_masked_but_the_guides_own_words_kept() -> None:
    assert without_names("Is Liverpool in the MASH area?", lambda w: w in {"is", "mash"}) == (
        "Is [name] in the MASH area?")


RECORDS = [
    {"text": "What is a care order?", "topic": "section:special-guardianship", "role": "gp",
     "asked_at": "2026-03-02T09:00:00+00:00", "added_section": None},
    {"text": "who can apply for a care order", "topic": "section:special-guardianship",
     "role": "dsl", "asked_at": "2026-03-03T09:00:00+00:00", "added_section": None},
    {"text": "capital of [name]", "topic": "kind:definition", "role": "dsl",
     "asked_at": "2026-03-01T09:00:00+00:00", "added_section": None},
    {"text": "taxi for a looked after child", "topic": "section:looked-after",
     "role": None, "asked_at": "2026-03-01T10:00:00+00:00", "added_section": "school-travel"},
]


def test_groups_by_topic_most_asked_first_with_newest_examples() -> None:
    groups = group_gaps(RECORDS, {"special-guardianship": "Special guardianship orders"})
    assert [(g.topic, g.count, g.added_section) for g in groups] == [
        ("section:special-guardianship", 2, None),
        ("kind:definition", 1, None),
        ("section:looked-after", 1, "school-travel"),  # marked added: listed last
    ]
    assert groups[0].examples == ["who can apply for a care order", "What is a care order?"]
    assert groups[0].title == "near “Special guardianship orders”"
    assert dict(groups[0].roles) == {"dsl": 1, "gp": 1}
    assert groups[1].title == "nothing near it in the guide; asks what something is"


def test_a_question_asked_after_its_group_was_added_reopens_it() -> None:
    again = {**RECORDS[3], "asked_at": "2026-03-09T10:00:00+00:00", "added_section": None}
    groups = {g.topic: g for g in group_gaps([*RECORDS, again])}
    assert groups["section:looked-after"].added_section is None
    assert groups["section:looked-after"].count == 2


def test_the_report_prints_counts_status_and_examples() -> None:
    lines = report_lines(group_gaps(RECORDS))
    assert lines[0] == "4 unanswered questions in 3 groups"
    assert lines[1].startswith("   2  section:special-guardianship") and "open" in lines[1]
    assert "        - who can apply for a care order" in lines
    assert any("added to the guide: school-travel" in line for line in lines)
    assert report_lines([]) == ["no unanswered questions recorded"]


def test_cli_groups_records_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "guidance", "gaps", "--from", str(path)],
        capture_output=True, cwd=ROOT, timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert out.startswith("4 unanswered questions in 3 groups")
    assert "Special guardianship orders (SGO)" in out  # titled from the pack's sections
    bad = subprocess.run([sys.executable, "-m", "guidance", "gaps", "--from", "/no/such"],
                         capture_output=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and b"cannot read" in bad.stderr
