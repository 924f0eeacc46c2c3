"""The concept catalogue (concepts/*.yml): what the pack must recognise, each with its tests.

A concept is one situation taken from a list (Wirral's levels, Working Together, KCSIE, other
councils' level-4 lists): its urgency and level, the lexicon categories and level indicators
that realise it, and at least five test messages of at least four kinds, written before its
patterns. The schema is described by the pydantic models below; files are read with
ruamel.yaml so that every problem names its file and line (from ruamel's node marks: a file
with a problem is parsed again with the round-trip loader, which keeps them).
`python -m guidance coverage` (guidance/coverage.py) runs the tests through the engine.

A pack without a concepts/ folder (or with an empty one) loads with an empty catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Literal, Optional, Tuple, Union

from pydantic import PrivateAttr, ValidationError, conint, constr, validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from guidance.schema import PackModel, item_line, key_line, line_at
from guidance.yamlfile import PackError, PackProblem, read_text

CONCEPTS_DIR = "concepts"
LISTS = (
    "wirral_level_1", "wirral_level_2", "wirral_level_3", "wirral_level_4",
    "working_together", "kcsie", "other_councils_level_4",
)
KINDS = ("child", "third_party", "teacher", "gp", "textspeak", "past", "question")
URGENCIES = ("none", "concern", "immediate")
MIN_TESTS = 5
MIN_KINDS = 4

ListName = Literal[
    "wirral_level_1", "wirral_level_2", "wirral_level_3", "wirral_level_4",
    "working_together", "kcsie", "other_councils_level_4",
]
Kind = Literal["child", "third_party", "teacher", "gp", "textspeak", "past", "question"]
Urgency = Literal["none", "concern", "immediate"]
LevelNumber = conint(ge=1, le=4, strict=True)


def _as_tuple(value: Any) -> Tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


class ConceptTest(PackModel):
    """One test message and what the whole engine must say about it."""

    kind: Kind
    text: constr(strict=True, strip_whitespace=True, min_length=1)
    # One urgency, or a list of acceptable ones for a genuinely ambiguous wording.
    urgency: Union[Urgency, List[Urgency]]
    level: Optional[Union[LevelNumber, List[LevelNumber]]] = None

    @validator("urgency", "level")
    def _list_not_empty(cls, value: Any) -> Any:  # noqa: N805 - pydantic validators
        if isinstance(value, list) and not value:
            raise ValueError("an empty list accepts nothing")
        return value

    @validator("level", always=True)
    def _level_fits(cls, value: Any, values: dict[str, Any]) -> Any:  # noqa: N805
        kind, urgency = values.get("kind"), values.get("urgency")
        if kind == "question":
            if urgency is not None and _as_tuple(urgency) != ("none",):
                raise ValueError("a question test expects urgency none")
            if value is not None:
                raise ValueError("a question test has no level")
        if value is not None and _as_tuple(urgency) == ("immediate",) \
                and 4 not in _as_tuple(value):
            raise ValueError("an immediate situation is level 4")
        return value

    @property
    def urgencies(self) -> tuple[str, ...]:
        return _as_tuple(self.urgency)

    @property
    def levels(self) -> tuple[int, ...]:
        return _as_tuple(self.level) if self.level is not None else ()


class Concept(PackModel):
    id: constr(strict=True, regex=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: constr(strict=True, strip_whitespace=True, min_length=1)
    lists: List[ListName]
    source: constr(strict=True, strip_whitespace=True, min_length=1)
    urgency: Urgency
    level: LevelNumber
    categories: List[constr(strict=True)] = []
    indicators: List[constr(strict=True)] = []
    tests: List[ConceptTest]

    _file: Path = PrivateAttr(default=Path())
    _index: int = PrivateAttr(default=0)  # position in its file's list

    @validator("lists")
    def _some_list(cls, value: list[str]) -> list[str]:  # noqa: N805
        if not value:
            raise ValueError("name at least one list")
        return value

    @validator("level")
    def _immediate_is_level_4(cls, value: int, values: dict[str, Any]) -> int:  # noqa: N805
        if values.get("urgency") == "immediate" and value != 4:
            raise ValueError("an immediate situation is level 4")
        return value

    @validator("tests")
    def _enough_tests(cls, value: list[ConceptTest]) -> list[ConceptTest]:  # noqa: N805
        kinds = {t.kind for t in value}
        if len(value) < MIN_TESTS or len(kinds) < MIN_KINDS:
            raise ValueError(f"needs at least {MIN_TESTS} tests of at least {MIN_KINDS} kinds "
                             f"(has {len(value)} of {len(kinds)})")
        return value

    @property
    def file(self) -> Path:
        return self._file

    @property
    def index(self) -> int:
        return self._index


@dataclass(frozen=True)
class Catalogue:
    """Every concept of a pack, in file order (files sorted by name)."""

    concepts: tuple[Concept, ...] = ()

    def __len__(self) -> int:
        return len(self.concepts)

    def __iter__(self):
        return iter(self.concepts)

    def by_list(self) -> dict[str, list[Concept]]:
        """Concepts grouped by list, in the order of LISTS; a concept may be in several."""
        groups: dict[str, list[Concept]] = {name: [] for name in LISTS}
        for concept in self.concepts:
            for name in concept.lists:
                groups[name].append(concept)
        return {name: found for name, found in groups.items() if found}


def load_concepts(
    pack_dir: Path, lexicon: Any = None, levels: Any = None
) -> tuple[Catalogue | None, list[PackProblem]]:
    """Read and check every concepts/*.yml; return (catalogue or None, every problem found).

    With `lexicon` and `levels`, the categories and indicators a concept links to must exist.
    Files are read with ruamel's fast safe loader; only a file with a problem is read again
    with the round-trip loader, whose node marks give each problem its line.
    """
    folder = Path(pack_dir) / CONCEPTS_DIR
    if not folder.is_dir():
        return Catalogue(), []
    problems: list[PackProblem] = []
    concepts: list[Concept] = []
    lines = _Lines()
    for file in sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml")):
        found, file_problems = _read_file(file, lines)
        concepts.extend(found)
        problems.extend(file_problems)
    problems.extend(_check_ids(concepts, lines))
    if lexicon is not None:
        known = {category.id for category in lexicon.categories}
        problems.extend(_check_links(concepts, lines, "categories", known, "risk category",
                                     "lexicon.yml"))
    if levels is not None:
        problems.extend(_check_links(concepts, lines, "indicators", levels.indicator_names(),
                                     "level indicator", "levels.yml"))
    return (Catalogue(tuple(concepts)) if not problems else None), problems


def _parse(file: Path, text: str, typ: str) -> tuple[Any, list[PackProblem]]:
    try:
        return YAML(typ=typ).load(text), []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, [PackProblem(file, line, f"invalid YAML: {exc.problem}")]
    except YAMLError as exc:
        return None, [PackProblem(file, None, f"invalid YAML: {exc}")]


class _Lines:
    """The round-trip parse of a file, made only when one of its problems needs a line."""

    def __init__(self) -> None:
        self._trees: dict[Path, Any] = {}

    def tree(self, file: Path) -> Any:
        if file not in self._trees:
            self._trees[file] = _parse(file, read_text(file), "rt")[0]
        return self._trees[file]

    def item(self, file: Path, index: int) -> int | None:
        tree = self.tree(file)
        items = tree.get("concepts") if isinstance(tree, dict) else None
        return item_line(items, index) if isinstance(items, list) else None

    def at(self, file: Path, index: int, loc: tuple[Any, ...]) -> int | None:
        tree = self.tree(file)
        items = tree.get("concepts") if isinstance(tree, dict) else None
        if not isinstance(items, list) or index >= len(items):
            return None
        return line_at(items[index], loc, item_line(items, index))


def _read_file(file: Path, lines: _Lines) -> tuple[list[Concept], list[PackProblem]]:
    try:
        text = read_text(file)
    except PackError as exc:
        return [], list(exc.problems)
    data, problems = _parse(file, text, "safe")
    if problems or data is None:
        return [], problems  # a YAML error, or an empty file: nothing yet
    if not isinstance(data, dict) or set(data) != {"concepts"}:
        return [], [PackProblem(file, 1, "a concept file is a mapping with one key, 'concepts'")]
    items = data["concepts"]
    if items is None:
        return [], []
    if not isinstance(items, list):
        return [], [PackProblem(file, key_line(lines.tree(file), "concepts"),
                                "'concepts' must be a list")]
    concepts: list[Concept] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(PackProblem(file, lines.item(file, index),
                                        "a concept must be a mapping"))
            continue
        try:
            concept = Concept.parse_obj(item)
        except ValidationError as exc:
            label = f"concept '{item.get('id')}'" if item.get("id") else f"concept {index + 1}"
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                problems.append(PackProblem(file, lines.at(file, index, error["loc"]),
                                            f"{label}: {where}: {error['msg']}"))
            continue
        concept._file = file
        concept._index = index
        concepts.append(concept)
    return concepts, problems


def _check_ids(concepts: Iterable[Concept], lines: _Lines) -> list[PackProblem]:
    first: dict[str, Concept] = {}
    problems = []
    for concept in concepts:
        if concept.id in first:
            other = first[concept.id]
            problems.append(PackProblem(
                concept.file, lines.item(concept.file, concept.index),
                f"concept id '{concept.id}' is also used at "
                f"{other.file.name}:{lines.item(other.file, other.index)}"))
        first.setdefault(concept.id, concept)
    return problems


def _check_links(concepts: Iterable[Concept], lines: _Lines, field: str, known: set[str],
                 what: str, where: str) -> list[PackProblem]:
    return [
        PackProblem(concept.file, lines.item(concept.file, concept.index),
                    f"concept '{concept.id}': unknown {what} '{name}' (not in {where})")
        for concept in concepts
        for name in getattr(concept, field)
        if name not in known
    ]
