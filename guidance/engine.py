"""The guidance engine: one nlp pipeline shared by the risk screen, the assessor and answers,
and the learned second opinion (guidance/classifier.py) composed with the rules
(guidance/combine.py): everything that screens or assesses goes through here.

Build one Engine per process (loading takes about a second) and reuse it.
"""

from __future__ import annotations

from typing import Any

from guidance.ask import Answer, AnswerFinder
from guidance.assess import Assessment, Assessor
from guidance.classifier import SecondOpinion, load_or_train
from guidance.combine import Combined
from guidance.gaps import Gap, gap_for
from guidance.nlp import make_nlp
from guidance.pack import Pack
from guidance.question_kinds import KindReader
from guidance.risk import RiskResult, RiskScreen

# Longer than any real message or case note, short enough that one request stays fast.
MAX_TEXT_CHARS = 20_000


class InputError(ValueError):
    """A message the engine will not process (empty, too long, not text)."""


def check_text(text: Any) -> str:
    """Return `text` if the engine can process it; raise InputError naming the problem."""
    if not isinstance(text, str):
        raise InputError(f"text must be a string, not {type(text).__name__}")
    if not text.strip():
        raise InputError("text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"text is too long ({len(text):,} characters; the limit is {MAX_TEXT_CHARS:,})"
        )
    if not text.isascii():  # lone surrogates are the only str that UTF-8 cannot encode
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError("text is not valid UTF-8") from None
    return text


_LOAD = object()  # the default: the cached second opinion, trained first if missing


class Engine:
    """`second_opinion`: by default the model built from the repo's labelled texts (trained
    if its cache is missing, saying so on stderr); None runs the rules alone (for measuring
    them); or a SecondOpinion already loaded."""

    def __init__(self, pack: Pack, second_opinion: Any = _LOAD):
        self.pack = pack
        self.nlp = make_nlp()
        self.risk_screen = RiskScreen(pack.lexicon, self.nlp)
        self.assessor = Assessor(pack.levels, self.risk_screen, self.nlp, pack.sections)
        if second_opinion is _LOAD:
            second_opinion = load_or_train(rules=self.rules_only)
        self.second_opinion: SecondOpinion | None = second_opinion
        # The question-kind model travels in the same cached bundle as the second opinion;
        # without a second opinion (the rules alone) answers still read kinds from it.
        models = second_opinion if second_opinion is not None else load_or_train()
        self.answers = AnswerFinder(pack.sections, pack.contacts, self.nlp, pack.faq,
                                    KindReader(models.kinds))
        self.combined = Combined(self.risk_screen, self.assessor, second_opinion)

    def rules_only(self, texts: list[str]) -> list[tuple[str, bool]]:
        """(urgency, procedural) of each text by the rules alone (the model's calibration
        report compares the layers with it)."""
        return [(r.urgency, r.urgency != "immediate" and self.risk_screen.is_procedural(t))
                for t, r in zip(texts, self.risk_screen.screen_many(texts), strict=True)]

    def risk(self, text: str) -> RiskResult:
        """Screen a message: RiskResult with urgency, categories, matches and `by`."""
        return self.combined.risk_many([check_text(text)])[0]

    def assess(self, text: str) -> Assessment:
        """Suggest a level of need with reasons, next steps, sources and `by`."""
        return self.combined.assess_many([check_text(text)])[0]

    def ask(self, text: str, role: str | None = None) -> Answer:
        """Answer a question from the guide, citing its sections."""
        return self.answers.ask(check_text(text), role=role)

    def gap(self, text: str, answer: Answer) -> Gap | None:
        """What to keep for the partnership's gap list when `answer` (to `text`) was not
        confident: the question with names masked, and its topic; None otherwise."""
        return gap_for(text, answer, self.answers.knows)

    def risk_many(self, texts: list[str]) -> list[RiskResult]:
        return self.combined.risk_many([check_text(t) for t in texts])

    def assess_many(self, texts: list[str]) -> list[Assessment]:
        return self.combined.assess_many([check_text(t) for t in texts])

    def ask_many(self, texts: list[str], role: str | None = None) -> list[Answer]:
        return [self.answers.ask(check_text(t), role=role) for t in texts]
