"""The levels of need (levels.yml): descriptions, next steps and indicators by domain.

Indicators carry match patterns in a small syntax of our own, parsed and checked here (so
`validate` reports a bad pattern with its line) and compiled to a spaCy Matcher by the
Assessor, which owns the shared nlp.

Pattern syntax: words separated by spaces, each matching one token by its lemma, so
"hit" matches "hits" and "hitting". Text is lowercased first, apostrophes are dropped
("mum's" is "mums", "can't" is "cant") and hyphens split words ("self-harm" is "self harm";
"4yo" and "4-year-old" are "4 year old").

    a|b|c     any one of these words
    bruis*    a word whose written form starts with "bruis" (no lemma: "missing*" matches
              "missing" but not "missed")
    word?     the word may be absent
    ..        up to 3 words of any kind; ..N up to N words
    {0-17}    a whole number in that range (e.g. "{0-12} month old")
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from guidance.cues import CueSpec, load_cues
from guidance.sections import ContactsLike, fill_placeholders
from guidance.yamlfile import LineDict, LineList, PackError, PackProblem, load_yaml

LEVELS_FILE = "levels.yml"
# The three domains of the Assessment Framework triangle, in the order they are shown.
DOMAINS = {
    "developmental_needs": "child's developmental needs",
    "parenting_capacity": "parenting capacity",
    "family_and_environment": "family and environment",
}
MIN_INDICATORS_PER_LEVEL = 12
_LEVEL_FIELDS = {
    "level", "name", "description", "who_responds", "next_steps", "sections", "indicators",
    "roles",
}
# Roles a level may give its own next steps for (`roles:`), and their fields.
LEVEL_ROLES = ("dsl", "gp", "mash")
_ROLE_FIELDS = {"next_steps", "sections"}
_INDICATOR_FIELDS = {
    "id", "text", "patterns", "mitigated", "doing_well", "past", "once", "sections",
}
# An indicator's optional stable name (the concept catalogue links to it): kebab-case.
_REF = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CONTEXT_FIELDS = {
    "mitigating", "doing_well", "resolved", "single", "unplaced",
}
_UNPLACED_FIELDS = {"reason", "questions", "next_steps", "sections"}
# Enough to place a description, few enough that a busy practitioner answers them.
MIN_QUESTIONS, MAX_QUESTIONS = 2, 3
_WORD = re.compile(r"^[a-z0-9%]+\*?(\|[a-z0-9%]+\*?)*\??$")
_GAP = re.compile(r"^\.\.([0-9]*)$")
_RANGE = re.compile(r"^\{([0-9]{1,3})-([0-9]{1,3})\}(\?)?$")
MAX_GAP = 8
# A hyphen inside a word splits it, as in the text; not the one inside a {low-high} range.
_HYPHEN = re.compile(r"(?<=[a-z0-9])-(?=[a-z0-9])(?![0-9]*\})")


@dataclass(frozen=True)
class TokenSpec:
    """One position in a pattern: words (exact, by lemma), prefixes, a number range, or a gap."""

    words: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    number_range: tuple[int, int] | None = None
    optional: bool = False
    gap: int = 0  # > 0: up to this many tokens of any kind


@dataclass(frozen=True)
class Pattern:
    source: str
    tokens: tuple[TokenSpec, ...]
    line: int


@dataclass(frozen=True)
class Indicator:
    id: str  # "L3-parenting_capacity-2": level, domain, position
    level: int
    domain: str
    text: str
    patterns: tuple[Pattern, ...]
    mitigated: int | None  # the level it counts at when the context is mitigating
    past: int | None  # the level it counts at when described as past and over
    line: int
    once: int | None = None  # the level it counts at when described as a single episode
    doing_well: int | None = None  # the level it counts at when the child is doing well
    sections: tuple[str, ...] = ()  # guide sections about this indicator
    section_lines: tuple[int, ...] = ()
    # The stable name written in levels.yml (`id: fgm-known-or-at-risk`), if any. `id` stays
    # positional so assessments read the same; the concept catalogue accepts either.
    ref: str | None = None

    @property
    def domain_label(self) -> str:
        return DOMAINS[self.domain]


@dataclass(frozen=True)
class RoleSteps:
    """A role's own next steps at a level (a GP's route is not a school's), and the guide
    sections for them, cited first."""

    next_steps: tuple[str, ...]
    sections: tuple[str, ...] = ()
    section_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    description: str
    who_responds: str
    next_steps: tuple[str, ...]
    sections: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    line: int
    section_lines: tuple[int, ...]
    roles: Mapping[str, RoleSteps] = field(default_factory=dict)


@dataclass(frozen=True)
class Context:
    """Cues about the situation around an indicator (language data, so it lives in the pack)."""

    mitigating: tuple[Pattern, ...]
    # the child is doing well in spite of it ("separated amicably, doing fine"): lowers an
    # indicator marked "doing_well" (support alone does not); also counts as mitigating
    doing_well: tuple[Pattern, ...]
    resolved: tuple[Pattern, ...]
    single: tuple[Pattern, ...]  # a single, first or one-off episode ("once", "first time")
    unplaced: Unplaced


@dataclass(frozen=True)
class Unplaced:
    """What assess says when nothing in a description places it (never a default level)."""

    reason: str
    questions: tuple[str, ...]  # 2-3 clarifying questions that would place it
    next_steps: tuple[str, ...]  # the consultation route
    sections: tuple[str, ...] = ()
    section_lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Combination:
    """Indicators that together reach a higher level than any of them alone.

    Every group in `all` must have one of its indicators found (at any level it counts at),
    and at least `others` further indicators counting at level 3 or more (not those in `all`
    or `ignore`) must be found too.
    """

    text: str  # the reason shown
    level: int
    all: tuple[tuple[str, ...], ...]  # groups of indicator ids
    others: int
    ignore: frozenset[str]  # indicator ids that do not count as others
    line: int


@dataclass(frozen=True)
class Levels:
    file: Path
    levels: dict[int, Level]
    context: Context
    combinations: tuple[Combination, ...] = ()
    cues: CueSpec | None = None  # the pack's cue scopes (cues.yml): negation, historic ...

    def __getitem__(self, number: int) -> Level:
        return self.levels[number]

    def __iter__(self):
        return iter(self.levels[n] for n in sorted(self.levels))

    @property
    def indicators(self) -> list[Indicator]:
        return [ind for level in self for ind in level.indicators]

    def indicator_names(self) -> set[str]:
        """Every name an indicator can be linked by: its positional id and its `id` field."""
        return {name for ind in self.indicators for name in (ind.id, ind.ref) if name}

    def section_refs(self) -> list[tuple[str, int]]:
        """(section id, line) for every guide section the levels point to."""
        refs = [
            (sid, line)
            for level in self
            for sid, line in zip(level.sections, level.section_lines, strict=True)
        ]
        for ind in self.indicators:
            refs.extend(zip(ind.sections, ind.section_lines, strict=True))
        unplaced = self.context.unplaced
        refs.extend(zip(unplaced.sections, unplaced.section_lines, strict=True))
        for level in self:
            for steps in level.roles.values():
                refs.extend(zip(steps.sections, steps.section_lines, strict=True))
        return refs


def parse_pattern(source: str) -> tuple[TokenSpec, ...]:
    """Parse one pattern; raise ValueError naming what is wrong."""
    text = _HYPHEN.sub(" ", source.strip().lower())
    tokens: list[TokenSpec] = []
    for part in text.split():
        gap = _GAP.match(part)
        number = _RANGE.match(part)
        if gap:
            size = int(gap[1] or 3)
            if not 1 <= size <= MAX_GAP:
                raise ValueError(f"gap '{part}' must be between ..1 and ..{MAX_GAP}")
            tokens.append(TokenSpec(gap=size))
        elif number:
            low, high = int(number[1]), int(number[2])
            if low > high:
                raise ValueError(f"number range '{part}' is backwards")
            tokens.append(TokenSpec(number_range=(low, high), optional=bool(number[3])))
        elif _WORD.match(part):
            optional = part.endswith("?")
            alternatives = part.rstrip("?").split("|")
            words = tuple(a for a in alternatives if not a.endswith("*"))
            prefixes = tuple(a[:-1] for a in alternatives if a.endswith("*"))
            if any(len(p) < 3 for p in prefixes):
                raise ValueError(f"prefix in '{part}' is too short (3 letters at least)")
            tokens.append(TokenSpec(words=words, prefixes=prefixes, optional=optional))
        elif "'" in part:
            raise ValueError(f"write '{part}' without apostrophes (text has them dropped)")
        else:
            raise ValueError(f"cannot read '{part}'")
    if not tokens:
        raise ValueError("pattern is empty")
    if all(t.gap or t.optional for t in tokens):
        raise ValueError("pattern needs at least one word that must be present")
    if tokens[0].gap or tokens[-1].gap:
        raise ValueError("a pattern cannot start or end with a gap")
    return tuple(tokens)


def load_levels(
    pack_dir: Path, contacts: ContactsLike | None = None
) -> tuple[Levels | None, list[PackProblem]]:
    """Read and check `levels.yml`; return (levels or None, every problem found).

    With `contacts`, {{contact.KEY.FIELD}} placeholders in the text are filled (an unknown one
    is a problem); without, they are left as written.
    """
    file = Path(pack_dir) / LEVELS_FILE
    try:
        data = load_yaml(file)
    except PackError as exc:
        return None, list(exc.problems)
    reader = _Reader(file, contacts)
    levels = reader.read(data)
    # negation and past cues are read from the pack's one cue definition (cues.yml)
    cues, cue_problems = load_cues(pack_dir)
    problems = reader.problems + cue_problems
    if levels is None or problems:
        return None, problems
    return replace(levels, cues=cues), []


class _Reader:
    def __init__(self, file: Path, contacts: ContactsLike | None):
        self.file = file
        self.contacts = contacts
        self.problems: list[PackProblem] = []

    def fill(self, text: str, line: int) -> str:
        if self.contacts is None:
            return text
        filled, problems = fill_placeholders(text, self.contacts, self.file, line)
        self.problems.extend(problems)
        return filled

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(PackProblem(self.file, line, message))

    def read(self, data: object) -> Levels | None:
        if not isinstance(data, LineDict):
            self.problem(1, "levels.yml must be a mapping with 'levels' and 'context'")
            return None
        for key in data:
            if key not in {"levels", "context", "combinations"}:
                self.problem(data.line_of(key), f"unknown field '{key}'")
        context = self.context(data.get("context"), data.line_of("context"))
        raw_levels = data.get("levels")
        if not isinstance(raw_levels, LineList):
            self.problem(data.line_of("levels"), "'levels' must be a list of levels")
            return None
        levels: dict[int, Level] = {}
        for index, raw in enumerate(raw_levels):
            level = self.level(raw, raw_levels.line_of(index))
            if level is None:
                continue
            if level.number in levels:
                self.problem(level.line, f"level {level.number} is defined twice")
            levels[level.number] = level
        expected = {1, 2, 3, 4}
        if levels and set(levels) != expected and not self.problems:
            missing = sorted(expected - set(levels))
            self.problem(raw_levels.line, f"levels must be 1 to 4; missing {missing}")
        seen: dict[str, int] = {}
        for ind in (i for level in levels.values() for i in level.indicators):
            if ind.ref is None:
                continue
            if ind.ref in seen:
                self.problem(ind.line, f"indicator id '{ind.ref}' is also used at line "
                                       f"{seen[ind.ref]}")
            seen.setdefault(ind.ref, ind.line)
        if self.problems or context is None:
            return None
        combinations = self.combinations(data.get("combinations"), data.line_of("combinations"),
                                         levels)
        if self.problems:
            return None
        return Levels(file=self.file, levels=levels, context=context, combinations=combinations)

    def combinations(self, raw: object, line: int,
                     levels: dict[int, Level]) -> tuple[Combination, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, LineList):
            self.problem(line, "'combinations' must be a list")
            return ()
        by_text: dict[str, Indicator] = {}
        for level in levels.values():
            for ind in level.indicators:
                by_text.setdefault(ind.text, ind)
        found = []
        for index, item in enumerate(raw):
            item_line = raw.line_of(index)
            if not isinstance(item, LineDict):
                self.problem(item_line, "a combination must be a mapping (text, level, all)")
                continue
            for key in item:
                if key not in {"text", "level", "all", "others", "ignore"}:
                    self.problem(item.line_of(key), f"unknown field '{key}'")
            text = self.text(item, "text")
            number = item.get("level")
            if number not in (3, 4):
                self.problem(item.line_of("level"), "a combination's 'level' must be 3 or 4")
            others = item.get("others", 0)
            if not isinstance(others, int) or others < 0:
                self.problem(item.line_of("others"), "'others' must be a whole number")
                others = 0

            def ids(names: object, key: str | int, where: LineDict | LineList) -> tuple[str, ...]:
                if not isinstance(names, LineList) or not names:
                    self.problem(where.line_of(key), f"'{key}' must be a non-empty list of "
                                                     "indicator texts")
                    return ()
                out = []
                for i, name in enumerate(names):
                    ind = by_text.get(" ".join(str(name).split()))
                    if ind is None:
                        self.problem(names.line_of(i), f"no indicator with the text '{name}'")
                    else:
                        out.append(ind.id)
                return tuple(out)

            groups = item.get("all")
            all_ids: list[tuple[str, ...]] = []
            if not isinstance(groups, LineList) or not groups:
                self.problem(item.line_of("all"), "'all' must be a list of lists of indicator "
                                                  "texts")
            else:
                for i, group in enumerate(groups):
                    if isinstance(group, LineList):
                        all_ids.append(ids(group, i, groups))
                    else:
                        self.problem(groups.line_of(i), "each 'all' entry must be a list")
            ignore = ids(item["ignore"], "ignore", item) if "ignore" in item else ()
            if text and number in (3, 4) and all_ids:
                found.append(Combination(text, number, tuple(all_ids), others,
                                         frozenset(ignore), item_line))
        return tuple(found)

    def text(self, data: LineDict, key: str) -> str | None:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(data.line_of(key), f"'{key}' must be non-empty text")
            return None
        return self.fill(" ".join(value.split()), data.line_of(key))

    def strings(self, data: LineDict, key: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        value = data.get(key)
        if not isinstance(value, LineList) or not value:
            self.problem(data.line_of(key), f"'{key}' must be a non-empty list")
            return (), ()
        items, lines = [], []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.problem(value.line_of(index), f"'{key}' items must be non-empty text")
                continue
            items.append(self.fill(" ".join(item.split()), value.line_of(index)))
            lines.append(value.line_of(index))
        return tuple(items), tuple(lines)

    def patterns(self, data: LineDict, key: str) -> tuple[Pattern, ...]:
        sources, lines = self.strings(data, key)
        patterns = []
        for source, line in zip(sources, lines, strict=True):
            try:
                patterns.append(Pattern(source, parse_pattern(source), line))
            except ValueError as exc:
                self.problem(line, f"bad pattern '{source}': {exc}")
        return tuple(patterns)

    def context(self, raw: object, line: int) -> Context | None:
        if not isinstance(raw, LineDict):
            self.problem(line, "'context' must be a mapping (mitigating, resolved, single, ...)")
            return None
        for key in raw:
            if key not in _CONTEXT_FIELDS:
                self.problem(raw.line_of(key), f"unknown field 'context.{key}'")
        return Context(
            mitigating=self.patterns(raw, "mitigating"),
            doing_well=self.patterns(raw, "doing_well") if "doing_well" in raw else (),
            resolved=self.patterns(raw, "resolved"),
            single=self.patterns(raw, "single") if "single" in raw else (),
            unplaced=self.unplaced(raw.get("unplaced"), raw.line_of("unplaced")),
        )

    def unplaced(self, raw: object, line: int) -> Unplaced:
        if not isinstance(raw, LineDict):
            self.problem(line, "'context.unplaced' must be a mapping (reason, questions, "
                               "next_steps)")
            return Unplaced("", (), ())
        for key in raw:
            if key not in _UNPLACED_FIELDS:
                self.problem(raw.line_of(key), f"unknown field 'context.unplaced.{key}'")
        questions, _ = self.strings(raw, "questions")
        if questions and not MIN_QUESTIONS <= len(questions) <= MAX_QUESTIONS:
            self.problem(raw.line_of("questions"),
                         f"'questions' must have {MIN_QUESTIONS} to {MAX_QUESTIONS} items")
        steps, _ = self.strings(raw, "next_steps")
        sections, section_lines = (), ()
        if "sections" in raw:
            sections, section_lines = self.strings(raw, "sections")
        return Unplaced(self.text(raw, "reason") or "", questions, steps, sections,
                        section_lines)

    def level(self, raw: object, line: int) -> Level | None:
        if not isinstance(raw, LineDict):
            self.problem(line, "each level must be a mapping")
            return None
        for key in raw:
            if key not in _LEVEL_FIELDS:
                self.problem(raw.line_of(key), f"unknown field '{key}'")
        number = raw.get("level")
        if number not in (1, 2, 3, 4):
            self.problem(raw.line_of("level"), "'level' must be 1, 2, 3 or 4")
            return None
        name = self.text(raw, "name")
        description = self.text(raw, "description")
        who = self.text(raw, "who_responds")
        steps, _ = self.strings(raw, "next_steps")
        sections, section_lines = self.strings(raw, "sections")
        indicators = self.indicators(raw, number)
        roles = self.roles(raw.get("roles"), raw.line_of("roles")) if "roles" in raw else {}
        if None in (name, description, who):
            return None
        return Level(
            number=number,
            name=name,
            description=description,
            who_responds=who,
            next_steps=steps,
            sections=sections,
            indicators=indicators,
            line=raw.line,
            section_lines=section_lines,
            roles=roles,
        )

    def roles(self, raw: object, line: int) -> dict[str, RoleSteps]:
        """`roles: {gp: {next_steps: [...], sections: [...]}}`: a role's own next steps."""
        if not isinstance(raw, LineDict):
            self.problem(line, "'roles' must map a role to its next_steps and sections")
            return {}
        roles = {}
        for role, value in raw.items():
            if role not in LEVEL_ROLES:
                self.problem(raw.line_of(role),
                             f"unknown role '{role}' (expected one of {', '.join(LEVEL_ROLES)})")
                continue
            if not isinstance(value, LineDict):
                self.problem(raw.line_of(role), f"'roles.{role}' must be a mapping")
                continue
            for key in value:
                if key not in _ROLE_FIELDS:
                    self.problem(value.line_of(key), f"unknown field 'roles.{role}.{key}'")
            steps, _ = self.strings(value, "next_steps")
            sections, section_lines = (), ()
            if "sections" in value:
                sections, section_lines = self.strings(value, "sections")
            roles[role] = RoleSteps(steps, sections, section_lines)
        return roles

    def indicators(self, raw: LineDict, number: int) -> tuple[Indicator, ...]:
        by_domain = raw.get("indicators")
        if not isinstance(by_domain, LineDict):
            self.problem(raw.line_of("indicators"), "'indicators' must map each domain to a list")
            return ()
        for domain in DOMAINS:
            if domain not in by_domain:
                self.problem(by_domain.line, f"level {number} has no '{domain}' indicators")
        found: list[Indicator] = []
        for domain, items in by_domain.items():
            if domain not in DOMAINS:
                self.problem(by_domain.line_of(domain), f"unknown domain '{domain}'")
                continue
            if not isinstance(items, LineList):
                self.problem(by_domain.line_of(domain), f"'{domain}' must be a list")
                continue
            for index, item in enumerate(items):
                indicator = self.indicator(item, items.line_of(index), number, domain, index + 1)
                if indicator:
                    found.append(indicator)
        if len(found) < MIN_INDICATORS_PER_LEVEL:
            self.problem(
                raw.line_of("indicators"),
                f"level {number} has {len(found)} indicators; at least "
                f"{MIN_INDICATORS_PER_LEVEL} are needed",
            )
        return tuple(found)

    def indicator(
        self, raw: object, line: int, number: int, domain: str, position: int
    ) -> Indicator | None:
        if not isinstance(raw, LineDict):
            self.problem(line, "an indicator must be a mapping with text and patterns")
            return None
        for key in raw:
            if key not in _INDICATOR_FIELDS:
                self.problem(raw.line_of(key), f"unknown field '{key}'")
        text = self.text(raw, "text")
        patterns = self.patterns(raw, "patterns")
        ref = raw.get("id")
        if ref is not None and not (isinstance(ref, str) and _REF.match(ref)):
            self.problem(raw.line_of("id"), f"indicator id {ref!r} must be kebab-case")
            ref = None
        sections, section_lines = (), ()
        if "sections" in raw:
            sections, section_lines = self.strings(raw, "sections")
        lowered = {}
        for key in ("mitigated", "doing_well", "past", "once"):
            value = raw.get(key)
            if value is None:
                continue
            if number == 4 and key in ("mitigated", "doing_well", "once"):
                # Safety rule: supportive context, the child seeming fine, or harm happening
                # only once, never lowers a level-4 indicator.
                self.problem(raw.line_of(key), f"a level-4 indicator cannot be '{key}'")
            elif value not in (1, 2, 3) or value >= number:
                self.problem(raw.line_of(key), f"'{key}' must be a level below {number}")
            else:
                lowered[key] = value
        if text is None or not patterns:
            return None
        return Indicator(
            id=f"L{number}-{domain}-{position}",
            level=number,
            domain=domain,
            text=text,
            patterns=patterns,
            mitigated=lowered.get("mitigated"),
            past=lowered.get("past"),
            once=lowered.get("once"),
            doing_well=lowered.get("doing_well"),
            line=raw.line,
            sections=sections,
            section_lines=section_lines,
            ref=ref,
        )
