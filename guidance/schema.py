"""Checking a pack file's shape with pydantic models, reporting each problem at its YAML line.

A model says what a file may hold (fields, types, allowed values); pydantic finds every
problem at once, and `check` turns each into a PackProblem at the line of the field it names,
using the line marks guidance.yamlfile keeps on every mapping and list.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Extra, ValidationError, constr

from guidance.yamlfile import LineDict, LineList, PackProblem

Model = TypeVar("Model", bound=BaseModel)
# Text a council writes: a string (YAML's 2026.1 is a number: quote it), trimmed, not empty.
Text = constr(strict=True, strip_whitespace=True, min_length=1)


class PackModel(BaseModel):
    """A part of a pack file: unknown fields are problems (a misspelt key would be ignored)."""

    class Config:
        extra = Extra.forbid
        anystr_strip_whitespace = True
        allow_mutation = False


def check(model: type[Model], data: Any, file: Path) -> tuple[Model | None, list[PackProblem]]:
    """`data` read as `model`, or None and every problem with its file and line."""
    try:
        return model.parse_obj(data), []
    except ValidationError as exc:
        return None, [_problem(error, data, file) for error in exc.errors()]


def _problem(error: dict[str, Any], data: Any, file: Path) -> PackProblem:
    loc = [part for part in error["loc"] if part != "__root__"]
    message = str(error["msg"])
    if error["type"] == "value_error.extra":
        field, loc = loc[-1], loc[:-1]
        message = f"unknown field '{_dotted([*loc, field])}'"
        return PackProblem(file, line_at(data, [*loc, field]), message)
    if error["type"] == "value_error.missing":
        return PackProblem(file, line_at(data, loc[:-1]), f"'{_dotted(loc)}' is missing")
    where = f"'{_dotted(loc)}': " if loc else ""
    return PackProblem(file, line_at(data, loc), where + message)


def _dotted(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def line_at(data: Any, loc: Sequence[Any], default: int | None = None) -> int | None:
    """The line of the deepest node on `loc` (keys and list indexes) that the data has.

    `data` is what guidance.yamlfile reads (mappings and lists that know their lines) or a
    ruamel.yaml round-trip tree (whose nodes carry `lc` marks); other parts of `loc`, such as
    a union branch's type name, end the walk."""
    line = getattr(data, "line", None) or default
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            line, node = key_line(node, part) or line, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line, node = item_line(node, part) or line, node[part]
        else:
            break
    return line


def key_line(node: Any, key: Any) -> int | None:
    if isinstance(node, LineDict):
        return node.line_of(str(key))
    try:
        return node.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        return None


def item_line(node: Any, index: int) -> int | None:
    if isinstance(node, LineList):
        return node.line_of(index)
    try:
        return node.lc.item(index)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
