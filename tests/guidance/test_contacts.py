from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from guidance.contacts import load_manifest

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def contacts(pack_dir):
    manifest, problems = load_manifest(pack_dir)
    assert problems == []
    return manifest.contacts


def test_manifest_fields(pack_dir):
    manifest, _ = load_manifest(pack_dir)
    assert manifest.name == "wirral"
    assert manifest.version == "2026.1"
    assert manifest.effective_date == dt.date(2026, 11, 1)
    assert manifest.timezone == "Europe/London"


def test_standard_numbers(contacts):
    assert contacts.front_door.phone == "0151 606 2008"
    assert contacts.out_of_hours.phone == "0151 677 6557"
    assert contacts.emergency.phone == "999"
    assert contacts.crimestoppers.phone == "0800 555 111"
    assert "never" in contacts.crimestoppers.note.lower()
    assert "register" in contacts.referral_form.note.lower()
    assert contacts.get("forced_marriage_unit").phone == "020 7008 0151"
    assert contacts.get("police_non_emergency").phone == "101"
    assert "to be confirmed" in contacts.get("lado").note
    assert contacts.get("no_such_key") is None


@pytest.mark.parametrize(
    ("moment", "number", "in_hours"),
    [
        (dt.datetime(2026, 11, 25, 10, 0, tzinfo=LONDON), "0151 606 2008", True),  # Wednesday
        (dt.datetime(2026, 11, 25, 9, 0, tzinfo=LONDON), "0151 606 2008", True),  # opens
        (dt.datetime(2026, 11, 25, 8, 59, tzinfo=LONDON), "0151 677 6557", False),
        (dt.datetime(2026, 11, 25, 17, 0, tzinfo=LONDON), "0151 677 6557", False),  # closed
        (dt.datetime(2026, 11, 28, 11, 0, tzinfo=LONDON), "0151 677 6557", False),  # Saturday
        (dt.datetime(2026, 11, 29, 11, 0), "0151 677 6557", False),  # naive = local; Sunday
    ],
)
def test_safety_line_follows_hours(contacts, moment, number, in_hours):
    line = contacts.safety_line(moment)
    assert (line.number, line.in_hours) == (number, in_hours)


def test_safety_line_converts_other_time_zones(contacts):
    # 08:30 UTC in July is 09:30 in London (BST): the front door is open.
    summer = dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.timezone.utc)
    assert contacts.safety_line(summer).in_hours is True
    # 08:30 UTC in January is 08:30 in London: not yet open.
    winter = dt.datetime(2026, 1, 7, 8, 30, tzinfo=dt.timezone.utc)
    assert contacts.safety_line(winter).in_hours is False


def test_safety_message_says_999_first(contacts):
    message = contacts.safety_message(dt.datetime(2026, 11, 28, 22, 0, tzinfo=LONDON))
    assert message.index("999") < message.index("0151 677 6557")
    assert "immediate danger" in message


def _broken_copy(pack_dir: Path, tmp_path: Path, text: str) -> Path:
    target = tmp_path / "pack"
    target.mkdir()
    shutil.copy(pack_dir / "pack.yml", target / "pack.yml")
    (target / "pack.yml").write_text(text, encoding="utf-8")
    return target


def test_every_problem_is_reported_with_a_line(pack_dir, tmp_path):
    text = (pack_dir / "pack.yml").read_text(encoding="utf-8")
    text = text.replace('version: "2026.1"', "version: 2026.1")
    text = text.replace('open: "09:00"', 'open: "9am"')
    text = text.replace('phone: "0151 606 2008"', 'phone: "call us"')
    text = text.replace("timezone: Europe/London", "timezone: Mars/Olympus")
    manifest, problems = load_manifest(_broken_copy(pack_dir, tmp_path, text))
    assert manifest is None
    messages = [str(p) for p in problems]
    assert len(problems) == 4, messages
    assert all(p.line for p in problems)
    joined = "\n".join(messages)
    for fragment in ("'version'", "hours.open", "malformed phone", "Mars/Olympus"):
        assert fragment in joined


def test_missing_required_contact(pack_dir, tmp_path):
    text = (pack_dir / "pack.yml").read_text(encoding="utf-8")
    start = text.index("  crimestoppers:")
    end = text.index("  referral_form:")
    manifest, problems = load_manifest(_broken_copy(pack_dir, tmp_path, text[:start] + text[end:]))
    assert manifest is None
    assert any("'crimestoppers' is missing" in p.message for p in problems)


def test_yaml_syntax_error_names_file_and_line(pack_dir, tmp_path):
    target = _broken_copy(pack_dir, tmp_path, "name: wirral\nversion: [unclosed\nauthority: x\n")
    manifest, problems = load_manifest(target)
    assert manifest is None
    assert problems[0].file.name == "pack.yml" and problems[0].line is not None


def test_shape_problems_name_the_field_and_its_line(pack_dir, tmp_path):
    text = (pack_dir / "pack.yml").read_text(encoding="utf-8")
    text = text.replace("    name: Crimestoppers\n", "    name: Crimestoppers\n    fax: \"0151\"\n")
    text = text.replace("days: [mon, tue, wed, thu, fri]", "days: [mon, tues]")
    text = text.replace("effective_date: 2026-11-01", "effective_date: soon")
    manifest, problems = load_manifest(_broken_copy(pack_dir, tmp_path, text))
    assert manifest is None
    lines = text.splitlines()
    by_message = {p.message: p.line for p in problems}
    assert len(problems) == 3, by_message
    fax = next(m for m in by_message if "unknown field 'contacts.crimestoppers.fax'" in m)
    assert lines[by_message[fax] - 1].strip().startswith("fax:")
    days = next(m for m in by_message if m.startswith("'hours.days.1'"))
    assert "days: [mon, tues]" in lines[by_message[days] - 1]
    date = next(m for m in by_message if m.startswith("'effective_date'"))
    assert lines[by_message[date] - 1].startswith("effective_date:")
