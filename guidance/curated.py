"""Matching a question to the pack's curated answers (faq.yml).

Every wording of every entry is a document in a BM25 index (rank-bm25, guidance/retrieval.py)
over the same analysis the retrieval uses (spaCy lemmas, the glossary, mended spellings), and
BM25 picks the best wording. The confidence of the match is how much of that wording the
question matches (its BM25 score over the wording's score against itself) times how much of the
question the entry's wordings cover together (by idf over the wordings, a word no wording uses
weighing as much as the rarest). The kind of answer asked for (a number, a time, a level, what
to do...) is a term too, so "who can refer?" is not "how do I refer?". A curated answer is
given from the pack's threshold up; below it the retrieval answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from guidance.faq import Curated, Faq
from guidance.retrieval import WeightedBM25

OWN_WEIGHT = 0.5  # a wording's terms are those of its analysis at least this strong...


class Query(Protocol):
    """What the matcher reads of an analysed question (guidance.ask's query)."""

    weights: dict[str, float]  # term -> weight (1.0 the asker's own word)
    original: list[str]  # the asker's content lemmas, mended where the guide knows them
    expanded: set[str]  # terms the glossary or a word family added...
    expanded_from: dict[str, frozenset[str]]  # ...and for which of the asker's words
    kinds: frozenset[str]  # what kind of answer is asked for ("number", "level", "action"...)


@dataclass(frozen=True)
class Match:
    entry: Curated
    wording: str
    confidence: float  # 0-1


class CuratedMatcher:
    """Build once per pack; `match` only reads."""

    def __init__(self, faq: Faq, analyse: Callable[[str], Query | None]) -> None:
        self._entries: list[Curated] = []
        self._wordings: list[str] = []
        documents: list[list[str]] = []
        for entry in faq:
            for wording in entry.questions:
                query = analyse(wording)
                # ...and not a glossary widening: the asker's question gets those.
                terms = [
                    term
                    for term, weight in (query.weights.items() if query else ())
                    if weight >= OWN_WEIGHT and term not in query.expanded
                ] + (_kind_terms(query) if query else [])
                self._entries.append(entry)
                self._wordings.append(wording)
                documents.append(terms)
        # An entry's words: what practitioners say when they ask it, in any of its wordings.
        self._entry_terms: dict[str, frozenset[str]] = {}
        for entry, terms in zip(self._entries, documents, strict=True):
            self._entry_terms[entry.id] = self._entry_terms.get(entry.id, frozenset()) | set(terms)
        self._index = WeightedBM25(documents)
        self._idf = self._index.idf
        self._unknown = max(self._idf.values(), default=1.0)
        self._self_scores = [
            float(self._index.scores(dict.fromkeys(terms, 1.0))[i]) if terms else 0.0
            for i, terms in enumerate(documents)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, query: Query) -> Match | None:
        """The best curated entry for an analysed question, with its confidence."""
        if not self._entries or not query.weights:
            return None
        kinds = _kind_terms(query)
        scores = self._index.scores({**query.weights, **dict.fromkeys(kinds, 1.0)})
        # BM25 picks the wording; the confidence says whether it asks the same thing.
        best = int(scores.argmax())
        if scores[best] <= 0 or not self._self_scores[best]:
            return None
        share = min(1.0, float(scores[best]) / self._self_scores[best])
        entry = self._entries[best]
        confidence = share * self._coverage(query, kinds, self._entry_terms[entry.id])
        return Match(self._entries[best], self._wordings[best], confidence)

    def _coverage(self, query: Query, kinds: list[str], terms: frozenset[str]) -> float:
        """Share of the question's own words (and kinds) that the entry's wordings use, or use
        in the glossary's or a related form."""
        asked = dict.fromkeys([*query.original, *kinds])
        if not asked:
            return 0.0
        covered = {word for word in asked if word in terms}
        for term in query.expanded & terms:
            covered |= query.expanded_from.get(term, frozenset())
        total = sum(self._idf.get(word, self._unknown) for word in asked)
        return sum(self._idf.get(word, self._unknown) for word in asked if word in covered) / total


def _kind_terms(query: Query) -> list[str]:
    return sorted(f"?{kind}" for kind in query.kinds)
