"""Cue scopes in the NegEx / ConText style, read from a pack's cues.yml.

A cue (a negation, a denial, a word that places an event in the past) changes how the words
near it count. Each kind of cue has a direction (the words after it, before it, or both), a
window in tokens, and terminators that end its scope early: the end of the sentence, a clause
break (for kinds that stop there), the kind's own stop words, and cues of the kinds it is
ended by. A pseudo-trigger is a phrase that contains a cue word but is not a cue ("no
explanation for the bruise", "not sure"); a cue inside one is not in force.

The risk screen and the threshold check both call `CueScopes.scopes`, each over its own
tokens: the phrases are compiled once per pack and per engine, with the engine's own
tokeniser and lemma lookup, so "didn't" is read the way each engine splits it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from guidance.yamlfile import LineDict, LineList, PackError, PackProblem, load_yaml

CUES_FILE = "cues.yml"
FORWARD, BACKWARD, BOTH = "forward", "backward", "both"
CLAUSE_BREAK = "clause_break"  # the kind find() gives a clause break
_NO_KINDS: frozenset[str] = frozenset()
_KIND_FIELDS = {"direction", "window", "clause", "stop", "extend", "ended_by", "cues", "pseudo"}


@dataclass(frozen=True)
class CueKind:
    name: str
    direction: str  # FORWARD, BACKWARD or BOTH
    window: int | None  # tokens the scope reaches; None: to the end of the sentence
    clause: bool  # a clause break ends the scope
    stop: tuple[str, ...]  # words that end this kind's scope
    extend: tuple[str, ...]  # words that carry the scope on for another window
    ended_by: tuple[str, ...]  # kinds whose cues end this kind's scope
    cues: tuple[str, ...]  # phrases
    pseudo: tuple[str, ...]  # phrases that look like a cue of this kind but are not


@dataclass(frozen=True)
class CueSpec:
    """A pack's cues.yml, as written (compile it with CueScopes for one engine)."""

    file: Path
    clause_breaks: tuple[str, ...]
    kinds: dict[str, CueKind]


class Cue(NamedTuple):  # a tuple: made for every cue word and comma, so cheap to build
    kind: str
    start: int  # token indices, end exclusive
    end: int
    in_force: bool = True  # False: overlaps a pseudo-trigger of its kind


# -- loading ----------------------------------------------------------------------------


def load_cues(pack_dir: Path) -> tuple[CueSpec | None, list[PackProblem]]:
    """Read and check cues.yml; return (spec or None, every problem with file and line).

    A folder without cues.yml gives (None, []): the engines then govern nothing by cues (a
    lexicon or levels file checked on its own); a whole pack must have one (pack.py)."""
    file = Path(pack_dir) / CUES_FILE
    if not file.exists():
        return None, []
    try:
        data = load_yaml(file)
    except PackError as exc:
        return None, list(exc.problems)
    problems: list[PackProblem] = []

    def problem(line: int | None, message: str) -> None:
        problems.append(PackProblem(file, line, message))

    if not isinstance(data, LineDict):
        problem(1, "cues.yml must be a mapping with 'clause_breaks' and 'kinds'")
        return None, problems
    for key in data:
        if key not in {"clause_breaks", "kinds"}:
            problem(data.line_of(key), f"unknown field '{key}'")
    breaks = _phrases(data, "clause_breaks", problem, required=True)
    raw_kinds = data.get("kinds")
    kinds: dict[str, CueKind] = {}
    if not isinstance(raw_kinds, LineDict) or not raw_kinds:
        problem(data.line_of("kinds"), "'kinds' must be a mapping of cue kind -> its scope")
        raw_kinds = LineDict()
    for name, raw in raw_kinds.items():
        kind = _kind(str(name), raw, raw_kinds.line_of(name), problem)
        if kind is not None:
            kinds[kind.name] = kind
    for kind in kinds.values():
        for other in kind.ended_by:
            if other not in kinds:
                problem(raw_kinds[kind.name].line_of("ended_by"),
                        f"'{kind.name}.ended_by' names unknown cue kind '{other}'")
    if problems:
        return None, problems
    return CueSpec(file, breaks, kinds), []


