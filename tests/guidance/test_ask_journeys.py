"""The four named journeys of issue 15, through the whole engine (Engine.ask).

Each answer must carry the fact the practitioner acts on, and keep the contract: only the
guide's own sentences, every one from a cited section.
"""

from __future__ import annotations

import re

import pytest

FRONT_DOOR = "0151 606 2008"
OUT_OF_HOURS = "0151 677 6557"
_PHONE = re.compile(r"\b\d{4} \d{3} \d{4}\b")


def _assert_quoted(pack, answer) -> None:
    """Every sentence, list lead-in and list item is word for word in a cited section."""
    assert answer.sources, answer.answer
    cited = " ".join(pack.sections.get(source.id).body for source in answer.sources)
    cited = re.sub(r"\s+", " ", cited.replace("**", ""))
    for fragment in re.split(r"(?<=[.!?:;])\s+|\n", answer.answer):
        assert fragment.removeprefix("- ").rstrip(".;:") in cited, fragment


@pytest.mark.parametrize(
    "question",
    ["how do I refer?", "how do I make a referral?", "How do I refer to the front door?"],
)
def test_how_do_i_refer_gives_the_route_and_the_number(engine, pack, question: str) -> None:
    answer = engine.ask(question)
    text = answer.answer
    assert FRONT_DOOR in text, text
    assert "multi-agency referral form" in text.lower() or "MARF" in text, text
    assert "making-a-referral-marf" in {source.id for source in answer.sources}
    _assert_quoted(pack, answer)


def test_consent_refused_gives_when_to_proceed_and_what_to_record(engine, pack) -> None:
    answer = engine.ask("parent refused consent, what now?")
    text = answer.answer.lower()
    assert "significant harm" in text, text  # when to proceed without consent
    assert "without consent" in text or "without a parent's consent" in text, text
    assert re.search(r"\brecord (your decision|why)", text), text  # what to record
    _assert_quoted(pack, answer)


def test_eight_pm_friday_gives_the_out_of_hours_number_first(engine, pack) -> None:
    answer = engine.ask("it's 8pm Friday, who do I call?")
    numbers = _PHONE.findall(answer.answer)
    # The front door is closed at 8pm: the first number the answer gives is the one to ring.
    assert numbers and numbers[0] == OUT_OF_HOURS, answer.answer
    _assert_quoted(pack, answer)


def test_police_call_out_last_night_gives_operation_encompass(engine, pack) -> None:
    answer = engine.ask("when will school hear about a police call-out last night?")
    assert "operation-encompass" in {source.id for source in answer.sources}, answer
    assert "before the next school day" in answer.answer, answer.answer
    _assert_quoted(pack, answer)
