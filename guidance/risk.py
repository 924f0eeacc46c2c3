"""The risk screen: does a practitioner's message mean a child may be in danger now?

How a message is screened:
1. Fold it (accents, look-alike letters, smart quotes, zero-width characters, repeated letters,
   hyphens between words, text-speak from the lexicon), keeping a map back to the original
   characters so every reported offset points into the text the caller passed.
2. Tokenise and lemmatise with the shared spaCy pipeline; two PhraseMatchers (by lemma and by
   exact lowercase form) find every word and phrase the lexicon uses. Patterns with gaps and
   optional words are then assembled from those hits in plain Python, indexed by first word.
3. Category patterns give risk matches; cue patterns (negation, resolved, question,
   hypothetical, conditional, disclosure ...) decide whether a match stands. A cue may lower a
   match only when it governs it (same clause or zone) and nothing independent shows a real
   child or event. When unsure, the higher urgency wins.
4. Ages and relationships ("14yo", "a 24-year-old 'boyfriend'", "Year 7 ... pregnant") are read
   by guidance/ages.py and judged by the lexicon's age rules.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from spacy.language import Language
from spacy.matcher import PhraseMatcher

from guidance.ages import (
    AGE_GLUED,
    INFANT_SHORT,
    find_ages,
    infant_age,
    is_number,
    partner_age,
    unglue_age,
)
from guidance.cues import CLAUSE_BREAK, Cue, CueScopes
from guidance.gc_pause import without_gc
from guidance.lexicon import Gap, Lexicon, NotSet, Num, Pattern, SetRef, Slot, Words

NONE, CONCERN, IMMEDIATE = 0, 1, 2
_LEVELS = {"none": NONE, "concern": CONCERN, "immediate": IMMEDIATE}
_NAMES = {NONE: "none", CONCERN: "concern", IMMEDIATE: "immediate"}
CHUNK_CHARS = 20_000  # spaCy refuses texts over 1,000,000 characters; keep docs small
_AGE_TERMS = frozenset({"partner", "pregnancy"})  # hits the age rules judge
_JUDGED = _AGE_TERMS | {"category"}
_SELF_HARM = "suicide_self_harm"  # the category whose matches self_inflicted cues defer to
# cue kinds with scopes (cues.yml)
_NEGATION, _DENIAL, _PAST_TIME = "negation", "denial", "past_time"

# Look-alike letters from other scripts that people (or filters) substitute for Latin ones.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
        "α": "a", "ε": "e", "ι": "i", "κ": "k", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
        "ν": "v", "χ": "x",
        "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
        "\u201c": '"', "\u201d": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2212": "-", "\u2026": "...",
    }
)
_ASCII_CONTROL = str.maketrans({chr(c): " " for c in range(32) if chr(c) not in "\n"})
_HAS_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_WORDISH = re.compile(r"[\w']+")
_DIGIT = re.compile(r"\d")
_TAG = re.compile(r"</?[a-z][^<>]{0,200}>")
_HYPHEN = re.compile(r"(?<=[a-z0-9])-(?=[a-z0-9])")
_SPACE_RUN = re.compile(r"\s{2,}|[^\S ]")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_QUANTITY = frozenset({"a", "little", "tiny", "wee", "quite", "the", "every", "one"})
_FAMILY_POSSESSIVE = re.compile(
    r"(?:mum|mother|mom|dad|father|nan|gran|grandma|parent|carer|aunt|auntie|uncle|sister|"
    r"brother)'s\s(?:new\s|older\s)?$"
)


@dataclass(frozen=True)
class RiskMatch:
    text: str
    category: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "category": self.category, "start": self.start,
                "end": self.end}


@dataclass(frozen=True)
class RiskResult:
    urgency: str
    categories: list[str]
    matches: list[RiskMatch]
    # which layer decided the urgency: "rules" (this screen), "model" (guidance/combine.py)
    by: tuple[str, ...] = ("rules",)
    reasons: tuple[str, ...] = ()  # plain words, when the model raised the urgency

    def to_dict(self) -> dict[str, Any]:
        return {
            "urgency": self.urgency,
            "categories": list(self.categories),
            "matches": [m.to_dict() for m in self.matches],
            "by": list(self.by),
            "reasons": list(self.reasons),
        }


# --- folding text, with a map back to the original ---------------------------------------


class _Folder:
    """Lowercases and folds text; `offsets[i]` is the original index of folded character i."""

    def __init__(self, table: dict[str, str]):
        self.table = table
        self.char_cache: dict[str, str] = {}
        keys = sorted(table, key=len, reverse=True)
        self.speak_words = frozenset(k.split()[0] for k in keys)
        self.speak = (
            # whole words: not inside a word or a contraction ("mum's", "n't"), but a quote
            # mark around a word does not stop it ("'online bf'")
            re.compile(r"(?<!\w)(?<!\w')(?:" + "|".join(re.escape(k) for k in keys)
                       + r")(?!\w|'\w)")
            if keys else None
        )

    def fold(self, text: str) -> tuple[str, list[int] | None]:
        if text.isascii():
            folded, offsets = text.lower(), None
            if _HAS_CONTROL.search(folded):  # translate walks every character: only if needed
                folded = folded.translate(_ASCII_CONTROL)
        else:
            folded, offsets = self._fold_unicode(text)
        if "<" in folded:  # markup: blank the tags, keeping every offset
            folded = _TAG.sub(lambda m: " " * len(m.group()), folded)
        folded = _HYPHEN.sub(" ", folded)
        folded, offsets = _rewrite(folded, offsets, _SPACE_RUN,
                                   lambda m: "\n" if "\n" in m.group() else " ")
        folded, offsets = _rewrite(folded, offsets, _REPEATS, _squeeze)
        if _DIGIT.search(folded):  # both need a digit
            folded, offsets = _rewrite(folded, offsets, INFANT_SHORT, infant_age)
            folded, offsets = _rewrite(folded, offsets, AGE_GLUED, unglue_age)
        if self.speak is not None and not self.speak_words.isdisjoint(_WORDISH.findall(folded)):
            folded, offsets = _rewrite(folded, offsets, self.speak,
                                       lambda m: self.table[m.group()])
        return folded, offsets

    def _fold_unicode(self, text: str) -> tuple[str, list[int]]:
        pieces: list[str] = []
        offsets: list[int] = []
        for index, char in enumerate(text):
            folded = self.char_cache.get(char)
            if folded is None:
                folded = self.char_cache[char] = _fold_char(char)
            pieces.append(folded)
            offsets.extend([index] * len(folded))
        return "".join(pieces), offsets


def _fold_char(char: str) -> str:
    if char.isascii():
        return char.lower().translate(_ASCII_CONTROL)
    if char in "\u2028\u2029\u0085":
        return "\n"
    category = unicodedata.category(char)
    if category in ("Cf", "Mn"):  # zero-width, direction and combining marks: drop
        return ""
    if category.startswith(("Z", "C")):
        return " "
    folded = char.translate(_CONFUSABLES)
    if folded != char:
        return folded
    decomposed = unicodedata.normalize("NFKD", char)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return (plain or char).lower().translate(_CONFUSABLES)


def _squeeze(match: re.Match) -> str:
    letter = match.group(1)
    return letter if letter in "aeiouy" else letter * 2


def _rewrite(text: str, offsets: list[int] | None, regex: re.Pattern,
             replace) -> tuple[str, list[int] | None]:
    """Apply a regex substitution and carry the offset map along (only if something changed)."""
    pieces: list[str] = []
    new_offsets: list[int] = []
    last = 0
    for match in regex.finditer(text):
        new = replace(match)
        if new == match.group():
            continue
        if offsets is None:
            offsets = list(range(len(text)))
        start, end = match.span()
        pieces.append(text[last:start])
        new_offsets.extend(offsets[last:start])
        pieces.append(new)
        source = offsets[start:end]
        for i in range(len(new)):
            # the last replacement character maps to the last source character, so a match
            # ending on a replaced word covers the whole original word
            last_char = i == len(new) - 1 and i > 0
            new_offsets.append(source[-1] if last_char else source[min(i, len(source) - 1)])
        last = end
    if last == 0 and not pieces:
        return text, offsets
    pieces.append(text[last:])
    new_offsets.extend(offsets[last:])  # type: ignore[index]
    return "".join(pieces), new_offsets


# --- compiled patterns ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    kind: str  # "category" or a cue kind or "partner" / "pregnancy"
    label: str  # category id (for cues, the cue kind)
    level: int
    slots: tuple[tuple, ...]  # ("w", ids, optional) | ("g", n) | ("n", optional) | ("x", ids)
    key: frozenset[int] | None  # the smallest phrase set of a later slot that must be present
    anchored: bool  # only at the start of a sentence or clause
    topic: bool  # a single phrase naming a topic, not an event


@dataclass(slots=True)
class _Hit:
    kind: str
    label: str
    level: int
    start: int  # token indices
    end: int
    topic: bool = False
    head: int = -1  # for co-occurrence hits: the token a negation must govern


# first phrase -> (patterns, [(key id, patterns)]), see RiskScreen.__init__
_Index = dict[int, tuple[list, list[tuple[int, list]]]]
# a message's phrases: (phrase -> its spans, the phrases present, the usable pattern keys)
_Found = tuple[dict[int, list[tuple[int, int]]], set[int], set[int]]


@dataclass
class _Message:
    """One message on its way through the screen."""

    original: str
    folded: str
    offsets: list[int] | None
    chunks: list[tuple[int, str]]
    starts: list[int]  # folded character offset of each token
    ends: list[int]
    texts: list[str]
    occurrences: dict[int, list[tuple[int, int]]]  # token start -> [(token end, phrase id)]
    breaks: list[bool]  # the token ends a sentence


class RiskScreen:
    """Screens messages with a lexicon. Build once; `screen` and `screen_many` are read-only."""

    def __init__(self, lexicon: Lexicon, nlp: Language):
        self.lexicon = lexicon
        self.nlp = nlp
        self.folder = _Folder(lexicon.normalise)
        self.phrase_ids: dict[tuple[str, tuple[str, ...]], int] = {}
        self.match_to_phrase: dict[int, int] = {}
        self.lemma_matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self.lower_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.patterns: list[_Compiled] = []
        self.first_index: dict[int, list[int]] = {}
        self.corules: list[tuple[str, int, int, tuple[frozenset[int], ...]]] = []
        self.break_cache: dict[str, bool] = {}
        self.slot_phrases: dict[Slot, list[tuple[str, bool]]] = {}
        self.lemma_table = self._lookup_lemmas()
        self.no_innocent_causes = frozenset(
            c.id for c in lexicon.categories if not c.innocent_causes)
        self.lemma_cache: dict[str, int] = {}
        self.cue_lemmas: dict[str, str] = {}
        self.cue_scopes = CueScopes(lexicon.scopes, self._cue_tokens, self._cue_lemma) \
            if lexicon.scopes is not None else None
        self._compile_all()
        # first phrase -> (its patterns, or [] and the runs of patterns sharing a key, in
        # pattern order: [(key id, [entries])]): a pattern with a key is tried only if one of
        # the key's phrases is in the message.
        # Two indexes: the patterns a cue could judge (categories, partner and pregnancy
        # terms), and the cues, which are looked for only when the first found something
        key_ids: dict[frozenset[int], int] = {}
        self.keys: list[frozenset[int]] = []
        for pattern in self.patterns:
            if pattern.key is not None and pattern.key not in key_ids:
                key_ids[pattern.key] = len(self.keys)
                self.keys.append(pattern.key)
        self.risk_candidates = self._candidates(key_ids, _JUDGED)
        self.cue_candidates = self._candidates(
            key_ids, frozenset(p.kind for p in self.patterns) - _JUDGED)
        # phrase -> the keys it belongs to: a message's usable keys in one union (the ids of
        # keys holding any of its phrases) rather than a set test per pattern run
        holders: dict[int, set[int]] = {}
        for key_id, key in enumerate(self.keys):
            for phrase_id in key:
                holders.setdefault(phrase_id, set()).add(key_id)
        self.keys_of_phrase = {p: frozenset(k) for p, k in holders.items()}

    # building

    def _candidates(self, key_ids: dict[frozenset[int], int],
                    kinds: frozenset[str]) -> _Index:
        """The index of the patterns of these kinds by first phrase (see __init__)."""
        # what the search needs of each pattern, unpacked once: (index, slots, single,
        # anchored, whether its first slot has several phrases (the same start may then be
        # reached twice), the pattern)
        entries = [(i, p.slots, len(p.slots) == 1, p.anchored, len(p.slots[0][1]) > 1, p)
                   for i, p in enumerate(self.patterns)]
        candidates: _Index = {}
        for phrase_id, all_indices in self.first_index.items():
            indices = [i for i in all_indices if self.patterns[i].kind in kinds]
            if not indices:
                continue
            keyed = [(-1 if self.patterns[i].key is None else key_ids[self.patterns[i].key], i)
                     for i in indices]
            if all(k < 0 for k, _ in keyed):
                candidates[phrase_id] = ([entries[i] for i in indices], [])
                continue
            # runs of patterns sharing a key, in pattern order: (key id, [entries])
            runs: list[tuple[int, list]] = []
            for key_id, index in keyed:
                if runs and runs[-1][0] == key_id:
                    runs[-1][1].append(entries[index])
                else:
                    runs.append((key_id, [entries[index]]))
            candidates[phrase_id] = ([], runs)
        return candidates

    def _compile_all(self) -> None:
        sources: list[tuple[str, str, Pattern]] = []
        for category in self.lexicon.categories:
            sources.extend(("category", category.id, p) for p in category.patterns)
        for kind, patterns in self.lexicon.cues.items():
            sources.extend((kind, kind, p) for p in patterns)
        sources.extend(("partner", "partner", p) for p in self.lexicon.partner_terms)
        sources.extend(("pregnancy", "pregnancy", p) for p in self.lexicon.pregnancy_terms)
        co_sources = [("category", rule.category,
                       Pattern(rule.category, rule.elements, rule.urgency, rule.line))
                      for rule in self.lexicon.cooccur]
        self._register_phrases(sources + co_sources)
        self.co_by_head: dict[int, list[int]] = {}
        for rule in self.lexicon.cooccur:
            elements = tuple(self._ids(e) for e in rule.elements)
            if all(elements):
                for phrase_id in elements[0]:
                    self.co_by_head.setdefault(phrase_id, []).append(len(self.corules))
                self.corules.append((rule.category, _LEVELS[rule.urgency], rule.within,
                                     elements, rule.sentences))
        for kind, label, pattern in sources:
            slots = tuple(self._compile_slot(slot) for slot in pattern.slots)
            if any(s[0] in ("w", "x") and not s[1] for s in slots):
                continue  # a word folded to nothing; the loader reports real problems
            required = [s[1] for s in slots[1:] if s[0] == "w" and not s[2]]
            key = min(required, key=len) if required else None
            compiled = _Compiled(kind, label, _LEVELS[pattern.urgency], slots, key,
                                 pattern.anchored, pattern.topic)
            index = len(self.patterns)
            self.patterns.append(compiled)
            for phrase_id in slots[0][1]:
                self.first_index.setdefault(phrase_id, []).append(index)

    def _phrases_of(self, slot: Slot) -> list[tuple[str, bool]]:
        # the same slots ("@victim", "@household") recur in hundreds of patterns: expand once
        phrases = self.slot_phrases.get(slot)
        if phrases is None:
            phrases = self.slot_phrases[slot] = self._expand(slot)
        return phrases

    def _expand(self, slot: Slot) -> list[tuple[str, bool]]:
        if isinstance(slot, Words):
            phrases = []
            for text, exact in zip(slot.alternatives, slot.exact, strict=True):
                if text.startswith("@"):
                    phrases.extend(self._set_phrases(text[1:]))
                else:
                    phrases.append((text, exact))
            return phrases
        if isinstance(slot, SetRef):
            return self._set_phrases(slot.name)
        if isinstance(slot, NotSet):
            if slot.set_name:
                return self._set_phrases(slot.set_name)
            return [(w.lstrip("="), w.startswith("=")) for w in slot.alternatives]
        return []

    def _set_phrases(self, name: str) -> list[tuple[str, bool]]:
        return [(w.lstrip("="), w.startswith("=")) for w in self.lexicon.sets.get(name, ())]

    def _register_phrases(self, sources: list[tuple[str, str, Pattern]]) -> None:
        wanted: dict[tuple[str, bool], None] = {}
        for _, _, pattern in sources:
            for slot in pattern.slots:
                for phrase in self._phrases_of(slot):
                    wanted[phrase] = None
        texts = [self.folder.fold(text)[0].strip() for text, _ in wanted]
        self.phrase_of_text: dict[tuple[str, bool], int | None] = {}
        for (text, exact), folded, doc in zip(wanted, texts, self.nlp.pipe(texts), strict=True):
            tokens = [t for t in doc if not t.is_space]
            if not folded or not tokens:
                self.phrase_of_text[(text, exact)] = None
                continue
            attr = "LOWER" if exact else "LEMMA"
            key = (attr, tuple(t.lower_ if exact else t.lemma_ for t in tokens))
            if key not in self.phrase_ids:
                phrase_id = len(self.phrase_ids)
                self.phrase_ids[key] = phrase_id
                name = f"{attr}:{' '.join(key[1])}"
                self.match_to_phrase[self.nlp.vocab.strings.add(name)] = phrase_id
                matcher = self.lower_matcher if exact else self.lemma_matcher
                matcher.add(name, [doc])
            self.phrase_of_text[(text, exact)] = self.phrase_ids[key]

    def _ids(self, slot: Slot) -> frozenset[int]:
        ids = (self.phrase_of_text.get(phrase) for phrase in self._phrases_of(slot))
        return frozenset(i for i in ids if i is not None)

    def _compile_slot(self, slot: Slot) -> tuple:
        if isinstance(slot, Gap):
            return ("g", slot.size)
        if isinstance(slot, Num):
            return ("n", slot.optional)
        if isinstance(slot, NotSet):
            return ("x", self._ids(slot))
        return ("w", self._ids(slot), slot.optional)

    def _cue_tokens(self, text: str) -> list[str]:
        return [t.text for t in self.nlp.make_doc(self.folder.fold(text)[0])]

    def _cue_lemma(self, word: str) -> str:
        """A token's lemma as the phrase matchers see it (cached: cue scopes match by it)."""
        lemma = self.cue_lemmas.get(word)
        if lemma is None:
            if self.lemma_table is not None:
                found = self.lemma_table.get(word, word)
                lemma = found if isinstance(found, str) else found[0]
            else:
                lemma = self.nlp(word)[0].lemma_ if word.strip() else word
            if len(self.cue_lemmas) < 200_000:
                self.cue_lemmas[word] = lemma
        return lemma

    def _cue_lemmas_of(self, texts: list[str]) -> list[str]:
        cache, lemma = self.cue_lemmas, self._cue_lemma
        return [cache.get(t) or lemma(t) for t in texts]

    def _lookup_lemmas(self) -> Any:
        """The lemma table, when the pipeline is just a lookup lemmatizer (the shared one):
        the screen then tokenises and looks lemmas up itself, once per distinct word."""
        if list(self.nlp.pipe_names) != ["lemmatizer"]:
            return None
        lemmatizer = self.nlp.get_pipe("lemmatizer")
        if getattr(lemmatizer, "mode", None) != "lookup" or getattr(lemmatizer, "overwrite",
                                                                     False):
            return None
        return lemmatizer.lookups.get_table("lemma_lookup", {})

    def _docs(self, chunks: Iterable[str]) -> Iterator:
        if self.lemma_table is None:
            yield from self.nlp.pipe(chunks, batch_size=256)
            return
        make_doc = self.nlp.make_doc
        for chunk in chunks:
            yield make_doc(chunk)

    # screening

    def screen(self, text: str) -> RiskResult:
        return without_gc(self._screen_all, [text])[0]

    def screen_many(self, texts: Iterable[str]) -> list[RiskResult]:
        return without_gc(self._screen_all, texts)

    def _screen_all(self, texts: Iterable[str]) -> list[RiskResult]:
        messages = [self._prepare(text) for text in texts]
        chunks = [(m, base, chunk) for m in messages for base, chunk in m.chunks]
        docs = self._docs(chunk for _, _, chunk in chunks)
        for (message, base, _), doc in zip(chunks, docs, strict=True):
            self._add_doc(message, base, doc)
        return [self._judge(m) for m in messages]

    def is_procedural(self, text: str) -> bool:
        """Whether the rules read `text` as a question or hypothetical about procedure with no
        sign of a real child ("what do I do if a child discloses abuse?"). Every sentence asks
        or sits in a hypothetical or conditional zone, and no disclosure, age or specific
        detail shows a real child. The learned second opinion may not raise such a message."""
        return without_gc(self._is_procedural, text)

    def _is_procedural(self, text: str) -> bool:
        message = self._prepare(text)
        for base, chunk in message.chunks:
            self._add_doc(message, base, next(self._docs([chunk])))
        if not message.texts:
            return False
        hits = self._find_hits(message)
        return _Context(message, hits, self.lexicon.school_year_offset,
                        self.no_innocent_causes).procedural()

    def _prepare(self, text: str) -> _Message:
        if not isinstance(text, str):
            raise TypeError("the risk screen takes text (str)")
        folded, offsets = self.folder.fold(text)
        return _Message(text, folded, offsets, _split_chunks(folded), [], [], [], {}, [])

    def _add_doc(self, message: _Message, base: int, doc) -> None:
        first = len(message.texts)
        table = self.lemma_table
        if table is None:
            texts = [token.text for token in doc]
            starts = [base + token.idx for token in doc]
        else:
            texts, starts = [], []
            lemmas = self.lemma_cache
            strings = self.nlp.vocab.strings
            # docs made by make_doc (see _docs) have no lemmas yet: set every one
            for token in doc:
                text = token.text
                texts.append(text)
                starts.append(base + token.idx)
                lemma = lemmas.get(text)
                if lemma is None:
                    found = table.get(text, text)
                    lemma = strings.add(found if isinstance(found, str) else found[0])
                    if len(lemmas) < 200_000:
                        lemmas[text] = lemma
                token.lemma = lemma
        if "bit" in texts:  # "a bit worried" is a quantity, not a bite
            for i, text in enumerate(texts):
                if text == "bit" and i and texts[i - 1] in _QUANTITY:
                    doc[i].lemma_ = "bit"
        message.texts.extend(texts)
        cache = self.break_cache
        breaks = [cache.get(t) for t in texts]
        if None in breaks:
            for i, t in enumerate(texts):
                if breaks[i] is None:
                    breaks[i] = cache[t] = _is_break(t)
            if len(cache) > 100_000:  # unbounded text from callers: keep the cache small
                cache.clear()
        message.breaks.extend(breaks)
        message.starts.extend(starts)
        message.ends.extend([start + len(text) for start, text in zip(starts, texts, strict=True)])
        occurrences = message.occurrences
        for matcher in (self.lemma_matcher, self.lower_matcher):
            for match_id, start, end in matcher(doc):
                phrase_id = self.match_to_phrase[match_id]
                occurrences.setdefault(first + start, []).append((first + end, phrase_id))

    def _find_hits(self, message: _Message) -> list[_Hit]:
        """Every match of a category, cue, partner or pregnancy pattern or co-occurrence
        rule; risk matches first, then cues (callers look at one kind at a time, so only the
        order within a kind matters, and it is the patterns' order)."""
        found = self._phrases_found(message)
        return self._risk_hits(message, found) + self._hits(message, found, self.cue_candidates)

    def _phrases_found(self, message: _Message) -> _Found:
        """(phrase -> its spans, the phrases present, the usable pattern keys)."""
        by_phrase: dict[int, list[tuple[int, int]]] = {}
        for start, found in message.occurrences.items():
            for end, phrase_id in found:
                by_phrase.setdefault(phrase_id, []).append((start, end))
        present = set(by_phrase)
        # the keys (words a pattern needs later on) somewhere in the message; -1: no key
        keys_of_phrase = self.keys_of_phrase
        usable = {-1}.union(*(keys_of_phrase[p] for p in present if p in keys_of_phrase))
        return by_phrase, present, usable

    def _risk_hits(self, message: _Message, found: _Found) -> list[_Hit]:
        hits = self._hits(message, found, self.risk_candidates)
        if self.corules:
            hits.extend(self._co_hits(found[0], found[1], message.breaks))
        return hits

    def _hits(self, message: _Message, found: _Found,
              all_candidates: _Index) -> list[_Hit]:
        texts = message.texts
        occurrences = message.occurrences
        breaks = message.breaks
        by_phrase, _, usable = found
        hits: list[_Hit] = []
        done: set[tuple[int, int]] = set()
        for phrase_id, spans in by_phrase.items():
            indexed = all_candidates.get(phrase_id)
            if indexed is None:
                continue
            candidates, runs = indexed
            if runs:
                # skip patterns needing a word that is nowhere in the message (in order)
                candidates = []
                for key_id, run in runs:
                    if key_id in usable:
                        candidates.extend(run)
            for index, slots, single, anchored, shared, pattern in candidates:
                for start, end in spans:
                    if shared and (index, start) in done:
                        continue
                    if anchored and start and not _opens_clause(texts, breaks, start):
                        continue
                    stop = end if single else _match_rest(
                        slots, 1, end, occurrences, texts, breaks)
                    if stop is not None:
                        if shared:
                            done.add((index, start))
                        hits.append(_Hit(pattern.kind, pattern.label, pattern.level, start, stop,
                                         pattern.topic))
        return hits

    def _co_hits(self, by_phrase: dict[int, list[tuple[int, int]]], present: set[int],
                 breaks: list[bool]) -> list[_Hit]:
        """Co-occurrence rules: every element within `within` words of the head (the first
        element), in the same sentence, on tokens of its own."""
        hits: list[_Hit] = []
        spans_of: dict[frozenset[int], list[tuple[int, int]]] = {}
        sentence_ends: list[int] | None = None
        by_head = self.co_by_head
        wanted = {i for p in present if p in by_head for i in by_head[p]}
        for rule_index in sorted(wanted):
            label, level, within, elements, sentences = self.corules[rule_index]
            if any(e.isdisjoint(present) for e in elements[1:]):
                continue
            if sentence_ends is None:
                sentence_ends = [i for i, b in enumerate(breaks) if b]
            found = []
            for element in elements:
                spans = spans_of.get(element)
                if spans is None:
                    spans = spans_of[element] = sorted(
                        span for p in element & present for span in by_phrase[p])
                found.append(spans)
            for h_start, h_end in found[0]:
                cut = bisect.bisect_left(sentence_ends, h_start)
                before, after = cut - sentences, cut + sentences - 1  # sentences: 1 or 2
                low = sentence_ends[before] + 1 if before >= 0 else 0
                high = sentence_ends[after] if after < len(sentence_ends) else len(breaks)
                low, high = max(low, h_start - within), min(high, h_end + within)
                start, end = h_start, h_end
                for spans in found[1:]:
                    near = next((sp for sp in spans if low <= sp[0] and sp[1] <= high
                                 and (sp[1] <= h_start or sp[0] >= h_end)), None)
                    if near is None:
                        break
                    start, end = min(start, near[0]), max(end, near[1])
                else:
                    # a shape, like a topic: a question with no real child in it lowers it
                    hits.append(_Hit("category", label, level, start, end, True, h_start))
        return hits

    def _judge(self, message: _Message) -> RiskResult:
        if not message.texts:
            return RiskResult("none", [], [])
        found = self._phrases_found(message)
        hits = self._risk_hits(message, found)
        if not hits:
            return RiskResult("none", [], [])  # nothing a cue could leave standing
        hits += self._hits(message, found, self.cue_candidates)
        context = _Context(message, hits, self.lexicon.school_year_offset,
                           self.no_innocent_causes, self.cue_scopes, self._cue_lemmas_of)
        risks = [h for h in hits if h.kind == "category"]
        if any(h.kind in _AGE_TERMS for h in hits):
            risks.extend(self._age_hits(message, context, context.ages))
        for hit in risks:
            hit.level = context.judge(hit)
        standing = _dedupe([h for h in risks if h.level > NONE])
        return self._result(message, standing)

    def _result(self, message: _Message, hits: list[_Hit]) -> RiskResult:
        if not hits:
            return RiskResult("none", [], [])
        level = max(h.level for h in hits)
        ordered = sorted(hits, key=lambda h: (-h.level, h.start))
        categories = list(dict.fromkeys(h.label for h in ordered))
        matches = []
        for hit in sorted(hits, key=lambda h: (h.start, h.end)):
            start, end = self._original_span(message, message.starts[hit.start],
                                             message.ends[hit.end - 1])
            matches.append(RiskMatch(message.original[start:end], hit.label, start, end))
        return RiskResult(_NAMES[level], categories, matches)

    @staticmethod
    def _original_span(message: _Message, start: int, end: int) -> tuple[int, int]:
        if message.offsets is None:
            return start, end
        return message.offsets[start], message.offsets[end - 1] + 1

    # ages and relationships

    def _age_hits(self, message: _Message, context: _Context,
                  ages: list[tuple[int, int, int]]) -> list[_Hit]:
        rules = self.lexicon.age_rules
        if not rules or not ages:
            return []
        hits: list[_Hit] = []
        partner_ages: set[tuple[int, int, int]] = set()
        partner_links = []
        for term in (h for h in context.hits if h.kind == "partner"):
            start, end = message.starts[term.start], message.ends[term.end - 1]
            if _FAMILY_POSSESSIVE.search(message.folded[max(0, start - 30):start]):
                continue
            age = partner_age(message.folded, ages, start, end)
            if age is not None:
                partner_ages.add(age)
                partner_links.append((term, age))
        child_ages = [a for a in ages if a not in partner_ages]
        for term, age in partner_links:
            if child_ages:
                child = min(child_ages, key=lambda a: a[2])
                level = _rule_level(rules, "partner", child[2], age[2])
                if level > NONE:
                    span = (min(age[0], message.starts[term.start]),
                            max(age[1], message.ends[term.end - 1]))
                    hits.append(self._span_hit(message, rules, "partner", level, span))
        for term in (h for h in context.hits if h.kind == "pregnancy"):
            sentence = context.sentence[term.start]
            same = [a for a in child_ages
                    if context.sentence[context.token_at(message, a[0])] == sentence]
            if same:
                child = min(same, key=lambda a: a[2])
                level = _rule_level(rules, "pregnancy", child[2], None)
                if level > NONE:
                    span = (min(child[0], message.starts[term.start]),
                            max(child[1], message.ends[term.end - 1]))
                    hits.append(self._span_hit(message, rules, "pregnancy", level, span))
        return hits

    def _span_hit(self, message: _Message, rules, kind: str, level: int,
                  span: tuple[int, int]) -> _Hit:
        category = next(r.category for r in rules
                        if r.kind == kind and _LEVELS[r.urgency] == level)
        first = bisect.bisect_right(message.starts, span[0]) - 1
        last = bisect.bisect_left(message.starts, span[1])
        return _Hit("category", category, level, max(first, 0), max(last, first + 1))


