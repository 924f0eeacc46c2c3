"""The risk-screen NLU component, the safety-first rule policy and the action server's token."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from rasa.shared.core.events import ActionExecuted, ActiveLoop, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.message import Message

from bot.action_server import token_ok
from bot.components.risk_screen import RiskScreen
from bot.components.safety_policy import SafetyFirstRulePolicy

TUESDAY_10AM = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
SATURDAY_10AM = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
DISCLOSURE = "Year 4 boy says his dad hit him with a belt last night and he's scared to go home."


@pytest.fixture()
def screen(monkeypatch, guidance_engine) -> RiskScreen:
    monkeypatch.setattr(RiskScreen, "_engine", staticmethod(lambda: guidance_engine))
    return RiskScreen(RiskScreen.get_default_config())


def message(text: str, intent: str = "describe_worry", confidence: float = 0.6) -> Message:
    ranking = [{"name": intent, "confidence": confidence},
               {"name": "ask_guide", "confidence": 1 - confidence}]
    return Message(data={"text": text, "intent": ranking[0], "intent_ranking": ranking,
                         "entities": []})


def entities(msg: Message) -> dict[str, str]:
    return {e["entity"]: e["value"] for e in msg.get("entities")}


def test_immediate_risk_forces_the_intent_and_supplies_the_numbers(screen, guidance_engine):
    msg = message(DISCLOSURE)
    screen._screen(msg, now=TUESDAY_10AM)

    assert msg.get("risk")["urgency"] == "immediate"
    assert msg.get("risk")["forced"] is True
    assert msg.get("intent") == {"name": "report_immediate_risk", "confidence": 1.0}
    ranking = [r["name"] for r in msg.get("intent_ranking")]
    assert ranking == ["report_immediate_risk", "describe_worry", "ask_guide"]  # kept
    contacts = guidance_engine.pack.contacts
    assert entities(msg) == {
        "safety_when": "in_hours",
        "safety_service": contacts.front_door.name,
        "safety_phone": contacts.front_door.phone,
        "emergency_phone": "999",
        "safety_audience": "school",
    }


def test_a_gps_safety_message_is_chosen_by_the_signed_role(screen):
    """The role comes from the signed channel's metadata, never from the text: a GP gets the
    clinical wording (bot/domain/safety.yml, safety_audience gp), everyone else the school's."""
    msg = message(DISCLOSURE)
    msg.set("metadata", {"role": "gp", "user_id": "8"})
    screen._screen(msg, now=TUESDAY_10AM)
    assert entities(msg)["safety_audience"] == "gp"
    claimed = message("I am a GP. " + DISCLOSURE)
    claimed.set("metadata", {"role": "dsl"})
    screen._screen(claimed, now=TUESDAY_10AM)
    assert entities(claimed)["safety_audience"] == "school"


def test_out_of_hours_gives_the_out_of_hours_number(screen, guidance_engine):
    msg = message(DISCLOSURE)
    screen._screen(msg, now=SATURDAY_10AM)
    assert entities(msg)["safety_when"] == "out_of_hours"
    assert entities(msg)["safety_phone"] == guidance_engine.pack.contacts.out_of_hours.phone


def test_a_question_is_screened_but_not_forced(screen):
    msg = message("What does level 3 mean?", intent="ask_level_meaning", confidence=0.9)
    screen.process([msg])
    assert msg.get("risk")["urgency"] == "none"
    assert msg.get("intent")["name"] == "ask_level_meaning"
    assert msg.get("entities") == []


def test_classifier_alone_with_a_concern_cue_stays_immediate(screen):
    msg = message("she has bruises she won't explain", intent="report_immediate_risk",
                  confidence=0.8)
    screen._screen(msg, now=TUESDAY_10AM)
    assert msg.get("risk")["urgency"] in {"concern", "immediate"}
    assert msg.get("intent")["name"] == "report_immediate_risk"
    assert "safety_phone" in entities(msg)


def test_classifier_alone_without_any_risk_cue_asks_to_confirm(screen):
    msg = message("mum, dad and a baby brother", intent="report_immediate_risk", confidence=1.0)
    screen._screen(msg, now=TUESDAY_10AM)
    assert msg.get("risk")["urgency"] == "none" and msg.get("risk")["confirm"]
    assert msg.get("intent")["name"] == "nlu_fallback"
    # As the FallbackClassifier leaves it: the fallback first, the classifier's call next, so
    # the fallback's "Did you mean ...?" offers the immediate-risk path.
    ranking = [r["name"] for r in msg.get("intent_ranking")]
    assert ranking[:2] == ["nlu_fallback", "report_immediate_risk"]
    assert "safety_phone" in entities(msg)  # numbers ready if the user says yes


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "<script>alert(1)</script>",
                                  "x" * 100_000, "¿Dónde está la biblioteca?"])
def test_odd_input_never_raises(screen, text):
    msg = message(text)
    screen.process([msg])
    assert msg.get("risk")["urgency"] in {"none", "concern", "immediate", "unknown"}


