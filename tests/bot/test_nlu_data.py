"""The NLU training data and the risk screen must agree.

The risk component forces `report_immediate_risk` on any message the screen calls immediate, so
an example labelled otherwise that screens immediate is either a false alarm of the screen (fix
the lexicon) or a mislabelled example (relabel it). Either way the data and the product would
disagree, and cross-validation would count the disagreement as a classifier error.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from guidance.engine import Engine

NLU = Path(__file__).resolve().parents[2] / "bot" / "data" / "nlu.yml"
ANNOTATION = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def nlu_examples() -> list[tuple[str, str]]:
    data = yaml.safe_load(NLU.read_text())
    examples = []
    for block in data["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            text = line.strip().removeprefix("- ").strip()
            if text:
                examples.append((block["intent"], ANNOTATION.sub(r"\1", text)))
    return examples


def test_the_training_data_is_substantial() -> None:
    examples = nlu_examples()
    intents = {intent for intent, _ in examples}
    assert len(intents) >= 22
    assert all(sum(1 for i, _ in examples if i == intent) >= 15 for intent in intents)


def test_no_example_outside_the_immediate_intent_screens_immediate(
    guidance_engine: Engine,
) -> None:
    flagged = [
        (intent, text) for intent, text in nlu_examples()
        if intent != "report_immediate_risk" and guidance_engine.risk(text).urgency == "immediate"
    ]
    assert not flagged, "\n".join(f"{intent}: {text}" for intent, text in flagged)

