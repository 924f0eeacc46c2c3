"""The silent trial: a candidate pack scored beside the live one, differences counted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from guidance import shadow
from guidance.cli import main

NEW_WORD = "zorblatted"  # a word no pack or model has seen: only the candidate knows it
TEXTS = [
    f"The Year 6 class {NEW_WORD} at the school fair on Saturday.",
    "What number do I ring for the Integrated Front Door?",
    "Year 4 boy says his dad hit him with a belt last night and he is scared to go home.",
    "7yo often arrives hungry in the same unwashed uniform all week.",
]


@pytest.fixture(scope="module")
def candidate_dir(pack_dir: Path, tmp_path_factory) -> Path:
    """The live pack with one new physical-abuse phrase."""
    target = tmp_path_factory.mktemp("candidate") / "wirral-next"
    shutil.copytree(pack_dir, target)
    lexicon = target / "lexicon.yml"
    text = lexicon.read_text(encoding="utf-8")
    anchor = '      - "hurt|hurts|hurting me|us"\n'
    assert anchor in text
    lexicon.write_text(text.replace(anchor, anchor + f'      - "{NEW_WORD}"\n'), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def candidate(candidate_dir: Path, engine):
    from guidance.engine import Engine
    from guidance.pack import load_pack

    return Engine(load_pack(candidate_dir), second_opinion=engine.second_opinion)


def test_exactly_the_message_with_the_new_phrase_escalates(engine, candidate):
    assert engine.risk(TEXTS[0]).urgency != "immediate"  # the live pack does not know it
    found = shadow.compare(engine, candidate, TEXTS, verbs=("risk",))
    assert found[0] == [shadow.Difference("risk", "escalates", engine.risk(TEXTS[0]).urgency,
                                          "immediate")]
    assert found[1:] == [[], [], []]


def test_the_same_pack_agrees_with_itself(engine):
    found = shadow.compare(engine, engine, TEXTS, verbs=shadow.VERBS)
    assert found == [[], [], [], []]
    lines = shadow.report_lines(TEXTS, found)
    assert lines[0].startswith("4 texts scored by both packs; 0 scored differently")
    assert "agrees with the live pack on every text" in lines[1]


@pytest.mark.parametrize(("was", "now", "change"), [
    ("concern", "immediate", "escalates"),
    ("immediate", "concern", "no longer escalates"),
    ("none", "concern", "more urgent"),
    ("concern", "none", "less urgent"),
])
def test_urgency_changes_are_named(was, now, change):
    difference = shadow.risk_difference(SimpleNamespace(urgency=was), SimpleNamespace(urgency=now))
    assert difference == shadow.Difference("risk", change, was, now)


@pytest.mark.parametrize(("was", "now", "change"), [
    (2, 3, "level up"), (4, 3, "level down"), (None, 2, "now placed"), (3, None, "now unplaced"),
])
def test_level_changes_are_named(was, now, change):
    difference = shadow.level_difference(SimpleNamespace(level=was), SimpleNamespace(level=now))
    assert difference is not None and difference.change == change
    assert shadow.level_difference(SimpleNamespace(level=was), SimpleNamespace(level=was)) is None


def test_unknown_verbs_are_refused(engine):
    with pytest.raises(ValueError, match="unknown verbs: guess"):
        shadow.compare(engine, engine, TEXTS, verbs=("risk", "guess"))


def test_the_report_command(candidate_dir: Path, tmp_path: Path, capsys):
    texts = tmp_path / "run.jsonl"
    texts.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    assert main(["shadow-report", "--candidate", str(candidate_dir), "--jsonl", str(texts)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 texts scored by both packs; ")
    escalates = next(line for line in out.splitlines() if line.startswith("  escalates:"))
    assert escalates.startswith("  escalates: 1 (25.0%)")
    assert f"-> immediate: The Year 6 class {NEW_WORD} at the school fair" in out
    assert "no longer escalates" not in out


def test_a_broken_candidate_is_refused_with_its_problems(pack_dir: Path, tmp_path: Path,
                                                          capsys):
    broken = tmp_path / "broken"
    shutil.copytree(pack_dir, broken)
    (broken / "pack.yml").write_text("name: [unclosed\n", encoding="utf-8")
    assert main(["shadow-report", "--candidate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "candidate pack" in err and "pack.yml" in err and "invalid YAML" in err
