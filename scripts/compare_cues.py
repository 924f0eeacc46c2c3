"""Dump or compare the rules' urgency and level on every labelled text in the repo.

    PYTHONPATH=. python scripts/compare_cues.py dump OUT.json     # outputs of this checkout
    PYTHONPATH=. python scripts/compare_cues.py diff OLD.json NEW.json

Used to run an old and a new matcher side by side (the cue module replaced two sets of
negation and past rules): every text whose urgency or level differs is printed. The blind
frozen batches are never read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACK = ROOT / "guidance" / "packs" / "wirral"


def texts() -> list[str]:
    found: list[str] = []
    files = sorted((ROOT / "tests" / "guidance" / "data").glob("*.jsonl"))
    files += sorted((ROOT.parent / "shared" / "eval").glob("*.jsonl"))
    for path in files:  # the frozen batches live in a subfolder and are not globbed
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if isinstance(row.get("text"), str):
                    found.append(row["text"])
    from guidance.concepts import load_concepts
    catalogue, _ = load_concepts(PACK)
    for concept in catalogue.concepts if catalogue else ():
        found.extend(t.text for t in concept.tests)
    return list(dict.fromkeys(found))


def dump(out: str) -> None:
    from guidance.assess import Assessor
    from guidance.pack import load_pack
    from guidance.risk import RiskScreen

    pack = load_pack(PACK)
    from guidance.nlp import make_nlp
    nlp = make_nlp()
    screen = RiskScreen(pack.lexicon, nlp)
    assessor = Assessor(pack.levels, screen, nlp, pack.sections)
    all_texts = texts()
    risks = screen.screen_many(all_texts)
    levels = assessor.assess_given(all_texts, risks)
    rows = {t: [r.urgency, a.level, sorted(a.indicators)]
            for t, r, a in zip(all_texts, risks, levels, strict=True)}
    Path(out).write_text(json.dumps(rows, indent=0))
    print(f"{len(rows)} texts")


def diff(old_file: str, new_file: str) -> None:
    old, new = json.loads(Path(old_file).read_text()), json.loads(Path(new_file).read_text())
    count = 0
    for text, (urgency, level, inds) in old.items():
        if text not in new:
            continue
        n_urgency, n_level, n_inds = new[text]
        if (urgency, level) != (n_urgency, n_level):
            count += 1
            print(f"{urgency}/{level} -> {n_urgency}/{n_level}: {text}")
            gone, added = set(inds) - set(n_inds), set(n_inds) - set(inds)
            if gone or added:
                print(f"    indicators -{sorted(gone)} +{sorted(added)}")
    print(f"{count} of {len(old)} texts differ in urgency or level")


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(sys.argv[2])
    else:
        diff(sys.argv[2], sys.argv[3])
