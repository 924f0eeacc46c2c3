"""BM25 over terms the caller has already analysed (spaCy lemmas), with weighted query terms.

The scoring is rank-bm25's (numpy only, imports in milliseconds); its idf is swapped for
Lucene's, which is never negative, so a word in most sections ("child") still counts a little
instead of being floored to an average-based epsilon.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from rank_bm25 import BM25Okapi

K1 = 1.2
B = 0.75


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
