"""Suggest a level of need from a described situation: guidance, not a decision.

How a level is reached (the rules are the safety rules of the design):
- every indicator whose pattern matches (and is not negated: "no evidence of exploitation")
  counts at its level; a "past" cue or a resolved situation can lower an indicator that allows
  it, a single episode ("once", "first time") in the same sentence lowers an indicator marked
  "once", and mitigating context ("family supportive") lowers an indicator marked "mitigated"
  and a sign that the child is doing well in spite of it ("separated amicably, doing fine")
  lowers an indicator marked "doing_well" (a level-4 indicator is never lowered by any of
  these);
- the highest level among the matches wins (between two levels, the higher);
- several level-2 needs across the domains with nothing mitigating are level 3 (multiple
  unmet needs);
- an immediate result from the risk screen is level 4, whatever else was found;
- when nothing places the description (no indicator, not even a level-1 sign that needs are
  met, and no concern or immediate risk from the screen), no level is suggested: the result
  is "unplaced", with the pack's clarifying questions and the consultation route. Level 1 is
  never a default.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from spacy.language import Language

from guidance.ages import spell_years_old
from guidance.cues import CueScopes
from guidance.levels import Context, Indicator, Levels, Pattern, TokenSpec
from guidance.nlp import normalise
from guidance.sections import SourceRef

MASH_DECIDES = (
    "This is guidance, not a decision: the Integrated Front Door and MASH decide the level "
    "and the response."
)
# A tidy list of level-2 needs this long, or spanning all three domains, is "several unmet needs".
MULTIPLE_NEEDS_COUNT = 4
MAX_SOURCES = 6
_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_CLAUSE_BREAK = frozenset({".", ",", ";", ":", "!", "?", "but", "however", "although", "though"})
_SENTENCE_BREAK = frozenset({".", ";", "!", "?"})
_FREQUENCY_AFTER = frozenset({"a", "an", "per", "every", "each", "or", "again", "more", "weekly",
                              "daily"})
_FREQUENCY_BEFORE = frozenset({"than", "at", "least"})
_WORDS = re.compile(r"\w+|[^\w\s]")
_LEMMA_CACHE_LIMIT = 50_000  # words; bounds memory on arbitrary input
_MITIGATING = "context:mitigating"
_DOING_WELL = "context:doing_well"
_RESOLVED = "context:resolved"
_SINGLE = "context:single"
_NEGATION, _HISTORIC = "negation", "historic"  # cue kinds (cues.yml)


class _RiskScreen(Protocol):
    def screen(self, text: str) -> Any: ...


PLACED = "placed"
UNPLACED = "unplaced"


@dataclass(frozen=True)
class Assessment:
    level: int | None  # None when unplaced
    reasons: list[str]
    next_steps: list[str]
    sources: list[SourceRef]
    indicators: list[str] = field(default_factory=list, compare=False)  # matched ids, for tests
    status: str = PLACED  # PLACED or UNPLACED
    questions: list[str] = field(default_factory=list)  # what would place it, when unplaced
    # which layer decided the level: "rules", "model" (guidance/combine.py) or both
    by: tuple[str, ...] = ("rules",)

    @property
    def placed(self) -> bool:
        return self.status == PLACED

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "status": self.status,
            "reasons": list(self.reasons),
            "next_steps": list(self.next_steps),
            "sources": [{"id": s.id, "title": s.title} for s in self.sources],
            "questions": list(self.questions),
            "by": list(self.by),
        }


def prepare(text: str) -> str:
    """Normalise text the way patterns are written: lowercase, no apostrophes, split hyphens."""
    text = normalise(text).replace("'", "").replace('"', " ")
    text = _HYPHEN.sub(" ", text)
    return spell_years_old(text)


@dataclass(frozen=True)
class _Hit:
    indicator: Indicator
    level: int
    note: str  # why it counts below its own level, if it does


class Assessor:
    """Matches a pack's level indicators against a description and explains the level."""

    def __init__(self, levels: Levels, risk_screen: _RiskScreen | None, nlp: Language,
                 sections: Any = None):
        self.levels = levels
        self.risk_screen = risk_screen
        self.nlp = nlp
        # The pipeline's own lookup table, used directly: a regex split and a dict lookup are
        # several times faster than running the pipeline, and patterns and text are lemmatised
        # by the same function so they always agree.
        self._table = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
        self.context: Context = levels.context
        self._by_id = {ind.id: ind for ind in levels.indicators}
        self._lemmas: dict[str, str] = {}
        self._index = _PatternIndex()
        for ind in levels.indicators:
            for pattern in ind.patterns:
                self._index.add(ind.id, self._compile(pattern))
        for key, patterns in ((_MITIGATING, self.context.mitigating),
                              (_DOING_WELL, self.context.doing_well),
                              (_RESOLVED, self.context.resolved),
                              (_SINGLE, self.context.single)):
            for pattern in patterns:
                self._index.add(key, self._compile(pattern))
        self._sections = sections
        cues = levels.cues
        self._cues = CueScopes(cues, lambda text: _WORDS.findall(prepare(text)), self._lemma) \
            if cues is not None else None

    # -- compiling patterns -------------------------------------------------------------

    def _lemma(self, word: str) -> str:
        lemma = self._lemmas.get(word)
        if lemma is None:
            lemma = self._table.get(word, word)
            if len(self._lemmas) < _LEMMA_CACHE_LIMIT:
                self._lemmas[word] = lemma
        return lemma

    def _tokens(self, text: str) -> _Tokens:
        lowers = _WORDS.findall(prepare(text))
        return _Tokens(lowers, [self._lemma(w) for w in lowers])

    def _compile(self, pattern: Pattern) -> tuple[_Step, ...]:
        steps = []
        for token in pattern.tokens:
            lemmas = frozenset(self._lemma(w) for w in token.words)
            if token.prefixes:
                lemmas = frozenset()  # a word beside a prefix is matched as written
            steps.append(_Step(token, lemmas, frozenset(token.words), tuple(token.prefixes)))
        return tuple(steps)

    # -- assessing ----------------------------------------------------------------------

    def assess(self, text: str) -> Assessment:
        risk = self.risk_screen.screen(text) if self.risk_screen is not None else None
        return self._assess_tokens(self._tokens(text), risk)

    def assess_many(self, texts: list[str]) -> list[Assessment]:
        risks: list[Any]
        if self.risk_screen is None:
            risks = [None] * len(texts)
        elif hasattr(self.risk_screen, "screen_many"):
            risks = list(self.risk_screen.screen_many(texts))
        else:
            risks = [self.risk_screen.screen(t) for t in texts]
        return [
            self._assess_tokens(self._tokens(text), risk)
            for text, risk in zip(texts, risks, strict=True)
        ]

    def assess_given(self, texts: list[str], risks: list[Any]) -> list[Assessment]:
        """Assess each text with a risk result already found for it (the engine's combined
        screen), so the screen is not run twice."""
        return [self._assess_tokens(self._tokens(text), risk)
                for text, risk in zip(texts, risks, strict=True)]

    def at_level(self, assessment: Assessment, level: int, reason: str,
                 by: tuple[str, ...]) -> Assessment:
        """`assessment` moved to `level` (the model's raise): `reason` first, the level's
        own description, next steps and sources."""
        chosen = self.levels[level]
        kept = [r for r in assessment.reasons if not r.startswith("Suggested level ")]
        reasons = [reason, *kept, f"Suggested level {level}: {chosen.name}. {chosen.description}"]
        ids = list(dict.fromkeys(chosen.sections))[:MAX_SOURCES]
        return replace(
            assessment, level=level, status=PLACED, questions=[], reasons=reasons,
            next_steps=[*chosen.next_steps, MASH_DECIDES],
            sources=[SourceRef(sid, _title_of(self._sections, sid)) for sid in ids], by=by)

    def _assess_tokens(self, doc: _Tokens, risk: Any) -> Assessment:
        hits, mitigating = self._hits(doc)
        level = max((h.level for h in hits), default=0)  # 0: nothing places it (yet)
        reasons = [self._reason(h) for h in sorted(hits, key=lambda h: (-h.level, h.indicator.id))]

        needs = {h.indicator.id: h.indicator.domain for h in hits if h.level == 2}
        if level == 2 and not mitigating and (
            len(needs) >= MULTIPLE_NEEDS_COUNT or len(set(needs.values())) == 3
        ):
            level = 3
            reasons.insert(0, "Several needs across different areas of the child's life, with "
                              "nothing to show they are being met: together they suggest level 3.")

        counted = {h.indicator.id: h.level for h in hits}
        for combo in self.levels.combinations:
            if combo.level <= level:
                continue
            named = {i for group in combo.all for i in group}
            if not all(any(i in counted for i in group) for group in combo.all):
                continue
            others = [i for i, lv in counted.items()
                      if lv >= 3 and i not in named and i not in combo.ignore]
            if len(others) >= combo.others:
                level = combo.level
                reasons.insert(0, combo.text)

        urgency = getattr(risk, "urgency", "none") if risk is not None else "none"
        if urgency == "immediate":
            categories = ", ".join(getattr(risk, "categories", []) or []) or "immediate risk"
            reasons.insert(0, f"The risk screen found signs that a child may be at risk of "
                              f"significant harm now ({categories}).")
            level = 4
        elif urgency == "concern" and level <= 1 and not mitigating:
            # The screen is tuned for recall, so a concern only lifts a description in which
            # no indicator of need was found and nothing mitigates; level-1 strengths alone
            # ("no concerns from school") do not outweigh a worrying sign.
            categories = ", ".join(getattr(risk, "categories", []) or []) or "a concern"
            reasons.insert(0, f"The risk screen found worrying signs ({categories}) that need "
                              "a closer look.")
            level = 2

        if level == 0:
            return self._unplaced()
        chosen = self.levels[level]
        next_steps = [*chosen.next_steps, MASH_DECIDES]
        reasons.append(f"Suggested level {level}: {chosen.name}. {chosen.description}")
        return Assessment(
            level=level,
            reasons=reasons,
            next_steps=next_steps,
            sources=self._sources(level, hits),
            indicators=sorted(h.indicator.id for h in hits),
        )

    def _unplaced(self) -> Assessment:
        unplaced = self.context.unplaced
        return Assessment(
            level=None,
            status=UNPLACED,
            reasons=[unplaced.reason],
            next_steps=[*unplaced.next_steps, MASH_DECIDES],
            sources=[SourceRef(sid, _title_of(self._sections, sid)) for sid in unplaced.sections],
            questions=list(unplaced.questions),
        )

    def _sources(self, level: int, hits: list[_Hit]) -> list[SourceRef]:
        """The sections about what decided the level first, then the level's own sections."""
        ids: list[str] = []
        for hit in sorted(hits, key=lambda h: h.indicator.id):
            if hit.level == level:
                ids.extend(hit.indicator.sections)
        ids.extend(self.levels[level].sections)
        unique = list(dict.fromkeys(ids))[:MAX_SOURCES]
        return [SourceRef(sid, _title_of(self._sections, sid)) for sid in unique]

    def _scopes(self, doc: _Tokens) -> list[AbstractSet[str]]:
        """The cue kinds in force at each token (cues.py: negation, historic ...)."""
        if self._cues is None:
            return [frozenset()] * len(doc.lowers)
        return self._cues.scopes_of(doc.lowers, doc.lemmas)

    def _hits(self, doc: _Tokens) -> tuple[list[_Hit], bool]:
        spans = self._index.find(doc)
        scope = self._scopes(doc) if spans else []  # nothing found: no cue to weigh

        def negated(start: int) -> bool:
            return _NEGATION in scope[start]

        # Context cues count only when not negated ("not engaging" does not mitigate).
        doing_well = any(not negated(i) for i in spans.get(_DOING_WELL, []))
        mitigating = doing_well or any(not negated(i) for i in spans.get(_MITIGATING, []))
        resolved = any(not negated(i) for i in spans.get(_RESOLVED, []))
        singles = {_sentence_of(doc, i) for i in spans.get(_SINGLE, [])
                   if not negated(i) and not _frequency(doc, i)}
        hits = []
        for key, found in spans.items():
            indicator = self._by_id.get(key)
            if indicator is None:
                continue
            live = [start for start in found if not negated(start)]
            if not live:
                continue
            level, note = indicator.level, ""
            if indicator.past and (resolved or all(_HISTORIC in scope[start] for start in live)):
                level, note = indicator.past, "described as in the past"
            if (indicator.once and indicator.once < level and singles
                    and all(_sentence_of(doc, start) in singles for start in live)):
                level, note = indicator.once, "described as a single episode"
            if indicator.mitigated and mitigating and indicator.mitigated < level:
                level, note = indicator.mitigated, "with support noted in the description"
            if indicator.doing_well and doing_well and indicator.doing_well < level:
                level, note = indicator.doing_well, "with the child described as doing well"
            hits.append(_Hit(indicator, level, note))
        return hits, mitigating

    @staticmethod
    def _reason(hit: _Hit) -> str:
        ind = hit.indicator
        label = ind.domain_label[0].upper() + ind.domain_label[1:]
        if ind.level == 1:
            return f"{label}: {ind.text} (a strength; level 1)."
        if hit.level == ind.level:
            return f"{label}: {ind.text} (a level {ind.level} indicator)."
        return (f"{label}: {ind.text} (a level {ind.level} indicator, counted at level "
                f"{hit.level}, {hit.note}).")