def _match_rest(slots, index: int, pos: int, occurrences, texts: list[str],
                breaks: list[bool]) -> int | None:
    """Match slots[index:] from token `pos`; return the end token of the first way that fits."""
    if index == len(slots):
        return pos
    slot = slots[index]
    kind = slot[0]
    if kind == "g":
        after = slots[index + 1] if index + 1 < len(slots) else None
        if after is not None and after[0] == "w" and not after[2]:
            # the common shape, a gap then a required word: look for the word's occurrences
            # directly rather than recursing once per position (profiled: half the calls)
            ids = after[1]
            for skip in range(slot[1] + 1):
                at = pos + skip
                if skip and (at - 1 >= len(texts) or breaks[at - 1]):
                    break
                for end, phrase_id in occurrences.get(at, ()):
                    if phrase_id in ids:
                        stop = _match_rest(slots, index + 2, end, occurrences, texts, breaks)
                        if stop is not None:
                            return stop
            return None
        for skip in range(slot[1] + 1):
            if skip and (pos + skip - 1 >= len(texts) or breaks[pos + skip - 1]):
                break
            stop = _match_rest(slots, index + 1, pos + skip, occurrences, texts, breaks)
            if stop is not None:
                return stop
        return None
    if kind == "x":
        for _, phrase_id in occurrences.get(pos, ()):
            if phrase_id in slot[1]:
                return None
        return _match_rest(slots, index + 1, pos, occurrences, texts, breaks)
    if kind == "n":
        if pos < len(texts) and is_number(texts[pos]):
            stop = _match_rest(slots, index + 1, pos + 1, occurrences, texts, breaks)
            if stop is not None:
                return stop
        return _match_rest(slots, index + 1, pos, occurrences, texts, breaks) if slot[1] else None
    for end, phrase_id in occurrences.get(pos, ()):
        if phrase_id in slot[1]:
            stop = _match_rest(slots, index + 1, end, occurrences, texts, breaks)
            if stop is not None:
                return stop
    if slot[2]:
        return _match_rest(slots, index + 1, pos, occurrences, texts, breaks)
    return None


