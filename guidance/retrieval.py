"""Retrieval: BM25 over terms the caller has already analysed (spaCy lemmas), with weighted
query terms, and the guide's sections indexed for ranking and quoting (GuideIndex).

The scoring is rank-bm25's (numpy only, imports in milliseconds); its idf is swapped for
Lucene's, which is never negative, so a word in most sections ("child") still counts a little
instead of being floored to an average-based epsilon.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from rank_bm25 import BM25Okapi

from guidance.passages import plain_text, split_passages
from guidance.question_kinds import Query
from guidance.sections import Section
from guidance.tuning import Weights
from guidance.units import Unit, make_unit

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 3
TAG_WEIGHT = 2
UNKNOWN_SHARE = 1.0  # a word the guide never uses weighs as much as its rarest word


class _LuceneBM25(BM25Okapi):
    def _calc_idf(self, nd: dict[str, int]) -> None:
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


class WeightedBM25:
    """An index of documents, each a list of terms (repeat a term to count it more)."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = K1, b: float = B):
        self._size = len(documents)
        # rank-bm25 divides by the average length: an empty index scores nothing.
        self._bm25 = (
            _LuceneBM25([list(d) for d in documents], k1=k1, b=b) if any(documents) else None
        )
        # Each term's scores, computed on first use: bounded by the index's vocabulary, and
        # it keeps a question to a few vector additions (ask must stay above 500/s).
        self._term_scores: dict[str, np.ndarray] = {}

    @property
    def idf(self) -> dict[str, float]:
        return self._bm25.idf if self._bm25 else {}

    @property
    def term_counts(self) -> list[dict[str, int]]:
        """Each document's term frequencies."""
        return self._bm25.doc_freqs if self._bm25 else [{} for _ in range(self._size)]

    def scores(self, weights: Mapping[str, float]) -> np.ndarray:
        """Every document's score for a query whose terms carry weights (1.0 = the asker's
        own word; less for a glossary widening or a mended spelling)."""
        total = np.zeros(self._size)
        if self._bm25 is None:
            return total
        for term, weight in weights.items():
            if term not in self._bm25.idf:
                continue
            scores = self._term_scores.get(term)
            if scores is None:
                scores = self._term_scores[term] = self._bm25.get_scores([term])
            total += weight * scores
        return total


class GuideIndex:
    """One pack's sections ready to rank and to quote: BM25 over each section's lemmas (title
    and tags counted more) and each section's quotable units. Build once; then read only."""

    def __init__(self, sections: Iterable[Section], terms: Callable[[str], list[str]],
                 weights: Weights | None = None):
        self.sections: list[Section] = list(sections)
        self.weights = weights or Weights()  # learned (guidance/tuning.py)
        documents = []
        for section in self.sections:
            found = terms(plain_text(section.body))
            found += terms(section.title) * TITLE_WEIGHT
            for tag in section.tags:
                found += terms(tag) * TAG_WEIGHT
            documents.append(found)
        self.bm25 = WeightedBM25(documents)
        self.term_counts = self.bm25.term_counts
        self.idf = self.bm25.idf
        self.max_idf = max(self.idf.values(), default=1.0)
        self.units: list[list[Unit]] = [
            [make_unit(passage, terms) for passage in split_passages(section.body)]
            for section in self.sections
        ]
        self.unit_df: list[Counter[str]] = []
        for units in self.units:
            unit_df: Counter[str] = Counter()
            for unit in units:
                unit_df.update(unit.terms)
            self.unit_df.append(unit_df)
        self.title_terms = [frozenset(terms(section.title)) for section in self.sections]
        self.topic_terms = [
            frozenset(terms(" ; ".join([section.title, *section.tags])))
            for section in self.sections
        ]

    def rank(self, query: Query, role: str | None) -> list[tuple[float, int]]:
        """(score, section index) of every section the question matches, best first."""
        scores = self.bm25.scores(query.weights)
        if role:
            for index, section in enumerate(self.sections):
                if role in section.audience:
                    scores[index] *= self.weights.role_boost
        return sorted(
            ((float(score), index) for index, score in enumerate(scores) if score > 0),
            reverse=True,
        )

    def topic_coverage(self, query: Query, index: int) -> float:
        """Share of the question's weight that the section's title and tags name."""
        topic = self.topic_terms[index]
        asked = {t: w * self.idf[t] for t, w in query.weights.items()}
        total = sum(asked.values())
        if not total:
            return 0.0
        return sum(value for term, value in asked.items() if term in topic) / total

    def is_answerable(self, query: Query, best: tuple[float, int]) -> bool:
        """Whether the section scores enough and speaks to enough of what was asked."""
        score, index = best
        if score < self.weights.min_score:
            return False
        # How much of what was asked does the best section speak to? Unknown words weigh most.
        tf = self.term_counts[index]
        asked = [self.idf.get(term, UNKNOWN_SHARE * self.max_idf) for term in query.original]
        matched = [self.idf[term] for term in query.original if term in self.idf and term in tf]
        # A glossary match means the question named this topic in other words: count it fully.
        matched_expansion = sum(self.idf[t] for t in query.expanded if t in tf)
        total = sum(asked) or 1.0
        return (sum(matched) + matched_expansion) / total >= self.weights.min_coverage

    def opening_defines(self, query: Query, index: int) -> bool:
        """Whether the section's first two sentences name most of what was asked about."""
        opening = [unit for unit in self.units[index][:2] if unit.list_id is None]
        terms = frozenset().union(*(unit.terms for unit in opening)) if opening else frozenset()
        asked = {
            t: self.idf[t]
            for t, w in query.weights.items()
            if t in self.idf and t not in query.framed
        }
        total = sum(asked.values())
        # "What are the signs of X?": "signs" is in the section but not its opening.
        topic, body = self.topic_terms[index], self.term_counts[index]
        if any(
            t in body and t not in topic and t not in terms and t not in query.expanded
            for t in asked
        ):
            return False
        return bool(total) and sum(v for t, v in asked.items() if t in terms) / total >= 0.5
