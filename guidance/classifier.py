"""A learned second opinion: linear classifiers for urgency and level of need.

Why: the rules fit the sentences this team wrote; a statistical view of the wording catches some
of what they miss. It may only RAISE what the rules found (the engine composes the two in
guidance/second_opinion.py), so it is a backstop, never a way to lower risk.

What it is: TF-IDF over word 1-2-grams and character 3-5-grams inside words, and a multinomial
logistic regression per task (scikit-learn), trained at build time from the labelled texts in
tests/guidance/data (risk_extra*.jsonl for urgency, vignettes_extra*.jsonl for level; top-level
files only: tests/guidance/data/frozen holds fresh batches that are scored, never learned).

The same bundle holds a third, smaller model that the answer engine uses: what kind of answer a
question asks for (a number, a time, a list, what to do...; guidance/question_kinds.py), learned
from question_kinds.jsonl (questions labelled with their kinds, written for this and kept apart
from every evaluation set). A question may ask for several kinds: each (question, kind) pair is
one training row, so the softmax shares the probability among a question's kinds, and every
kind from a learned threshold up is read as asked (the threshold that gives the best F1 on a
held-back fifth of the questions).
No pretrained weights, nothing downloaded, seeded.

The trained weights are stored as plain arrays (`weights.npz`, no pickles) and JSON
(`model.json`: vocabularies, classes, thresholds and the calibration figures), so they load
under any later Python, numpy or scikit-learn. Prediction is numpy only: the n-gram features
are rebuilt exactly as scikit-learn's TfidfVectorizer builds them, then a dot product and a
softmax; the tests check it gives scikit-learn's probabilities on the training texts.

The model is cached under models/guidance/<hash>/, where the hash covers the training files'
content, the feature settings and CODE_VERSION (bump it when this file changes what it learns).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

import numpy as np
import yaml

from guidance.nlp import normalise

CODE_VERSION = "3"
ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "tests" / "guidance" / "data"
# The concept catalogue's test messages are labelled texts too: learning from them as well
# raised immediate recall on a blind frozen batch (23/31 -> 25/31) and on 300 unseen concept
# tests (66/136 -> 80/136) with no more false immediates on "none" items or everyday chat.
CONCEPTS_DIR = ROOT / "guidance" / "packs" / "wirral" / "concepts"
CACHE_DIR = ROOT / "models" / "guidance"
RISK_GLOB = "risk_extra*.jsonl"
VIGNETTE_GLOB = "vignettes_extra*.jsonl"
KINDS_FILE = "question_kinds.jsonl"
KIND_FRAMES_FILE = "question_kind_frames.yml"
NO_KIND = "none"  # the class of a question that asks for no particular kind of answer
URGENCIES = ("none", "concern", "immediate")
LEVELS = (1, 2, 3, 4)

# What the model learns from and how: part of the cache hash.
SETTINGS: dict[str, Any] = {
    "word_ngrams": [1, 2],
    "char_ngrams": [3, 5],
    "min_df": 1,
    "norm": "l1",  # with raw counts: prediction is a sum over n-gram occurrences
    "C": 300.0,
    "class_weight": "balanced",
    "max_iter": 2000,
    "seed": 20261207,
    "holdout": 0.2,
    # the most the model alone may call immediate among held-back "none" items
    "max_false_immediate": 0.05,
    # ... and among held-back "concern" items (the only ones the engine lets it raise)
    "max_concern_to_immediate": 0.05,
    # the most the model alone may over-call among held-back vignettes (level above the label)
    "max_over_level": 0.05,
    # a raise needs at least this probability, however the calibration comes out
    "min_threshold": 0.5,
}
# The question-kind model: the same features, its own C (chosen by 5-fold cross-validation on
# the written questions: F1 0.84 at C=100 with 4 fills per frame, 0.61 without the frames).
KIND_SETTINGS: dict[str, Any] = {
    "word_ngrams": [1, 2],
    "char_ngrams": [3, 5],
    "min_df": 1,
    "norm": "l1",
    "C": 100.0,
    "class_weight": None,
    "max_iter": 2000,
    "seed": 20261207,
    "holdout": 0.2,
    "fills_per_frame": 4,  # each frame of KIND_FRAMES_FILE is filled this many times
}
KIND_STEPS = tuple(round(0.05 * step, 2) for step in range(2, 13))  # thresholds tried
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_SPACES = re.compile(r"\s\s+")  # scikit-learn's char_wb whitespace folding
_WORD_CACHE_LIMIT = 100_000  # words; bounds memory on arbitrary input


class ClassifierError(RuntimeError):
    """The model cannot be trained or loaded (no training data and no cached model)."""


# --- prediction (numpy only) ----------------------------------------------------------------


class LinearModel:
    """TF-IDF features (a word block and a char block, each L1-normalised) and a softmax.

    With raw term counts and L1 norms, a block's contribution to the logits is
    sum(idf * coef over the n-gram occurrences) / sum(idf over them), so prediction needs no
    counting: each feature row holds idf * coef and idf, and a word's character n-grams are
    summed once per distinct word and cached.
    """

    def __init__(self, classes: Sequence[Any], word_vocab: dict[str, int],
                 char_vocab: dict[str, int], word_idf: np.ndarray, char_idf: np.ndarray,
                 coef: np.ndarray, intercept: np.ndarray, settings: dict[str, Any]):
        self.classes = list(classes)
        self.word_vocab = word_vocab
        self.char_vocab = char_vocab
        self.n_word = len(word_vocab)
        self.idf = np.concatenate([word_idf, char_idf]).astype(np.float64)
        self.coef = np.ascontiguousarray(coef, dtype=np.float64)  # (features, classes)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.word_n = tuple(settings["word_ngrams"])
        self.char_n = tuple(settings["char_ngrams"])
        # per feature: idf * coef for each class, then idf (the L1 norm's share)
        self._rows = np.hstack([self.coef * self.idf[:, None], self.idf[:, None]])
        width = self._rows.shape[1]
        self._word_rows = np.vstack([self._rows[:self.n_word], np.zeros((1, width))])
        self._no_word = self.n_word  # the zero row: padding for a text with no known word
        # distinct words seen -> row of summed char n-gram rows; row 0 is zeros
        self._char_ids: dict[str, int] = {}
        self._char_table = np.zeros((1024, width))
        self._char_count = 1

    def _word_features(self, tokens: list[str]) -> list[int]:
        vocab = self.word_vocab
        found = []
        low, high = self.word_n
        for n in range(low, high + 1):
            grams = tokens if n == 1 else [" ".join(tokens[k:k + n])
                                          for k in range(len(tokens) - n + 1)]
            found.extend(i for i in map(vocab.get, grams) if i is not None)
        return found

    def _char_grams(self, word: str) -> list[int]:
        """scikit-learn's char_wb n-grams of one word, as feature indices."""
        vocab, base = self.char_vocab, self.n_word
        padded = f" {word} "
        out = []
        low, high = self.char_n
        for n in range(low, high + 1):
            offset = 0
            i = vocab.get(padded[offset:offset + n])
            if i is not None:
                out.append(base + i)
            while offset + n < len(padded):
                offset += 1
                i = vocab.get(padded[offset:offset + n])
                if i is not None:
                    out.append(base + i)
            if offset == 0:
                break
        return out

    def _char_id(self, word: str) -> int:
        grams = self._char_grams(word)
        if not grams:
            return 0
        if len(self._char_ids) >= _WORD_CACHE_LIMIT:  # arbitrary input: start again
            self._char_ids.clear()
            self._char_count = 1
        row = self._char_count
        if row == len(self._char_table):
            self._char_table = np.vstack([self._char_table, np.zeros_like(self._char_table)])
        self._char_table[row] = self._rows[grams].sum(axis=0)
        self._char_count += 1
        self._char_ids[word] = row
        return row

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities, one row per text, columns in `classes` order."""
        return self.proba_prepared([prepare(t) for t in texts])

    def proba_prepared(self, prepared: Sequence[tuple[list[str], list[str]]]) -> np.ndarray:
        """`proba` on texts already split by `prepare` (shared by several models)."""
        n = len(prepared)
        words: list[int] = []
        word_owner: list[int] = []
        chars: list[int] = []
        char_owner: list[int] = []
        ids = self._char_ids
        vocab = self.word_vocab
        bigrams = self.word_n == (1, 2)
        for row, (tokens, pieces) in enumerate(prepared):
            if bigrams:
                found = [i for i in map(vocab.get, tokens) if i is not None]
                pairs = map(" ".join, zip(tokens, tokens[1:], strict=False))
                found += [i for i in map(vocab.get, pairs) if i is not None]
            else:
                found = self._word_features(tokens)
            words += found
            word_owner += [row] * len(found)
            start = len(chars)
            for piece in pieces:
                char_id = ids.get(piece)
                if char_id is None:
                    char_id = self._char_id(piece)
                if char_id:
                    chars.append(char_id)
            char_owner += [row] * (len(chars) - start)
        width = self._rows.shape[1]
        word_sum = _sum_rows(self._word_rows, words, word_owner, n, width)
        char_sum = _sum_rows(self._char_table, chars, char_owner, n, width)
        logits = np.tile(self.intercept, (n, 1))
        for block in (word_sum, char_sum):
            norm = block[:, -1:]
            logits += np.divide(block[:, :-1], norm, out=np.zeros_like(block[:, :-1]),
                                where=norm > 0)
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return logits

    def proba_one(self, text: str) -> np.ndarray:
        """`proba` for one text, without the batch's bookkeeping (the answer engine reads one
        question at a time and must stay fast)."""
        tokens, pieces = prepare(text)
        if self.word_n == (1, 2):
            words = [i for i in map(self.word_vocab.get, tokens) if i is not None]
            pairs = map(" ".join, zip(tokens, tokens[1:], strict=False))
            words += [i for i in map(self.word_vocab.get, pairs) if i is not None]
        else:
            words = self._word_features(tokens)
        chars = []
        for piece in pieces:
            char_id = self._char_ids.get(piece)
            if char_id is None:
                char_id = self._char_id(piece)
            if char_id:
                chars.append(char_id)
        logits = self.intercept.copy()
        for table, rows in ((self._word_rows, words), (self._char_table, chars)):
            if rows:
                block = table[rows].sum(axis=0)
                if block[-1] > 0:
                    logits += block[:-1] / block[-1]
        logits -= logits.max()
        np.exp(logits, out=logits)
        return logits / logits.sum()

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_idf": self.idf, f"{prefix}_coef": self.coef,
                f"{prefix}_intercept": self.intercept}


def _sum_rows(table: np.ndarray, indices: list[int], owners: list[int], n: int,
              width: int) -> np.ndarray:
    """Per text, the sum of the table rows its features point at."""
    out = np.zeros((n, width))
    if indices:
        picked = table[np.asarray(indices, dtype=np.intp)]
        owner = np.asarray(owners, dtype=np.intp)
        for column in range(width):
            out[:, column] = np.bincount(owner, weights=picked[:, column], minlength=n)
    return out


def prepare(text: str) -> tuple[list[str], list[str]]:
    """A text as the vectorizers see it: word tokens, and whitespace pieces for char n-grams."""
    text = normalise(text)  # its whitespace is already single spaces
    return _TOKEN.findall(text), text.split()


class Opinion(NamedTuple):
    """What the model says about one text, after its calibrated thresholds (a NamedTuple:
    one is made per text screened, and a frozen dataclass costs several times more)."""

    p_immediate: float
    p_concern_or_more: float
    urgency: str  # "immediate" or "none": the model only ever raises to immediate
    level: int | None  # 2-4 when confident enough to raise; never 1
    p_level: float


@dataclass
class SecondOpinion:
    """The urgency and level models with their calibrated thresholds."""

    urgency_model: LinearModel
    level_model: LinearModel
    thresholds: dict[str, float]
    figures: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    kind_model: LinearModel | None = None  # question kinds (None: no kinds file to learn from)

    def kinds(self, text: str) -> frozenset[str]:
        """The kinds of answer a question asks for: every kind from the learned threshold up."""
        if self.kind_model is None:
            raise ClassifierError("this model was built without question kinds")
        return kinds_from(self.kind_model, self.kind_model.proba_one(text),
                          self.thresholds["kinds"])

    def opinions(self, texts: Sequence[str]) -> list[Opinion]:
        """Urgency and level opinions, one per text (both models, one pass over the text)."""
        return self._opinions(texts, with_level=True)

    def urgency_opinions(self, texts: Sequence[str]) -> list[Opinion]:
        """Urgency only (the risk screen needs no level): `level` is None."""
        return self._opinions(texts, with_level=False)

    def _opinions(self, texts: Sequence[str], *, with_level: bool) -> list[Opinion]:
        if not texts:
            return []
        prepared = [prepare(t) for t in texts]
        urgency = self.urgency_model.proba_prepared(prepared)
        imm = self.urgency_model.classes.index("immediate")
        none = self.urgency_model.classes.index("none")
        t_imm, t_level = self.thresholds["immediate"], self.thresholds["level"]
        levels = self.level_model.classes
        if with_level:
            level = self.level_model.proba_prepared(prepared)
            best = level.argmax(axis=1)
            p_best = level[np.arange(len(texts)), best]
        out = []
        for row, u_row in enumerate(urgency.tolist()):
            placed, p_level = None, 0.0
            if with_level:
                p_level = float(p_best[row])
                chosen = levels[int(best[row])]
                if chosen >= 2 and p_level >= t_level:
                    placed = chosen
            out.append(Opinion(
                p_immediate=u_row[imm],
                p_concern_or_more=1.0 - u_row[none],
                urgency="immediate" if u_row[imm] >= t_imm else "none",
                level=placed,
                p_level=p_level,
            ))
        return out

    def opinion(self, text: str) -> Opinion:
        return self.opinions([text])[0]


def kinds_from(model: LinearModel, row: np.ndarray, threshold: float) -> frozenset[str]:
    """The kinds whose probability reaches `threshold` (never the no-kind class)."""
    return frozenset(str(kind) for kind, p in zip(model.classes, row.tolist(), strict=True)
                     if p >= threshold and kind != NO_KIND)


# --- storing -------------------------------------------------------------------------------


def save(model: SecondOpinion, directory: Path) -> None:
    """Write the model as weights.npz + model.json, atomically (a temp dir, then a rename)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
    try:
        parts = {"urgency": model.urgency_model, "level": model.level_model}
        if model.kind_model is not None:
            parts["kinds"] = model.kind_model
        np.savez(tmp / "weights.npz",
                 **{k: v for name, part in parts.items() for k, v in part.arrays(name).items()})
        meta = {
            "format": 1,
            "code_version": CODE_VERSION,
            "key": model.key,
            "settings": SETTINGS,
            "kind_settings": KIND_SETTINGS,
            "thresholds": model.thresholds,
            "figures": model.figures,
        }
        for name, part in parts.items():
            meta[name] = {"classes": part.classes, "n_word": part.n_word,
                          "word_vocab": part.word_vocab, "char_vocab": part.char_vocab}
        (tmp / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        try:
            tmp.rename(directory)
        except OSError:  # another process wrote the same model first: keep theirs
            if not (directory / "model.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(directory: Path) -> SecondOpinion:
    """Read a model written by `save` (numpy and json only; allow_pickle stays off)."""
    meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
    with np.load(directory / "weights.npz", allow_pickle=False) as arrays:
        parts = {}
        for name in ("urgency", "level", "kinds"):
            if name not in meta:
                continue
            info = meta[name]
            idf = arrays[f"{name}_idf"]
            n_word = info["n_word"]
            parts[name] = LinearModel(
                info["classes"], info["word_vocab"], info["char_vocab"], idf[:n_word],
                idf[n_word:], arrays[f"{name}_coef"], arrays[f"{name}_intercept"],
                meta["kind_settings"] if name == "kinds" else meta["settings"])
    return SecondOpinion(parts["urgency"], parts["level"], meta["thresholds"],
                         meta.get("figures", {}), meta.get("key", ""), parts.get("kinds"))


# --- inputs and the cache ------------------------------------------------------------------


def training_files(data_dir: Path = DATA_DIR) -> tuple[list[Path], list[Path]]:
    """The labelled files learned from: top-level risk_extra* and vignettes_extra* only."""
    return sorted(data_dir.glob(RISK_GLOB)), sorted(data_dir.glob(VIGNETTE_GLOB))


def concept_files(concepts_dir: Path | None) -> list[Path]:
    return sorted(concepts_dir.glob("*.yml")) if concepts_dir and concepts_dir.is_dir() else []


def concept_rows(concepts_dir: Path | None) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(text, urgency) and (text, level) from the concept catalogue's tests, where the label is
    a single value (a test allowing "none or concern" teaches nothing certain)."""
    risk: list[tuple[str, Any]] = []
    levels: list[tuple[str, Any]] = []
    for path in concept_files(concepts_dir):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for concept in data.get("concepts") or []:
            for test in concept.get("tests") or []:
                urgency, level = test.get("urgency"), test.get("level")
                if isinstance(urgency, str) and urgency in URGENCIES:
                    risk.append((test["text"], urgency))
                if isinstance(level, int) and level in LEVELS:
                    levels.append((test["text"], level))
    return risk, levels


def inputs_key(data_dir: Path = DATA_DIR, settings: dict[str, Any] | None = None,
               concepts_dir: Path | None = CONCEPTS_DIR) -> str:
    """The hash of everything the model depends on: files' content, settings, code version."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"code": CODE_VERSION, "settings": settings or SETTINGS,
                              "kind_settings": KIND_SETTINGS}, sort_keys=True).encode())
    risk, vignettes = training_files(data_dir)
    kinds = [p for p in (data_dir / KINDS_FILE, data_dir / KIND_FRAMES_FILE) if p.exists()]
    for path in [*risk, *vignettes, *concept_files(concepts_dir), *kinds]:
        digest.update(f"\n== {path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_labelled(paths: Sequence[Path], label: str) -> list[tuple[str, Any]]:
    rows = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            record = json.loads(line)
            if label not in record or "text" not in record:
                raise ClassifierError(f"{path}:{number}: needs \"text\" and \"{label}\"")
            rows.append((record["text"], record[label]))
    return rows


Rules = Callable[[list[str]], list[tuple[str, bool]]]  # texts -> (urgency, procedural)


def load_or_train(data_dir: Path = DATA_DIR, cache_dir: Path = CACHE_DIR, *,
                  log: TextIO | None = None, rules: Rules | None = None,
                  concepts_dir: Path | None = CONCEPTS_DIR) -> SecondOpinion:
    """The cached model for the current inputs, trained first if the cache lacks it."""
    log = log if log is not None else sys.stderr
    risk, vignettes = training_files(data_dir)
    if not risk or not vignettes:
        return _newest_cached(cache_dir, data_dir, log)
    key = inputs_key(data_dir, concepts_dir=concepts_dir)
    directory = cache_dir / key
    if (directory / "model.json").exists():
        return load(directory)
    print(f"guidance: the classifier's inputs changed (or it was never built): training "
          f"{directory} (a few seconds)", file=log)
    model = train(data_dir, log=log, rules=rules, concepts_dir=concepts_dir)
    save(model, directory)
    _prune(cache_dir, keep=directory)
    return load(directory)


def _newest_cached(cache_dir: Path, data_dir: Path, log: TextIO) -> SecondOpinion:
    """Without training data (a deployment without tests/), the newest built model."""
    built = sorted(cache_dir.glob("*/model.json"), key=lambda p: p.stat().st_mtime)
    if not built:
        raise ClassifierError(f"no training data in {data_dir} and no built model in "
                              f"{cache_dir}: run `python -m guidance train` where the data is")
    print(f"guidance: no training data in {data_dir}; using the built model "
          f"{built[-1].parent}", file=log)
    return load(built[-1].parent)


def _prune(cache_dir: Path, keep: Path, count: int = 2) -> None:
    """Keep the newest `count` models (the one just built among them); older ones are disk."""
    built = sorted((p.parent for p in cache_dir.glob("*/model.json")),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for old in built[count:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


# --- training (scikit-learn, only here) ----------------------------------------------------


def _vectorizer(settings: dict[str, Any]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    common = {"preprocessor": normalise, "min_df": settings["min_df"], "norm": settings["norm"],
              "sublinear_tf": False, "dtype": np.float64}
    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=tuple(settings["word_ngrams"]),
                                 **common)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(settings["char_ngrams"]),
                                 **common)),
    ])


