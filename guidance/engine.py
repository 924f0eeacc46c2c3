"""The guidance engine: one nlp pipeline shared by the risk screen, the assessor and answers.

Build one Engine per process (loading takes about a second) and reuse it.
"""

from __future__ import annotations

from typing import Any

from guidance.ask import Answer, AnswerFinder
from guidance.assess import Assessment, Assessor
from guidance.nlp import make_nlp
from guidance.pack import Pack
from guidance.risk import RiskScreen

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
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("text is not valid UTF-8") from None
    return text


class Engine:
    def __init__(self, pack: Pack):
        self.pack = pack
        self.nlp = make_nlp()
        self.risk_screen = RiskScreen(pack.lexicon, self.nlp)
        self.assessor = Assessor(pack.levels, self.risk_screen, self.nlp, pack.sections)
        self.answers = AnswerFinder(pack.sections, pack.contacts, self.nlp)

    def risk(self, text: str) -> Any:
        """Screen a message: RiskResult with urgency, categories and matches."""
        return self.risk_screen.screen(check_text(text))

    def assess(self, text: str) -> Assessment:
        """Suggest a level of need with reasons, next steps and sources."""
        return self.assessor.assess(check_text(text))

    def ask(self, text: str, role: str | None = None) -> Answer:
        """Answer a question from the guide, citing its sections."""
        return self.answers.ask(check_text(text), role=role)

    def risk_many(self, texts: list[str]) -> list[Any]:
        return list(self.risk_screen.screen_many([check_text(t) for t in texts]))

    def assess_many(self, texts: list[str]) -> list[Assessment]:
        return self.assessor.assess_many([check_text(t) for t in texts])

    def ask_many(self, texts: list[str], role: str | None = None) -> list[Answer]:
        return [self.answers.ask(check_text(t), role=role) for t in texts]
