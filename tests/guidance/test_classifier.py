"""The learned second opinion: training, the plain-array weights, the cache, and how the engine
composes it with the rules (it may raise, never lower; `by` says which layer decided)."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from guidance import classifier
from guidance.classifier import Opinion, SecondOpinion
from guidance.combine import RAISED_URGENCY, Combined

DATA = Path(__file__).parent / "data"
RANK = {"none": 0, "concern": 1, "immediate": 2}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> tuple[SecondOpinion, Path]:
    """One training run per session, saved to a temporary cache."""
    cache = tmp_path_factory.mktemp("classifier-cache")
    log = io.StringIO()
    model = classifier.load_or_train(DATA, cache, log=log)
    assert "training" in log.getvalue()
    return model, cache


@pytest.fixture(scope="session")
def urgency_pipeline():
    risk, _ = classifier.training_files(DATA)
    rows = classifier.read_labelled(risk, "label")
    rows += classifier.concept_rows(classifier.CONCEPTS_DIR)[0]  # the same data as training
    return classifier.fit_pipeline([t for t, _ in rows], [lab for _, lab in rows]), rows


def test_training_reads_only_the_top_level_labelled_files(tmp_path):
    for name in ("risk_extra.jsonl", "vignettes_extra.jsonl"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "frozen").mkdir()
    shutil.copy(DATA / "risk_extra2.jsonl", tmp_path / "frozen" / "risk_extra9.jsonl")
    risk, vignettes = classifier.training_files(tmp_path)
    assert [p.name for p in risk] == ["risk_extra.jsonl"]
    assert [p.name for p in vignettes] == ["vignettes_extra.jsonl"]


def test_numpy_prediction_equals_scikit_learn_on_the_training_texts(urgency_pipeline):
    pipeline, rows = urgency_pipeline
    texts = [t for t, _ in rows] + ["", "   ", "ｆｕｌｌ ｗｉｄｔｈ", "émigré naïve", "x" * 3000]
    linear = classifier.to_linear(pipeline)
    assert list(linear.classes) == list(pipeline.classes_)
    np.testing.assert_allclose(linear.proba(texts), pipeline.predict_proba(texts), atol=1e-9)


def test_weights_round_trip_through_the_plain_format(trained, urgency_pipeline, tmp_path):
    model, cache = trained
    [directory] = [p.parent for p in cache.glob("*/model.json")]
    assert sorted(p.name for p in directory.iterdir()) == ["model.json", "weights.npz"]
    with np.load(directory / "weights.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype == np.float64 for name in arrays.files)
    reloaded = classifier.load(directory)
    texts = [t for t, _ in urgency_pipeline[1][:200]]
    np.testing.assert_array_equal(reloaded.urgency_model.proba(texts),
                                  model.urgency_model.proba(texts))
    np.testing.assert_array_equal(reloaded.level_model.proba(texts),
                                  model.level_model.proba(texts))
    # the final urgency model is the full-data pipeline, stored without pickles
    pipeline, rows = urgency_pipeline
    np.testing.assert_allclose(reloaded.urgency_model.proba(texts),
                               pipeline.predict_proba(texts), atol=1e-9)
    assert reloaded.thresholds == model.thresholds


def test_training_is_deterministic(trained, urgency_pipeline):
    pipeline, rows = urgency_pipeline
    again = classifier.fit_pipeline([t for t, _ in rows], [lab for _, lab in rows])
    texts = [t for t, _ in rows[:100]]
    np.testing.assert_array_equal(again.predict_proba(texts), pipeline.predict_proba(texts))
    assert trained[0].key == classifier.inputs_key(DATA)


def test_calibration_keeps_false_immediates_within_the_limit(trained):
    model, _ = trained
    figures = model.figures["urgency"]
    hit, total = figures["model_false_immediate_on_none"]
    assert total >= 40 and hit / total <= classifier.SETTINGS["max_false_immediate"]
    hit, total = figures["model_concern_to_immediate"]
    assert total >= 40 and hit / total <= classifier.SETTINGS["max_concern_to_immediate"]
    assert model.thresholds["immediate"] >= classifier.SETTINGS["min_threshold"]
    assert model.thresholds["level"] >= classifier.SETTINGS["min_threshold"]
    text = "\n".join(classifier.describe(model))
    assert "threshold to raise urgency to immediate" in text and "none items" in text


def test_the_cache_is_reused_when_inputs_are_unchanged_and_rebuilt_when_they_change(
        tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("risk_extra.jsonl", "vignettes_extra.jsonl"):
        shutil.copy(DATA / name, data / name)
    cache = tmp_path / "cache"
    trainings = []
    real_train = classifier.train

    def counting_train(*args, **kwargs):
        trainings.append(1)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(classifier, "train", counting_train)
    log = io.StringIO()
    first = classifier.load_or_train(data, cache, log=log, concepts_dir=None)
    assert len(trainings) == 1 and "training" in log.getvalue()
    log = io.StringIO()
    second = classifier.load_or_train(data, cache, log=log, concepts_dir=None)
    assert len(trainings) == 1 and log.getvalue() == ""  # loaded, silently
    assert second.key == first.key
    with (data / "risk_extra.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"id": "new", "label": "none", "text": "a new line"}) + "\n")
    third = classifier.load_or_train(data, cache, log=io.StringIO(), concepts_dir=None)
    assert len(trainings) == 2 and third.key != first.key
    assert (cache / third.key / "model.json").exists()


# --- composition ---------------------------------------------------------------------------


def _fixed(model: SecondOpinion, *, urgency: str, level: int | None) -> SecondOpinion:
    """The trained model with its opinion pinned, to test the composition rules."""

    class Pinned(SecondOpinion):
        def _opinions(self, texts, *, with_level):
            return [Opinion(0.99 if urgency == "immediate" else 0.01, 0.5, urgency,
                            level if with_level else None, 0.9) for _ in texts]

    return Pinned(model.urgency_model, model.level_model, model.thresholds)


@pytest.fixture()
def combined(engine, trained):
    def build(*, urgency: str = "none", level: int | None = None) -> Combined:
        pinned = _fixed(trained[0], urgency=urgency, level=level)
        return Combined(engine.risk_screen, engine.assessor, pinned)
    return build


CONCERN = "Attendance down to 84% this term and he is falling asleep in lessons."
IMMEDIATE = "Year 4 boy says his dad hit him with a belt last night and he is scared to go home."
PROCEDURE = "What should I do if a child tells me they are being hurt at home?"


def test_the_model_raises_a_concern_to_immediate_and_says_so(combined, engine):
    assert engine.risk_screen.screen(CONCERN).urgency == "concern"
    [result] = combined(urgency="immediate").risk_many([CONCERN])
    assert result.urgency == "immediate"
    assert result.by == ("model",)
    assert result.reasons == (RAISED_URGENCY,)
    assert result.matches == engine.risk_screen.screen(CONCERN).matches  # rule matches kept
    [assessment] = combined(urgency="immediate").assess_many([CONCERN])
    assert assessment.level == 4 and assessment.by == ("model",)


def test_the_model_never_lowers(combined, engine):
    [result] = combined(urgency="none").risk_many([IMMEDIATE])
    assert result.urgency == "immediate" and result.by == ("rules",)
    [assessment] = combined(urgency="none", level=2).assess_many([IMMEDIATE])
    assert assessment.level == 4 and assessment.by == ("rules",)


def test_both_layers_are_named_when_they_agree(combined):
    [result] = combined(urgency="immediate").risk_many([IMMEDIATE])
    assert result.urgency == "immediate" and result.by == ("rules", "model")
    [assessment] = combined(urgency="immediate", level=4).assess_many([IMMEDIATE])
    assert assessment.level == 4 and set(assessment.by) == {"rules", "model"}


def test_a_procedure_question_is_not_raised(combined, engine):
    assert engine.risk_screen.is_procedural(PROCEDURE)
    [result] = combined(urgency="immediate").risk_many([PROCEDURE])
    assert result.urgency == engine.risk_screen.screen(PROCEDURE).urgency != "immediate"
    assert result.by == ("rules",)
    question = "What level is a family with rent arrears and food bank use?"
    assert engine.risk_screen.is_procedural(question)
    assert engine.assessor.assess(question).level == 2
    [assessment] = combined(urgency="immediate", level=4).assess_many([question])
    assert assessment.level == 2 and assessment.by == ("rules",)


# Wording the rules do not know, describing a child: the model may raise it (issue 12: on 300
# unseen concept tests the rules alone caught 66 of 136 immediate items).
UNKNOWN_WORDING = ("Our neighbour's little one was out on the balcony railings on the fourth "
                   "floor again this morning with nobody about")


def test_a_description_of_someone_the_rules_miss_can_be_raised(combined, engine):
    assert engine.risk_screen.screen(UNKNOWN_WORDING).urgency == "none"
    [result] = combined(urgency="immediate").risk_many([UNKNOWN_WORDING])
    assert result.urgency == "immediate" and result.by == ("model",)
    assert result.reasons == (RAISED_URGENCY,) and result.matches == []
    [assessment] = combined(urgency="immediate").assess_many([UNKNOWN_WORDING])
    assert assessment.level == 4 and assessment.by == ("model",)
    [result] = combined(urgency="concern").risk_many([UNKNOWN_WORDING])
    assert result.urgency == "none"  # only an immediate opinion raises from nothing


@pytest.mark.parametrize("text", [
    "hi", "thanks, bye", "cheers mate", "get a social worker",  # short chat: out of its domain
    "I would like to book onto the next safeguarding training course in January please",  # nobody
])
def test_chat_and_messages_about_nobody_are_never_raised_from_nothing(combined, engine, text):
    assert engine.risk_screen.screen(text).urgency == "none"
    [result] = combined(urgency="immediate").risk_many([text])
    assert result.urgency == "none" and result.by == ("rules",)


def test_nothing_found_by_the_rules_is_not_raised(combined, engine):
    text = "hi, good morning"
    [result] = combined(urgency="immediate").risk_many([text])
    assert result.urgency == "none" and result.by == ("rules",)
    [assessment] = combined(urgency="immediate", level=4).assess_many([text])
    assert assessment.level == engine.assessor.assess(text).level
    assert assessment.by == ("rules",)


def test_the_model_does_not_move_a_level_the_rules_placed(combined, engine):
    # measured: its raises of rules-placed levels were wrong 106 times in 109 (guidance/combine)
    rules = engine.assessor.assess(CONCERN)
    assert rules.status == "placed" and rules.level < 3
    [kept] = combined(level=3).assess_many([CONCERN])
    assert kept.level == rules.level and kept.by == ("rules",)
    assert not any(r.startswith("A statistical check") for r in kept.reasons)


def test_an_unplaced_situation_with_a_risk_can_be_placed(combined, engine):
    # assess may leave a situation unplaced (level None); the model places it at 2-4 only
    rules = engine.assessor.assess(CONCERN)
    unplaced = replace(rules, level=None)
    comb = combined(level=3)
    opinion = comb.second_opinion.opinions([CONCERN])[0]
    placed = comb._level(CONCERN, unplaced, unplaced, opinion, True)
    assert placed.level == 3 and placed.by == ("model",) and placed.status == "placed"
    assert placed.reasons[0].startswith("A statistical check of the wording suggests level 3")
    assert placed.reasons[-1].startswith("Suggested level 3")
    assert placed.sources and placed.next_steps[-1] == rules.next_steps[-1]
    never_one = combined(level=1)
    opinion = never_one.second_opinion.opinions([CONCERN])[0]
    assert never_one._level(CONCERN, unplaced, unplaced, opinion, True).level is None
    # where the rules found nothing at all, the model does not place it either
    assert comb._level(CONCERN, unplaced, unplaced, opinion, False).level is None


def test_the_engine_results_carry_by(engine):
    assert engine.second_opinion is not None
    assert engine.risk(IMMEDIATE).to_dict()["by"][0] == "rules"
    assert engine.risk("What is the out of hours number?").to_dict()["by"] == ["rules"]
    assert engine.assess(IMMEDIATE).to_dict()["by"][0] == "rules"


def test_batch_agrees_with_single(engine):
    texts = [row["text"] for row in read_jsonl(DATA / "risk_extra5.jsonl")[:60]]
    assert engine.risk_many(texts) == [engine.risk(t) for t in texts]
    assert [a.to_dict() for a in engine.assess_many(texts[:30])] == [
        engine.assess(t).to_dict() for t in texts[:30]]


@pytest.mark.parametrize("path", sorted(DATA.glob("risk_extra*.jsonl")), ids=lambda p: p.name)
def test_none_items_are_not_pushed_to_immediate(engine, path):
    rows = read_jsonl(path)
    nones = [row["text"] for row in rows if row["label"] == "none"]
    results = engine.risk_many(nones)
    raised = [t for t, r in zip(nones, results, strict=True) if r.urgency == "immediate"]
    assert len(raised) <= classifier.SETTINGS["max_false_immediate"] * len(nones), raised
    # and the model never lowers a labelled item below what the rules give
    rules = engine.risk_screen.screen_many([row["text"] for row in rows])
    combined = engine.risk_many([row["text"] for row in rows])
    assert all(RANK[c.urgency] >= RANK[r.urgency] for c, r in zip(combined, rules, strict=True))


def test_the_question_kind_model_travels_in_the_bundle_as_plain_arrays(trained):
    model, cache = trained
    [directory] = [p.parent for p in cache.glob("*/model.json")]
    meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    assert "kinds" in meta and meta["kind_settings"] == classifier.KIND_SETTINGS
    reloaded = classifier.load(directory)
    questions = [text for text, _ in classifier.read_kind_rows(DATA / classifier.KINDS_FILE)]
    np.testing.assert_array_equal(reloaded.kind_model.proba(questions),
                                  model.kind_model.proba(questions))
    # The threshold is the one learned on the held-back questions, and is reported.
    figures = model.figures["kinds"]
    assert model.thresholds["kinds"] == figures["threshold"] in classifier.KIND_STEPS
    assert figures["f1"] >= 0.8
    assert any(line.startswith("question kinds:") for line in classifier.describe(model))


def test_the_kind_numpy_prediction_equals_scikit_learn():
    rows = classifier.read_kind_rows(DATA / classifier.KINDS_FILE)
    frames = classifier.frame_rows(DATA / classifier.KIND_FRAMES_FILE)
    assert len(frames) == classifier.KIND_SETTINGS["fills_per_frame"] * len(
        [f for fs in (classifier.yaml.safe_load(
            (DATA / classifier.KIND_FRAMES_FILE).read_text())["frames"].values()) for f in fs])
    pipeline = classifier.fit_pipeline(*classifier._kind_pairs(rows + frames),
                                       classifier.KIND_SETTINGS)
    linear = classifier.to_linear(pipeline, classifier.KIND_SETTINGS)
    texts = [text for text, _ in rows]
    np.testing.assert_allclose(linear.proba(texts), pipeline.predict_proba(texts), atol=1e-9)


@pytest.mark.parametrize(("question", "kind"), [
    ("what's the phone number for the emergency duty team", "number"),
    ("how long has the LADO got to respond", "time"),
    ("what is a child protection plan", "definition"),
    ("a boy in year 7 told me his uncle touches him", "action"),
    ("which level of need is a child missing from home", "level"),
    ("what are the signs of child criminal exploitation", "signs"),
    ("is the front door open on a sunday", "hours"),
])
def test_plain_questions_get_their_kind(trained, question, kind):
    model, _ = trained
    assert kind in model.kinds(question)


def test_a_greeting_asks_for_no_kind(trained):
    model, _ = trained
    assert model.kinds("hello") == frozenset()


def test_a_bundle_without_the_kind_model_says_so(trained):
    model, _ = trained
    with pytest.raises(classifier.ClassifierError):
        replace(model, kind_model=None).kinds("what is neglect")


def test_one_question_at_a_time_gives_the_batch_probabilities(trained):
    model, _ = trained
    texts = ["what is neglect", "", "   ", "x" * 3000, "how long does the assessment take?"]
    batch = model.kind_model.proba(texts)
    for text, row in zip(texts, batch, strict=True):
        np.testing.assert_allclose(model.kind_model.proba_one(text), row, atol=1e-12)
