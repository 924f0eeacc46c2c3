"""Answers to practitioners' questions, built only from the guide's own sentences.

Retrieval is BM25 over lemmas (and adjacent-lemma pairs) of each section's body, title and tags,
with the title and tags counted more. A question is widened with the pack's glossary
(abbreviations and everyday words) and small spelling slips are mended against the guide's own
vocabulary. The answer is the best two to four sentences of the best section(s), quoted as
written, with the sections cited. When nothing fits, the answer says so and gives the numbers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from spacy.language import Language

from guidance.compose import render
from guidance.curated import CuratedMatcher, Match
from guidance.faq import Faq
from guidance.passages import clean_markdown, split_passages
from guidance.question_kinds import Query
from guidance.retrieval import WeightedBM25
from guidance.sections import Section, Sections, SourceRef
from guidance.spelling import respell
from guidance.units import Unit, make_unit
from guidance.vocabulary import EXPANSION_WEIGHT, Analyser, QueryReader

# Long messages are cut before analysis: a question never needs more, and time stays bounded.
MAX_QUESTION_CHARS = 2000
TITLE_WEIGHT = 3
TAG_WEIGHT = 2
ROLE_BOOST = 1.25  # a section written for the asker's role wins a near tie
MIN_SCORE = 1.5  # below this best BM25 score the guide has nothing on the question
UNKNOWN_SHARE = 1.0  # a word the guide never uses weighs as much as its rarest word
MIN_COVERAGE = 0.35  # share of the question's weight the best section must match
MAX_UNITS = 4
RERANK_DEPTH = 6
TOPIC_WEIGHT = 0.35  # a section's title and tag words matter less when choosing its sentences
SENTENCE_WEIGHT = 1.0  # how much the best single sentence adds to a section's score
TITLE_BONUS = 1.0  # a section whose title and tags name all the question's words counts double
COVERAGE_FLOOR = 0.4  # a section naming none of the question's words keeps this share
LOCAL_DISCOUNT = 0.7  # a word in every sentence of a section counts 30% when choosing among them
MAX_ANSWER_CHARS = 900
UNRELATED_KIND = 0.3
DETAIL_IDF = 1.0  # a question word this rare is a detail the answer should speak to...
DETAIL_SHARE = 0.3  # ...if a sentence with it scores at least this share of the best
REWORDED_SHARE = 0.1  # the glossary's word for the asker's word: a sentence with it answers
ACTOR_BONUS = 0.75  # per person or agency a sentence names, for "who" questions
BEST_SHARE = 0.5  # a sentence scoring under half the best one is left out...
ACTION_SHARE = 0.4  # ...but "what should I do" wants every core step
STEP_SHARE = 0.25  # ...down to this share of the best, if they are steps
STEP_ORDER = 0.5  # and the earlier of two steps is the more basic
LIST_CHARS = 520  # a list quoted whole is kept to about this many characters

_MARKUP = re.compile(r"<[^>]{0,200}>|&[a-z]{2,8};|[`*_#>\[\]{}|\\~^]")


_ANAPHOR = re.compile(r"^(It|This|These|They|That|Those|He|She|Its|Their)\b")


@dataclass(frozen=True)
class Answer:
    answer: str
    sources: list[SourceRef]

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.answer, "sources": [source.to_dict() for source in self.sources]}


class AnswerFinder:
    """Answers questions from one pack's sections.

    Build once per process; after that `ask` only reads the index (and a bounded spelling cache).
    """

    def __init__(
        self,
        sections: Sections | Iterable[Section],
        contacts: Any,
        nlp: Language,
        faq: Faq | None = None,
    ):
        self._analyser = Analyser(nlp)
        self._contacts = contacts
        self._sections: list[Section] = list(sections)
        glossary = getattr(sections, "glossary", {}) or {}

        # BM25 index (rank-bm25 over lemmas), with title and tags counted more.
        documents = []
        for section in self._sections:
            terms = self._analyser.terms(clean_markdown(section.body))
            terms += self._analyser.terms(section.title) * TITLE_WEIGHT
            for tag in section.tags:
                terms += self._analyser.terms(tag) * TAG_WEIGHT
            documents.append(terms)
        self._index = WeightedBM25(documents)
        self._doc_tf = self._index.term_counts
        self._idf = self._index.idf
        self._max_idf = max(self._idf.values(), default=1.0)

        self._units = [self._split_units(section.body) for section in self._sections]
        self._unit_df: list[Counter[str]] = []
        for units in self._units:
            unit_df: Counter[str] = Counter()
            for unit in units:
                unit_df.update(unit.terms)
            self._unit_df.append(unit_df)
        terms = self._analyser.terms
        self._title_terms = [frozenset(terms(section.title)) for section in self._sections]
        self._topic_terms = [
            frozenset(self._analyser.terms(" ; ".join([section.title, *section.tags])))
            for section in self._sections
        ]

        self._reader = QueryReader(self._analyser, self._idf, self._doc_tf, glossary)
        # Curated answers (the pack's faq.yml), matched over the same analysis as retrieval.
        faq = faq or Faq()
        self._threshold = faq.threshold
        self._curated = CuratedMatcher(faq, self._analyse)

    # ---- public -------------------------------------------------------------------------

    def ask(self, text: str, role: str | None = None) -> Answer:
        """Answer a question: a curated answer when one matches confidently, else the best
        sentences of the guide; either way quoted and cited."""
        query = self._analyse(text)
        if query is None:
            return Answer(self._no_question_text(), [])
        role = (role or "").strip().lower() or None
        match = self._curated.match(query)
        if match is not None and match.confidence >= self._threshold:
            reply = match.entry.reply_for(role)
            return Answer(reply.text, list(reply.sources))
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
            return Answer(self._no_question_text(), [])
        return self._retrieve(query, (role or "").strip().lower() or None)

    def _analyse(self, text: str) -> Query | None:
        """The question analysed; None when it has no letters or digits at all."""
        question = _MARKUP.sub(" ", str(text or "")[:MAX_QUESTION_CHARS])
        if not any(ch.isalnum() for ch in question):
            return None
        return self._reader.read(respell(question))

    def _retrieve(self, query: Query, role: str | None) -> Answer:
        if not query.weights:
            return Answer(self._not_found_text(), [])
        ranked = self._rank(query, role)
        if not ranked:
            return Answer(self._not_found_text(), [])
        raw = dict((index, score) for score, index in ranked)
        reranked = self._rerank(query, ranked)
        # The best section that speaks to enough of the question answers it.
        for position, (_, index) in enumerate(reranked[:RERANK_DEPTH]):
            if self._is_answerable(query, (raw[index], index)):
                if position:
                    reranked.insert(0, reranked.pop(position))
                return self._compose(query, reranked)
        return Answer(self._not_found_text(), [])

    # ---- analysis -----------------------------------------------------------------------


    # ---- retrieval ----------------------------------------------------------------------

    def _rank(self, query: Query, role: str | None) -> list[tuple[float, int]]:
        scores = self._index.scores(query.weights)
        if role:
            for index, section in enumerate(self._sections):
                if role in section.audience:
                    scores[index] *= ROLE_BOOST
        return sorted(
            ((float(score), index) for index, score in enumerate(scores) if score > 0),
            reverse=True,
        )

    def _rerank(self, query: Query, ranked: list[tuple[float, int]]) -> list[tuple[float, int]]:
        """Favour sections with one sentence that answers much of the question on its own."""
        # Coverage counts single words: a pair ("before refer") can match by chance.
        asked = {
            t: w * self._idf[t] for t, w in query.weights.items() if t in self._idf and " " not in t
        }
        total = sum(asked.values()) or 1.0
        head = []
        for score, i in ranked[:RERANK_DEPTH]:
            # A section missing the question's rarest word answers less of it.
            tf = self._doc_tf[i]
            coverage = sum(v for t, v in asked.items() if t in tf) / total
            head.append(
                (
                    (score + SENTENCE_WEIGHT * self._best_sentence(query, i))
                    * (1.0 + TITLE_BONUS * self._topic_coverage(query, i))
                    * (COVERAGE_FLOOR + (1.0 - COVERAGE_FLOOR) * coverage),
                    i,
                )
            )
        return sorted(head, reverse=True) + ranked[RERANK_DEPTH:]

    def _opening_defines(self, query: Query, index: int) -> bool:
        """Whether the section's first two sentences name most of what was asked about."""
        opening = [unit for unit in self._units[index][:2] if unit.list_id is None]
        terms = frozenset().union(*(unit.terms for unit in opening)) if opening else frozenset()
        asked = {
            t: self._idf[t]
            for t, w in query.weights.items()
            if t in self._idf and t not in query.framed
        }
        total = sum(asked.values())
        # "What are the signs of X?": "signs" is in the section but not its opening.
        topic, body = self._topic_terms[index], self._doc_tf[index]
        if any(
            t in body and t not in topic and t not in terms and t not in query.expanded
            for t in asked
        ):
            return False
        return bool(total) and sum(v for t, v in asked.items() if t in terms) / total >= 0.5

    def _best_sentence(self, query: Query, index: int) -> float:
        scored = self._score_units(query, index, choosing=False)
        return max((score for score, _ in scored), default=0.0)

    def _topic_coverage(self, query: Query, index: int) -> float:
        """Share of the question's weight that the section's title and tags name."""
        topic = self._topic_terms[index]
        asked = {t: w * self._idf[t] for t, w in query.weights.items()}
        total = sum(asked.values())
        if not total:
            return 0.0
        return sum(value for term, value in asked.items() if term in topic) / total

    def _is_answerable(self, query: Query, best: tuple[float, int]) -> bool:
        score, index = best
        if score < MIN_SCORE:
            return False
        # How much of what was asked does the best section speak to? Unknown words weigh most.
        tf = self._doc_tf[index]
        asked = [self._idf.get(term, UNKNOWN_SHARE * self._max_idf) for term in query.original]
        matched = [self._idf[term] for term in query.original if term in self._idf and term in tf]
        # A glossary match means the question named this topic in other words: count it fully.
        matched_expansion = sum(self._idf[t] for t in query.expanded if t in tf)
        total = sum(asked) or 1.0
        return (sum(matched) + matched_expansion) / total >= MIN_COVERAGE

    # ---- the answer ---------------------------------------------------------------------

    def _split_units(self, body: str) -> list[Unit]:
        return [make_unit(passage, self._analyser.terms) for passage in split_passages(body)]

    def _score_units(
        self, query: Query, index: int, *, choosing: bool = True
    ) -> list[tuple[float, Unit]]:
        """Score each quotable sentence of a section for this question.

        When choosing sentences within a section, a word found in most of its sentences (or in
        its title) says little about which sentence answers: the rest of the question decides.
        """
        units = self._units[index]
        topic = self._title_terms[index]
        weights: dict[str, float] = {}
        for term, weight in query.weights.items():
            if term not in self._idf:
                continue
            value = weight * self._idf[term]
            if choosing and term in query.expanded:
                value *= 0.5  # the glossary's wording: the asker's own words decide
            if choosing:
                share = self._unit_df[index].get(term, 0) / max(len(units), 1)
                value *= (1.0 - LOCAL_DISCOUNT * share) * (TOPIC_WEIGHT if term in topic else 1.0)
            weights[term] = value
        scored = []
        for unit in units:
            if unit.is_lead:
                continue  # quoted only in front of its bullets
            score = sum(weight for term, weight in weights.items() if term in unit.terms)
            if score <= 0 and not choosing:
                continue
            # A sentence of the right kind that names nothing asked about is a weak answer.
            score += self._kind_bonus(query, unit) * (1.0 if score > 0 else UNRELATED_KIND)
            if query.asks_action and choosing:
                score += self._step_bonus(unit, len(units))
            if unit.position == 0:
                score += 0.3  # a section's first sentence usually says what it is about
            scored.append((score, unit))
        return scored

    @staticmethod
    def _kind_bonus(query: Query, unit: Unit) -> float:
        """Favour the sentence that gives the kind of answer asked for (a number, a time...)."""
        bonus = 0.0
        if query.asks_number and unit.has_phone:
            bonus += 3.0
        if query.asks_date:
            bonus += 3.0 if unit.has_date else 0.0
        elif query.asks_time:
            bonus += 4.0 if unit.has_timescale else 1.0 if unit.has_time or unit.has_date else 0.0
        if query.asks_level and unit.has_level:
            bonus += 2.5
        if query.asks_signs and unit.has_signs:
            bonus += 3.0
        if query.asks_list and unit.is_list:
            bonus += 2.0
        if query.asks_who and unit.actors:
            bonus += ACTOR_BONUS * min(unit.actors, 4)  # "who is in it": the sentence naming most
        if query.asks_should and (unit.is_action or unit.forbids):
            bonus += 1.0
        if query.asks_hours and unit.has_hours:
            bonus += 3.0
        if query.asks_permission and unit.permits:
            bonus += 1.5
        if (
            (query.asks_definition or query.asks_who)
            and unit.defines
            and unit.subject & query.weights.keys()
        ):
            bonus += 1.5
        return bonus

    @staticmethod
    def _step_bonus(unit: Unit, count: int) -> float:
        """For "what should I do": the core steps, which guides put first and state plainly."""
        bonus = 0.0
        if unit.is_action:
            bonus += 1.5
        if unit.escalates or unit.records:
            bonus += 1.0  # tell the DSL, refer, write it down
        if unit.first_in_paragraph or unit.list_id is not None or unit.forbids:
            bonus += 1.0  # a paragraph's first sentence is the step; the rest explain it
        return bonus + STEP_ORDER * (1.0 - unit.position / max(count, 1))

    def _pick(self, query: Query, index: int, limit: int) -> list[tuple[float, Unit]]:
        scored = self._score_units(query, index)
        if not scored:
            return []
        best = max(score for score, _ in scored)
        ranked = sorted(scored, key=lambda pair: (-pair[0], pair[1].position))
        if query.asks_definition and self._opening_defines(query, index):
            # "What is X?" about the section's own subject: its opening sentences define it.
            opening = [pair for pair in scored if pair[1].list_id is None][:2]
            chosen = opening + [pair for pair in ranked if pair not in opening][:1]
            chosen = [pair for pair in chosen if pair in opening or pair[0] >= 0.6 * best]
        else:
            share = ACTION_SHARE if query.asks_action else BEST_SHARE
            chosen = [pair for pair in ranked if pair[0] >= share * best][:limit]
            if query.asks_action:
                # Room left: the next steps in the guide's own order of importance.
                steps = [
                    pair
                    for pair in ranked
                    if pair not in chosen
                    and (pair[1].is_action or pair[1].forbids)
                    and pair[0] >= STEP_SHARE * best
                ]
                chosen += steps[: max(0, limit - len(_slots(chosen)))]
            if len(chosen) < 2:
                chosen += [pair for pair in ranked if pair not in chosen and pair[0] > 0][:1]
            chosen = self._cover_detail(query, chosen, ranked, limit)
            chosen = self._carry_kind(query, chosen, ranked, limit)
        # A sentence that opens with "It" or "These" needs the sentence it points back to.
        units = self._units[index]
        positions = {unit.position for _, unit in chosen}
        for score, unit in list(chosen):
            before = unit.position - 1
            if (
                _ANAPHOR.match(unit.text)
                and unit.list_id is None
                and before >= 0
                and before not in positions
                and not units[before].is_lead
            ):
                chosen.append((score, units[before]))
                positions.add(before)
            # "The front door triages every request. It may ...": the sentence it goes on with.
            after = unit.position + 1
            if (
                unit.list_id is None
                and after < len(units)
                and after not in positions
                and _ANAPHOR.match(units[after].text)
                and (units[after].is_lead or not units[after].first_in_paragraph)
                and units[after].list_id is None
                and len(_slots(chosen)) < limit
            ):
                if not units[after].is_lead:
                    chosen.append((score * 0.9, units[after]))
                    positions.add(after)
                else:  # "It asks three questions:" and the list it introduces
                    bullets = [u for u in units[after + 1 :] if u.lead == units[after].text]
                    bullets = [u for u in bullets if u.list_id == bullets[0].list_id]
                    if sum(len(u.text) for u in bullets) <= LIST_CHARS:
                        chosen.extend((score * 0.9, u) for u in bullets)
                        positions.update(u.position for u in bullets)
            # "X is an emergency." is followed by what to do about it.
            if (
                query.asks_action
                and not unit.is_action
                and unit.list_id is None
                and after < len(units)
                and after not in positions
                and units[after].is_action
                and not units[after].first_in_paragraph
                and units[after].list_id is None
                and not units[after].is_lead
            ):
                chosen.append((score, units[after]))
                positions.add(after)
        if query.asks_list or query.asks_action or query.asks_signs:
            chosen = self._whole_lists(chosen, scored)
        return _within_slots(chosen, limit)

    def _cover_detail(
        self,
        query: Query,
        chosen: list[tuple[float, Unit]],
        ranked: list[tuple[float, Unit]],
        limit: int,
    ) -> list[tuple[float, Unit]]:
        """The asker's most telling word ("by an adult") should be in the answer if the
        section has a sentence with it: swap it in for the weakest sentence chosen."""
        covered = frozenset().union(*(unit.terms for _, unit in chosen)) if chosen else frozenset()
        missing = [
            term
            for term, weight in query.weights.items()
            if weight >= 1.0
            and " " not in term
            and self._idf.get(term, 0.0) >= DETAIL_IDF
            and term not in covered
        ]
        # And an asker's word the answer does not speak to, in the guide's word for it that the
        # glossary gave ("willingly": "agree").
        reworded = [
            term
            for term in query.expanded
            if query.weights[term] >= EXPANSION_WEIGHT
            and " " not in term
            and self._idf.get(term, 0.0) >= DETAIL_IDF
            and term not in covered
            and not query.expanded_from.get(term, frozenset()) & covered
        ]
        best = ranked[0][0] if ranked else 0.0
        for group, share in (
            (sorted(missing, key=lambda t: -self._idf[t])[:1], DETAIL_SHARE),
            (sorted(reworded, key=lambda t: (-self._idf[t], t)), REWORDED_SHARE),
        ):
            chosen = self._add_detail(group, chosen, ranked, share * best, limit)
        return chosen

    @staticmethod
    def _add_detail(
        terms: list[str],
        chosen: list[tuple[float, Unit]],
        ranked: list[tuple[float, Unit]],
        floor: float,
        limit: int,
    ) -> list[tuple[float, Unit]]:
        """Swap in the best sentence with the first of `terms` the section has a sentence for."""
        for term in terms:
            if any(term in unit.terms for _, unit in chosen):
                break
            extra = next(
                (pair for pair in ranked if term in pair[1].terms and pair[0] >= floor), None
            )
            if extra is None:
                continue
            if len(_slots(chosen)) >= limit:
                weakest = min(chosen[1:], key=lambda pair: pair[0], default=None)
                if weakest is not None:
                    chosen = [pair for pair in chosen if pair is not weakest]
            chosen = [*chosen, extra]
            break
        return chosen

    @staticmethod
    def _carry_kind(
        query: Query,
        chosen: list[tuple[float, Unit]],
        ranked: list[tuple[float, Unit]],
        limit: int,
    ) -> list[tuple[float, Unit]]:
        """An answer to "what number", "how long", "which level" or "what should I do" must
        carry a sentence with the number, the timescale, the level or the step to take."""
        needs = []
        if query.asks_number:
            needs.append(lambda u: u.has_phone)
        if query.asks_date:
            needs.append(lambda u: u.has_date)
        elif query.asks_time:
            needs.append(lambda u: u.has_timescale)
        if query.asks_level:
            needs.append(lambda u: u.has_level)
        if query.asks_action:
            needs.append(lambda u: u.escalates)
        for need in needs:
            if any(need(unit) for _, unit in chosen):
                continue
            extra = next((pair for pair in ranked if need(pair[1]) and pair[0] > 0), None)
            if extra is None:
                continue
            if len(_slots(chosen)) >= limit:
                weakest = min(chosen[1:], key=lambda pair: pair[0], default=None)
                if weakest is not None:
                    chosen = [pair for pair in chosen if pair is not weakest]
            # Scored as the best, so that no sentence brought in later pushes it out.
            top = max((score for score, _ in chosen), default=extra[0])
            chosen = [*chosen, (max(top, extra[0]), extra[1])]
        return chosen

    @staticmethod
    def _whole_lists(
        chosen: list[tuple[float, Unit]], scored: list[tuple[float, Unit]]
    ) -> list[tuple[float, Unit]]:
        """A list question is answered by the list: bring in the chosen bullets' siblings."""
        have = {id(unit) for _, unit in chosen}
        out = list(chosen)
        for list_id in dict.fromkeys(u.list_id for _, u in chosen if u.list_id is not None):
            siblings = [pair for pair in scored if pair[1].list_id == list_id]
            size = sum(len(u.text) for _, u in siblings if id(u) in have)
            for pair in sorted(siblings, key=lambda p: (-p[0], p[1].position)):
                if id(pair[1]) in have:
                    continue
                if size + len(pair[1].text) > LIST_CHARS:
                    continue
                size += len(pair[1].text)
                out.append(pair)
                have.add(id(pair[1]))
        return out

    def _compose(self, query: Query, ranked: list[tuple[float, int]]) -> Answer:
        top_score, top = ranked[0]
        # "What should I do?" needs the core steps, which can take all four sentences.
        picked = self._pick(query, top, MAX_UNITS if query.asks_action else MAX_UNITS - 1)
        parts: list[tuple[int, list[Unit]]] = [(top, [unit for _, unit in picked])]
        if len(ranked) > 1 and picked and len(_within_slots(picked, MAX_UNITS)) < MAX_UNITS:
            second_score, second = ranked[1]
            best_unit = picked[0][0]
            other = self._pick(query, second, 1)
            if (
                second_score >= 0.8 * top_score
                and other
                and other[0][0] >= 0.9 * best_unit
                and not any(_same_point(other[0][1], unit) for _, unit in picked)
            ):
                parts.append((second, [other[0][1]]))

        texts: list[str] = []
        sources: list[SourceRef] = []
        for index, units in parts:
            rendered = render(sorted(units, key=lambda unit: unit.position))
            if not rendered:
                continue
            if texts and len(" ".join(texts)) + len(rendered) > MAX_ANSWER_CHARS:
                break
            texts.append(rendered)
            sources.append(self._sections[index].ref())
        if not texts:
            return Answer(self._not_found_text(), [])
        return Answer(" ".join(texts), sources)

    # ---- when the guide has nothing -----------------------------------------------------

    def _numbers_text(self) -> str:
        def contact(key: str) -> Any:
            getter = getattr(self._contacts, "get", None)
            return getter(key) if getter else None

        parts = []
        front_door = contact("front_door")
        out_of_hours = contact("out_of_hours")
        emergency = contact("emergency")
        if front_door and front_door.phone:
            parts.append(f"ring the {front_door.name} on {front_door.phone} in office hours")
        if out_of_hours and out_of_hours.phone:
            parts.append(f"the {out_of_hours.name} on {out_of_hours.phone} out of hours")
        text = "If you are worried about a child, " + " or ".join(parts) + "." if parts else ""
        if emergency and emergency.phone:
            text += f" If a child is in immediate danger, ring {emergency.phone}."
        return text.strip()

    def _not_found_text(self) -> str:
        return ("I could not find an answer to that in the guide. " + self._numbers_text()).strip()

    def _no_question_text(self) -> str:
        return (
            "Please type a question about safeguarding, levels of need or the guide. "
            + self._numbers_text()
        ).strip()


def _same_point(a: Unit, b: Unit) -> bool:
    """Two sections saying the same thing in nearly the same words: quote it once."""
    if a.text == b.text:
        return True
    union = len(a.terms | b.terms)
    return bool(union) and len(a.terms & b.terms) / union >= 0.8


def _slots(chosen: list[tuple[float, Unit]]) -> set[object]:
    return {("list", unit.list_id) if unit.list_id is not None else id(unit) for _, unit in chosen}


def _within_slots(chosen: list[tuple[float, Unit]], limit: int) -> list[tuple[float, Unit]]:
    """Keep at most `limit` sentences, a whole list counting as one, best first."""
    slots: dict[object, float] = {}
    for score, unit in chosen:
        key = ("list", unit.list_id) if unit.list_id is not None else id(unit)
        slots[key] = max(slots.get(key, score), score)
    keep = set(sorted(slots, key=lambda k: -slots[k])[:limit])
    return [
        (score, unit)
        for score, unit in chosen
        if (("list", unit.list_id) if unit.list_id is not None else id(unit)) in keep
    ]


