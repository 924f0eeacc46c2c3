"""Answers to practitioners' questions, built only from the guide's own sentences.

A question is read in the guide's words (guidance/vocabulary.py). A curated answer (the pack's
faq.yml, guidance/curated.py) is given when it matches confidently; otherwise retrieval
(guidance/retrieval.py) ranks the sections by BM25 over lemmas, the best sentences of the best
section(s) are chosen (guidance/sentences.py, guidance/choose.py) and quoted as written with the
sections cited (guidance/compose.py). When nothing fits, the answer says so and gives the
numbers.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from spacy.language import Language

from guidance.compose import Answer, compose, no_question_text, not_found
from guidance.curated import CuratedMatcher, Match
from guidance.faq import Faq
from guidance.question_kinds import KindReader, Query
from guidance.retrieval import GuideIndex
from guidance.sections import Section, Sections
from guidance.sentences import RERANK_DEPTH, rerank
from guidance.spelling import TEXT_SPEAK, respell
from guidance.tuning import Weights
from guidance.vocabulary import Analyser, QueryReader

__all__ = ["Answer", "AnswerFinder"]

# Long messages are cut before analysis: a question never needs more, and time stays bounded.
MAX_QUESTION_CHARS = 2000
_MARKUP = re.compile(r"<[^>]{0,200}>|&[a-z]{2,8};|[`*_#>\[\]{}|\\~^]")


class AnswerFinder:
    """Answers questions from one pack's sections (and its curated answers, if given).

    Build once per process; after that `ask` only reads the index (and a bounded spelling cache).
    """

    def __init__(
        self,
        sections: Sections | Iterable[Section],
        contacts: Any,
        nlp: Language,
        faq: Faq | None = None,
        kinds: KindReader | None = None,
        weights: Weights | None = None,
    ):
        """`kinds`: what kind of answer a question asks for; by default the question-kind
        model of the cached classifier bundle (trained first if it is missing)."""
        self._contacts = contacts
        if kinds is None:
            from guidance.classifier import load_or_train

            kinds = KindReader(load_or_train().kinds)
        analyser = Analyser(nlp)
        self._guide = GuideIndex(sections, analyser.terms, weights)
        glossary = getattr(sections, "glossary", {}) or {}
        self._reader = QueryReader(analyser, self._guide.idf, self._guide.term_counts, glossary,
                                   kinds)
        # Curated answers (the pack's faq.yml), matched over the same reading as retrieval.
        faq = faq or Faq()
        self._threshold = faq.threshold
        self._curated = CuratedMatcher(faq, self._analyse)
        # Every word the guide or the glossary uses: a capitalised word outside it is taken
        # for a name when a question is kept for the gap list (guidance/gaps.py).
        self._known = frozenset(nlp.Defaults.stop_words | TEXT_SPEAK).union(
            *(analyser.words(" ".join([s.title, s.body, *s.tags])) for s in self._guide.sections),
            *(analyser.words(key) for key in glossary),
        )

    def knows(self, word: str) -> bool:
        """Whether the guide (or its glossary) uses this lower-case word."""
        return word in self._known

    def ask(self, text: str, role: str | None = None) -> Answer:
        """Answer a question: a curated answer when one matches confidently, else the best
        sentences of the guide; either way quoted and cited."""
        return self.answer(self.read(text), role)

    def read(self, text: str) -> Query | None:
        """The question analysed (None when it has no words): what `answer` takes."""
        return self._analyse(text)

    def with_weights(self, weights: Weights) -> AnswerFinder:
        """The same finder with other retrieval weights (for learning them); shares the index."""
        other = copy.copy(self)
        other._guide = copy.copy(self._guide)
        other._guide.weights = weights
        return other

    def answer(self, query: Query | None, role: str | None = None) -> Answer:
        """`ask` on a question already read."""
        if query is None:
            return Answer(no_question_text(self._contacts), [], question=False)
        role = (role or "").strip().lower() or None
        match = self._curated.match(query)
        if match is not None and match.confidence >= self._threshold:
            reply = match.entry.reply_for(role)
            return Answer(reply.text, list(reply.sources), True, reply.text, match.confidence,
                          query.kinds, curated=match.entry.id)
        return self._retrieve(query, role)

    def curated_match(self, text: str) -> Match | None:
        """The best curated answer for a question and the matcher's confidence, whatever the
        threshold (for learning the threshold)."""
        query = self._analyse(text)
        return self._curated.match(query) if query is not None else None

    def retrieve(self, text: str, role: str | None = None) -> Answer:
        """The answer from the whole guide, without curated answers (for comparing them)."""
        query = self._analyse(text)
        if query is None:
            return Answer(no_question_text(self._contacts), [], question=False)
        return self._retrieve(query, (role or "").strip().lower() or None)

    def _analyse(self, text: str) -> Query | None:
        """The question analysed; None when it has no letters or digits at all."""
        question = _MARKUP.sub(" ", str(text or "")[:MAX_QUESTION_CHARS])
        if not any(ch.isalnum() for ch in question):
            return None
        return self._reader.read(respell(question))

    def _retrieve(self, query: Query, role: str | None) -> Answer:
        if not query.weights:
            return not_found(self._contacts, query.kinds)
        ranked = self._guide.rank(query, role)
        if not ranked:
            return not_found(self._contacts, query.kinds)
        raw = dict((index, score) for score, index in ranked)
        reranked = rerank(self._guide, query, ranked)
        # The best section that speaks to enough of the question answers it.
        for position, (_, index) in enumerate(reranked[:RERANK_DEPTH]):
            if self._guide.is_answerable(query, (raw[index], index)):
                if position:
                    reranked.insert(0, reranked.pop(position))
                return compose(self._guide, query, reranked, self._contacts)
        return not_found(self._contacts, query.kinds)