def fit_pipeline(texts: Sequence[str], labels: Sequence[Any],
                 settings: dict[str, Any] | None = None) -> Any:
    """A fitted scikit-learn Pipeline (features + logistic regression), seeded."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    settings = settings or SETTINGS
    pipeline = Pipeline([
        ("features", _vectorizer(settings)),
        ("clf", LogisticRegression(C=settings["C"], class_weight=settings["class_weight"],
                                   max_iter=settings["max_iter"],
                                   random_state=settings["seed"])),
    ])
    pipeline.fit(list(texts), list(labels))
    return pipeline


def to_linear(pipeline: Any, settings: dict[str, Any] | None = None) -> LinearModel:
    """The plain-array model of a fitted pipeline."""
    settings = settings or SETTINGS
    union = pipeline.named_steps["features"]
    word, char = union.transformer_list[0][1], union.transformer_list[1][1]
    clf = pipeline.named_steps["clf"]
    coef = clf.coef_.T
    intercept = clf.intercept_
    if coef.shape[1] == 1:  # two classes: scikit-learn keeps one column
        coef = np.hstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    classes = [c.item() if hasattr(c, "item") else c for c in clf.classes_]
    return LinearModel(classes, {k: int(v) for k, v in word.vocabulary_.items()},
                       {k: int(v) for k, v in char.vocabulary_.items()}, word.idf_, char.idf_,
                       coef, intercept, settings)


def _split(texts: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(fit, held back) indexes. A text's side depends only on the text and the seed, never
    on the other rows, so adding training data does not reshuffle which texts calibrate the
    thresholds (a random split did: each new row moved the threshold and with it concept
    tests the model had raised); the same text in two files lands on one side."""
    fit, held = [], []
    for index, text in enumerate(texts):
        digest = hashlib.sha256(f"{seed}:{text}".encode()).digest()
        (held if int.from_bytes(digest[:8], "big") / 2**64 < fraction else fit).append(index)
    return fit, held


