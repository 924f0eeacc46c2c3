"""Curated answers (faq.yml): loading and validation with file and line, the contract (only the
guide's own sentences, each cited), the matcher's threshold, and role variants."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guidance.faq import FAQ_FILE, load_faq
from guidance.pack import validate_pack

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


def _copy_pack(pack_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(pack_dir, target)
    return target


def _line_of(file: Path, text: str) -> int:
    lines = file.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def _quoted_from(pack, text: str, sources) -> None:
    cited = " ".join(pack.sections.get(source.id).body for source in sources)
    cited = re.sub(r"\s+", " ", cited.replace("**", ""))
    for fragment in re.split(r"(?<=[.!?:;])\s+|\n", text):
        assert fragment.removeprefix("- ").rstrip(".;:") in cited, fragment


def test_the_wirral_pack_has_about_forty_curated_answers(pack) -> None:
    assert len(pack.faq) >= 40
    assert all(len(entry.questions) >= 2 for entry in pack.faq)


def test_every_curated_answer_quotes_its_cited_sections_once(pack) -> None:
    for entry in pack.faq:
        for reply in [entry.reply, *entry.roles.values()]:
            assert reply.sources and len(reply.text) <= 1000, entry.id
            _quoted_from(pack, reply.text, reply.sources)
            sentences = re.split(r"(?<=[.!?])\s+", reply.text)
            assert len(sentences) == len(set(sentences)), entry.id  # no sentence repeated


def test_a_missing_anchor_is_reported_with_file_and_line(pack_dir: Path, tmp_path: Path) -> None:
    target = _copy_pack(pack_dir, tmp_path)
    faq = target / FAQ_FILE
    text = faq.read_text(encoding="utf-8")
    anchor = '"Within one working day of a referral"'
    assert anchor in text
    # The first occurrence only: the after-a-referral answer.
    faq.write_text(text.replace(anchor, '"Within two working days of a referral"', 1), "utf-8")
    line = _line_of(faq, "Within two working days of a referral")
    problems = validate_pack(target)
    assert [(p.file, p.line) for p in problems] == [(faq, line)], problems
    assert "not in any sentence of section 'after-a-referral'" in problems[0].message
    # ...and the validator command says so, with the file and line, and exits 1.
    done = subprocess.run(
        [sys.executable, "-m", "guidance", "validate", str(target)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert done.returncode == 1
    assert f"{faq}:{line}: anchor 'Within two working days of a referral'" in done.stdout


def test_other_faq_problems_are_reported_where_they_are(pack_dir: Path, tmp_path: Path) -> None:
    target = _copy_pack(pack_dir, tmp_path)
    faq = target / FAQ_FILE
    text = faq.read_text(encoding="utf-8")
    text = text.replace("      after-a-referral:\n", "      after-a-referal:\n", 1)  # no such id
    text = text.replace('"The mandatory reporting duty"', '"FGM"', 1)  # in many sentences
    text = text.replace("    roles:\n      gp:", "    roles:\n      plumber:", 1)
    faq.write_text(text, encoding="utf-8")
    problems = {p.line: p.message for p in validate_pack(target) if p.file == faq}
    assert "unknown section id 'after-a-referal'" in problems[_line_of(faq, "after-a-referal:")]
    assert "make it longer" in problems[_line_of(faq, '- "FGM"')]
    assert "unknown role 'plumber'" in problems[_line_of(faq, "plumber:")]


def test_a_sentence_pointing_back_needs_its_antecedent(pack_dir: Path, tmp_path: Path) -> None:
    # "In that case, refer without consent" quoted without the sentence that says which case.
    target = _copy_pack(pack_dir, tmp_path)
    faq = target / FAQ_FILE
    lines = faq.read_text(encoding="utf-8").splitlines(keepends=True)
    anchor = next(i for i, line in enumerate(lines) if "If a parent refuses consent, stop" in line)
    assert lines[anchor - 1].strip() == "consent:"
    del lines[anchor]
    faq.write_text("".join(lines), encoding="utf-8")
    problems = validate_pack(target)
    assert [(p.file, p.line) for p in problems] == [(faq, anchor)], problems  # the key's line
    assert "points back to the sentence before it" in problems[0].message


def test_a_pack_without_faq_loads_with_no_curated_answers(pack_dir: Path, tmp_path) -> None:
    target = _copy_pack(pack_dir, tmp_path)
    (target / FAQ_FILE).unlink()
    assert validate_pack(target) == []
    faq, problems = load_faq(target, [])
    assert problems == [] and len(faq) == 0


def test_the_threshold_is_the_one_learned_on_the_labelled_questions(engine) -> None:
    from guidance.faq_tuning import learn_threshold, score_questions, sweep

    files = sorted(DATA.glob("questions_extra*.jsonl"))
    assert len(files) >= 6
    steps = sweep(score_questions(engine, files))
    at = {step.threshold: step for step in steps}[engine.pack.faq.threshold]
    assert engine.pack.faq.threshold == learn_threshold(steps)
    # At that threshold curated answers lose no labelled question the retrieval passes, and
    # they answer a real share of them (not a threshold so high that they never speak).
    assert at.lost == 0
    assert at.curated >= 100


def test_a_role_gets_its_own_curated_answer(engine) -> None:
    general = engine.ask("how do I refer?")
    for_gp = engine.ask("how do I refer?", role="gp")
    assert for_gp.answer != general.answer
    assert "What GPs should do" in for_gp.answer
    assert [s.id for s in for_gp.sources] == ["gp-responsibilities", "making-a-referral-marf"]
    assert engine.ask("how do I refer?", role="dsl").answer == general.answer  # no dsl variant


@pytest.mark.parametrize(
    "question",
    ["What is the capital of France?", "recommend a good pizza recipe", "zxqv blorp"],
)
def test_out_of_scope_questions_get_no_curated_answer(engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.sources == [] and "could not find" in answer.answer