def _opens_clause(texts: list[str], breaks: list[bool], start: int) -> bool:
    return breaks[start - 1] or texts[start - 1] in (",", ":", ";", "-", "(", '"', "'")


def _is_break(token: str) -> bool:
    """Sentence ends: runs of . ! ? and whitespace tokens (newlines)."""
    return token.isspace() or (token[0] in ".!?" and not token.strip(".!?"))


def _split_chunks(text: str) -> list[tuple[int, str]]:
    """Split long text at sentence ends (else spaces) so no doc is huge; never drop text."""
    if not text.strip():
        return []
    chunks = []
    start = 0
    while len(text) - start > CHUNK_CHARS:
        limit = start + CHUNK_CHARS
        cut = max(text.rfind("\n", start, limit), text.rfind(". ", start, limit))
        if cut <= start:
            cut = text.rfind(" ", start, limit)
        cut = limit if cut <= start else cut + 1
        chunks.append((start, text[start:cut]))
        start = cut
    chunks.append((start, text[start:]))
    return chunks


class _Context:
    """Sentences, clauses, cue zones and real-event signals of one message."""

    def __init__(self, message: _Message, hits: list[_Hit], school_year_offset: int,
                 no_innocent_causes: frozenset[str] = frozenset(),
                 cue_scopes: CueScopes | None = None,
                 lemmas_of: Callable[[list[str]], list[str]] | None = None):
        self.message = message
        self.school_year_offset = school_year_offset
        self.hits = hits
        self.no_innocent_causes = no_innocent_causes
        texts = self.texts = message.texts
        self.n = len(texts)
        cues: dict[str, list[Any]] = {}
        for hit in hits:
            if hit.kind != "category":
                cues.setdefault(hit.kind, []).append(hit)
        # negation, denial and clause breaks: the shared cue scopes (cues.py)
        scoped: list[Cue] = []
        if cue_scopes is not None:
            lemmas = lemmas_of(texts) if lemmas_of is not None else texts
            scoped = cue_scopes.find(texts, lemmas)
            for cue in scoped:
                cues.setdefault(cue.kind, []).append(cue)
        self.cues = cues
        self.matched = [(h.label, h.level, h.start) for h in hits if h.kind == "category"]
        self.sentence, self.clause = self._segments(message.breaks, cues.get(CLAUSE_BREAK, []))
        self.asking = {self.sentence[c.start] for c in cues.get("question", [])
                       if self._asks(c.start)}
        self.zone = self._zones()
        self.risk_tokens = self._risk_tokens()
        self.question_sentences = {self.sentence[c.start] for c in cues.get("question", [])}
        # "now" in "healed now", "now closed" belongs to the resolution, not a current event,
        # and so does any current word inside a resolution ("keeps to her curfew now");
        # "no new referrals" is not a current event either
        endings = cues.get("resolved", []) + cues.get("recovered", []) + cues.get("made_safe", [])
        resolved_near = {i for r in endings for i in (r.start - 1, r.end)}
        resolved_inside = {i for r in endings for i in range(r.start, r.end)}
        negated_at = {n.end for n in cues.get("negation", [])}
        self.currents = [
            c.start for c in cues.get("current", [])
            if not (c.start in negated_at or c.start in resolved_inside
                    or (c.start in resolved_near and texts[c.start] == "now"))
        ]
        self.current_sentences = {self.sentence[i] for i in self.currents}
        # a negation inside a risk match is part of it ("never wanted him"); a denial in a
        # hypothetical or conditional zone denies nothing real
        self.scope = cue_scopes.scopes(texts, [
            c for c in scoped
            if c.kind == CLAUSE_BREAK
            or (c.kind == _NEGATION and not any(self.risk_tokens[c.start:c.end]))
            or (c.kind == _DENIAL and not self.zone[c.start])
            or c.kind == _PAST_TIME
        ], message.breaks) if cue_scopes is not None else [frozenset()] * len(texts)
        self.not_harm_clauses = {self.clause[c.start] for c in cues.get("not_harm", [])}
        # a carer's account ("mum says he fell") is a story, not an innocent cause
        self.account_sentences = {self.sentence[c.start] for c in cues.get("account", [])}

    def _segments(self, breaks: list[bool],
                  clause_breaks: list[_Hit]) -> tuple[list[int], list[int]]:
        starts_clause = {h.start for h in clause_breaks}
        sentence, clause = [], []
        s = c = 0
        for i, is_break in enumerate(breaks):
            if i in starts_clause:
                c += 1
            sentence.append(s)  # a sentence end belongs to the sentence it ends
            clause.append(c)
            if is_break:
                s += 1
                c += 1
        return sentence, clause

    def _zones(self) -> list[bool]:
        zone = [False] * self.n
        if self.cues.get("hypothetical"):
            return [True] * self.n
        questions = {self.sentence[c.start] for c in self.cues.get("question", [])}
        cond = list(self.cues.get("conditional", []))
        # a generic child in a question ("what level is a child who...") only in a sentence
        # that asks: it has a question mark or opens with a question word. A statement that
        # merely uses a question cue ("mum can't explain it", "signs of a head injury") is
        # an account of a real child, so its matches stand
        asking = self.asking
        cond += [c for c in self.cues.get("generic_question", [])
                 if self.sentence[c.start] in questions and self.sentence[c.start] in asking]
        if not cond:
            return zone
        # from each cue to the end of its clause
        first_in_clause: dict[int, int] = {}
        for cue in cond:
            c = self.clause[cue.start]
            if cue.start < first_in_clause.get(c, self.n):
                first_in_clause[c] = cue.start
        clause = self.clause
        for i in range(min(first_in_clause.values()), self.n):
            start = first_in_clause.get(clause[i])
            if start is not None and i >= start:
                zone[i] = True
        return zone

    @cached_property
    def ages(self) -> list[tuple[int, int, int]]:
        """Every age mentioned (read only when a rule needs it: it costs a dozen regexes)."""
        return find_ages(self.message.folded, self.school_year_offset)

    @cached_property
    def strong(self) -> bool:
        """A real child or event: a disclosure, an age outside a zone, a first-hand account.
        A child's own account to the writer counts inside a question too, but not inside an
        "if" clause ("if a pupil told me ...") or a message framed as training or an example."""
        cues = self.cues
        return self._signal(("disclosure",)) or any(
            not self.zone[self.token_at(self.message, age[0])] for age in self.ages
        ) or (not cues.get("hypothetical") and any(
            not self._in_condition(h.start) for h in cues.get("firsthand", [])))

    @cached_property
    def weak(self) -> bool:
        return self._signal(("specific",))

    def procedural(self) -> bool:
        """Every sentence with words asks or lies in a zone, and nothing shows a real child."""
        if self.strong or self.weak:
            return False
        asking, zone = self.asking, self.zone
        framed: dict[int, bool] = {}
        for i, text in enumerate(self.texts):
            if not any(c.isalnum() for c in text):
                continue
            s = self.sentence[i]
            framed[s] = framed.get(s, True) and (s in asking or zone[i])
        return bool(framed) and all(framed.values())

    def _asks_procedure(self, start: int) -> bool:
        sentence = self.sentence[start]
        return (sentence in self.asking
                and any(self.sentence[c.start] == sentence for c in self.cues.get("procedure", []))
                and self.is_procedural)

    @cached_property
    def is_procedural(self) -> bool:
        return self.procedural()

    def _in_condition(self, start: int) -> bool:
        """Token `start` follows an "if" cue in its clause ("if a pupil told me ...")."""
        return any(c.start <= start and self.clause[c.start] == self.clause[start]
                   for c in self.cues.get("conditional", []))

    def _asks(self, start: int) -> bool:
        """The question cue at `start` is a question mark, opens its sentence or clause, or
        ends a heading ("Bullying policy: pupils who hit ...")."""
        if start == 0 or self.texts[start] == "?":
            return True
        if start + 1 < self.n and self.texts[start + 1] == ":":
            return True
        return (self.sentence[start - 1] != self.sentence[start]
                or self.clause[start - 1] != self.clause[start]
                or self.texts[start - 1] in (",", ":", ";", "-", "(", '"', "'"))

    def _signal(self, kinds: tuple[str, ...]) -> bool:
        return any(not self.zone[h.start] for k in kinds for h in self.cues.get(k, []))

    def _risk_tokens(self) -> list[bool]:
        marks = [False] * self.n
        for hit in self.hits:
            if hit.kind == "category":
                for i in range(hit.start, hit.end):
                    marks[i] = True
        return marks

    @staticmethod
    def token_at(message: _Message, char: int) -> int:
        return max(bisect.bisect_right(message.starts, char) - 1, 0)

    def judge(self, hit: _Hit) -> int:
        """The urgency a risk match keeps once the cues around it are weighed."""
        level = hit.level
        if self._negated(hit) or self._denied(hit):
            level -= 1
        innocent = hit.label not in self.no_innocent_causes
        if innocent and self._self_inflicted(hit):
            return NONE
        if level > NONE and innocent and self._not_harm(hit):
            if any(c.start <= hit.start and hit.end <= c.end
                   for c in self.cues.get("not_harm", [])):
                return NONE  # the match is the other sense itself ("hitting her milestones")
            level -= 1
        # the child's own hitting, or other pupils' sexual remarks: a concern, never less
        if level > CONCERN and innocent and self._child_agent(hit):
            level = CONCERN
        if level > CONCERN and self._peer_harassment(hit):
            level = CONCERN
        if level > CONCERN and self._own_childhood(hit):
            level = CONCERN
        if level > NONE and self._resolved(hit, innocent):
            lowered = (NONE if level == CONCERN
                       else CONCERN if self._resolved_clause(hit, innocent) else level)
            level = lowered if lowered < level or not self._recovered(hit, level) else CONCERN
        elif level > NONE and self._recovered(hit, level):
            level -= 1
        if level > CONCERN and self._dated(hit):
            level = CONCERN
        if level > NONE and self.zone[hit.start] and not self.strong:
            return NONE
        if level > NONE and self._asks_procedure(hit.start):
            # "what is the protocol for bruising in a non-mobile baby?": a question about the
            # procedure for a kind of situation, in a message with no sign of a real child
            return NONE
        if level > NONE and hit.topic and hit.head < 0 and self._reported_question(hit):
            # "my pupils asked me what FGM is": the topic is what was asked about, however
            # real the pupils are
            return NONE
        if level > NONE and hit.topic and self.sentence[hit.start] in self.question_sentences \
                and (hit.head < 0 or self.sentence[hit.start] in self.asking):
            # a question about a topic ("signs of FGM?"), not an account of an event; a
            # co-occurrence shape only in a sentence that asks ("this meets the threshold,
            # the boy has a broken arm and dad can't explain how" is an account)
            if not self.strong and not self.weak:
                return NONE
        return level

    def _not_harm(self, hit: _Hit) -> bool:
        """A not_harm cue in the match's clause, unless someone else acts between the cue and
        a later harm word ("he hit his brother and his dad beat him")."""
        if self.clause[hit.start] not in self.not_harm_clauses:
            return False
        word = self._harm_word(hit)
        stops = [a.start for a in self.cues.get("other_agent", [])]
        return any(
            self.clause[c.start] == self.clause[hit.start]
            and not (c.end <= word and any(c.end <= s <= word for s in stops))
            for c in self.cues.get("not_harm", []))

    def _harm_word(self, hit: _Hit) -> int:
        """The token a cue must cover to speak for the match: a co-occurrence match's head
        (the harm word), else the match's first word."""
        return hit.head if hit.head >= 0 else hit.start

    def _self_inflicted(self, hit: _Hit) -> bool:
        """A co-occurrence match ("cuts" + "again") whose harm word is the child's own act
        ("cutting herself again", "hurt herself", "ongoing SH - cuts thighs"): the self-harm
        patterns judge it, not the violence rules."""
        if hit.head < 0 or hit.label == _SELF_HARM:
            return False
        head = hit.head
        cues = self.cues.get("self_inflicted", [])
        if any(c.start <= head < c.end for c in cues):
            return True
        sentence = self.sentence[head]
        return any(self.sentence[c.start] == sentence for c in cues) and any(
            h.label == _SELF_HARM and h.start <= head < h.end for h in self.hits
            if h.kind == "category")

    def _child_agent(self, hit: _Hit) -> bool:
        """The child does the hitting ("Year 8 boy punched a classmate", "my son keeps
        hitting me"): the child's behaviour, a concern, not abuse of the child; unless the
        sentence names an injury."""
        word = self._harm_word(hit)
        if any(self.sentence[i.start] == self.sentence[word]
               for i in self.cues.get("injury_named", [])):
            return False  # someone was injured ("...and she has a black eye"): it stands
        stops = [a.start for a in self.cues.get("other_agent", [])]
        # the cue reaches on along its clause ("boy punched a classmate and threw a chair at
        # a teacher") until someone else acts ("... and her boyfriend punched him")
        return any(
            c.start <= word and self.clause[c.start] == self.clause[word]
            and not any(c.end <= s <= word for s in stops)
            for c in self.cues.get("child_agent", []))

    def _own_childhood(self, hit: _Hit) -> bool:
        """The writer telling of their own childhood ("when I was at school in the 90s a
        teacher hit me"): no child is in danger now from that event, so at most a concern. Only
        the sentence that says so: "...and he babysits my kids now" stays as it is."""
        sentence = self.sentence[hit.head if hit.head >= 0 else hit.start]
        return any(self.sentence[c.start] == sentence for c in self.cues.get("own_childhood", []))

    def _peer_harassment(self, hit: _Hit) -> bool:
        """Sexual comments, messages or jokes from other pupils ("boys in her class send her
        rude messages"): child-on-child harassment, a concern, not abuse by an adult. The cue
        reaches along its clause until an adult or a passive acts, or a contact act (touching,
        assault) is named."""
        stops = [a.start for k in ("other_agent", "contact_act") for a in self.cues.get(k, [])]
        tokens = [hit.head] if hit.head >= 0 else range(hit.start, hit.end)
        for c in self.cues.get("peer_harassment", []):
            inside = [s for s in stops if not (c.start <= s < c.end)]
            for t in tokens:
                if c.start <= t and self.clause[c.start] == self.clause[t] and not any(
                        c.end <= s <= t for s in inside):
                    return True
        return False

    def _reported_question(self, hit: _Hit) -> bool:
        clause = self.clause[hit.start]
        return any(q.end <= hit.start and self.clause[q.start] == clause
                   for q in self.cues.get("reported_question", []))

    def _negated(self, hit: _Hit) -> bool:
        return _NEGATION in self.scope[hit.head if hit.head >= 0 else hit.start]

    def _denied(self, hit: _Hit) -> bool:
        return _DENIAL in self.scope[hit.head if hit.head >= 0 else hit.start]

    def _dated(self, hit: _Hit) -> bool:
        """A recent time governs the match ("last month he threw a plate") and nothing in
        the sentence says it goes on: a dated incident, a concern rather than danger now."""
        first = hit.head if hit.head >= 0 else hit.start
        return _PAST_TIME in self.scope[first] and self.sentence[first] not in \
            self.current_sentences

    def _resolving(self, hit: _Hit, innocent: bool) -> list[_Hit]:
        sentence = self.sentence[hit.start]
        if sentence in self.current_sentences:
            return []
        cues = self.cues.get("resolved", [])
        if innocent and sentence not in self.account_sentences:
            cues = cues + self.cues.get("accident", [])
        # a resolved cue inside the match is part of it ("hit his head"); a co-occurrence
        # match is only its head word for this
        start, end = (hit.head, hit.head + 1) if hit.head >= 0 else (hit.start, hit.end)
        return [
            r for r in cues
            if self.sentence[r.start] == sentence and not (r.start < end and start < r.end)
        ]

    def _recovered(self, hit: _Hit, level: int) -> bool:
        """A past event the sentence says is over ("he was bullied in year 7 but it was sorted
        out"): a recovered cue in the sentence, a past cue in the match's own clause, and no
        current cue that could belong to this match (one in a clause that only holds other
        kinds of concern, "she still gets upset", is about them).
        An immediate match needs more ("abused as a toddler; he has had therapy"): a long-ago
        cue in its clause, a made_safe cue in the sentence, no current cue in the sentence at
        all, and every other clause of the sentence told as past or over, so nothing else
        in it ("...but he is coming to stay", "he has been sending threats") can be now."""
        sentence, clause = self.sentence[hit.start], self.clause[hit.start]
        # a co-occurrence match is only its head word for this (as for resolved cues)
        start, end = (hit.head, hit.head + 1) if hit.head >= 0 else (hit.start, hit.end)
        immediate = level > CONCERN
        ending = "made_safe" if immediate else "recovered"
        if not any(self.sentence[r.start] == sentence and not (r.start < end and start < r.end)
                   for r in self.cues.get(ending, [])):
            return False
        kinds = ("long_ago",) if immediate else ("long_ago", "past")
        if not any(self.clause[p.start] == clause for k in kinds for p in self.cues.get(k, [])):
            return False
        for c in self.currents:
            if self.sentence[c] != sentence:
                continue
            risks = self.clause_risks.get(self.clause[c])
            if immediate or not risks or hit.label in risks[0] or risks[1] > CONCERN:
                return False
        if immediate:
            told = {self.clause[c.start] for k in ("made_safe", "recovered", "resolved",
                                                   "long_ago", "past")
                    for c in self.cues.get(k, [])}
            for i, text in enumerate(self.texts):
                if (self.sentence[i] == sentence and self.clause[i] not in told
                        and any(ch.isalnum() for ch in text)):
                    return False
        return True

    @cached_property
    def clause_risks(self) -> dict[int, tuple[set[str], int]]:
        """Each clause's risk categories and highest urgency, as matched (before judging)."""
        risks: dict[int, tuple[set[str], int]] = {}
        for label, level, start in self.matched:
            labels, top = risks.get(self.clause[start], (set(), NONE))
            labels.add(label)
            risks[self.clause[start]] = (labels, max(top, level))
        return risks

    def _resolved(self, hit: _Hit, innocent: bool) -> bool:
        return bool(self._resolving(hit, innocent))

    def _resolved_clause(self, hit: _Hit, innocent: bool) -> bool:
        return any(self.clause[r.start] == self.clause[hit.start]
                   for r in self._resolving(hit, innocent))


def _dedupe(hits: list[_Hit]) -> list[_Hit]:
    """Drop a match inside another of the same category at the same or higher urgency."""
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end, -h.level)):
        if any(k.label == hit.label and k.start <= hit.start and hit.end <= k.end
               and k.level >= hit.level for k in kept):
            continue
        kept.append(hit)
    return kept


def _rule_level(rules, kind: str, child: int, partner: int | None) -> int:
    level = NONE
    for rule in rules:
        if rule.kind != kind or child >= rule.child_under:
            continue
        if kind == "partner":
            if partner is None:
                continue
            if rule.partner_min_age is not None and partner < rule.partner_min_age:
                continue
            if rule.min_gap is not None and partner - child < rule.min_gap:
                continue
        level = max(level, _LEVELS[rule.urgency])
    return level
