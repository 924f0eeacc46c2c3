"""The risk lexicon (lexicon.yml): categories, patterns, cues, text-speak and age rules, as data.

`load_lexicon` checks everything a council could get wrong and reports each problem with its
file and line; it never raises for content problems. The pattern language is described at the
top of the Wirral lexicon.yml; `parse_pattern` turns one pattern string into slots, which the
risk screen (risk.py) compiles against the spaCy pipeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from guidance.cues import CueSpec, load_cues
from guidance.yamlfile import LineDict, LineList, PackError, PackProblem, load_yaml

LEXICON_FILE = "lexicon.yml"
URGENCIES = ("immediate", "concern")
CUE_KINDS = (
    "question",
    "procedure",
    "reported_question",
    "hypothetical",
    "conditional",
    "generic_question",
    "resolved",
    "recovered",
    "made_safe",
    "past",
    "long_ago",
    "own_childhood",
    "accident",
    "account",
    "not_harm",
    "child_agent",
    "injury_named",
    "self_inflicted",
    "other_agent",
    "peer_harassment",
    "contact_act",
    "current",
    "disclosure",
    "firsthand",
    "specific",
)
AGE_RULE_KINDS = ("partner", "pregnancy")
MAX_GAP = 10
_ID = re.compile(r"^[a-z][a-z0-9_-]*$")


# --- the pattern language -------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """One slot: any of `alternatives` (each one or more words, or "@set" for a whole set);
    `exact` ones match as written rather than by lemma."""

    alternatives: tuple[str, ...]
    exact: tuple[bool, ...]
    optional: bool = False


@dataclass(frozen=True)
class SetRef:
    name: str
    optional: bool = False


@dataclass(frozen=True)
class NotSet:
    """Zero-width: the next word (if any) must not be one of these."""

    alternatives: tuple[str, ...]
    set_name: str | None = None


@dataclass(frozen=True)
class Gap:
    size: int


@dataclass(frozen=True)
class Num:
    optional: bool = False


Slot = Words | SetRef | NotSet | Gap | Num


def parse_pattern(text: str, set_names: set[str]) -> tuple[tuple[Slot, ...], str | None]:
    """Parse one pattern; return (slots, None) or ((), an error message)."""
    slots: list[Slot] = []
    for raw in text.split():
        slot, error = _parse_slot(raw, set_names)
        if error:
            return (), error
        slots.append(slot)
    return _check_shape(tuple(slots))


def _parse_slot(raw: str, set_names: set[str]) -> tuple[Slot | None, str | None]:
    if raw.startswith("*"):
        size = raw[1:] or "3"
        if not size.isdigit() or not 0 < int(size) <= MAX_GAP:
            return None, f"bad gap {raw!r} (use * or *1 to *{MAX_GAP})"
        return Gap(int(size)), None
    if raw.startswith("!"):
        body = raw[1:]
        if body.startswith("@"):
            if body[1:] not in set_names:
                return None, f"unknown set {body!r}"
            return NotSet((), body[1:]), None
        return NotSet(tuple(a.replace("_", " ") for a in body.split("|") if a)), None
    optional = raw.endswith("?") and raw != "?"
    body = raw[:-1] if optional else raw
    if body == "#num":
        return Num(optional), None
    if body.startswith("@") and "|" not in body:
        if body[1:] not in set_names:
            return None, f"unknown set {body!r}"
        return SetRef(body[1:], optional), None
    alternatives = body.split("|")
    if not body or any(not a.strip("=_@") for a in alternatives):
        return None, f"empty alternative in {raw!r}"
    if "#num" in alternatives:
        # it would be matched as the literal word "#num", never as a number
        return None, f"#num cannot be one of a choice in {raw!r}; write two patterns"
    for alternative in alternatives:
        if alternative.startswith("@") and alternative[1:] not in set_names:
            return None, f"unknown set {alternative!r}"
    exact = tuple(a.startswith("=") for a in alternatives)
    words = tuple(a if a.startswith("@") else a.lstrip("=").replace("_", " ")
                  for a in alternatives)
    return Words(words, exact, optional), None


def _check_shape(slots: tuple[Slot, ...]) -> tuple[tuple[Slot, ...], str | None]:
    if not slots:
        return (), "empty pattern"
    first = slots[0]
    if not isinstance(first, Words | SetRef) or first.optional:
        return (), "a pattern must start with a word or a set that is not optional"
    if isinstance(slots[-1], Gap):
        return (), "a pattern cannot end with a gap"
    for before, after in zip(slots, slots[1:], strict=False):
        if isinstance(before, Gap) and isinstance(after, Gap):
            return (), "two gaps in a row"
    return slots, None


# --- the lexicon ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    text: str
    slots: tuple[Slot, ...]
    urgency: str
    line: int
    anchored: bool = False  # "^..." only at the start of a sentence or clause

    @property
    def topic(self) -> bool:
        """A fixed phrase names a topic ("FGM", "county lines", "self harm|harming"); patterns
        with gaps, sets or several choices describe events ("@adult *3 hit me")."""
        if not all(isinstance(slot, Words) and not slot.optional for slot in self.slots):
            return False
        choices = [slot for slot in self.slots if len(slot.alternatives) > 1]
        return len(choices) <= 1 and not any(
            a.startswith("@") for slot in self.slots for a in slot.alternatives
        )


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    urgency: str
    patterns: tuple[Pattern, ...]
    # an innocent cause (a fall, a game, an animal, an illness: the accident and not_harm
    # cues) may lower this category's matches; false for harms no accident explains
    innocent_causes: bool = True


@dataclass(frozen=True)
class AgeRule:
    id: str
    kind: str
    category: str
    urgency: str
    child_under: int
    partner_min_age: int | None = None
    min_gap: int | None = None


@dataclass(frozen=True)
class CoRule:
    """Words of several kinds near each other in one sentence ("@harm_act" and "@victim"
    within 6 words): an event however it is worded. The first element is the head: a
    negation must govern it to lower the match."""

    category: str
    urgency: str
    within: int
    elements: tuple[Words | SetRef, ...]
    line: int
    # 2: the elements may sit in the sentence before or after the head's too (a message
    # written as notes: "Still not collected at 6. Phone goes to voicemail.")
    sentences: int = 1


@dataclass(frozen=True)
class Lexicon:
    file: Path
    version: str
    categories: tuple[Category, ...]
    sets: dict[str, tuple[str, ...]]
    normalise: dict[str, str]
    cues: dict[str, tuple[Pattern, ...]]
    partner_terms: tuple[Pattern, ...] = ()
    pregnancy_terms: tuple[Pattern, ...] = ()
    age_rules: tuple[AgeRule, ...] = ()
    school_year_offset: int = 4
    labels: dict[str, str] = field(default_factory=dict)
    cooccur: tuple[CoRule, ...] = ()
    scopes: CueSpec | None = None  # the pack's cue scopes (cues.yml): negation, denial ...


def load_lexicon(pack_dir: Path) -> tuple[Lexicon | None, list[PackProblem]]:
    """Load and check `<pack_dir>/lexicon.yml`; return (lexicon or None, every problem found)."""
    file = Path(pack_dir) / LEXICON_FILE
    try:
        data = load_yaml(file)
    except PackError as exc:
        return None, list(exc.problems)
    reader = _Reader(file)
    lexicon = reader.read(data)
    # negation, denial and clause breaks are read from the pack's one cue definition
    cues, cue_problems = load_cues(pack_dir)
    problems = reader.problems + cue_problems
    if lexicon is None or problems:
        return None, problems
    return replace(lexicon, scopes=cues), []


class _Reader:
    """Walks the parsed YAML, collecting problems instead of stopping at the first."""

    def __init__(self, file: Path):
        self.file = file
        self.problems: list[PackProblem] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(PackProblem(self.file, line or None, message))

    def read(self, data: Any) -> Lexicon | None:
        if not isinstance(data, dict):
            self.problem(1, "the lexicon must be a mapping with categories, cues, sets ...")
            return None
        known = {"version", "normalise", "sets", "categories", "cues", "ages", "cooccur"}
        for key in data:
            if key not in known:
                self.problem(_line_of(data, key), f"unknown key {key!r}")
        sets = self.read_sets(data.get("sets", {}), _line_of(data, "sets"))
        normalise = self.read_normalise(data.get("normalise", {}), _line_of(data, "normalise"))
        categories = self.read_categories(data.get("categories"), data, set(sets))
        cues = self.read_cues(data.get("cues", {}), _line_of(data, "cues"), set(sets))
        ages = data.get("ages", {})
        if not isinstance(ages, dict):
            self.problem(_line_of(data, "ages"), "ages must be a mapping")
            ages = {}
        category_ids = {c.id for c in categories}
        partner = self.read_pattern_list(ages.get("partner_terms", []), "partner_terms",
                                         _line_of(ages, "partner_terms"), set(sets), "concern")
        pregnancy = self.read_pattern_list(ages.get("pregnancy_terms", []), "pregnancy_terms",
                                           _line_of(ages, "pregnancy_terms"), set(sets),
                                           "concern")
        rules = self.read_age_rules(ages.get("rules", []), _line_of(ages, "rules"), category_ids)
        cooccur = self.read_cooccur(data.get("cooccur", []), _line_of(data, "cooccur"),
                                    set(sets), {c.id: c.urgency for c in categories})
        offset = ages.get("school_year_offset", 4)
        if not isinstance(offset, int) or not 0 <= offset <= 10:
            self.problem(_line_of(ages, "school_year_offset"),
                         "school_year_offset must be a whole number from 0 to 10")
            offset = 4
        return Lexicon(
            file=self.file,
            version=str(data.get("version", "")),
            categories=tuple(categories),
            sets=sets,
            normalise=normalise,
            cues=cues,
            partner_terms=tuple(partner),
            pregnancy_terms=tuple(pregnancy),
            age_rules=tuple(rules),
            school_year_offset=offset,
            labels={c.id: c.label for c in categories},
            cooccur=tuple(cooccur),
        )

    def read_cooccur(self, raw: Any, line: int, set_names: set[str],
                     categories: dict[str, str]) -> list[CoRule]:
        """Items: {category, urgency?, within?, sentences?, all: [element, ...]}; an element is
        one slot of the pattern language without gaps ("@harm_act", "kill|hurt", "@child|me")."""
        if not isinstance(raw, list):
            self.problem(line, "cooccur must be a list")
            return []
        rules = []
        for index, item in enumerate(raw):
            where = _item_line(raw, index, line)
            if not isinstance(item, dict):
                self.problem(where, "a cooccur rule must be a mapping (category, all, ...)")
                continue
            for key in item:
                if key not in ("category", "urgency", "within", "sentences", "all"):
                    self.problem(_line_of(item, key), f"unknown cooccur key {key!r}")
            category = item.get("category")
            if category not in categories:
                self.problem(where, f"cooccur category {category!r} is not a category id")
                continue
            urgency = item.get("urgency", categories[category])
            if urgency not in URGENCIES:
                self.problem(_line_of(item, "urgency"), "urgency must be immediate or concern")
                continue
            within = item.get("within", 6)
            if not isinstance(within, int) or not 1 <= within <= 20:
                self.problem(_line_of(item, "within"), "within must be 1 to 20 words")
                continue
            sentences = item.get("sentences", 1)
            if sentences not in (1, 2):
                self.problem(_line_of(item, "sentences"), "sentences must be 1 or 2")
                continue
            raw_elements = item.get("all")
            if not isinstance(raw_elements, list) or len(raw_elements) < 2:
                self.problem(where, "cooccur 'all' must list at least two elements")
                continue
            elements = []
            for text in raw_elements:
                slot, error = _parse_slot(str(text).strip(), set_names)
                if error or not isinstance(slot, Words | SetRef) or slot.optional:
                    self.problem(where, f"cooccur element {text!r}: "
                                        f"{error or 'must be words or a set'}")
                    break
                elements.append(slot)
            else:
                rules.append(CoRule(category, urgency, within, tuple(elements), where, sentences))
        return rules

    def read_sets(self, raw: Any, line: int) -> dict[str, tuple[str, ...]]:
        if not isinstance(raw, dict):
            self.problem(line, "sets must be a mapping of name -> list of words")
            return {}
        sets: dict[str, tuple[str, ...]] = {}
        for name, words in raw.items():
            where = _line_of(raw, name)
            if not _ID.match(str(name)):
                self.problem(where, f"set name {name!r} must be lowercase letters, digits, _ or -")
            if not isinstance(words, list) or not words:
                self.problem(where, f"set {name!r} must be a non-empty list")
                continue
            entries = []
            for index, word in enumerate(words):
                if not isinstance(word, str | int) or not str(word).strip():
                    self.problem(_item_line(words, index, where), f"set {name!r}: empty entry")
                    continue
                entries.append(str(word).strip())
            sets[str(name)] = tuple(entries)
        return sets

    def read_normalise(self, raw: Any, line: int) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.problem(line, "normalise must be a mapping of written form -> meant form")
            return {}
        table: dict[str, str] = {}
        for key, value in raw.items():
            if not isinstance(value, str | int) or not str(key).strip():
                self.problem(_line_of(raw, key), f"normalise {key!r}: the value must be text")
                continue
            table[str(key).strip().lower()] = str(value).strip().lower()
        return table

    def read_categories(self, raw: Any, parent: Any, set_names: set[str]) -> list[Category]:
        if not isinstance(raw, list) or not raw:
            self.problem(_line_of(parent, "categories"), "categories must be a non-empty list")
            return []
        categories: list[Category] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(raw):
            where = _item_line(raw, index, _line_of(parent, "categories"))
            if not isinstance(item, dict):
                self.problem(where, "a category must be a mapping (id, label, urgency, patterns)")
                continue
            category = self.read_category(item, where, set_names)
            if category is None:
                continue
            if category.id in seen:
                self.problem(where, f"duplicate category id {category.id!r} "
                                    f"(first at line {seen[category.id]})")
            seen[category.id] = where
            categories.append(category)
        return categories

    def read_category(self, item: dict, where: int, set_names: set[str]) -> Category | None:
        ok = True
        for key in ("id", "label", "urgency", "patterns"):
            if key not in item:
                self.problem(where, f"category is missing {key!r}")
                ok = False
        for key in item:
            if key not in ("id", "label", "urgency", "patterns", "innocent_causes"):
                self.problem(_line_of(item, key), f"unknown category key {key!r}")
        if not ok:
            return None
        cat_id = str(item["id"])
        if not _ID.match(cat_id):
            self.problem(_line_of(item, "id"), f"category id {cat_id!r} must be lowercase "
                                               "letters, digits, _ or -")
        urgency = item["urgency"]
        if urgency not in URGENCIES:
            self.problem(_line_of(item, "urgency"),
                         f"category {cat_id!r}: urgency must be immediate or concern")
            urgency = "immediate"
        patterns = self.read_pattern_list(item["patterns"], f"category {cat_id!r}",
                                          _line_of(item, "patterns"), set_names, urgency)
        if not patterns:
            self.problem(_line_of(item, "patterns"), f"category {cat_id!r} has no patterns")
        innocent = item.get("innocent_causes", True)
        if not isinstance(innocent, bool):
            self.problem(_line_of(item, "innocent_causes"),
                         f"category {cat_id!r}: innocent_causes must be true or false")
            innocent = True
        return Category(cat_id, str(item["label"]), urgency, tuple(patterns), innocent)

    def read_pattern_list(self, raw: Any, owner: str, line: int, set_names: set[str],
                          urgency: str) -> list[Pattern]:
        """Items are a pattern, a list of patterns, or {pattern: one or a list, urgency}."""
        if not isinstance(raw, list):
            self.problem(line, f"{owner}: patterns must be a list")
            return []
        patterns: list[Pattern] = []
        for index, item in enumerate(raw):
            where = _item_line(raw, index, line)
            item_urgency = urgency
            if isinstance(item, dict):
                for key in item:
                    if key not in ("pattern", "urgency"):
                        self.problem(_line_of(item, key), f"{owner}: unknown key {key!r}")
                item_urgency = item.get("urgency", urgency)
                if item_urgency not in URGENCIES:
                    self.problem(_line_of(item, "urgency"),
                                 f"{owner}: urgency must be immediate or concern")
                    item_urgency = "immediate"
                if "pattern" not in item:
                    self.problem(where, f"{owner}: an entry needs a 'pattern'")
                    continue
                item = item["pattern"]
            texts = item if isinstance(item, list) else [item]
            for sub, text in enumerate(texts):
                sub_line = _item_line(texts, sub, where) if isinstance(item, list) else where
                pattern = self.read_pattern(text, owner, sub_line, set_names, item_urgency)
                if pattern:
                    patterns.append(pattern)
        return patterns

    def read_pattern(self, text: Any, owner: str, line: int, set_names: set[str],
                     urgency: str) -> Pattern | None:
        if not isinstance(text, str | int):
            self.problem(line, f"{owner}: a pattern must be text")
            return None
        body = str(text).strip()
        anchored = body.startswith("^")
        slots, error = parse_pattern(body.lstrip("^"), set_names)
        if error:
            self.problem(line, f"{owner}: pattern {body!r}: {error}")
            return None
        return Pattern(body, slots, urgency, line, anchored)

    def read_cues(self, raw: Any, line: int,
                  set_names: set[str]) -> dict[str, tuple[Pattern, ...]]:
        if not isinstance(raw, dict):
            self.problem(line, "cues must be a mapping of cue kind -> list of patterns")
            return {}
        cues: dict[str, tuple[Pattern, ...]] = {}
        for kind, items in raw.items():
            if kind not in CUE_KINDS:
                self.problem(_line_of(raw, kind),
                             f"unknown cue kind {kind!r} (known: {', '.join(CUE_KINDS)})")
                continue
            cues[kind] = tuple(self.read_pattern_list(items, f"cue {kind!r}",
                                                      _line_of(raw, kind), set_names, "concern"))
        return cues

    def read_age_rules(self, raw: Any, line: int, category_ids: set[str]) -> list[AgeRule]:
        if not isinstance(raw, list):
            self.problem(line, "ages.rules must be a list")
            return []
        rules = []
        for index, item in enumerate(raw):
            where = _item_line(raw, index, line)
            if not isinstance(item, dict):
                self.problem(where, "an age rule must be a mapping")
                continue
            rule = self.read_age_rule(item, where, category_ids)
            if rule:
                rules.append(rule)
        return rules

    def read_age_rule(self, item: dict, where: int, category_ids: set[str]) -> AgeRule | None:
        allowed = {"id", "kind", "category", "urgency", "child_under", "partner_min_age",
                   "min_gap"}
        for key in item:
            if key not in allowed:
                self.problem(_line_of(item, key), f"unknown age rule key {key!r}")
        count = len(self.problems)
        kind = item.get("kind")
        if kind not in AGE_RULE_KINDS:
            self.problem(_line_of(item, "kind"), "age rule kind must be partner or pregnancy")
        if item.get("category") not in category_ids:
            self.problem(_line_of(item, "category"),
                         f"age rule category {item.get('category')!r} is not a category id")
        if item.get("urgency") not in URGENCIES:
            self.problem(_line_of(item, "urgency"), "age rule urgency must be immediate or concern")
        numbers = {}
        for key in ("child_under", "partner_min_age", "min_gap"):
            value = item.get(key)
            if value is not None and (not isinstance(value, int) or not 0 <= value <= 120):
                self.problem(_line_of(item, key), f"{key} must be a whole number of years")
                value = None
            numbers[key] = value
        if numbers["child_under"] is None:
            self.problem(where, "age rule needs child_under")
        if kind == "partner" and numbers["partner_min_age"] is None and numbers["min_gap"] is None:
            self.problem(where, "a partner rule needs partner_min_age or min_gap")
        if len(self.problems) > count:
            return None
        return AgeRule(str(item.get("id", f"rule-{where}")), kind, item["category"],
                       item["urgency"], numbers["child_under"], numbers["partner_min_age"],
                       numbers["min_gap"])


def _line_of(node: Any, key: str) -> int:
    if isinstance(node, LineDict):
        return node.line_of(key)
    return 0


def _item_line(node: Any, index: int, default: int) -> int:
    if isinstance(node, LineList):
        return node.line_of(index)
    return default
