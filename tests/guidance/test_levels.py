from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guidance.contacts import load_manifest
from guidance.levels import DOMAINS, MIN_INDICATORS_PER_LEVEL, load_levels, parse_pattern


@pytest.fixture(scope="module")
def levels(pack_dir):
    manifest, _ = load_manifest(pack_dir)
    loaded, problems = load_levels(pack_dir, manifest.contacts)
    assert problems == []
    return loaded


def test_four_levels_with_indicators_in_every_domain(levels):
    assert [level.number for level in levels] == [1, 2, 3, 4]
    for level in levels:
        assert len(level.indicators) >= MIN_INDICATORS_PER_LEVEL
        assert {ind.domain for ind in level.indicators} == set(DOMAINS)
        assert level.description and level.who_responds and level.next_steps and level.sections


def test_level_names_follow_wirral(levels):
    assert levels[1].name == "Universal"
    assert "single" in levels[2].name
    assert "multi-agency" in levels[3].name
    assert "CAF" in levels[3].description and "consent" in levels[3].description
    assert "statutory" in levels[4].name.lower()
    assert "section 17" in levels[4].description and "section 47" in levels[4].description


def test_contact_placeholders_are_filled(levels):
    steps = " ".join(levels[4].next_steps)
    assert "0151 606 2008" in steps and "999" in steps and "{{" not in steps
    assert "0151 606 2008" in " ".join(levels.context.unplaced.next_steps)


def test_no_level_4_indicator_can_be_mitigated(levels):
    assert all(ind.mitigated is None for ind in levels[4].indicators)
    assert all(ind.doing_well is None and ind.once is None for ind in levels[4].indicators)


def test_context_has_single_episode_and_doing_well_cues(levels):
    assert levels.context.single and levels.context.doing_well
    assert any(ind.once for ind in levels[3].indicators)
    assert any(ind.doing_well == 1 for ind in levels[2].indicators)


@pytest.mark.parametrize("field", ["once: 3", "doing_well: 2"])
def test_a_level_4_indicator_cannot_be_lowered(pack_dir, tmp_path, field):
    target = _copy(pack_dir, tmp_path)
    text = (target / "levels.yml").read_text(encoding="utf-8")
    marker = "        - text: Living with, or in contact with, an adult who poses a risk"
    text = text.replace(marker, marker.replace("- text:", f"- {field}\n          text:"))
    (target / "levels.yml").write_text(text, encoding="utf-8")
    levels, problems = load_levels(target)
    assert levels is None
    assert any("level-4" in p.message and field.split(":")[0] in p.message for p in problems)


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("hit", 1),
        ("dad|mum ..3 hit*", 3),  # a gap is one position (up to 3 tokens)
        ("{0-12} month old", 3),
        ("self-harm", 2),  # hyphens split words as in the text
        ("well? managed", 2),
    ],
)
def test_parse_pattern(source, count):
    assert len(parse_pattern(source)) == count


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("", "empty"),
        ("..2 hit", "gap"),
        ("hit ..", "gap"),
        ("hit ..20 him", "between"),
        ("{9-3} year old", "backwards"),
        ("mum's partner", "apostrophes"),
        ("hi* there", "too short"),
        ("word? ..2 other?", "must be present"),
        ("what (is) this", "cannot read"),
    ],
)
def test_parse_pattern_rejects(source, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_pattern(source)


def _copy(pack_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    target.mkdir()
    shutil.copy(pack_dir / "levels.yml", target / "levels.yml")
    return target


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_problems_name_their_line(pack_dir, tmp_path):
    target = _copy(pack_dir, tmp_path)
    text = (target / "levels.yml").read_text(encoding="utf-8")
    text = text.replace('"potty training"', '"potty ..20 training"')
    bad_line = _line_of(text, "potty ..20")
    # Make a level-4 indicator mitigable: the loader must refuse it.
    marker = "        - text: Living with, or in contact with, an adult who poses a risk"
    text = text.replace(marker, marker.replace("- text:", "- mitigated: 3\n          text:"))
    mitigated_line = _line_of(text, "mitigated: 3")
    (target / "levels.yml").write_text(text, encoding="utf-8")
    levels, problems = load_levels(target)
    assert levels is None
    lines = {p.line: p.message for p in problems}
    assert bad_line in lines and "bad pattern" in lines[bad_line]
    assert mitigated_line in lines and "level-4" in lines[mitigated_line]


def test_unknown_placeholder_is_a_problem(pack_dir, tmp_path):
    target = _copy(pack_dir, tmp_path)
    text = (target / "levels.yml").read_text(encoding="utf-8")
    text = text.replace("{{contact.front_door.phone}}", "{{contact.front_dor.phone}}", 1)
    (target / "levels.yml").write_text(text, encoding="utf-8")
    manifest, _ = load_manifest(pack_dir)
    levels, problems = load_levels(target, manifest.contacts)
    assert levels is None
    assert any("front_dor" in p.message and p.line for p in problems)


def test_unplaced_needs_two_or_three_questions(pack_dir, tmp_path):
    target = _copy(pack_dir, tmp_path)
    text = (target / "levels.yml").read_text(encoding="utf-8")
    marker = "    questions:\n"
    text = text.replace(marker, marker + "      - One question too many?\n", 1)
    (target / "levels.yml").write_text(text, encoding="utf-8")
    levels, problems = load_levels(target)
    assert levels is None
    line = _line_of(text, marker)
    # the key or its first item (the loader names where the list starts)
    assert any(p.line in (line, line + 1) and "2 to 3" in p.message for p in problems)


def test_yaml_error_names_file_and_line(tmp_path):
    (tmp_path / "levels.yml").write_text("levels:\n  - level: 1\n    name: [oops\n")
    levels, problems = load_levels(tmp_path)
    assert levels is None
    assert problems[0].file.name == "levels.yml" and problems[0].line == 4


def test_combinations_name_real_indicators(levels, pack_dir, tmp_path):
    assert levels.combinations and all(c.level == 4 for c in levels.combinations)
    target = _copy(pack_dir, tmp_path)
    text = (target / "levels.yml").read_text(encoding="utf-8")
    text = text.replace('- ["Parents not engaging with help offered"]',
                        '- ["Parents not engaging with the help"]')
    (target / "levels.yml").write_text(text, encoding="utf-8")
    loaded, problems = load_levels(target)
    assert loaded is None
    line = _line_of(text, "Parents not engaging with the help")
    assert any(p.line == line and "no indicator" in p.message for p in problems)


def test_a_level_may_give_a_gp_their_own_next_steps(levels):
    gp = levels[4].roles["gp"]
    steps = " ".join(gp.next_steps)
    assert "0151 606 2008" in steps and "conference" in steps and "{{" not in steps
    assert "designated safeguarding lead" not in steps and "own words" not in steps
    assert "gp-conference-reports" in gp.sections
    assert "gp" in levels[3].roles and levels[1].roles == {}


def test_an_unknown_role_or_field_in_roles_is_a_problem(pack_dir, tmp_path):
    target = _copy(pack_dir, tmp_path)
    text = (target / "levels.yml").read_text(encoding="utf-8")
    text = text.replace("    roles:\n      gp:\n", "    roles:\n      teacher:\n", 1)
    text = text.replace("        sections: [gp-responsibilities, gp-conference-reports",
                        "        extra: [gp-responsibilities, gp-conference-reports", 1)
    (target / "levels.yml").write_text(text, encoding="utf-8")
    _, problems = load_levels(target)
    messages = [p.message for p in problems]
    assert any("unknown role 'teacher'" in m for m in messages)
    assert any("unknown field 'roles.gp.extra'" in m for m in messages)