def tracker_after(intent: str, *, loop: str | None = "threshold_form") -> DialogueStateTracker:
    events = [ActionExecuted("action_listen"), UserUttered("x", {"name": "check_threshold"})]
    if loop:
        events += [ActionExecuted(loop), ActiveLoop(loop)]
    events += [ActionExecuted("action_listen"), UserUttered("y", {"name": intent})]
    return DialogueStateTracker.from_events("s", events)


def test_immediate_risk_is_not_swallowed_by_an_open_form():
    found = SafetyFirstRulePolicy._find_action_from_loop_happy_path
    assert found(tracker_after("report_immediate_risk")) == (None, None)
    assert found(tracker_after("describe_worry"))[0] == "threshold_form"


def test_the_loop_is_not_resumed_between_the_safety_message_and_closing_it():
    found = SafetyFirstRulePolicy._find_action_from_loop_happy_path
    for loop in ("threshold_form", "action_two_stage_fallback"):
        tracker = tracker_after("report_immediate_risk", loop=loop)
        tracker.update(ActionExecuted("utter_safety_message"))
        assert found(tracker) == (None, None)
        tracker.update(ActionExecuted("action_raise_escalation"))
        assert found(tracker)[0] == loop  # any later step: RulePolicy as usual


def request(path: str = "/webhook", token: str | None = None, bearer: str | None = None):
    args = {"token": token} if token is not None else {}
    headers = {"authorization": f"Bearer {bearer}"} if bearer else {}
    return SimpleNamespace(path=path, args=args, headers=headers)


def test_action_server_token_travels_in_the_header_only():
    assert token_ok(request(bearer="s3cret"), "s3cret")
    assert not token_ok(request(bearer="wrong"), "s3cret")
    assert not token_ok(request(), "s3cret")
    assert not token_ok(request(bearer="x"), "")
    # A token in the URL lands in access logs: refused even when it is the right one.
    assert not token_ok(request(token="s3cret"), "s3cret")
    assert not token_ok(request(token="s3cret", bearer="s3cret"), "s3cret")


def test_rasa_sends_the_action_token_in_a_header_not_the_url(monkeypatch):
    from rasa.core.utils import read_endpoints_from_path

    from settings import ROOT

    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "t0ken")
    for variable in ("RASA_TRACKER_DB_HOST", "RASA_TRACKER_DB_NAME", "RASA_TRACKER_DB_USER",
                     "RASA_TRACKER_DB_PASSWORD", "RASA_REDIS_HOST", "RASA_REDIS_PORT",
                     "RASA_REDIS_DB", "RASA_REDIS_PASSWORD", "RASA_LOCK_PREFIX"):
        monkeypatch.setenv(variable, "1")
    for name in ("endpoints.yml", "endpoints.production.yml"):
        action = read_endpoints_from_path(ROOT / "bot" / name).action
        assert action.token is None, name
        assert action.headers == {"Authorization": "Bearer t0ken"}, name
        assert "t0ken" not in action.url


def test_a_disclosure_deep_in_a_long_message_is_found(screen):
    filler = "We had a long meeting about the timetable and the trip. " * 600  # ~34,000 chars
    msg = message(filler + DISCLOSURE)
    screen._screen(msg, now=TUESDAY_10AM)
    assert msg.get("risk")["urgency"] == "immediate"
    assert msg.get("intent")["name"] == "report_immediate_risk"
    assert all(m["start"] >= len(filler) - 1 for m in msg.get("risk")["matches"])


def with_channel_screen(msg: Message, urgency: str, categories: list[str]) -> Message:
    msg.set("metadata", {"channel_screen": {"urgency": urgency, "categories": categories,
                                            "matches": [], "chars": 50_000}})
    return msg


def test_the_channels_full_text_screen_raises_the_components_own(screen):
    # Rasa reads only the first RASA_MAX_CHARS characters; the signed channel screened all
    # 50,000 and found the disclosure at the end. The component must act on that.
    msg = with_channel_screen(message("We talked about the school trip."), "immediate",
                              ["physical_abuse"])
    screen._screen(msg, now=TUESDAY_10AM)
    assert msg.get("risk")["urgency"] == "immediate"
    assert "physical_abuse" in msg.get("risk")["categories"]
    assert msg.get("intent")["name"] == "report_immediate_risk"
    assert entities(msg)["emergency_phone"] == "999"


def test_the_channels_screen_never_lowers_the_components_own(screen):
    msg = with_channel_screen(message(DISCLOSURE), "none", [])
    screen._screen(msg, now=TUESDAY_10AM)
    assert msg.get("risk")["urgency"] == "immediate"
    assert msg.get("intent")["name"] == "report_immediate_risk"


def test_a_malformed_channel_screen_is_ignored(screen):
    msg = message("What does level 2 mean?", intent="ask_guide", confidence=0.9)
    msg.set("metadata", {"channel_screen": {"urgency": "catastrophic"}})
    screen._screen(msg, now=TUESDAY_10AM)
    assert msg.get("risk")["urgency"] == "none"
    assert msg.get("intent")["name"] == "ask_guide"
