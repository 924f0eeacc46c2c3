"""The shared spaCy pipeline: a blank English tokenizer with the lookup lemmatizer.

No statistical model: it loads in well under a second, needs no download, and behaves the
same on every machine. The lookup tables are case-sensitive, so text is lowercased first.
"""

from __future__ import annotations

import re
import unicodedata

import spacy
from spacy.language import Language

# Characters that look like ASCII punctuation but are not, folded so patterns see one form.
_FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u00a0": " ", "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "",
    }
)
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def make_nlp() -> Language:
    """Build the pipeline. Call once per process and reuse it."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


def normalise(text: str) -> str:
    """Unicode-fold, drop control characters, lowercase and collapse whitespace.

    Offsets into the normalised text are what the screen reports, so keep this 1:1 where it
    can be (it is, except for dropped zero-width and control characters).
    """
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip().lower()