def _threshold(scores: Sequence[float], max_rate: float, floor: float) -> float:
    """The lowest threshold at which at most `max_rate` of `scores` reach it (and >= floor)."""
    ordered = sorted(scores, reverse=True)
    allowed = int(math.floor(max_rate * len(ordered) + 1e-9))
    if allowed >= len(ordered):
        return floor
    # just above the (allowed+1)-th highest score: that one and all below stay under
    bar = float(np.nextafter(ordered[allowed], 1.0))
    return max(bar, floor)


def train(data_dir: Path = DATA_DIR, *, log: TextIO | None = None,
          settings: dict[str, Any] | None = None, rules: Rules | None = None,
          concepts_dir: Path | None = CONCEPTS_DIR) -> SecondOpinion:
    """Calibrate on a held-back split, then retrain on everything with those thresholds.

    `rules`, if given, screens texts with the rules ((urgency, procedural) per text), so the
    held-back figures show the rules alone and the rules with the model (which may not raise
    a procedural message). The thresholds do not depend on it.
    """
    settings = settings or SETTINGS
    log = log if log is not None else sys.stderr
    start = time.perf_counter()
    risk_paths, vignette_paths = training_files(data_dir)
    risk = read_labelled(risk_paths, "label")
    vignettes = read_labelled(vignette_paths, "level")
    if not risk or not vignettes:
        raise ClassifierError(f"no labelled texts in {data_dir}")
    concept_risk, concept_levels = concept_rows(concepts_dir)
    print(f"  training data: {len(risk)} risk messages from {len(risk_paths)} files, "
          f"{len(vignettes)} vignettes from {len(vignette_paths)} files, and "
          f"{len(concept_risk)} urgencies and {len(concept_levels)} levels from the concept "
          "catalogue's tests", file=log)
    risk, vignettes = risk + concept_risk, vignettes + concept_levels
    seed, fraction = settings["seed"], settings["holdout"]

    # urgency: calibrate the raise-to-immediate threshold on held-back none items
    texts, labels = [t for t, _ in risk], [lab for _, lab in risk]
    fit, held = _split(texts, fraction, seed)
    print(f"  urgency: fitting on {len(fit)}, holding back {len(held)} ...", file=log)
    part = to_linear(fit_pipeline([texts[i] for i in fit], [labels[i] for i in fit], settings),
                     settings)
    held_texts = [texts[i] for i in held]
    held_labels = [labels[i] for i in held]
    p_imm = part.proba(held_texts)[:, part.classes.index("immediate")]
    none_scores = [p for p, lab in zip(p_imm, held_labels, strict=True) if lab == "none"]
    concern_scores = [p for p, lab in zip(p_imm, held_labels, strict=True) if lab == "concern"]
    # the engine lets the model raise only what the rules called a concern, so concern items
    # it would call immediate are the false raises that matter most: bound both
    t_imm = max(_threshold(none_scores, settings["max_false_immediate"],
                           settings["min_threshold"]),
                _threshold(concern_scores, settings["max_concern_to_immediate"],
                           settings["min_threshold"]))
    model_imm = [bool(p >= t_imm) for p in p_imm]
    figures: dict[str, Any] = {"held_back": {"risk": len(held), "vignettes": 0}}
    figures["urgency"] = _urgency_figures(held_labels, model_imm,
                                          rules(held_texts) if rules else None)

    # level: calibrate the raise threshold so the model alone over-calls rarely
    v_texts, v_labels = [t for t, _ in vignettes], [int(lab) for _, lab in vignettes]
    v_fit, v_held = _split(v_texts, fraction, seed)
    print(f"  level: fitting on {len(v_fit)}, holding back {len(v_held)} ...", file=log)
    v_part = to_linear(fit_pipeline([v_texts[i] for i in v_fit], [v_labels[i] for i in v_fit],
                                    settings), settings)
    v_proba = v_part.proba([v_texts[i] for i in v_held])
    v_truth = [v_labels[i] for i in v_held]
    best = v_proba.argmax(axis=1)
    over = [float(v_proba[r, b]) for r, b in enumerate(best)
            if v_part.classes[b] > v_truth[r] and v_part.classes[b] >= 2]
    t_level = _threshold(over + [0.0] * (len(v_truth) - len(over)),
                         settings["max_over_level"], settings["min_threshold"])
    figures["held_back"]["vignettes"] = len(v_held)
    figures["level"] = _level_figures(v_part, v_proba, v_truth, t_level)

    print("  retraining both on all the data with those thresholds ...", file=log)
    urgency_model = to_linear(fit_pipeline(texts, labels, settings), settings)
    level_model = to_linear(fit_pipeline(v_texts, v_labels, settings), settings)
    thresholds = {"immediate": round(t_imm, 6), "level": round(t_level, 6)}
    # the rounded threshold must not admit more than the calibrated one
    thresholds = {k: max(v, float(np.nextafter(t, 1.0)) if v < t else v)
                  for (k, v), t in zip(thresholds.items(), (t_imm, t_level), strict=True)}
    figures["seconds"] = round(time.perf_counter() - start, 2)
    kind_rows = read_kind_rows(data_dir / KINDS_FILE)
    kind_model = None
    if kind_rows:
        frames = frame_rows(data_dir / KIND_FRAMES_FILE)
        kind_model, thresholds["kinds"], figures["kinds"] = train_kinds(kind_rows, frames, log)
    model = SecondOpinion(urgency_model, level_model, thresholds, figures,
                          inputs_key(data_dir, settings, concepts_dir), kind_model)
    for line in describe(model):
        print(f"  {line}", file=log)
    return model


