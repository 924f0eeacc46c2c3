"""The command line as a subprocess: the DESIGN.md contract and bad input (a few cases only;
each run starts Python with spaCy, a few seconds)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "guidance", *args],
        input=stdin, capture_output=True, cwd=ROOT, env=full_env, timeout=120,
    )


def test_risk_assess_ask_fields_match_the_contract():
    lines = [
        {"id": "a", "text": "6yo says dad hits him with a belt"},
        {"id": "b", "text": "What is the out of hours number?"},
    ]
    stdin = "".join(json.dumps(line) + "\n" for line in lines).encode()
    expected = {
        "risk": ["id", "urgency", "categories", "matches", "by", "reasons"],
        "assess": ["id", "level", "status", "reasons", "next_steps", "sources", "questions", "by"],
        "ask": ["id", "answer", "sources", "confident"],
    }
    for verb, fields in expected.items():
        done = run(verb, "--jsonl", stdin=stdin)
        assert done.returncode == 0, done.stderr.decode()
        records = [json.loads(line) for line in done.stdout.decode().splitlines()]
        assert [r["id"] for r in records] == ["a", "b"]
        for record in records:
            assert list(record) == fields
        if verb == "risk":
            assert records[0]["urgency"] == "immediate"
            match = records[0]["matches"][0]
            assert list(match) == ["text", "category", "start", "end"]
            # a procedure question: the rules decide, the model may not raise it
            assert records[1]["urgency"] == "none" and records[1]["by"] == ["rules"]
        if verb == "assess":
            assert records[0]["level"] == 4 and records[0]["status"] == "placed"
            # a question about procedure places nothing: no level is guessed
            assert records[1]["level"] is None and records[1]["status"] == "unplaced"
            assert 2 <= len(records[1]["questions"]) <= 3
            assert all(list(s) == ["id", "title"] for s in records[0]["sources"])
        if verb == "ask":
            assert records[1]["confident"] is True and "0151 677 6557" in records[1]["answer"]


def test_jsonl_bad_lines_get_error_records_and_the_run_goes_on():
    stdin = b"\n".join(
        [
            b'{"id": 1, "text": "Speech delay needing therapy"}',
            b"{not json",
            b'{"id": 3}',
            b'{"id": 4, "text": "caf\xe9 \xff\xfe"}',
            b'{"id": 5, "text": "   "}',
            json.dumps({"id": 6, "text": "x" * 1_000_000}).encode(),
            b'{"id": 7, "text": "Bruise on a non-mobile baby"}',
        ]
    )
    done = run("assess", "--jsonl", stdin=stdin)
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert len(records) == 7
    assert records[0]["level"] == 2 and records[6]["level"] == 4
    errors = {i + 1: r.get("error", "") for i, r in enumerate(records)}
    assert "not valid JSON" in errors[2]
    assert errors[3].endswith('no "text" field') and records[2]["id"] == 3
    assert "UTF-8" in errors[4]
    assert "empty" in errors[5] and records[4]["id"] == 5
    assert "too long" in errors[6]
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr


def test_single_text_and_empty_text():
    done = run("assess", "Rent arrears and food bank use")
    assert done.returncode == 0
    assert json.loads(done.stdout)["level"] == 2
    empty = run("risk", "  ")
    assert empty.returncode == 1 and b"text is empty" in empty.stderr


@pytest.fixture()
def broken_pack(tmp_path: Path) -> Path:
    target = tmp_path / "broken"
    shutil.copytree(ROOT / "guidance" / "packs" / "wirral", target)
    levels = target / "levels.yml"
    lines = levels.read_text(encoding="utf-8").splitlines()
    lines[40] = "  broken: [unclosed"
    levels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def test_broken_pack_names_file_and_line_without_a_traceback(broken_pack):
    done = run("risk", "hello", env={"GUIDANCE_PACK": str(broken_pack)})
    assert done.returncode == 2
    err = done.stderr.decode()
    assert f"{broken_pack / 'levels.yml'}:" in err and "invalid YAML" in err
    assert "Traceback" not in err
    checked = run("validate", str(broken_pack))
    assert checked.returncode == 1
    assert "levels.yml:" in checked.stdout.decode()


def test_eval_frozen_reports_figures_and_asserts_nothing(tmp_path):
    (tmp_path / "2026-01-02-risk.jsonl").write_text(
        json.dumps({"id": "r1", "label": "immediate",
                    "text": "6yo says dad hits him with a belt"}) + "\n"
        + json.dumps({"id": "r2", "label": "immediate", "text": "What is LADO?"}) + "\n")
    (tmp_path / "2026-01-02-vignettes.jsonl").write_text(
        json.dumps({"id": "v1", "level": 4, "text": "Bruise on a non-mobile baby"}) + "\n")
    done = run("eval", "--frozen", str(tmp_path))
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "frozen batch 2026-01-02" in out
    assert "immediate recall: 1/2 (50%)" in out  # a miss is reported, not a failure
    assert "level exact agreement: 1/1 (100%)" in out
    (tmp_path / "2026-01-03-vignettes.jsonl").write_text("{broken\n")
    broken = run("eval", "--frozen", str(tmp_path))
    assert broken.returncode == 2
    assert "2026-01-03-vignettes.jsonl:1: not valid JSON" in broken.stderr.decode()
