"""An assessment in the asker's role: a GP's route is not a school's.

`assess` reads only the description, so its next steps are the level's general ones (written
for schools: "tell your designated safeguarding lead", "the child's own words"). A level may
give a role its own next steps and sections in levels.yml (`roles: {gp: {...}}`); `for_role`
swaps them in. The level and its reasons never change with the role.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from guidance.assess import MASH_DECIDES, Assessment
from guidance.sections import SourceRef

# The guide's audiences (levels.yml roles, section front matter) for each signed-in role.
AUDIENCE_FOR_ROLE = {
    "dsl": "dsl",
    "deputy_dsl": "dsl",
    "gp": "gp",
    "mash_worker": "mash",
    "mash_manager": "mash",
}
MAX_SOURCES = 6


def for_role(assessment: Assessment, pack: Any, role: str | None) -> Assessment:
    """`assessment` with the role's own next steps at its level and the role's sections cited
    after the ones about the situation itself (for a bruised baby: bruising in non-mobile babies
    first). Unchanged when unplaced, without a role, or when the pack gives the role none."""
    audience = AUDIENCE_FOR_ROLE.get(role or "")
    if not assessment.placed or audience is None:
        return assessment
    level = pack.levels[assessment.level]
    steps = level.roles.get(audience)
    if steps is None:
        return assessment
    about_situation = [s for s in assessment.sources if s.id not in level.sections]
    role_refs = [pack.sections.ref(sid) for sid in steps.sections]
    about_level = [s for s in assessment.sources if s.id in level.sections]
    sources: list[SourceRef] = []
    for ref in [*about_situation, *role_refs, *about_level]:
        if ref is None or any(s.id == ref.id for s in sources):
            continue
        section = pack.sections.get(ref.id)
        if section is not None and not ({"all", audience} & set(section.audience)):
            continue  # a section written for another audience (the DSL's role, say)
        sources.append(ref)
    return replace(
        assessment,
        next_steps=[*steps.next_steps, MASH_DECIDES],
        sources=sources[:MAX_SOURCES],
    )