def read_kind_rows(path: Path) -> list[tuple[str, list[str]]]:
    """(question, kinds) from a JSONL file of {"text", "kinds": [...]}; [] if it is missing."""
    if not path.exists():
        return []
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        kinds = record.get("kinds")
        if "text" not in record or not isinstance(kinds, list):
            raise ClassifierError(f"{path}:{number}: needs \"text\" and a \"kinds\" list")
        rows.append((record["text"], [str(kind) for kind in kinds]))
    return rows


def frame_rows(path: Path, settings: dict[str, Any] | None = None
               ) -> list[tuple[str, list[str]]]:
    """(question, kinds) from the labelled frames, each filled with seeded picks from the
    file's lists ([] if the file is missing)."""
    if not path.exists():
        return []
    import random

    settings = settings or KIND_SETTINGS
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    fill: dict[str, list[str]] = data.get("fill") or {}
    pick = random.Random(settings["seed"])
    rows = []
    for label, frames in (data.get("frames") or {}).items():
        kinds = [k.strip() for k in str(label).split(",") if k.strip() not in ("", NO_KIND)]
        for frame in frames:
            for _ in range(settings["fills_per_frame"]):
                text = re.sub(r"\{(\w+)\}", lambda m: pick.choice(fill[m.group(1)]), frame)
                rows.append((text, kinds))
    return rows


