"""Shared fixtures for the guidance tests: the Wirral pack and one Engine, loaded once.

Colleagues: reuse `pack`, `engine` and `nlp` rather than loading your own; add fixtures here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "guidance" / "packs" / "wirral"
SHARED_EVAL = ROOT.parent / "shared" / "eval"


@pytest.fixture(scope="session")
def pack_dir() -> Path:
    return PACK_DIR


@pytest.fixture(scope="session")
def pack():
    from guidance.pack import load_pack

    return load_pack(PACK_DIR)


@pytest.fixture(scope="session")
def engine(pack):
    from guidance.engine import Engine

    return Engine(pack)


@pytest.fixture(scope="session")
def nlp():
    from guidance.nlp import make_nlp

    return make_nlp()


@pytest.fixture(scope="session")
def shared_eval() -> Path:
    """The shared labelled files (../shared/eval beside the repo); skip if absent."""
    if not SHARED_EVAL.is_dir():
        pytest.skip(f"shared eval files not found at {SHARED_EVAL}")
    return SHARED_EVAL


@pytest.fixture(scope="session")
def lexicon():
    """The Wirral risk lexicon (risk screen tests)."""
    from guidance.lexicon import load_lexicon

    loaded, problems = load_lexicon(PACK_DIR)
    assert problems == []
    return loaded


@pytest.fixture(scope="session")
def risk_screen(lexicon, nlp):
    """One RiskScreen over the Wirral lexicon and the shared nlp."""
    from guidance.risk import RiskScreen

    return RiskScreen(lexicon, nlp)
