from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from guidance.pack import load_pack, validate_pack
from guidance.yamlfile import PackError


def test_wirral_pack_loads(pack):
    assert pack.name == "wirral"
    assert pack.version == "2026.1"
    assert pack.effective_date == dt.date(2026, 11, 1)
    assert pack.contacts.front_door.phone == "0151 606 2008"
    assert [level.number for level in pack.levels] == [1, 2, 3, 4]
    assert len(pack.sections) >= 40
    assert pack.lexicon is not None and pack.training


def test_wirral_pack_is_valid(pack_dir):
    assert validate_pack(pack_dir) == []


def test_every_level_section_exists(pack):
    for section_id, _ in pack.levels.section_refs():
        assert section_id in pack.sections


@pytest.fixture()
def broken_pack(pack_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "broken"
    shutil.copytree(pack_dir, target)
    return target


def test_all_problems_from_every_file_are_gathered(broken_pack):
    manifest = broken_pack / "pack.yml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace('"0151 677 6557"', '"ring the EDT"'),
        encoding="utf-8",
    )
    levels = broken_pack / "levels.yml"
    text = levels.read_text(encoding="utf-8")
    text = text.replace("sections: [level-1-universal,", "sections: [no-such-section,", 1)
    levels.write_text(text, encoding="utf-8")
    ref_line = text[: text.index("no-such-section")].count("\n") + 1
    with pytest.raises(PackError) as caught:
        load_pack(broken_pack)
    problems = caught.value.problems
    assert any(p.file.name == "pack.yml" and "phone" in p.message for p in problems)
    assert any(
        p.file.name == "levels.yml" and p.line == ref_line and "no-such-section" in p.message
        for p in problems
    )
    assert validate_pack(broken_pack) == problems


def test_yaml_syntax_error_reported_with_line(broken_pack):
    levels = broken_pack / "levels.yml"
    lines = levels.read_text(encoding="utf-8").splitlines()
    lines[40] = "  broken: [unclosed"
    levels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = validate_pack(broken_pack)
    assert problems and problems[0].file.name == "levels.yml" and problems[0].line
    assert "invalid YAML" in problems[0].message


def test_missing_folder(tmp_path):
    problems = validate_pack(tmp_path / "nowhere")
    assert len(problems) == 1 and "not found" in problems[0].message
    with pytest.raises(PackError):
        load_pack(tmp_path / "nowhere")
