"""The guidance browser: the levels of need with their indicators, and the guide's sections by
topic, searchable, every page at its own address. Read-only; any signed-in user."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from starlette.responses import Response

from app_context import AppContext
from guidance.engine import InputError
from guidance.levels import DOMAINS
from mash import gaps
from schools_portal.deps import Ctx, CurrentActor, Db
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import render
from schools_portal.topics import by_topic

log = logging.getLogger(__name__)
pages = APIRouter(tags=["guidance"], route_class=CleanInputRoute)
api = APIRouter(tags=["guidance"], route_class=CleanInputRoute)

QUERY_MAX = 500
ROLE_AUDIENCE = {"dsl": "dsl", "deputy_dsl": "dsl", "gp": "gp", "mash_worker": "mash",
                 "mash_manager": "mash"}


def _level(context: AppContext, number: int) -> Any:
    levels = context.guidance.pack.levels
    if number not in levels.levels:
        raise HTTPException(status_code=404)
    return levels[number]


def _section(context: AppContext, section_id: str) -> Any:
    section = context.guidance.pack.sections.get(section_id)
    if section is None:
        raise HTTPException(status_code=404)
    return section


def indicators_by_domain(level: Any) -> list[tuple[str, list[Any]]]:
    return [
        (label, [i for i in level.indicators if i.domain == domain])
        for domain, label in DOMAINS.items()
        if any(i.domain == domain for i in level.indicators)
    ]


def search(context: AppContext, query: str, role: str | None, db: Any = None) -> dict[str, Any]:
    """The engine's extractive answer plus sections whose title or tags mention every word.
    A question answered without confidence goes on the partnership's gap list (with `db`)."""
    query = query.strip()
    answer = None
    if query:
        try:
            answer = context.guidance.ask(query, role=ROLE_AUDIENCE.get(role or ""))
        except InputError:
            answer = None
    if answer is not None and db is not None:
        _record_gap(context, db, query, answer, role)
    words = [w for w in query.lower().split() if len(w) > 1]
    matches = [
        s
        for s in context.guidance.pack.sections
        if words
        and all(w in (s.title + " " + " ".join(s.tags)).lower() for w in words)
    ]
    sources = list(answer.sources) if answer else []
    seen = {s.id for s in sources}
    return {
        "query": query,
        "answer": answer.answer if answer else None,
        "confident": answer.confident if answer else None,
        "sources": sources,
        "matches": [s for s in matches if s.id not in seen],
    }


def _record_gap(context: AppContext, db: Any, query: str, answer: Any, role: str | None) -> None:
    gap = context.guidance.gap(query, answer)
    if gap is None:
        return
    try:
        gaps.record_gap(session=db, text=gap.text, topic=gap.topic, role=role)
    except Exception:  # noqa: BLE001 - the gap list must never cost the asker the answer
        log.exception("could not record a question for the gap list")


@pages.get("/guidance", include_in_schema=False)
def guidance_home(
    *,
    request: Request,
    actor: CurrentActor,
    context: Ctx,
) -> Response:
    pack = context.guidance.pack
    return render(
        request,
        "guidance.html",
        actor=actor,
        pack=pack,
        levels=list(pack.levels),
        topics=by_topic(pack.sections),
    )


@pages.get("/guidance/search", include_in_schema=False)
def guidance_search(
    *,
    request: Request,
    q: str = Query("", max_length=QUERY_MAX),
    actor: CurrentActor,
    context: Ctx,
    db: Db,
) -> Response:
    return render(
        request,
        "guidance_search.html",
        actor=actor,
        result=search(context, q, actor.role, db),
        sections=context.guidance.pack.sections,
    )


@pages.get("/guidance/levels/{number}", include_in_schema=False)
def guidance_level(
    *,
    request: Request,
    number: int = Path(..., ge=1, le=9),
    actor: CurrentActor,
    context: Ctx,
) -> Response:
    level = _level(context, number)
    return render(
        request,
        "guidance_level.html",
        actor=actor,
        level=level,
        domains=indicators_by_domain(level),
        sections=context.guidance.pack.sections,
    )


@pages.get("/guidance/sections/{section_id}", include_in_schema=False)
def guidance_section(
    *,
    request: Request,
    section_id: str = Path(..., max_length=100),
    actor: CurrentActor,
    context: Ctx,
) -> Response:
    section = _section(context, section_id)
    return render(request, "guidance_section.html", actor=actor, section=section)


def _section_dict(section: Any, *, body: bool = False) -> dict[str, Any]:
    data = {
        "id": section.id,
        "title": section.title,
        "audience": list(section.audience),
        "tags": list(section.tags),
        "url": f"/guidance/sections/{section.id}",
    }
    if body:
        data.update(body=section.body, source=section.source)
    return data


@api.get("/guidance/levels", summary="The levels of need with their indicators")
def levels_api(
    *,
    actor: CurrentActor, context: Ctx
) -> list[dict[str, Any]]:
    return [
        {
            "number": level.number,
            "name": level.name,
            "description": level.description,
            "who_responds": level.who_responds,
            "next_steps": list(level.next_steps),
            "sections": list(level.sections),
            "indicators": [
                {"id": i.id, "domain": i.domain, "text": i.text, "sections": list(i.sections)}
                for i in level.indicators
            ],
            "url": f"/guidance/levels/{level.number}",
        }
        for level in context.guidance.pack.levels
    ]


@api.get("/guidance/sections", summary="The guide's sections (without their text)")
def sections_api(
    *,
    actor: CurrentActor, context: Ctx
) -> list[dict[str, Any]]:
    return [_section_dict(s) for s in context.guidance.pack.sections]


@api.get("/guidance/sections/{section_id}", summary="One guide section with its text")
def section_api(
    *,
    section_id: str = Path(..., max_length=100),
    actor: CurrentActor,
    context: Ctx,
) -> dict[str, Any]:
    return _section_dict(_section(context, section_id), body=True)


@api.get("/guidance/search", summary="Search the guide: an answer and matching sections")
def search_api(
    *,
    q: str = Query(..., min_length=1, max_length=QUERY_MAX),
    actor: CurrentActor,
    context: Ctx,
    db: Db,
) -> dict[str, Any]:
    found = search(context, q, actor.role, db)
    return {
        "query": found["query"],
        "answer": found["answer"],
        "confident": found["confident"],
        "sources": [s.to_dict() for s in found["sources"]],
        "matches": [_section_dict(s) for s in found["matches"]],
    }
