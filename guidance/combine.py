"""The rules and the learned second opinion, composed: the one place they meet.

Safety rules of the composition (docs/architecture.md, "The learned second opinion"):
- the higher urgency and the higher level win: the model may raise what the rules found, never
  lower it;
- the model raises urgency only to immediate, only above the threshold calibrated on
  held-back data (false immediates on "none" items at most 5%), and only a message that reads
  as a description of someone (`describes_someone`: at least 8 words and a person named),
  whether the rules found a concern in it or nothing at all. Trained
  on safeguarding texts, it is out of its domain on small talk: it called 75 of the
  assistant's 1,221 everyday NLU examples ("hi", "night night", "cheers mate") immediate at
  p >= 0.9, and 1 of them passes that test; and a concern the rules found in a short message
  ("buy me a new phone") is no description of a child either. The rules alone caught 66 of
  136 immediate items among 300 concept tests written by someone who had not seen them, so
  wording the rules do not know must be able to reach the duty desk;
- it never raises a message the rules read as a question or hypothetical about procedure with
  no real child in it (RiskScreen.is_procedural), so a procedure question creates no escalation;
- it places a situation only at level 2-4, never at level 1, and only a description in which
  the rules found something (an indicator or a risk): out of its domain it is unreliable (it
  put 187 of the 1,354 everyday NLU examples at level 4);
- it places only what the rules left unplaced (level None with something found); it does not
  move a level the rules placed. Trained on some 400 case descriptions, its level did not
  carry over to practitioners' shorter messages: on the concept catalogue's 859 test messages
  (never trained on) it would have raised a rules-placed level 109 times, 106 of them above
  the label (mostly to level 4 on concerns). Its urgency still raises (the higher urgency
  wins, and an immediate urgency lifts the level to 4); where it agrees with the rules' level
  it is named in `by`;
- every result says which layer decided it (`by`), and a raise says so in plain words.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from guidance.assess import Assessment, Assessor
from guidance.classifier import Opinion, SecondOpinion
from guidance.gc_pause import without_gc
from guidance.risk import RiskResult, RiskScreen

RULES, MODEL = "rules", "model"
MIN_WORDS_FROM_NONE = 8
# Someone a message could be about: a child, a relative, a carer, or a pronoun for one.
_PERSON = re.compile(
    r"\b(?:child|children|kids?|boys?|girls?|sons?|daughters?|bab(?:y|ies)|toddlers?|infants?|"
    r"little (?:ones?|uns?)|bairns?|nippers?|our kid|"
    r"pupils?|students?|teens?|teenagers?|lads?|lass|young (?:person|people)|he|she|him|her|"
    r"his|they|them|their|mum|mam|mother|dad|father|parents?|carers?|step\w+|brothers?|"
    r"sisters?|siblings?|nan|nana|gran|grandma|grandad|uncle|aunt|auntie|cousins?|partner|"
    r"boyfriend|girlfriend|family|year \d+|y\d+|\d+ ?(?:yo|y/o|years? old|months? old)|"
    r"\d{1,2} ?[mf])\b",  # clinical shorthand: "15M", "4 F"
    re.IGNORECASE)
RAISED_URGENCY = (
    "A statistical check of the wording suggests this may be immediate risk, not only a "
    "concern; the duty social worker should review it."
)


def describes_someone(text: str) -> bool:
    """Whether a message the rules found nothing in may still be raised by the model: long
    enough to describe a situation, and naming someone it happens to."""
    return len(text.split()) >= MIN_WORDS_FROM_NONE and _PERSON.search(text) is not None


def raised_level_reason(level: int) -> str:
    return (f"A statistical check of the wording suggests level {level}, higher than the "
            "indicators matched; the Integrated Front Door should review the level.")


class Combined:
    """Screens and assesses with the rules, then lets the model raise (batched)."""

    def __init__(self, screen: RiskScreen, assessor: Assessor,
                 second_opinion: SecondOpinion | None):
        self.screen = screen
        self.assessor = assessor
        self.second_opinion = second_opinion

    def risk_many(self, texts: list[str]) -> list[RiskResult]:
        return without_gc(self._risk_many, texts)

    def assess_many(self, texts: list[str]) -> list[Assessment]:
        return without_gc(self._assess_many, texts)

    def _risk_many(self, texts: list[str]) -> list[RiskResult]:
        rules = self.screen.screen_many(texts)
        if self.second_opinion is None:
            return rules
        # where the rules found nothing, the model is asked only about a description of someone
        asked = [i for i, rule in enumerate(rules)
                 if rule.urgency != "none" or describes_someone(texts[i])]
        opinions = self.second_opinion.urgency_opinions([texts[i] for i in asked])
        out = list(rules)
        for i, opinion in zip(asked, opinions, strict=True):
            out[i] = self._risk(texts[i], rules[i], opinion)
        return out

    def _assess_many(self, texts: list[str]) -> list[Assessment]:
        rules_risks = self.screen.screen_many(texts)
        by_rules = self.assessor.assess_given(texts, rules_risks)
        if self.second_opinion is None:
            return by_rules
        # the model raises where the rules found something (an indicator or a risk), or its
        # urgency where the text describes someone
        asked = [i for i, (risk, found) in enumerate(zip(rules_risks, by_rules, strict=True))
                 if risk.urgency != "none" or found.indicators or describes_someone(texts[i])]
        opinions = self.second_opinion.opinions([texts[i] for i in asked])
        out = list(by_rules)
        for i, opinion in zip(asked, opinions, strict=True):
            text, rules_risk = texts[i], rules_risks[i]
            risk = self._risk(text, rules_risk, opinion)
            assessment = by_rules[i]
            if risk.urgency != rules_risk.urgency:
                [assessment] = self.assessor.assess_given([text], [risk])
            found = rules_risk.urgency != "none" or bool(by_rules[i].indicators)
            out[i] = self._level(text, by_rules[i], assessment, opinion, found)
        return out

    def _risk(self, text: str, rules: RiskResult, opinion: Opinion) -> RiskResult:
        if opinion.urgency != "immediate":
            return rules
        # built directly: dataclasses.replace costs more than the model here
        if rules.urgency == "immediate":
            return RiskResult(rules.urgency, rules.categories, rules.matches, (RULES, MODEL))
        if not describes_someone(text):
            return rules
        if self._procedural(text):
            return rules
        return RiskResult("immediate", rules.categories, rules.matches, (MODEL,),
                          (RAISED_URGENCY,))

    def _procedural(self, text: str) -> bool:
        # asked only when the model would raise (rare), so its cost is small
        return self.screen.is_procedural(text)

    def _level(self, text: str, by_rules: Assessment, assessment: Assessment,
               opinion: Opinion, found: bool) -> Assessment:
        """`assessment` (the rules' own, or lifted to 4 by the model's urgency) with the
        model's level opinion applied; `by_rules` is the rules' alone. The model places only
        a situation the rules `found` something in: where they found nothing, an unplaced
        answer (questions, the consultation route) is better than its guess."""
        level = assessment.level
        if level != by_rules.level:  # the model's immediate urgency lifted it to level 4
            assessment = replace(assessment, by=(MODEL,))
        wanted = opinion.level  # 2-4 or None: the model never places at level 1
        if wanted is None or wanted < 2:
            return assessment
        if level == wanted:
            layers = assessment.by if MODEL in assessment.by else (*assessment.by, MODEL)
            return replace(assessment, by=tuple(layers))
        if level is not None or not found or self._procedural(text):
            return assessment
        return self.assessor.at_level(assessment, wanted, raised_level_reason(wanted), (MODEL,))


def merge_by(results: list[dict[str, Any]]) -> list[str]:
    """The layers named by any of several results (rules first), for windows of one text."""
    named = {layer for r in results for layer in r.get("by", [])}
    return [layer for layer in (RULES, MODEL) if layer in named]
