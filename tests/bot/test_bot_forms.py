"""Form validation: the child's age, a UK callback number, answers that say something."""

from __future__ import annotations

import pytest
from rasa.shared.core.domain import Domain

from bot.actions.forms import (
    ADULT,
    ValidateConsultationForm,
    ValidateThresholdForm,
    parse_age,
    parse_uk_phone,
)
from settings import ROOT


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("7", 7), ("seven", 7), ("She's 14", 14), ("14yo", 14), ("9 months", 0),
        ("6 months old", 0), ("unborn baby", 0), ("year 6", 11), ("0", 0), ("17", 17),
        ("Sixteen", 16), ("18", ADULT), ("twenty one", ADULT), ("dunno", None), ("", None),
    ],
)
def test_parse_age(text, age):
    assert parse_age(text) == age


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0151 606 2008", "0151 606 2008"), ("01516062008", "0151 606 2008"),
        ("07700 900123", "07700 900123"), ("+44 7700 900123", "07700 900123"),
        ("(020) 7008 0151", "020 7008 0151"), ("12345", None), ("call me", None),
        ("0151 606 2008 ext 4", None),
    ],
)
def test_parse_uk_phone(text, number):
    assert parse_uk_phone(text) == number


def test_child_age_accepts_words_and_rejects_adults(dispatcher, said, make_tracker):
    form = ValidateThresholdForm()
    tracker = make_tracker("seven")
    assert form.validate_child_age("seven", dispatcher, tracker, {}) == {"child_age": "7"}
    assert form.validate_child_age("19", dispatcher, tracker, {}) == {"child_age": None}
    assert form.validate_child_age("not sure", dispatcher, tracker, {}) == {"child_age": None}
    assert said() == ["utter_age_adult", "utter_age_invalid"]


def test_a_one_word_worry_asks_for_more(dispatcher, said, make_tracker):
    form = ValidateThresholdForm()
    result = form.validate_concern_description("hmm", dispatcher, make_tracker("hmm"), {})
    assert result == {"concern_description": None}
    assert said() == ["utter_answer_too_short"]


def test_bad_callback_number_is_refused(dispatcher, said, make_tracker):
    form = ValidateConsultationForm()
    assert form.validate_callback_number("999", dispatcher, make_tracker("999"), {}) == {
        "callback_number": None
    }
    assert said() == ["utter_number_invalid"]


async def test_threshold_form_run_validates_the_requested_slot(dispatcher, said, make_tracker):
    """The whole FormValidationAction, as the action server runs it, with the real domain."""
    domain = Domain.load(str(ROOT / "bot" / "domain")).as_dict()
    tracker = make_tracker("she's twelve", slots={"requested_slot": "child_age",
                                                  "child_age": "she's twelve"},
                           active_loop="threshold_form")
    tracker.events = [{"event": "slot", "name": "child_age", "value": "she's twelve"}]
    events = await ValidateThresholdForm().run(dispatcher, tracker, domain)
    assert {"event": "slot", "timestamp": None, "name": "child_age", "value": "12"} in events
    assert said() == []


async def test_fallback_asks_in_words_not_intent_names(dispatcher, make_tracker):
    from bot.actions.fallback import ActionDefaultAskAffirmation

    tracker = make_tracker("hmm conference thing")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 1.0},
        {"name": "ask_gp_conference", "confidence": 0.4},
    ]
    await ActionDefaultAskAffirmation().run(dispatcher, tracker, {})
    message = dispatcher.messages[0]
    assert message["response"] == "utter_ask_affirmation"
    assert message["label"] == "what a GP sends to a child protection conference"
    assert message["buttons"][0]["payload"] == "/ask_gp_conference"
