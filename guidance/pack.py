"""Load a council's guidance pack: compose every part's loader and gather all their problems.

`load_pack` raises PackError listing every problem in the pack (not just the first), so a
council fixing its pack sees them all at once; `validate_pack` returns the same list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guidance.concepts import Catalogue, load_concepts
from guidance.contacts import Contacts, load_manifest
from guidance.cues import CUES_FILE
from guidance.faq import Faq, load_faq
from guidance.levels import LEVELS_FILE, Levels, load_levels
from guidance.lexicon import load_lexicon
from guidance.sections import load_sections, load_training
from guidance.yamlfile import PackError, PackProblem


@dataclass(frozen=True)
class Pack:
    path: Path
    name: str
    authority: str
    version: str
    effective_date: dt.date
    contacts: Contacts
    levels: Levels
    lexicon: Any  # guidance.lexicon.Lexicon
    sections: Any  # guidance.sections.Sections
    training: Any  # list[guidance.sections.TrainingOffer]
    concepts: Catalogue = Catalogue()  # concepts/*.yml; empty when the pack has none
    faq: Faq = Faq()  # faq.yml, curated answers; empty when the pack has none


def load_pack(path: Path) -> Pack:
    """Load the pack at `path`; raise PackError with every problem found if it is broken."""
    pack, problems = _load(Path(path))
    if problems or pack is None:
        raise PackError(problems or [PackProblem(Path(path), None, "pack could not be loaded")])
    return pack


def validate_pack(path: Path) -> list[PackProblem]:
    """Every problem in the pack at `path`, each with its file and (where known) line."""
    return _load(Path(path))[1]


def _load(pack_dir: Path) -> tuple[Pack | None, list[PackProblem]]:
    if not pack_dir.is_dir():
        return None, [PackProblem(pack_dir, None, "pack folder not found")]
    problems: list[PackProblem] = []

    def run(loader: Callable[..., tuple[Any, list[PackProblem]]], *args: Any) -> Any:
        # A loader should return its problems, never raise; if one does, report it as a
        # problem rather than a traceback so `validate` still lists everything else.
        try:
            value, found = loader(pack_dir, *args)
        except PackError as exc:
            value, found = None, list(exc.problems)
        except Exception as exc:  # noqa: BLE001 - see the comment above
            value, found = None, [PackProblem(pack_dir, None, f"{loader.__name__} failed: {exc!r}")]
        problems.extend(found)
        return value

    manifest = run(load_manifest)
    contacts = manifest.contacts if manifest else None
    levels = run(load_levels, contacts)
    lexicon = run(load_lexicon)
    # cues.yml is read by the levels and lexicon loaders (each engine compiles it); a pack
    # must have one, and its problems are reported once
    if not (pack_dir / CUES_FILE).exists():
        problems.append(PackProblem(pack_dir / CUES_FILE, None,
                                    "cues.yml not found (negation and other cue scopes)"))
    sections = run(load_sections, contacts)
    training = run(load_training, contacts)
    # Checked against the lexicon and levels only when those loaded (else their own problems
    # are reported and the links cannot be judged).
    concepts = run(load_concepts, lexicon, levels)
    # Anchors are checked against the sections, so only when those loaded.
    faq = run(load_faq, sections) if sections is not None else Faq()
    if levels is not None and sections is not None:
        for section_id, line in levels.section_refs():
            if section_id not in sections:
                problems.append(
                    PackProblem(pack_dir / LEVELS_FILE, line, f"unknown section id '{section_id}'")
                )
    parts = (manifest, levels, lexicon, sections, training, concepts, faq)
    problems[:] = list(dict.fromkeys(problems))
    if problems or any(part is None for part in parts):
        return None, problems
    return (
        Pack(
            path=pack_dir,
            name=manifest.name,
            authority=manifest.authority,
            version=manifest.version,
            effective_date=manifest.effective_date,
            contacts=manifest.contacts,
            levels=levels,
            lexicon=lexicon,
            sections=sections,
            training=training,
            concepts=concepts,
            faq=faq,
        ),
        problems,
    )