def _kind_pairs(rows: Sequence[tuple[str, list[str]]]) -> tuple[list[str], list[str]]:
    """One training row per (question, kind); a question asking for no kind is NO_KIND."""
    texts, labels = [], []
    for text, kinds in rows:
        for kind in kinds or [NO_KIND]:
            texts.append(text)
            labels.append(kind)
    return texts, labels


def _f1(truth: list[frozenset[str]], found: list[frozenset[str]]) -> float:
    """Micro-averaged F1 of the kinds found against the labelled ones."""
    hits = sum(len(t & f) for t, f in zip(truth, found, strict=True))
    wanted, given = sum(map(len, truth)), sum(map(len, found))
    return 2 * hits / (wanted + given) if wanted + given else 1.0


def train_kinds(rows: Sequence[tuple[str, list[str]]],
                frames: Sequence[tuple[str, list[str]]], log: TextIO
                ) -> tuple[LinearModel, float, dict[str, Any]]:
    """The question-kind model, its threshold and its held-back figures. The threshold is
    learned on a held-back fifth of the written questions (`rows`; the filled `frames` are
    always learned from): the lowest step with the best F1."""
    from sklearn.model_selection import train_test_split

    settings = KIND_SETTINGS
    fit, held = train_test_split(list(range(len(rows))), test_size=settings["holdout"],
                                 random_state=settings["seed"])
    print(f"  question kinds: fitting on {len(fit)} questions, holding back {len(held)} ...",
          file=log)
    part = to_linear(fit_pipeline(*_kind_pairs([rows[i] for i in fit] + list(frames)),
                                  settings), settings)
    proba = part.proba([rows[i][0] for i in held])
    truth = [frozenset(rows[i][1]) for i in held]
    scores = {step: _f1(truth, [kinds_from(part, row, step) for row in proba])
              for step in KIND_STEPS}
    best = max(scores.values())
    threshold = min(step for step, score in scores.items() if score == best)
    found = [kinds_from(part, row, threshold) for row in proba]
    figures = {"held_back": len(held), "threshold": threshold, "f1": round(best, 3),
               "exact": [sum(t == f for t, f in zip(truth, found, strict=True)), len(held)]}
    model = to_linear(fit_pipeline(*_kind_pairs(list(rows) + list(frames)), settings), settings)
    return model, threshold, figures


