"""YAML and front matter that remember line numbers, so pack problems name file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class PackProblem:
    file: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


class PackError(Exception):
    """A pack could not be loaded; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[PackProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class LineDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _LineMarks:
    """Builds LineDict / LineList from the parser's node marks (a mixin for both loaders)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {
            # The key's own line: for a block value ("key:" then a list) the value starts on
            # the next line, and a problem with the key belongs where the key is written.
            str(self.construct_object(k, deep=True)): k.start_mark.line + 1 for k, v in node.value
        }
        return mapping

    def construct_sequence(self, node, deep=False):  # type: ignore[override]
        items = LineList(super().construct_sequence(node, deep=True))
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items


# libyaml's parser (when PyYAML has it) reads the pack several times faster than the pure
# Python one and gives the same nodes and marks; a text it refuses is read again by the Python
# parser, so syntax problems keep their messages and lines.
class _FastLineLoader(_LineMarks, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


class _LineLoader(_LineMarks, yaml.SafeLoader):
    pass


for _loader in (_FastLineLoader, _LineLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                            _LineMarks.construct_mapping)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
                            _LineMarks.construct_sequence)


def parse_yaml(text: str, file: Path, first_line: int = 1) -> Any:
    """Parse YAML text; raise PackError naming the file and line of a syntax error."""
    try:
        data = yaml.load(text, Loader=_FastLineLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        data = _parse_reporting(text, file, first_line)
    if first_line != 1:
        _shift_lines(data, first_line - 1)
    return data


def _parse_reporting(text: str, file: Path, first_line: int) -> Any:
    """The pure Python parser: its problem messages and lines are the ones the pack reports."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else None
        raise PackError([PackProblem(file, line, f"invalid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise PackError([PackProblem(file, None, f"invalid YAML: {exc}")]) from None


def _shift_lines(node: Any, offset: int) -> None:
    if isinstance(node, LineDict):
        node.line += offset
        node.key_lines = {k: v + offset for k, v in node.key_lines.items()}
        for value in node.values():
            _shift_lines(value, offset)
    elif isinstance(node, LineList):
        node.line += offset
        node.item_lines = [v + offset for v in node.item_lines]
        for value in node:
            _shift_lines(value, offset)


def read_text(file: Path) -> str:
    """Read a UTF-8 pack file; a missing or undecodable file is a PackError, not a traceback."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise PackError([PackProblem(file, None, f"cannot read: {exc.strerror}")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PackError([PackProblem(file, line, "not valid UTF-8")]) from None


def load_yaml(file: Path) -> Any:
    return parse_yaml(read_text(file), file)


def load_front_matter(file: Path) -> tuple[LineDict, str, int]:
    """Split a Markdown file into (front matter, body, line where the body starts)."""
    text = read_text(file)
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise PackError([PackProblem(file, 1, "missing front matter (a first line of ---)")])
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            meta = parse_yaml("".join(lines[1:index]), file, first_line=2)
            if not isinstance(meta, dict):
                raise PackError([PackProblem(file, 2, "front matter must be a mapping")])
            return meta, "".join(lines[index + 1 :]), index + 2
    raise PackError([PackProblem(file, 1, "front matter is not closed by a line of ---")])