def _kind(name: str, raw: object, line: int, problem: Callable) -> CueKind | None:
    if not isinstance(raw, LineDict):
        problem(line, f"cue kind '{name}' must be a mapping (direction, window, cues, ...)")
        return None
    for key in raw:
        if key not in _KIND_FIELDS:
            problem(raw.line_of(key), f"unknown field '{name}.{key}'")
    direction = raw.get("direction")
    if direction not in (FORWARD, BACKWARD, BOTH):
        problem(raw.line_of("direction"),
                f"'{name}.direction' must be forward, backward or both")
    window = raw.get("window")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int)
                               or window < 1):
        problem(raw.line_of("window"), f"'{name}.window' must be a whole number of tokens "
                                       "(1 or more), or left out for the whole sentence")
    clause = raw.get("clause", True)
    if not isinstance(clause, bool):
        problem(raw.line_of("clause"), f"'{name}.clause' must be true or false")
    ended_by = raw.get("ended_by", [])
    if not isinstance(ended_by, list) or not all(isinstance(k, str) for k in ended_by):
        problem(raw.line_of("ended_by"), f"'{name}.ended_by' must be a list of cue kinds")
        ended_by = []
    return CueKind(
        name=name, direction=str(direction), window=window, clause=bool(clause),
        stop=_phrases(raw, "stop", problem), extend=_phrases(raw, "extend", problem),
        ended_by=tuple(ended_by), cues=_phrases(raw, "cues", problem, required=True),
        pseudo=_phrases(raw, "pseudo", problem))


def _phrases(raw: LineDict, key: str, problem: Callable, required: bool = False
             ) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, LineList) or (required and not value):
        problem(raw.line_of(key), f"'{key}' must be a non-empty list of phrases")
        return ()
    found = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            problem(value.line_of(index), f"'{key}' items must be non-empty text")
            continue
        if any(not alt.strip("=?_") for word in item.split() for alt in word.split("|")):
            problem(value.line_of(index), f"'{key}': bad phrase '{item}' (an empty word)")
            continue
        found.append(" ".join(item.split()))
    return tuple(found)


# -- compiling and finding ----------------------------------------------------------------

# one compiled phrase: for each position, (forms to match the written word, forms to match
# the lemma, optional)
_Position = tuple[frozenset[str], frozenset[str], bool]
_Phrase = tuple[_Position, ...]


class CueScopes:
    """A pack's cues compiled for one engine's tokeniser and lemma lookup."""

    def __init__(self, spec: CueSpec, tokenize: Callable[[str], list[str]],
                 lemma: Callable[[str], str]):
        self.spec = spec
        self._tokenize = tokenize
        self._lemma = lemma
        # (kind, pseudo?) per phrase, indexed by the lemmas and words a phrase can start with
        self._by_first: dict[str, list[tuple[str, bool, _Phrase]]] = {}
        self._add(CLAUSE_BREAK, False, spec.clause_breaks)
        for kind in spec.kinds.values():
            self._add(kind.name, False, kind.cues)
            self._add(kind.name, True, kind.pseudo)
        self._firsts = frozenset(self._by_first)
        # the words that can start a cue with a scope (not a clause break alone)
        self._cue_firsts = frozenset(
            w for w, entries in self._by_first.items()
            if any(kind != CLAUSE_BREAK for kind, _, _ in entries))
        self._stops = {k.name: frozenset(self._words(k.stop)) for k in spec.kinds.values()}
        self._extends = {k.name: frozenset(self._words(k.extend)) for k in spec.kinds.values()}

    def _words(self, phrases: tuple[str, ...]) -> list[str]:
        return [w for p in phrases for w in self._tokenize(p)]

    def _add(self, kind: str, pseudo: bool, phrases: tuple[str, ...]) -> None:
        for source in phrases:
            for phrase in self._compile(source):
                exact, lemmas, _ = phrase[0]
                for first in exact | lemmas:
                    self._by_first.setdefault(first, []).append((kind, pseudo, phrase))

    def _compile(self, source: str) -> list[_Phrase]:
        """The phrase's token sequences: one per multi-word alternative ("no_one", "can't"
        may be several tokens) and per leaving out an optional word."""
        variants: list[list[_Position]] = [[]]
        for word in source.split():
            optional = word.endswith("?") and len(word) > 1
            word = word[:-1] if optional else word
            single_exact, single_lemmas = set(), set()
            branches: list[list[_Position]] = []
            for alt in word.split("|"):
                as_written = alt.startswith("=")
                tokens = self._tokenize(alt.lstrip("=").replace("_", " "))
                positions = [(frozenset({t}),
                              frozenset() if as_written else frozenset({self._lemma(t)}), False)
                             for t in tokens]
                if len(positions) == 1:
                    single_exact |= positions[0][0]
                    single_lemmas |= positions[0][1]
                elif positions:
                    branches.append(positions)
            if single_exact:
                branches.append([(frozenset(single_exact), frozenset(single_lemmas), False)])
            if optional:
                branches.append([])
            variants = [v + b for v in variants for b in branches]
        return [tuple(v) for v in variants if v]

    def find(self, lowers: Sequence[str], lemmas: Sequence[str]) -> list[Cue]:
        """Every cue and clause break in a text's tokens (lower-case forms and lemmas), with
        the cues that overlap a pseudo-trigger of their kind marked not in force."""
        by_first = self._by_first
        # only the positions whose word or lemma can start a phrase (a set test per token)
        present = self._firsts.intersection(lowers) | self._firsts.intersection(lemmas)
        if not present:
            return []
        found: list[Cue] = []
        pseudo: list[Cue] = []
        n = len(lowers)
        for i in [i for i, word in enumerate(lowers) if word in present or lemmas[i] in present]:
            lower, lemma = lowers[i], lemmas[i]
            candidates = by_first.get(lower, ())
            if lemma != lower and lemma in by_first:
                candidates = [*candidates, *by_first[lemma]]
            for kind, is_pseudo, phrase in candidates:
                end = _match(phrase, i, lowers, lemmas, n)
                if end is not None:
                    (pseudo if is_pseudo else found).append(Cue(kind, i, end))
        if pseudo:
            found = [Cue(c.kind, c.start, c.end, False)
                     if any(p.kind == c.kind and p.start < c.end and c.start < p.end
                            for p in pseudo)
                     else c for c in found]
        return list(dict.fromkeys(found))

    def scopes_of(self, lowers: Sequence[str], lemmas: Sequence[str],
                  sentence_ends: Sequence[bool] | None = None) -> list[AbstractSet[str]]:
        """find() then scopes(): the kinds of cue in force at each token of a text."""
        if self._cue_firsts.isdisjoint(lowers) and self._cue_firsts.isdisjoint(lemmas):
            return [_NO_KINDS] * len(lowers)  # no cue word at all (most texts): skip the rest
        return self.scopes(lowers, self.find(lowers, lemmas), sentence_ends)

    def scopes(self, lowers: Sequence[str], cues: Sequence[Cue],
               sentence_ends: Sequence[bool] | None = None) -> list[AbstractSet[str]]:
        """The kinds of cue in force at each token.

        `cues` are those found by find() (a caller may leave some out: the risk screen drops
        a negation inside a risk match); `sentence_ends[i]` says token i ends a sentence
        (default: a run of . ! ?)."""
        n = len(lowers)
        # one shared empty set for the tokens no cue reaches (most of them); a set of their
        # own only for the tokens a cue governs
        scope: list[AbstractSet[str]] = [_NO_KINDS] * n
        kinds = self.spec.kinds
        scoped = [c for c in cues if c.in_force and c.kind in kinds]
        if not scoped:
            return scope
        ends = sentence_ends if sentence_ends is not None else _SentenceEnds(lowers)
        breaks = {c.start for c in cues if c.kind == CLAUSE_BREAK}
        starts: dict[int, set[str]] = {}
        for c in scoped:
            starts.setdefault(c.start, set()).add(c.kind)
        for cue in scoped:
            kind = kinds[cue.kind]
            # an extend word ("or") carries the scope on even where it would stop it
            stops = self._stops[kind.name] - self._extends[kind.name]
            ended_by = frozenset(kind.ended_by)

            def terminal(i: int, kind: CueKind = kind, stops: frozenset[str] = stops,
                         ended_by: frozenset[str] = ended_by) -> bool:
                return ((kind.clause and i in breaks) or lowers[i] in stops
                        or bool(ended_by and ended_by & starts.get(i, _NO_KINDS)))

            for i in _reach(kind, cue, terminal, ends, lowers, self._extends[kind.name]):
                scope[i] = scope[i] | {kind.name}
        return scope