def _urgency_figures(labels: list[str], model_imm: list[bool],
                     rules: list[tuple[str, bool]] | None) -> dict[str, Any]:
    def share(mask: list[bool], of: str) -> list[int]:
        picked = [m for m, lab in zip(mask, labels, strict=True) if lab == of]
        return [sum(picked), len(picked)]

    out: dict[str, Any] = {
        "model_immediate_recall": share(model_imm, "immediate"),
        "model_false_immediate_on_none": share(model_imm, "none"),
        "model_concern_to_immediate": share(model_imm, "concern"),
    }
    if rules is not None:
        rules_imm = [u == "immediate" for u, _ in rules]
        ungated = [a or b for a, b in zip(rules_imm, model_imm, strict=True)]
        # the engine's composition: the model raises a concern the rules found, unless the
        # rules read the message as a procedure question (guidance/combine.py)
        both = [r or (m and u == "concern" and not procedural)
                for r, m, (u, procedural) in zip(rules_imm, model_imm, rules, strict=True)]
        out.update({
            "rules_immediate_recall": share(rules_imm, "immediate"),
            "rules_false_immediate_on_none": share(rules_imm, "none"),
            "combined_immediate_recall": share(both, "immediate"),
            "combined_false_immediate_on_none": share(both, "none"),
            "combined_concern_to_immediate": share(both, "concern"),
            "ungated_immediate_recall": share(ungated, "immediate"),
            "ungated_false_immediate_on_none": share(ungated, "none"),
        })
    return out