def _frequency(doc: _Tokens, index: int) -> bool:
    """Whether a single-episode cue is really a frequency: "once a week", "more than once"."""
    after = doc.lowers[index + 1] if index + 1 < len(doc.lowers) else ""
    before = doc.lowers[index - 1] if index else ""
    return after in _FREQUENCY_AFTER or before in _FREQUENCY_BEFORE


def _sentence_of(doc: _Tokens, index: int) -> int:
    """Which sentence of the description a token is in (counted from 0)."""
    return sum(1 for word in doc.lowers[:index] if word in _SENTENCE_BREAK)


def _title_of(sections: Any, section_id: str) -> str:
    """A section's title from the loaded sections; falls back to a readable form of its id."""
    if sections is not None:
        getter = getattr(sections, "get", None)
        section = getter(section_id) if callable(getter) else None
        title = getattr(section, "title", None)
        if title:
            return str(title)
    return section_id.replace("-", " ").capitalize()


@dataclass(frozen=True)
class _Tokens:
    lowers: list[str]  # the prepared text's words and punctuation marks
    lemmas: list[str]


@dataclass(frozen=True)
class _Step:
    """One compiled pattern position."""

    token: TokenSpec
    lemmas: frozenset[str]  # match by lemma (plain words)
    words: frozenset[str]  # match as written (words beside prefixes)
    prefixes: tuple[str, ...]

    def test(self, lower: str, lemma: str) -> bool:
        token = self.token
        if token.number_range:
            low, high = token.number_range
            return lower.isdigit() and low <= int(lower) <= high
        if self.prefixes:
            return lower in self.words or lower.startswith(self.prefixes)
        return lemma in self.lemmas