class _SentenceEnds:
    """Whether token i ends a sentence (a run of . ! ?), worked out only where asked."""

    def __init__(self, lowers: Sequence[str]):
        self.lowers = lowers

    def __getitem__(self, i: int) -> bool:
        return _ends_sentence(self.lowers[i])


def _reach(kind: CueKind, cue: Cue, terminal: Callable[[int], bool], ends: Sequence[bool],
           lowers: Sequence[str], extends: frozenset[str]) -> list[int]:
    """The tokens one cue governs: up to its window, stopping before a terminator; a sentence
    end is the last token reached."""
    n = len(lowers)
    reached = []
    if kind.direction in (FORWARD, BOTH):
        limit = n if kind.window is None else min(n, cue.end + kind.window)
        i = cue.end
        while i < limit and not terminal(i):
            reached.append(i)
            if ends[i]:
                break
            if kind.window is not None and lowers[i] in extends:
                limit = min(n, i + 1 + kind.window)
            i += 1
    if kind.direction in (BACKWARD, BOTH):
        limit = -1 if kind.window is None else max(-1, cue.start - 1 - kind.window)
        i = cue.start - 1
        while i > limit and not ends[i] and not terminal(i):
            reached.append(i)
            i -= 1
    return reached


def _match(phrase: _Phrase, i: int, lowers: Sequence[str], lemmas: Sequence[str],
           n: int) -> int | None:
    """The end of `phrase` matched from token i, or None."""
    for exact, lems, _ in phrase:
        if i >= n or not (lowers[i] in exact or lemmas[i] in lems):
            return None
        i += 1
    return i


def _ends_sentence(token: str) -> bool:
    return bool(token) and not token.strip(".!?")
