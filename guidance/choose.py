"""Choosing the sentences of a section that answer a question: the best ones, the detail the
asker named, a sentence of the kind asked for, whole lists, and what a pronoun points back to.
"""

from __future__ import annotations

import re

from guidance.question_kinds import Query
from guidance.retrieval import GuideIndex
from guidance.sentences import score_units
from guidance.units import Unit
from guidance.vocabulary import EXPANSION_WEIGHT

# The shares of the best sentence's score that decide what else is quoted are learned
# (guidance/tuning.py: best_share, action_share, step_share, detail_share, reworded_share).
DETAIL_IDF = 1.0  # a question word this rare is a detail the answer should speak to
LIST_CHARS = 520  # a list quoted whole is kept to about this many characters
# A sentence that points back to the one before it ("In that case, refer without consent").
_ANAPHOR = re.compile(
    r"^(It|This|These|They|That|Those|He|She|Its|Their|In that case|At that time)\b"
)


def pick(guide: GuideIndex, query: Query, index: int, limit: int) -> list[tuple[float, Unit]]:
    """Up to `limit` sentences of section `index` (a list counting as one), with scores."""
    scored = score_units(guide, query, index)
    if not scored:
        return []
    best = max(score for score, _ in scored)
    ranked = sorted(scored, key=lambda pair: (-pair[0], pair[1].position))
    if query.asks_definition and guide.opening_defines(query, index):
        # "What is X?" about the section's own subject: its opening sentences define it.
        opening = [pair for pair in scored if pair[1].list_id is None][:2]
        chosen = opening + [pair for pair in ranked if pair not in opening][:1]
        chosen = [pair for pair in chosen if pair in opening or pair[0] >= 0.6 * best]
    else:
        weights = guide.weights
        share = weights.action_share if query.asks_action else weights.best_share
        chosen = [pair for pair in ranked if pair[0] >= share * best][:limit]
        if query.asks_action:
            # Room left: the next steps in the guide's own order of importance.
            steps = [
                pair
                for pair in ranked
                if pair not in chosen
                and (pair[1].is_action or pair[1].forbids)
                and pair[0] >= weights.step_share * best
            ]
            chosen += steps[: max(0, limit - len(slots(chosen)))]
        if len(chosen) < 2:
            chosen += [pair for pair in ranked if pair not in chosen and pair[0] > 0][:1]
        chosen = cover_detail(guide, query, chosen, ranked, limit)
        chosen = carry_kind(query, chosen, ranked, limit)
    # A sentence that opens with "It" or "These" needs the sentence it points back to.
    units = guide.units[index]
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
            and len(slots(chosen)) < limit
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
        chosen = whole_lists(chosen, scored)
    return within_slots(chosen, limit)


def cover_detail(
    guide: GuideIndex,
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
        and guide.idf.get(term, 0.0) >= DETAIL_IDF
        and term not in covered
    ]
    # And an asker's word the answer does not speak to, in the guide's word for it that the
    # glossary gave ("willingly": "agree").
    reworded = [
        term
        for term in query.expanded
        if query.weights[term] >= EXPANSION_WEIGHT
        and " " not in term
        and guide.idf.get(term, 0.0) >= DETAIL_IDF
        and term not in covered
        and not query.expanded_from.get(term, frozenset()) & covered
    ]
    best = ranked[0][0] if ranked else 0.0
    for group, share in (
        (sorted(missing, key=lambda t: -guide.idf[t])[:1], guide.weights.detail_share),
        (sorted(reworded, key=lambda t: (-guide.idf[t], t)), guide.weights.reworded_share),
    ):
        chosen = add_detail(group, chosen, ranked, share * best, limit)
    return chosen


def add_detail(
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
        chosen = _make_room(chosen, limit, slots)
        chosen = [*chosen, extra]
        break
    return chosen


def carry_kind(
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
        chosen = _make_room(chosen, limit, slots)
        # Scored as the best, so that no sentence brought in later pushes it out.
        top = max((score for score, _ in chosen), default=extra[0])
        chosen = [*chosen, (max(top, extra[0]), extra[1])]
    return chosen


def whole_lists(
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


def same_point(a: Unit, b: Unit) -> bool:
    """Two sections saying the same thing in nearly the same words: quote it once."""
    if a.text == b.text:
        return True
    union = len(a.terms | b.terms)
    return bool(union) and len(a.terms & b.terms) / union >= 0.8


def slots(chosen: list[tuple[float, Unit]]) -> set[object]:
    """The places the chosen sentences take: one each, or one for a whole list."""
    return {("list", unit.list_id) if unit.list_id is not None else id(unit) for _, unit in chosen}


def within_slots(chosen: list[tuple[float, Unit]], limit: int) -> list[tuple[float, Unit]]:
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


def _make_room(chosen: list, limit: int, slots) -> list:
    """Drop the weakest choice after the first when `chosen` fills its slots already."""
    if len(slots(chosen)) < limit:
        return chosen
    weakest = min(chosen[1:], key=lambda pair: pair[0], default=None)
    return chosen if weakest is None else [pair for pair in chosen if pair is not weakest]