class _PatternIndex:
    """Finds where compiled patterns match in a tokenised text.

    Patterns are indexed by what their first position can match (a lemma, the first three
    letters of a prefix, or "a number"), so each token only tries the few patterns that could
    start there; the rest of a pattern is checked by a small backtracking walk. This is several
    times faster than spaCy's Matcher on patterns with optional gaps.
    """

    def __init__(self) -> None:
        # entries: (key, steps, needed lemmas or None, whether the first step needs testing)
        self._by_lemma: dict[str, list[_Entry]] = {}
        self._by_letters: dict[str, list[_Entry]] = {}
        self._numbers: list[_Entry] = []

    def add(self, key: str, steps: tuple[_Step, ...]) -> None:
        first = steps[0]
        if first.token.optional:
            # Index both readings: with the optional first word and without it.
            self.add(key, (_Step(TokenSpec(**{**first.token.__dict__, "optional": False}),
                                 first.lemmas, first.words, first.prefixes), *steps[1:]))
            self.add(key, steps[1:])
            return
        # A later word the pattern cannot match without (the rarest such set): a text without
        # any of its lemmas is skipped before walking.
        required = [s.lemmas for s in steps[1:]
                    if s.lemmas and not s.prefixes and not s.token.optional]
        need = min(required, key=len) if required else None
        if first.token.number_range:
            self._numbers.append((key, steps, need, True))
        elif first.prefixes:
            for letters in {p[:3] for p in first.prefixes} | {w[:3] for w in first.words}:
                self._by_letters.setdefault(letters, []).append((key, steps, need, True))
        else:
            for lemma in first.lemmas:
                # found by its lemma, so the first step is already known to match
                self._by_lemma.setdefault(lemma, []).append((key, steps, need, False))

    def find(self, doc: _Tokens) -> dict[str, list[int]]:
        """key -> the token positions where one of its patterns starts a match."""
        lowers, lemmas = doc.lowers, doc.lemmas
        present = frozenset(lemmas)
        found: dict[str, list[int]] = {}
        by_lemma, by_letters, empty = self._by_lemma, self._by_letters, ()
        for i, (lower, lemma) in enumerate(zip(lowers, lemmas, strict=True)):
            candidates = [*by_lemma.get(lemma, empty), *by_letters.get(lower[:3], empty)]
            if lower.isdigit():
                candidates.extend(self._numbers)
            for key, steps, need, test_first in candidates:
                if need is not None and need.isdisjoint(present):
                    continue
                if test_first and not steps[0].test(lower, lemma):
                    continue
                if _walk(steps, 1, i + 1, lowers, lemmas):
                    starts = found.setdefault(key, [])
                    if not starts or starts[-1] != i:
                        starts.append(i)
        return found


_Entry = tuple[str, tuple[_Step, ...], "frozenset[str] | None", bool]


def _walk(steps: tuple[_Step, ...], s: int, i: int, lowers: list[str], lemmas: list[str]) -> bool:
    """Whether steps[s:] match the tokens from position i on."""
    if s == len(steps):
        return True
    step = steps[s]
    n = len(lowers)
    if step.token.gap:
        for k in range(step.token.gap + 1):
            if _walk(steps, s + 1, i + k, lowers, lemmas):
                return True
            if i + k >= n or lowers[i + k] in _CLAUSE_BREAK:
                return False
        return False
    if step.token.optional and _walk(steps, s + 1, i, lowers, lemmas):
        return True
    return i < n and step.test(lowers[i], lemmas[i]) and _walk(steps, s + 1, i + 1, lowers, lemmas)
