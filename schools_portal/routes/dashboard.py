"""The managers' dashboard: the MASH service's weekly figures as SVG charts and a table, with
CSV export, and expected against decided (mash/agreement.py): the agreement between the level
practitioners expected and the level the MASH decided, as tables by source agency and by
category, the commonest disagreements (with redacted examples for MASH staff) and the weekly
trend. MASH staff and administrators only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import PlainTextResponse, Response

from app_context import AppContext
from chat.labels import category_label
from mash import agreement, figures
from mash.access import Actor
from mash.figures import WeekFigures
from schools_portal.charts import Series, bar_chart, column_chart
from schools_portal.deps import Ctx, Db, FiguresReader
from schools_portal.inputs import CleanInputRoute
from schools_portal.rendering import render

pages = APIRouter(tags=["dashboard"], route_class=CleanInputRoute)
api = APIRouter(tags=["dashboard"], route_class=CleanInputRoute)

WEEKS = Query(12, ge=1, le=104, description="How many weeks back, this week included")
COLOURS = {
    "immediate": "#b3261e",
    "concern": "#b86e00",
    "consultations": "#1d6b3a",
    "ack": "#1d4f91",
    "outcome": "#6a3d9a",
    "agreed": "#1d6b3a",
    "differed": "#b86e00",
}


SOURCE_LABELS = {
    "school": "School",
    "gp_practice": "GP practice",
    "agency": "Other agency",
    "mash": "MASH",
    "unknown": "Unverified sender",
}


def _since(weeks: int) -> date:
    today = datetime.now(timezone.utc).date()
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks - 1)


def load(db: Session, actor: Actor, weeks: int) -> list[WeekFigures]:
    """Every week of the period, oldest first; a week with no activity is a row of zeros."""
    since = _since(weeks)
    rows = figures.weekly_figures(session=db, actor=actor, since=since)
    return figures.every_week(rows, since=since, until=since + timedelta(weeks=weeks))


def load_agreement(db: Session, actor: Actor, weeks: int) -> agreement.AgreementFigures:
    """Expected against decided over the same weeks; the redacted examples for MASH staff
    (an audited read), counts alone for administrators."""
    since = _since(weeks)
    return agreement.agreement_figures(
        session=db, actor=actor, since=since, until=since + timedelta(weeks=weeks),
        with_examples=actor.is_mash,
    )


def charts(rows: list[WeekFigures], category_labels: Mapping[str, str]) -> dict[str, Any]:
    labels = [f"{r.week_start.day} {r.week_start:%b}" for r in rows]
    categories: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for r in rows:
        categories.update(r.by_category)
        sources.update(r.by_source)
    return {
        "contacts": column_chart(
            "contacts",
            "Contacts per week: escalations by urgency, and consultation requests",
            labels,
            [
                Series("Immediate", COLOURS["immediate"], [r.by_urgency.get("immediate", 0)
                                                          for r in rows]),
                Series("Concern", COLOURS["concern"], [r.by_urgency.get("concern", 0)
                                                      for r in rows]),
                Series("Consultations", COLOURS["consultations"], [r.consultations
                                                                  for r in rows]),
            ],
            axis="Contacts",
        ),
        "times": column_chart(
            "times",
            "Median minutes to acknowledgement and to outcome, per week",
            labels,
            [
                Series("To acknowledgement", COLOURS["ack"],
                       [r.ack_median_minutes or 0 for r in rows]),
                Series("To outcome", COLOURS["outcome"],
                       [r.outcome_median_minutes or 0 for r in rows]),
            ],
            stacked=False,
            unit=" min",
            axis="Minutes (median)",
        ),
        "categories": bar_chart(
            "categories",
            "Escalations by category in the period",
            [(category_label(k, category_labels), v) for k, v in categories.items()],
        ),
        "sources": bar_chart(
            "sources",
            "Escalations by source agency type in the period",
            [(k.replace("_", " "), v) for k, v in sources.items()],
            colour="#1d6b3a",
        ),
        "agreement": column_chart(
            "agreement",
            "Expected against decided per week: levels that agreed and levels that differed",
            labels,
            [
                Series("Agreed", COLOURS["agreed"], [r.levels_agreed for r in rows]),
                Series("Differed", COLOURS["differed"],
                       [r.levels_compared - r.levels_agreed for r in rows]),
            ],
            axis="Escalations",
        ),
        "totals": {
            "contacts": sum(r.contacts for r in rows),
            "escalations": sum(r.escalations for r in rows),
            "consultations": sum(r.consultations for r in rows),
            "immediate": sum(r.by_urgency.get("immediate", 0) for r in rows),
            "unanswered": sum(r.unanswered_questions for r in rows),
        },
    }


@pages.get("/dashboard", include_in_schema=False)
def dashboard_page(
    *,
    request: Request,
    weeks: int = WEEKS,
    actor: FiguresReader,
    db: Db,
    context: Ctx,
) -> Response:
    rows = load(db, actor, weeks)
    return render(
        request, "dashboard.html", actor=actor, rows=rows, weeks=weeks,
        charts=charts(rows, context.guidance.pack.lexicon.labels),
        agreement=load_agreement(db, actor, weeks), levels=(1, 2, 3, 4),
        source_labels=SOURCE_LABELS,
    )


def _csv(rows: list[WeekFigures], weeks: int, context: AppContext) -> Response:
    return PlainTextResponse(
        figures.to_csv(rows, categories=list(context.guidance.pack.lexicon.labels)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="mash-figures-{weeks}w.csv"'},
    )


@pages.get("/dashboard/figures.csv", include_in_schema=False)
def dashboard_csv(
    *,
    weeks: int = WEEKS, actor: FiguresReader, db: Db, context: Ctx
) -> Response:
    return _csv(load(db, actor, weeks), weeks, context)


@pages.get("/dashboard/agreement.csv", include_in_schema=False)
def agreement_csv(*, weeks: int = WEEKS, actor: FiguresReader, db: Db) -> Response:
    """Expected against decided as CSV: the matrices by source and category, and the
    commonest disagreements (counts only: the examples stay on the audited page)."""
    since = _since(weeks)
    result = agreement.agreement_figures(
        session=db, actor=actor, since=since, until=since + timedelta(weeks=weeks)
    )
    return PlainTextResponse(
        agreement.to_csv(result, figures.SOURCE_KINDS),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="mash-agreement-{weeks}w.csv"'},
    )


@api.get("/figures", summary="Weekly figures (MASH managers and administrators)")
def figures_api(
    *,
    weeks: int = WEEKS, actor: FiguresReader, db: Db
) -> list[dict[str, Any]]:
    return [r.to_dict() for r in load(db, actor, weeks)]


@api.get(
    "/figures.csv",
    summary="Weekly figures as CSV",
    response_class=PlainTextResponse,
)
def figures_csv_api(
    *,
    weeks: int = WEEKS, actor: FiguresReader, db: Db, context: Ctx
) -> Response:
    return _csv(load(db, actor, weeks), weeks, context)
