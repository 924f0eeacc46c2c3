"""The rules and the learned second opinion, composed: the one place they meet.

Safety rules of the composition (docs/architecture.md, "The learned second opinion"):
- the higher urgency and the higher level win: the model may raise what the rules found, never
  lower it;
- the model raises urgency only from concern to immediate, and only above the threshold
  calibrated on held-back data (false immediates on "none" items at most 5%). It never raises
  a message in which the rules found nothing: trained only on safeguarding texts, it called
  171 of the assistant's 1,354 everyday NLU examples ("hi", "put me through to a person")
  immediate, so from "none" it would raise false alarms, and an escalation, for small talk;
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

from dataclasses import replace
from typing import Any

from guidance.assess import Assessment, Assessor
from guidance.classifier import Opinion, SecondOpinion
from guidance.risk import RiskResult, RiskScreen

RULES, MODEL = "rules", "model"
RAISED_URGENCY = (
    "A statistical check of the wording suggests this may be immediate risk, not only a "
    "concern; the duty social worker should review it."
)


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
        rules = self.screen.screen_many(texts)
        if self.second_opinion is None:
            return rules
        # the model can change nothing where the rules found nothing: ask it about the rest
        asked = [i for i, rule in enumerate(rules) if rule.urgency != "none"]
        opinions = self.second_opinion.urgency_opinions([texts[i] for i in asked])
        out = list(rules)
        for i, opinion in zip(asked, opinions, strict=True):
            out[i] = self._risk(texts[i], rules[i], opinion)
        return out

    def assess_many(self, texts: list[str]) -> list[Assessment]:
        rules_risks = self.screen.screen_many(texts)
        by_rules = self.assessor.assess_given(texts, rules_risks)
        if self.second_opinion is None:
            return by_rules
        # the model raises only where the rules found something (an indicator or a risk)
        asked = [i for i, (risk, found) in enumerate(zip(rules_risks, by_rules, strict=True))
                 if risk.urgency != "none" or found.indicators]
        opinions = self.second_opinion.opinions([texts[i] for i in asked])
        out = list(by_rules)
        for i, opinion in zip(asked, opinions, strict=True):
            text, rules_risk = texts[i], rules_risks[i]
            risk = self._risk(text, rules_risk, opinion)
            assessment = by_rules[i]
            if risk.urgency != rules_risk.urgency:
                [assessment] = self.assessor.assess_given([text], [risk])
            out[i] = self._level(text, by_rules[i], assessment, opinion)
        return out

    def _risk(self, text: str, rules: RiskResult, opinion: Opinion) -> RiskResult:
        if opinion.urgency != "immediate":
            return rules
        # built directly: dataclasses.replace costs more than the model here
        if rules.urgency == "immediate":
            return RiskResult(rules.urgency, rules.categories, rules.matches, (RULES, MODEL))
        if rules.urgency != "concern" or self._procedural(text):
            return rules
        return RiskResult("immediate", rules.categories, rules.matches, (MODEL,),
                          (RAISED_URGENCY,))

    def _procedural(self, text: str) -> bool:
        # asked only when the model would raise (rare), so its cost is small
        return self.screen.is_procedural(text)

    def _level(self, text: str, by_rules: Assessment, assessment: Assessment,
               opinion: Opinion) -> Assessment:
        """`assessment` (the rules' own, or lifted to 4 by the model's urgency) with the
        model's level opinion applied; `by_rules` is the rules' alone."""
        level = assessment.level
        if level != by_rules.level:  # the model's immediate urgency lifted it to level 4
            assessment = replace(assessment, by=(MODEL,))
        wanted = opinion.level  # 2-4 or None: the model never places at level 1
        if wanted is None or wanted < 2:
            return assessment
        if level == wanted:
            layers = assessment.by if MODEL in assessment.by else (*assessment.by, MODEL)
            return replace(assessment, by=tuple(layers))
        if level is not None or self._procedural(text):
            return assessment
        return self.assessor.at_level(assessment, wanted, raised_level_reason(wanted), (MODEL,))


def merge_by(results: list[dict[str, Any]]) -> list[str]:
    """The layers named by any of several results (rules first), for windows of one text."""
    named = {layer for r in results for layer in r.get("by", [])}
    return [layer for layer in (RULES, MODEL) if layer in named]
