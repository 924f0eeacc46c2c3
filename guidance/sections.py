"""Guide sections (sections/*.md), the glossary and the training offers of a pack.

Each loader returns `(value_or_None, problems)` and never raises for content problems, so
`validate` can list every problem with its file and line. Contact placeholders such as
`{{contact.front_door.phone}}` are filled here from the pack manifest: one source of truth for
every number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import conlist, validator

from guidance.schema import PackModel, Text, check
from guidance.yamlfile import (
    LineDict,
    LineList,
    PackError,
    PackProblem,
    load_front_matter,
    load_yaml,
)

SECTIONS_DIR = "sections"
GLOSSARY_FILE = "glossary.yml"
TRAINING_FILE = "training.yml"
AUDIENCES = ("all", "dsl", "gp", "mash")
CONTACT_FIELDS = ("name", "phone", "url", "note")

_SECTION_FIELDS = ("id", "title", "audience", "tags", "source")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_CONTACT_REF = re.compile(r"^\s*contact\.([a-z][a-z0-9_]*)\.([a-z]+)\s*$")


class ContactLike(Protocol):
    name: str
    phone: str | None
    url: str | None
    note: str


class ContactsLike(Protocol):
    def get(self, key: str) -> ContactLike | None: ...


@dataclass(frozen=True)
class SourceRef:
    """A guide section cited by an answer or an assessment."""

    id: str
    title: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title}


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    audience: tuple[str, ...]
    tags: tuple[str, ...]
    source: str
    body: str  # Markdown with placeholders already filled
    file: Path

    def ref(self) -> SourceRef:
        return SourceRef(self.id, self.title)


class Sections:
    """The guide's sections by id (in file-name order), with the pack's glossary."""

    def __init__(
        self, sections: Iterable[Section], glossary: dict[str, tuple[str, ...]] | None = None
    ):
        self._by_id = {section.id: section for section in sections}
        # Abbreviations and synonyms: a word or phrase -> phrases a question using it also means.
        self.glossary: dict[str, tuple[str, ...]] = dict(glossary or {})

    def get(self, section_id: str) -> Section | None:
        return self._by_id.get(section_id)

    def ref(self, section_id: str) -> SourceRef | None:
        section = self._by_id.get(section_id)
        return section.ref() if section else None

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def __iter__(self) -> Iterator[Section]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, section_id: object) -> bool:
        return section_id in self._by_id


@dataclass(frozen=True)
class TrainingOffer:
    id: str
    title: str
    kind: str  # e-learning, course, workshop, briefing ...
    who_for: tuple[str, ...]
    description: str
    source: str
    how_to_access: str | None = None


def fill_placeholders(
    text: str, contacts: ContactsLike | None, file: Path, first_line: int
) -> tuple[str, list[PackProblem]]:
    """Replace every {{contact.KEY.FIELD}}; an unknown or empty one is a problem at its line."""
    problems: list[PackProblem] = []

    def replace(match: re.Match[str]) -> str:
        line = first_line + text.count("\n", 0, match.start())
        ref = _CONTACT_REF.match(match.group(1))
        if not ref:
            problems.append(PackProblem(file, line, f"unknown placeholder {match.group(0)!r}"))
            return match.group(0)
        key, field = ref.groups()
        if field not in CONTACT_FIELDS:
            problems.append(
                PackProblem(file, line, f"unknown contact field {field!r} in {match.group(0)!r}")
            )
            return match.group(0)
        contact = contacts.get(key) if contacts is not None else None
        if contact is None:
            problems.append(
                PackProblem(file, line, f"unknown contact {key!r} in {match.group(0)!r}")
            )
            return match.group(0)
        value = getattr(contact, field, None)
        if not value:
            problems.append(
                PackProblem(file, line, f"contact {key!r} has no {field} for {match.group(0)!r}")
            )
            return match.group(0)
        return str(value)

    filled = _PLACEHOLDER.sub(replace, text)
    # A lone "{{" or "}}" is almost certainly a broken placeholder.
    for index, line_text in enumerate(filled.split("\n")):
        stripped = _PLACEHOLDER.sub("", line_text)
        if "{{" in stripped or "}}" in stripped:
            problems.append(PackProblem(file, first_line + index, "unclosed placeholder braces"))
    return filled, problems


def load_sections(
    pack_dir: Path, contacts: ContactsLike | None
) -> tuple[Sections | None, list[PackProblem]]:
    """Load sections/*.md and glossary.yml. Sections with problems are left out and reported."""
    problems: list[PackProblem] = []
    folder = pack_dir / SECTIONS_DIR
    if not folder.is_dir():
        return None, [PackProblem(folder, None, "no sections folder")]
    files = sorted(folder.glob("*.md"))
    if not files:
        return None, [PackProblem(folder, None, "no guide sections (*.md) found")]

    loaded: list[Section] = []
    seen: dict[str, Path] = {}
    for file in files:
        section, section_problems = _load_section(file, contacts)
        problems.extend(section_problems)
        if section is None:
            continue
        if section.id in seen:
            problems.append(
                PackProblem(
                    file, 2, f"duplicate section id {section.id!r} (also in {seen[section.id]})"
                )
            )
            continue
        seen[section.id] = file
        loaded.append(section)

    glossary, glossary_problems = load_glossary(pack_dir)
    problems.extend(glossary_problems)
    if not loaded:
        return None, problems
    return Sections(loaded, glossary), problems


def _load_section(
    file: Path, contacts: ContactsLike | None
) -> tuple[Section | None, list[PackProblem]]:
    try:
        meta, body, body_line = load_front_matter(file)
    except PackError as exc:
        return None, list(exc.problems)
    problems: list[PackProblem] = []

    def problem(key: str | None, message: str) -> None:
        problems.append(PackProblem(file, meta.line_of(key) if key else meta.line or 2, message))

    for key in meta:
        if key not in _SECTION_FIELDS:
            expected = ", ".join(_SECTION_FIELDS)
            problem(key, f"unknown front matter field {key!r} (expected {expected})")
    for key in _SECTION_FIELDS:
        if key not in meta:
            problem(None, f"missing front matter field {key!r}")

    section_id = _text(meta, "id", problem)
    if section_id is not None:
        if not _ID.match(section_id):
            problem("id", f"id {section_id!r} must be kebab-case (a-z, 0-9 and -)")
        if section_id != file.stem:
            problem("id", f"id {section_id!r} does not match the file name {file.stem!r}")
    title = _text(meta, "title", problem)
    source = _text(meta, "source", problem)
    audience = _strings(meta, "audience", problem, allow_empty=False)
    for index, value in enumerate(audience or ()):
        if value not in AUDIENCES:
            items = meta["audience"]
            line = items.line_of(index) if isinstance(items, LineList) else None
            problems.append(
                PackProblem(
                    file,
                    line or meta.line_of("audience"),
                    f"unknown audience {value!r} (expected one of {', '.join(AUDIENCES)})",
                )
            )
    tags = _strings(meta, "tags", problem, allow_empty=True)

    if not body.strip():
        problems.append(PackProblem(file, body_line, "the section has no text"))
    filled, placeholder_problems = fill_placeholders(body, contacts, file, body_line)
    problems.extend(placeholder_problems)

    if problems or None in (section_id, title, source, audience, tags):
        return None, problems
    return (
        Section(
            id=section_id,  # type: ignore[arg-type]
            title=title,  # type: ignore[arg-type]
            audience=tuple(audience),  # type: ignore[arg-type]
            tags=tuple(tags),  # type: ignore[arg-type]
            source=source,  # type: ignore[arg-type]
            body=filled.strip(),
            file=file,
        ),
        [],
    )


def _text(data: LineDict, key: str, problem: Any) -> str | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        problem(key, f"{key!r} must be non-empty text")
        return None
    return value.strip()


def _strings(data: LineDict, key: str, problem: Any, *, allow_empty: bool) -> list[str] | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, list):
        problem(key, f"{key!r} must be a list, for example [all]")
        return None
    if not value and not allow_empty:
        problem(key, f"{key!r} must not be empty")
        return None
    # YAML reads a bare 999 or 101 as a number; as a tag it is still just text.
    items = [
        str(item) if isinstance(item, int | float) and not isinstance(item, bool) else item
        for item in value
    ]
    if not all(isinstance(item, str) and item.strip() for item in items):
        problem(key, f"every item of {key!r} must be non-empty text")
        return None
    return [item.strip() for item in items]


def load_glossary(pack_dir: Path) -> tuple[dict[str, tuple[str, ...]], list[PackProblem]]:
    """Read glossary.yml (optional): `terms: {word or phrase: [what it also means, ...]}`."""
    file = pack_dir / GLOSSARY_FILE
    if not file.exists():
        return {}, []
    try:
        data = load_yaml(file)
    except PackError as exc:
        return {}, list(exc.problems)
    if not isinstance(data, dict) or not isinstance(data.get("terms"), dict):
        return {}, [PackProblem(file, 1, "the glossary must be a mapping with a 'terms' mapping")]
    terms: LineDict = data["terms"]
    problems: list[PackProblem] = []
    glossary: dict[str, tuple[str, ...]] = {}
    for key, value in terms.items():
        line = terms.line_of(str(key))
        if isinstance(value, str):
            value = [value]
        if not isinstance(key, str) or not key.strip():
            problems.append(PackProblem(file, line, f"glossary term {key!r} must be text"))
        elif (
            not isinstance(value, list)
            or not value
            or not all(isinstance(item, str) and item.strip() for item in value)
        ):
            problems.append(
                PackProblem(file, line, f"glossary term {key!r} needs a list of phrases")
            )
        else:
            glossary[key.strip().lower()] = tuple(item.strip() for item in value)
    return glossary, problems


def load_training(
    pack_dir: Path, contacts: ContactsLike | None = None
) -> tuple[list[TrainingOffer] | None, list[PackProblem]]:
    """Load training.yml: `offers:` a list of {id, title, kind, who_for, description, source}."""
    file = pack_dir / TRAINING_FILE
    if not file.exists():
        return None, [PackProblem(file, None, "missing training offers file")]
    try:
        data = load_yaml(file)
    except PackError as exc:
        return None, list(exc.problems)
    if not isinstance(data, dict) or not isinstance(data.get("offers"), list):
        return None, [PackProblem(file, 1, "training.yml must be a mapping with an 'offers' list")]
    offers_data: LineList = data["offers"]
    problems: list[PackProblem] = []
    offers: list[TrainingOffer] = []
    seen: set[str] = set()
    for index, item in enumerate(offers_data):
        if not isinstance(item, LineDict):
            line = offers_data.line_of(index)
            problems.append(PackProblem(file, line, "each training offer must be a mapping"))
            continue
        offer, offer_problems = _load_offer(item, file, contacts, seen)
        problems.extend(offer_problems)
        if offer is not None:
            offers.append(offer)
    if not offers:
        return None, problems or [PackProblem(file, 1, "no training offers")]
    return offers, problems


class _OfferModel(PackModel):
    id: Text
    title: Text
    kind: Text
    who_for: conlist(Text, min_items=1)  # type: ignore[valid-type]
    description: Text
    source: Text
    how_to_access: Text | None = None

    @validator("id")
    def _kebab(cls, value: str) -> str:  # noqa: N805 - pydantic's validator
        if not _ID.match(value):
            raise ValueError(f"{value!r} must be kebab-case (lower-case words and hyphens)")
        return value


def _load_offer(
    item: LineDict, file: Path, contacts: ContactsLike | None, seen: set[str]
) -> tuple[TrainingOffer | None, list[PackProblem]]:
    model, problems = check(_OfferModel, item, file)
    if model is None:
        return None, problems
    if model.id in seen:
        duplicate = f"duplicate training offer id {model.id!r}"
        return None, [PackProblem(file, item.line_of("id"), duplicate)]
    seen.add(model.id)
    filled: dict[str, str | None] = {}
    for key in ("title", "kind", "description", "source", "how_to_access"):
        text = getattr(model, key)
        if text is not None:
            text, more = fill_placeholders(text, contacts, file, item.line_of(key))
            problems.extend(more)
        filled[key] = text
    if problems:
        return None, problems
    return (
        TrainingOffer(
            id=model.id,
            title=filled["title"],  # type: ignore[arg-type]
            kind=filled["kind"],  # type: ignore[arg-type]
            who_for=tuple(model.who_for),
            description=filled["description"],  # type: ignore[arg-type]
            source=filled["source"],  # type: ignore[arg-type]
            how_to_access=filled["how_to_access"],
        ),
        [],
    )
