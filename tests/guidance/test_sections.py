"""The guide sections, glossary and training loaders: the Wirral pack and broken packs."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from guidance.sections import (
    AUDIENCES,
    Sections,
    SourceRef,
    fill_placeholders,
    load_sections,
    load_training,
)


@dataclass(frozen=True)
class StubContact:
    name: str
    phone: str | None = None
    url: str | None = None
    note: str = ""


class StubContacts:
    """A tiny stand-in for guidance.contacts.Contacts: only `.get(key)` is needed here."""

    def __init__(self, **contacts: StubContact):
        self._contacts = contacts

    def get(self, key: str) -> StubContact | None:
        return self._contacts.get(key)


STUB = StubContacts(
    front_door=StubContact("Integrated Front Door", "0151 606 2008"),
    out_of_hours=StubContact("Emergency Duty Team", "0151 677 6557"),
    emergency=StubContact("Police emergency", "999"),
    crimestoppers=StubContact("Crimestoppers", "0800 555 111"),
    police_non_emergency=StubContact("Police non-emergency", "101"),
    forced_marriage_unit=StubContact("Forced Marriage Unit", "020 7008 0151"),
    referral_form=StubContact("Multi-agency referral form (MARF)", note="register first"),
    lado=StubContact("LADO", note="to be confirmed"),
)

# The topics the issue says the guide must cover, each with the section that covers it.
REQUIRED_SECTIONS = [
    "levels-of-need-overview",
    "level-1-universal",
    "level-2-single-service",
    "level-3-multi-agency",
    "level-4-specialist-statutory",
    "stepping-up-and-down",
    "early-help-assessment-family-caf",
    "team-around-the-family",
    "consent",
    "proceeding-without-consent",
    "information-sharing",
    "front-door-contacts",
    "mash-partners",
    "after-a-referral",
    "feedback-to-referrers",
    "strategy-discussions",
    "section-17-child-in-need",
    "section-47-enquiries",
    "initial-child-protection-conference",
    "review-child-protection-conference",
    "family-participation-conferences",
    "gp-conference-reports",
    "signs-of-safety",
    "strengthening-families",
    "responding-to-disclosure",
    "neglect",
    "physical-abuse",
    "emotional-abuse",
    "sexual-abuse",
    "bruising-non-mobile-babies",
    "domestic-abuse",
    "operation-encompass",
    "child-sexual-exploitation",
    "child-criminal-exploitation-county-lines",
    "sharing-nudes",
    "fgm",
    "forced-marriage",
    "radicalisation-prevent",
    "self-harm-suicide",
    "missing-children",
    "private-fostering",
    "young-carers",
    "special-guardianship",
    "child-on-child-abuse",
    "dsl-role",
    "schools-mash-reference-point",
    "gp-responsibilities",
    "training-e-learning",
    "resolving-professional-disagreement",
]


@pytest.fixture(scope="module")
def wirral(pack_dir: Path) -> Sections:
    sections, problems = load_sections(pack_dir, STUB)
    assert problems == []
    assert sections is not None
    return sections


def _write(folder: Path, name: str, text: str) -> Path:
    file = folder / name
    file.write_text(text, encoding="utf-8")
    return file


def _section(section_id: str, body: str = "Some text.", **fields: str) -> str:
    meta = {
        "id": section_id,
        "title": "A title",
        "audience": "[all]",
        "tags": "[a, b]",
        "source": "somewhere",
    }
    meta.update(fields)
    lines = [f"{key}: {value}" for key, value in meta.items() if value != "DROP"]
    return "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"


# ---- the Wirral pack ------------------------------------------------------------------------


def test_wirral_has_45_or_more_sections_covering_every_required_topic(wirral: Sections) -> None:
    assert len(wirral) >= 45
    missing = [sid for sid in REQUIRED_SECTIONS if sid not in wirral]
    assert missing == []


def test_wirral_sections_are_well_formed_and_concise(wirral: Sections) -> None:
    for section in wirral:
        assert section.id == section.file.stem
        assert set(section.audience) <= set(AUDIENCES)
        assert section.tags and section.source and section.title
        words = len(section.body.split())
        assert 100 <= words <= 380, (section.id, words)
        assert "{{" not in section.body and "}}" not in section.body, section.id


def test_placeholders_are_filled_from_contacts(wirral: Sections) -> None:
    assert "0151 606 2008" in wirral.get("front-door-contacts").body
    assert "0151 677 6557" in wirral.get("out-of-hours").body
    assert "020 7008 0151" in wirral.get("forced-marriage").body
    assert "101" in wirral.get("fgm").body


def test_unconfirmed_facts_are_marked(wirral: Sections) -> None:
    marked = [s.id for s in wirral if "(to be confirmed by the partnership)" in s.body]
    # General-knowledge facts (the 2023 marriage age, private fostering rules...) are marked.
    for sid in ("forced-marriage", "private-fostering", "bruising-non-mobile-babies"):
        assert sid in marked


def test_four_levels_each_have_their_own_section(wirral: Sections) -> None:
    for number, sid in enumerate(
        [
            "level-1-universal",
            "level-2-single-service",
            "level-3-multi-agency",
            "level-4-specialist-statutory",
        ],
        start=1,
    ):
        section = wirral.get(sid)
        assert f"Level {number}" in section.title
        assert f"Level {number}" in section.body


def test_source_refs(wirral: Sections) -> None:
    ref = wirral.ref("consent")
    assert ref == SourceRef("consent", wirral.get("consent").title)
    assert ref.to_dict() == {"id": "consent", "title": ref.title}
    assert wirral.ref("no-such-section") is None


def test_glossary_loaded(wirral: Sections) -> None:
    assert "multi-agency referral form" in wirral.glossary["marf"]
    assert wirral.glossary["dsl"] == ("designated safeguarding lead",)


def test_wirral_loads_with_the_real_contacts(pack_dir: Path) -> None:
    from guidance.contacts import load_manifest

    manifest, problems = load_manifest(pack_dir)
    assert manifest is not None, problems
    sections, problems = load_sections(pack_dir, manifest.contacts)
    assert problems == [] and sections is not None


def test_training_offers(pack_dir: Path) -> None:
    offers, problems = load_training(pack_dir)
    assert problems == [] and offers
    text = " ".join(" ".join(o.who_for) + " " + o.description for o in offers).lower()
    assert "faith" in text and "voluntary" in text
    assert any("50" in o.description and o.kind == "e-learning" for o in offers)
    assert len({o.id for o in offers}) == len(offers)


# ---- broken packs: every problem reported, with file and line, never raised -----------------


def test_every_problem_is_reported_with_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "sections"
    folder.mkdir()
    _write(folder, "good.md", _section("good"))
    _write(folder, "mismatch.md", _section("other-name"))
    _write(folder, "bad-audience.md", _section("bad-audience", audience="[all, teachers]"))
    _write(folder, "missing-title.md", _section("missing-title", title="DROP"))
    _write(folder, "extra-field.md", _section("extra-field", audiance="[all]"))
    _write(
        folder,
        "placeholder.md",
        _section("placeholder", body="Line one.\nRing {{contact.nobody.phone}} now.\n"),
    )
    _write(folder, "no-front-matter.md", "Just text.\n")
    _write(folder, "unclosed.md", "---\nid: unclosed\n")
    _write(folder, "bad-yaml.md", "---\nid: [oops\n---\nText.\n")
    _write(folder, "empty-body.md", _section("empty-body", body=""))
    (folder / "not-utf8.md").write_bytes(b"---\nid: x\n---\n\xff\xfe bad\n")

    sections, problems = load_sections(tmp_path, STUB)

    assert sections is not None and sections.ids == ["good"]
    by_file = {}
    for problem in problems:
        by_file.setdefault(problem.file.name, []).append(problem)
    assert set(by_file) == {
        "mismatch.md",
        "bad-audience.md",
        "missing-title.md",
        "extra-field.md",
        "placeholder.md",
        "no-front-matter.md",
        "unclosed.md",
        "bad-yaml.md",
        "empty-body.md",
        "not-utf8.md",
    }
    assert "does not match the file name" in by_file["mismatch.md"][0].message
    assert by_file["mismatch.md"][0].line == 2
    assert "teachers" in by_file["bad-audience.md"][0].message
    assert "'title'" in by_file["missing-title.md"][0].message
    assert "audiance" in by_file["extra-field.md"][0].message
    placeholder = by_file["placeholder.md"][0]
    assert "nobody" in placeholder.message
    assert placeholder.line == 9  # 7 front-matter lines, then the body's second line
    assert all(p.line is not None for p in problems)


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "sections"
    folder.mkdir()
    _write(folder, "a.md", _section("a"))
    _write(folder, "b.md", _section("a"))  # id does not match its file, and duplicates a
    sections, problems = load_sections(tmp_path, STUB)
    assert sections is not None and sections.ids == ["a"]
    assert any(p.file.name == "b.md" for p in problems)


def test_missing_sections_folder(tmp_path: Path) -> None:
    sections, problems = load_sections(tmp_path, STUB)
    assert sections is None and len(problems) == 1


def test_placeholder_rules() -> None:
    file = Path("x.md")
    text, problems = fill_placeholders("Ring {{ contact.front_door.phone }}.", STUB, file, 1)
    assert text == "Ring 0151 606 2008." and problems == []
    _, problems = fill_placeholders("a\n{{contact.lado.phone}}", STUB, file, 10)
    assert problems[0].line == 11 and "no phone" in problems[0].message
    _, problems = fill_placeholders("{{contact.front_door.colour}}", STUB, file, 1)
    assert "unknown contact field" in problems[0].message
    _, problems = fill_placeholders("{{phone}}", STUB, file, 1)
    assert "unknown placeholder" in problems[0].message
    _, problems = fill_placeholders("ring {{contact.front_door.phone now", STUB, file, 4)
    assert problems[0].line == 4 and "unclosed" in problems[0].message
    _, problems = fill_placeholders("{{contact.front_door.phone}}", None, file, 1)
    assert problems


def test_broken_glossary_and_training(tmp_path: Path, pack_dir: Path) -> None:
    shutil.copytree(pack_dir / "sections", tmp_path / "sections")
    (tmp_path / "glossary.yml").write_text("terms:\n  dsl: []\n  ok: [fine]\n", encoding="utf-8")
    sections, problems = load_sections(tmp_path, STUB)
    assert sections is not None and sections.glossary == {"ok": ("fine",)}
    assert [p.line for p in problems] == [2]

    (tmp_path / "training.yml").write_text(
        "offers:\n"
        "  - id: good-one\n    title: T\n    kind: course\n    who_for: [all]\n"
        "    description: D\n    source: S\n"
        "  - id: Bad Id\n    title: T\n    kind: course\n    who_for: []\n"
        "    description: D {{contact.front_door.phone}}\n    source: S\n    colour: red\n"
        "  - just text\n",
        encoding="utf-8",
    )
    offers, problems = load_training(tmp_path, STUB)
    assert [o.id for o in offers] == ["good-one"]
    messages = " | ".join(p.message for p in problems)
    assert "kebab-case" in messages and "who_for" in messages and "colour" in messages
    assert "must be a mapping" in messages
    assert all(p.line for p in problems)

    (tmp_path / "training.yml").write_text("offers: [\n", encoding="utf-8")
    offers, problems = load_training(tmp_path)
    assert offers is None and re.search("invalid YAML", problems[0].message)
