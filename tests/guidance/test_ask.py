"""The answer engine: labelled questions, citations, out-of-scope and bad input."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from guidance.ask import Answer, AnswerFinder
from guidance.sections import load_sections


@dataclass(frozen=True)
class StubContact:
    name: str
    phone: str | None = None
    url: str | None = None
    note: str = ""


class StubContacts:
    """Stands in for guidance.contacts.Contacts: the finder only calls `.get(key)`."""

    def __init__(self, **contacts: StubContact):
        self._contacts = contacts

    def get(self, key: str) -> StubContact | None:
        return self._contacts.get(key)


STUB = StubContacts(
    front_door=StubContact("Integrated Front Door", "0151 606 2008"),
    out_of_hours=StubContact("Emergency Duty Team", "0151 677 6557"),
    emergency=StubContact("Police emergency", "999"),
    crimestoppers=StubContact("Crimestoppers", "0800 555 111"),
    police_non_emergency=StubContact("Police non-emergency", "101"),
    forced_marriage_unit=StubContact("Forced Marriage Unit", "020 7008 0151"),
)

EXTRA = Path(__file__).parent / "data" / "questions_extra.jsonl"
FRONT_DOOR = "0151 606 2008"
OUT_OF_HOURS = "0151 677 6557"


@pytest.fixture(scope="module")
def sections(pack_dir: Path):
    loaded, problems = load_sections(pack_dir, STUB)
    assert problems == []
    return loaded


@pytest.fixture(scope="module")
def finder(sections, nlp) -> AnswerFinder:
    return AnswerFinder(sections, STUB, nlp)


def _passes(item: dict, answer: Answer) -> bool:
    text = answer.answer.lower()
    if not answer.sources:
        return False
    if item.get("expect_any") and not any(s.lower() in text for s in item["expect_any"]):
        return False
    return all(any(s.lower() in text for s in group) for group in item.get("expect_all_any", []))


def _score(finder: AnswerFinder, file: Path) -> tuple[float, list[str]]:
    items = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]
    failures = []
    for item in items:
        answer = finder.ask(item["text"], item.get("role"))
        if not _passes(item, answer):
            failures.append(f"{item['id']}: {item['text']!r} -> {answer.answer[:160]!r}")
    return 1 - len(failures) / len(items), failures


def test_dev_questions_at_least_90_percent(finder: AnswerFinder, shared_eval: Path) -> None:
    file = shared_eval / "dev_questions.jsonl"
    if not file.exists():
        pytest.skip(f"{file} not found")
    score, failures = _score(finder, file)
    assert score >= 0.9, "\n".join(failures)


def test_extra_questions_at_least_90_percent(finder: AnswerFinder) -> None:
    items = EXTRA.read_text(encoding="utf-8").splitlines()
    assert len(items) >= 40
    score, failures = _score(finder, EXTRA)
    assert score >= 0.9, "\n".join(failures)


FRESH = [
    Path(__file__).parent / "data" / "questions_extra2.jsonl",
    Path(__file__).parent / "data" / "questions_extra3.jsonl",
    Path(__file__).parent / "data" / "questions_extra4.jsonl",
    Path(__file__).parent / "data" / "questions_extra5.jsonl",
    Path(__file__).parent / "data" / "questions_extra6.jsonl",
]


@pytest.mark.parametrize("file", FRESH, ids=lambda f: f.stem)
def test_fresh_question_batches_at_least_90_percent(finder: AnswerFinder, file: Path) -> None:
    # Written before tuning, labelled from the domain facts rather than from the answers.
    assert len(file.read_text(encoding="utf-8").splitlines()) >= 40
    score, failures = _score(finder, file)
    assert score >= 0.9, "\n".join(failures)


def test_who_questions_get_the_list(finder: AnswerFinder) -> None:
    for question in [
        "Who is in the Wirral MASH?",
        "which agencies work in the mash",
        "who sits in the MASH",
    ]:
        text = finder.ask(question).answer.lower()
        assert all(word in text for word in ("police", "health", "social care")), (question, text)
    text = finder.ask("Who takes part in a strategy discussion?").answer.lower()
    assert "police" in text and "health" in text


def test_what_to_do_gives_the_core_steps_first(finder: AnswerFinder) -> None:
    answer = finder.ask("What should I do if a child tells me they are being abused?").answer
    text = answer.lower()
    for step in ("listen", "seriously", "secret", "own words", "designated safeguarding lead"):
        assert step in text, (step, answer)
    assert len(re.findall(r"[.!?](\s|$)", answer)) <= 4


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("how long does a social work assessment take", "45 working days"),
        ("when does the core group first meet", "10 working days"),
        ("how quickly should FGM be reported", "next working day"),
        ("how soon do parents get the outline plan", "24 hours"),
        ("what number is the EDT", "0151 677 6557"),
        ("who do i call at 10pm about a child at risk", "0151 677 6557"),
        ("what level is a one-off self harm", "Level 2"),
        ("a child has a plan to end their life", "999"),
    ],
)
def test_answers_carry_the_number_time_or_level_asked_for(
    finder: AnswerFinder, question: str, fact: str
) -> None:
    assert fact.lower() in finder.ask(question).answer.lower()


def test_answer_shape(finder: AnswerFinder) -> None:
    answer = finder.ask("What is the MARF?")
    data = answer.to_dict()
    assert set(data) == {"answer", "sources", "confident"}
    assert data["confident"] is True
    assert data["sources"] and all(set(s) == {"id", "title"} for s in data["sources"])
    assert data["sources"][0]["id"] == "making-a-referral-marf"
    json.dumps(data)


def test_answers_are_quoted_from_the_cited_sections(finder: AnswerFinder, sections) -> None:
    questions = [
        "What is Operation Encompass?",
        "When is the first review child protection conference?",
        "What is private fostering?",
        "How quickly should social care decide what to do with my referral?",
        "What does level 4 mean?",
    ]
    for question in questions:
        answer = finder.ask(question)
        cited = " ".join(sections.get(s.id).body for s in answer.sources)
        cited = re.sub(r"\s+", " ", cited.replace("**", ""))
        # Every sentence, list lead-in and list item appears word for word in a cited section.
        for fragment in re.split(r"(?<=[.!?:;])\s+|\n", answer.answer):
            assert fragment.removeprefix("- ").rstrip(".;:") in cited, (question, fragment)
        assert 1 <= len(answer.sources) <= 2


def test_answers_are_short(finder: AnswerFinder) -> None:
    for question in ["What is neglect?", "What should a DSL do?", "Tell me about FGM"]:
        answer = finder.ask(question)
        assert 0 < len(answer.answer) <= 1000
        assert len(re.findall(r"[.!?](\s|$)", answer.answer)) <= 5


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "Whats the weather like in Liverpool tomorrow",
        "recommend a good pizza recipe",
        "zxqv blorp",
    ],
)
def test_out_of_scope_says_so_and_gives_the_numbers(finder: AnswerFinder, question: str) -> None:
    answer = finder.ask(question)
    assert answer.sources == []
    assert "could not find" in answer.answer
    assert FRONT_DOOR in answer.answer and OUT_OF_HOURS in answer.answer and "999" in answer.answer


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "???", "<p></p>", "\u200b\u200b"])
def test_empty_question(finder: AnswerFinder, question: str) -> None:
    answer = finder.ask(question)
    assert answer.sources == []
    assert "Please type a question" in answer.answer and FRONT_DOOR in answer.answer


def test_bad_input_is_bounded_and_clear(finder: AnswerFinder) -> None:
    for text in [
        "x" * 1_000_000,
        "what is FGM? " * 80_000,
        "\u202e\ufeff\U0001f600 a\u0301" * 2000,
        "<script>alert('hi')</script>",
        "\x00\x01\x02 consent \x7f",
        "ＷＨＡＴ ＩＳ ＦＧＭ？",  # full-width letters fold to ASCII
    ]:
        start = time.perf_counter()
        answer = finder.ask(text)
        assert time.perf_counter() - start < 1.0
        assert answer.answer
    assert finder.ask("ＷＨＡＴ ＩＳ ＦＧＭ？").sources[0].id == "fgm"
    assert finder.ask("<b>What is <i>Operation Encompass</i>?</b>").sources[0].id == (
        "operation-encompass"
    )
    assert finder.ask(None).sources == []  # type: ignore[arg-type]


def test_typos_and_abbreviations(finder: AnswerFinder) -> None:
    assert finder.ask("wat is the refferal form").sources[0].id == "making-a-referral-marf"
    assert finder.ask("what is CSE").sources[0].id == "child-sexual-exploitation"
    assert finder.ask("what is an ICPC").sources[0].id == "initial-child-protection-conference"
    assert "Emergency Duty Team" in finder.ask("what does EDT stand for").answer
    assert finder.ask("who is the LADO").sources[0].id == "allegations-against-staff-lado"
    assert finder.ask("what is an SGO?").sources[0].id == "special-guardianship"
    assert "0151 606 2008" in finder.ask("phone numbr for the integrated front dor").answer


def test_text_speak_is_respelled_before_analysis() -> None:
    from guidance.spelling import respell as _respell

    assert _respell("shud i share info w/o consent") == "should i share information without consent"
    assert _respell("whats the EDT phone no pls") == "what is the edt phone number please"
    assert _respell("level 2 for a 12 yr old") == "level 2 for a 12 year old"
    # Only whole words: "ur" inside "urgent", "info" inside "information" stay as typed.
    assert _respell("urgent information") == "urgent information"


def test_text_speak_questions_find_the_same_answer(finder: AnswerFinder) -> None:
    text = finder.ask("do i have to tell the parents im sharing info about them").answer.lower()
    assert "open" in text and "unless" in text
    assert "significant harm" in finder.ask("can i share info about a child w/o consent").answer


def test_other_forms_of_a_word_find_the_guide(finder: AnswerFinder) -> None:
    # "respond" finds "response", "permanent exclusion" finds "permanently excluded".
    assert "one working day" in finder.ask("How long has social care got to respond?").answer
    assert "Level 4" in finder.ask("permanent exclusion - what level of need?").answer
    # ...but not words that only look alike.
    weather = finder.ask("Whats the weather like in Liverpool tomorrow")
    assert weather.sources == []


def test_question_kinds_get_the_right_sentence(finder: AnswerFinder) -> None:
    assert "9am to 5pm" in finder.ask("What times is the IFD open?").answer
    assert "Team Around the Family" in finder.ask("level 3 meaning??").answer
    assert "section 17" in finder.ask("when does a contact become a referral").answer
    assert "register" in finder.ask("how do I get access to the online referral form?").answer
    assert "even if" in finder.ask("he sells drugs willingly, is it still exploitation?").answer
    assert "escalate" in finder.ask("how do i challenge a decision i think is wrong").answer.lower()
    sos = finder.ask("what is the Signs of Safety model").answer
    assert "What is working well" in sos  # the three questions the model asks
    # "closing the case" is not a question about opening hours.
    assert "9am" not in finder.ask("i dont agree with closing the case").answer


def test_role_biases_towards_the_roles_sections(finder: AnswerFinder) -> None:
    question = "What do I send for a child protection conference?"
    assert finder.ask(question, role="gp").sources[0].id == "gp-conference-reports"
    # An unknown role is harmless.
    assert finder.ask(question, role="plumber").sources


def test_ask_is_fast_enough(finder: AnswerFinder) -> None:
    questions = [json.loads(line)["text"] for line in EXTRA.read_text().splitlines() if line]
    start = time.perf_counter()
    for question in questions * 3:
        finder.ask(question)
    rate = len(questions) * 3 / (time.perf_counter() - start)
    assert rate > 150  # the benchmark asks for 500/s; a shared CI machine gets slack here


def test_finder_accepts_a_plain_list_of_sections(sections, nlp) -> None:
    finder = AnswerFinder(list(sections), STUB, nlp)  # no glossary: still answers
    assert finder.ask("What is Operation Encompass?").sources[0].id == "operation-encompass"


def test_no_sentence_points_back_to_one_left_out(finder: AnswerFinder, sections) -> None:
    # "In that case, refer without consent" is quoted only after the sentence saying which case.
    from guidance.passages import split_passages

    before = {}
    for section in sections:
        passages = split_passages(section.body)
        for previous, passage in zip(passages, passages[1:], strict=False):
            before[passage.text] = previous.text
    files = sorted((Path(__file__).parent / "data").glob("questions_extra*.jsonl"))
    questions = [json.loads(line)["text"] for f in files for line in f.read_text().splitlines()]
    checked = 0
    for question in questions + ["a parent refused consent", "who is our named MASH contact"]:
        answer = finder.ask(question).answer
        for sentence in re.split(r"(?<=[.!?])\s+", answer):
            if re.match(r"(In that case|At that time)\b", sentence):
                checked += 1
                assert before[sentence] in answer.split(sentence)[0], (question, answer)
    assert checked >= 5
