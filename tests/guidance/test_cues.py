"""Cue scopes (guidance/cues.py): direction, window, terminators and pseudo-triggers, the
pack's cues.yml and its checks, and the readings both engines get from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from guidance.cues import BACKWARD, BOTH, FORWARD, CueKind, CueScopes, CueSpec, load_cues


def kind(name: str, cues: tuple[str, ...], direction: str = FORWARD, window: int | None = 4,
         clause: bool = True, stop: tuple[str, ...] = (), extend: tuple[str, ...] = (),
         ended_by: tuple[str, ...] = (), pseudo: tuple[str, ...] = ()) -> CueKind:
    return CueKind(name, direction, window, clause, stop, extend, ended_by, cues, pseudo)


def scopes(text: str, *kinds: CueKind, breaks: tuple[str, ...] = (",", "but")) -> list[set]:
    """The kinds in force at each word of `text` (words split on spaces; lemma = the word,
    except "denied" -> "deny" so that lemma matching is seen)."""
    spec = CueSpec(Path("cues.yml"), breaks, {k.name: k for k in kinds})
    lemma = {"denied": "deny", "denies": "deny"}.get
    compiled = CueScopes(spec, str.split, lambda w: lemma(w, w))
    words = text.split()
    lemmas = [compiled._lemma(w) for w in words]
    found = compiled.scopes(words, compiled.find(words, lemmas))
    assert compiled.scopes_of(words, lemmas) == found  # the one-call form agrees
    return found


def governed(text: str, *kinds: CueKind, name: str = "negation", **kw) -> list[str]:
    words = text.split()
    return [w for w, s in zip(words, scopes(text, *kinds, **kw), strict=True) if name in s]


NEG = kind("negation", ("no", "not", "never", "no sign of"), stop=("and",), extend=("or",),
           pseudo=("no explanation", "not only", "not sure if"))


def test_forward_scope_reaches_the_window_after_the_cue_only():
    assert governed("mum said no bruises were seen on him today", NEG) == [
        "bruises", "were", "seen", "on"]
    assert governed("bruises no", NEG) == []


def test_backward_and_both_directions():
    ruled_out = kind("negation", ("ruled out",), direction=BACKWARD, window=2)
    assert governed("fracture on the arm ruled out", ruled_out) == ["the", "arm"]
    both = kind("negation", ("free",), direction=BOTH, window=1)
    assert governed("drug free home", both) == ["drug", "home"]


def test_a_multi_word_cue_scopes_from_its_end():
    # "no" alone would reach "recent"; "no sign of" reaches on to "bruising" and "today"
    assert governed("no sign of any recent bruising today . hit", NEG) == [
        "sign", "of", "any", "recent", "bruising", "today"]


def test_clause_breaks_and_contrast_words_end_the_scope():
    assert governed("no bruises , dad hit him", NEG) == ["bruises"]
    assert governed("not hurt but dad hit him", NEG) == ["hurt"]


def test_a_kinds_stop_word_ends_it_and_an_extend_word_carries_it_on():
    assert governed("no breakfast and dirty clothes", NEG) == ["breakfast"]
    # "or" renews the window: the list after a negation is negated as a whole
    assert governed("no cuts or bruises or marks or burns seen", NEG) == [
        "cuts", "or", "bruises", "or", "marks", "or", "burns", "seen"]


def test_a_sentence_end_ends_every_scope():
    sentence = kind("denial", ("deny",), window=None, clause=False)
    assert governed("denied being hit , kicked . dad hit him", sentence, name="denial") == [
        "being", "hit", ",", "kicked", "."]


def test_a_window_of_none_reaches_to_the_sentence_end_and_stop_words_still_end_it():
    denial = kind("denial", ("deny",), window=None, clause=False, stop=("told",))
    assert governed("he denies anyone hit him at home", denial, name="denial") == [
        "anyone", "hit", "him", "at", "home"]
    assert governed("he denied it but told me dad hit him", denial, name="denial") == [
        "it", "but"]


def test_a_cue_of_a_kind_it_is_ended_by_ends_the_scope():
    historic = kind("historic", ("previous",), window=4)
    neg = kind("negation", ("no",), window=6, ended_by=("historic",))
    assert governed("no concerns , previous neglect", neg, historic) == ["concerns"]
    assert governed("no current previous neglect", neg, historic) == ["current"]
    assert governed("no current previous neglect", neg, historic, name="historic") == [
        "neglect"]


def test_pseudo_triggers_are_not_in_force():
    assert governed("no explanation for the bruise", NEG) == []
    assert governed("not only hit but kicked", NEG) == []
    assert governed("not sure if he was hit", NEG) == []
    assert governed("not hit", NEG) == ["hit"]


def test_a_cue_word_matches_its_other_forms_unless_written_exactly():
    assert governed("she denied being hit", kind("negation", ("deny",))) == ["being", "hit"]
    assert governed("she denied being hit", kind("negation", ("=deny",))) == []


# -- the pack's cues.yml ----------------------------------------------------------------


def test_the_wirral_pack_defines_the_shared_kinds(pack):
    assert pack.levels.cues == pack.lexicon.scopes  # one definition, read by both engines
    kinds = pack.levels.cues.kinds
    assert {"negation", "denial", "historic"} <= set(kinds)
    assert kinds["negation"].direction == FORWARD and kinds["negation"].window
    assert kinds["negation"].pseudo and kinds["denial"].stop


def test_bad_cue_definitions_are_reported_with_file_and_line(tmp_path):
    (tmp_path / "cues.yml").write_text(
        "clause_breaks: [\",\"]\n"
        "kinds:\n"
        "  negation:\n"
        "    direction: sideways\n"
        "    window: 0\n"
        "    cues: [\"no\"]\n"
        "    colour: red\n"
        "  past:\n"
        "    direction: forward\n"
        "    ended_by: [nope]\n"
        "    cues: []\n",
        encoding="utf-8")
    spec, problems = load_cues(tmp_path)
    assert spec is None
    found = {(p.line, p.message.split(" ")[0]) for p in problems}
    assert all(p.file == tmp_path / "cues.yml" for p in problems)
    assert (4, "'negation.direction'") in found
    assert (5, "'negation.window'") in found
    assert (7, "unknown") in found
    assert (11, "'cues'") in found
    assert (10, "'past.ended_by'") in found


def test_validate_reports_a_broken_cues_file_once(tmp_path, pack_dir):
    import shutil

    from guidance.pack import validate_pack

    target = tmp_path / "pack"
    shutil.copytree(pack_dir, target)
    text = (target / "cues.yml").read_text(encoding="utf-8")
    (target / "cues.yml").write_text(text.replace("direction: forward", "direction: up", 1),
                                     encoding="utf-8")
    problems = [p for p in validate_pack(target) if p.file.name == "cues.yml"]
    assert len(problems) == 1 and problems[0].line and "direction" in problems[0].message
    (target / "cues.yml").unlink()
    assert any(p.file.name == "cues.yml" for p in validate_pack(target))


# -- readings through the engines -------------------------------------------------------


@pytest.fixture(scope="module")
def assessor(pack, nlp):
    from guidance.assess import Assessor

    return Assessor(pack.levels, None, nlp, pack.sections)


@pytest.mark.parametrize("text", [
    "never wanted him",
    "mum says she never wanted him",
    "Mum told the health visitor she has never wanted her and calls her a mistake",
])
def test_rejection_worded_with_never_is_not_negated(assessor, text):
    # the negation word is part of the indicator ("never wanted him"), so it governs nothing
    result = assessor.assess(text)
    assert "L3-parenting_capacity-8" in result.indicators and result.level == 3


@pytest.mark.parametrize(("text", "indicator"), [
    # a denial reaches through the list ("self-harm or suicidal thoughts")
    ("Denies any self-harm or suicidal thoughts, mood good, seeing friends",
     "L3-developmental_needs-8"),
    # over words that are not fillers ("been", "done an", "to an")
    ("dad's never been drunk at pick up", "L4-parenting_capacity-2"),
    ("will the IFD decline my request if i havent done an early help assessment first",
     "L3-family_and_environment-6"),
    ("Can a parent say no to an early help assessment? What happens then?",
     "L3-family_and_environment-6"),
    ("She denies any thoughts of suicide, her parents know and are supportive",
     "L3-developmental_needs-8"),
])
def test_negation_reaches_through_a_list_and_over_ordinary_words(assessor, text, indicator):
    assert indicator not in assessor.assess(text).indicators


def test_a_negation_inside_an_indicator_is_part_of_it(assessor):
    result = assessor.assess("parents not engaging with the family support worker")
    assert "L2-parenting_capacity-2" in result.indicators


def test_a_negation_does_not_reach_across_a_clause(assessor):
    assert assessor.assess("no concerns at home, but dad drinks every night and is "
                           "drunk at pick up").level == 4


def test_historic_words_lower_an_indicator_marked_past(assessor):
    now = assessor.assess("domestic abuse at home")
    before = assessor.assess("previous domestic abuse at home")
    assert before.level is not None and now.level is not None and before.level < now.level


@pytest.mark.parametrize(("text", "urgency"), [
    # "last month" says when, not that it is over: a recent disclosure stands
    ("last month she disclosed that her stepdad hits her", "immediate"),
    ("last month she told me she has been self harming", "concern"),
    ("Last month he came in with a bruise on his cheek and said dad did it", "immediate"),
    ("Child's grandad died last month, Y3 pupil very tearful and not concentrating",
     "concern"),
    # a dated incident with nothing to say it goes on: a concern, not danger now
    ("Mum mentioned she and her partner row a lot and last month he threw a plate; the "
     "children were in bed", "concern"),
    # over: resolved, or nothing since
    ("she was self harming but it was resolved last month", "none"),
    ("she was self harming, no incidents since last month", "none"),
])
def test_last_month_is_a_time_not_a_resolution(risk_screen, text, urgency):
    assert risk_screen.screen(text).urgency == urgency