def _level_figures(model: LinearModel, proba: np.ndarray, truth: list[int],
                   threshold: float) -> dict[str, Any]:
    best = proba.argmax(axis=1)
    exact = sum(model.classes[b] == t for b, t in zip(best, truth, strict=True))
    confident = [(model.classes[b], t) for r, (b, t) in enumerate(zip(best, truth, strict=True))
                 if proba[r, b] >= threshold and model.classes[b] >= 2]
    return {
        "model_exact": [int(exact), len(truth)],
        "confident_calls": len(confident),
        "confident_exact": sum(1 for c, t in confident if c == t),
        "confident_over": sum(1 for c, t in confident if c > t),
    }


def describe(model: SecondOpinion) -> list[str]:
    """The calibration figures in words (python -m guidance train prints them)."""
    f, t = model.figures, model.thresholds

    def pct(pair: list[int]) -> str:
        hit, total = pair
        return f"{hit}/{total} ({100 * hit / total:.0f}%)" if total else "0/0"

    u = f.get("urgency", {})
    lines = [f"held back: {f.get('held_back', {}).get('risk', 0)} risk messages, "
             f"{f.get('held_back', {}).get('vignettes', 0)} vignettes "
             "(each text by a seeded hash of itself)",
             f"threshold to raise urgency to immediate: p >= {t['immediate']:.3f}"]
    for key, words in (("model_immediate_recall", "immediate recall, model alone"),
                       ("rules_immediate_recall", "immediate recall, rules alone"),
                       ("combined_immediate_recall", "immediate recall, rules + model"),
                       ("model_false_immediate_on_none", "none items called immediate, model"),
                       ("rules_false_immediate_on_none", "none items called immediate, rules"),
                       ("combined_false_immediate_on_none",
                        "none items called immediate, rules + model"),
                       ("ungated_immediate_recall",
                        "immediate recall, rules + model also raising from none"),
                       ("ungated_false_immediate_on_none",
                        "none items called immediate, rules + model also raising from none"),
                       ("model_concern_to_immediate", "concern items called immediate, model"),
                       ("combined_concern_to_immediate",
                        "concern items called immediate, rules + model")):
        if key in u:
            lines.append(f"{words}: {pct(u[key])}")
    lv = f.get("level", {})
    if lv:
        lines.append(f"threshold to raise a level: p >= {t['level']:.3f}")
        lines.append(f"level exact, model alone: {pct(lv['model_exact'])}")
        lines.append(f"confident level calls: {lv['confident_calls']}, of them exact "
                     f"{lv['confident_exact']}, above the label {lv['confident_over']}")
    kinds = f.get("kinds", {})
    if kinds:
        lines.append(f"question kinds: threshold p >= {kinds['threshold']:.2f}; held back "
                     f"{kinds['held_back']}: F1 {kinds['f1']:.3f}, exact kind sets "
                     f"{pct(kinds['exact'])}")
    if "seconds" in f:
        lines.append(f"trained in {f['seconds']} s")
    return lines

