"""`/mash queue | stats | contact <school> | help`: the duty desk's and schools' quick looks.

Answers are ephemeral text. Access is the MASH service's: a DSL's queue is their own
organisation's items; stats are for MASH staff; anyone registered may look up a contact.
"""

from __future__ import annotations

from datetime import timedelta

from chat.labels import category_list
from mash import directory, escalations, figures
from mash.access import Actor
from mash.errors import MashError
from slack_app.blocks import esc
from slack_app.conversation import registration_text
from slack_app.deps import SlackDeps
from slack_app.desk import DutyDesk

HELP = (
    "Use `/mash queue` (open escalations, most urgent first), `/mash stats` (this week's "
    "figures) or `/mash contact <school name>` (the school's named MASH contact)."
)
QUEUE_SHOWN = 15


def run(deps: SlackDeps, slack_user_id: str, text: str) -> str:
    verb, _, rest = (text or "").strip().partition(" ")
    verb = verb.lower()
    if verb in ("", "help"):
        return HELP
    if verb not in ("queue", "stats", "contact"):
        return f"I don't know `/mash {esc(verb[:40])}`. {HELP}"
    actor = DutyDesk(deps).actor_for(slack_user_id)
    if actor is None:
        return registration_text(deps, slack_user_id)
    try:
        if verb == "queue":
            return queue(deps, actor)
        if verb == "stats":
            return stats(deps, actor)
        return contact(deps, rest.strip())
    except MashError as error:
        return str(error)


def queue(deps: SlackDeps, actor: Actor) -> str:
    with deps.sessions() as session:
        items = escalations.list_escalations(
            session=session, actor=actor, open_only=True, limit=QUEUE_SHOWN + 1
        )
    if not items:
        return "No open escalations."
    now = deps.clock()
    lines = [f"*Open escalations* ({'first ' if len(items) > QUEUE_SHOWN else ''}"
             f"{min(len(items), QUEUE_SHOWN)}, most urgent first):"]
    for item in items[:QUEUE_SHOWN]:
        waited = int((now - item.raised_at).total_seconds() // 60)
        holder = f", with {item.picked_up_by_name}" if item.picked_up_by_name else ""
        lines.append(
            f"• *{item.reference}* {item.urgency}: "
            f"{esc(category_list(item.categories, deps.category_labels, empty='-'))}, "
            f"from {esc(item.organisation_name or 'an unverified sender')}; "
            f"{item.status.replace('_', ' ')}{esc(holder)}, raised {waited} min ago"
        )
    return "\n".join(lines)


def stats(deps: SlackDeps, actor: Actor) -> str:
    today = deps.clock().date()
    with deps.sessions() as session:
        weeks = figures.weekly_figures(
            session=session, actor=actor, since=today - timedelta(days=today.weekday() + 21)
        )
    if not weeks:
        return "No escalations or consultations in the last four weeks."
    lines = ["*Last four weeks* (week starting Monday):"]
    for week in weeks[-4:]:
        ack = f"{week.ack_median_minutes:.0f}" if week.ack_median_minutes is not None else "-"
        out = (
            f"{week.outcome_median_minutes:.0f}"
            if week.outcome_median_minutes is not None
            else "-"
        )
        urgency = ", ".join(f"{v} {k}" for k, v in sorted(week.by_urgency.items()) if v)
        lines.append(
            f"• {week.week_start:%d %b}: {plural(week.contacts, 'contact')} "
            f"({plural(week.escalations, 'escalation')}{': ' + urgency if urgency else ''}; "
            f"{plural(week.consultations, 'consultation')}); median "
            f"{ack} min to acknowledge, {out} min to outcome"
        )
    return "\n".join(lines)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def contact(deps: SlackDeps, query: str) -> str:
    if len(query) < 3:
        return "Give at least three letters of the school's name: `/mash contact oakfield`."
    with deps.sessions() as session:
        schools = directory.list_organisations(
            session=session, kind="school", search=query[:100], limit=6
        )
    if not schools:
        return f"No school matches \u201c{esc(query[:100])}\u201d. {front_door(deps)}"
    exact = [s for s in schools if s.name.lower() == query.lower()]
    if len(schools) > 1 and not exact:
        names = "\n".join(f"• {esc(s.name)}" for s in schools[:5])
        return f"Several schools match; which one?\n{names}"
    school = (exact or schools)[0]
    with deps.sessions() as session:
        named = directory.named_contact(session=session, organisation_id=school.id)
    if named is None:
        return f"{esc(school.name)} has no named MASH contact. {front_door(deps)}"
    scope = "the school's own" if named.scope == "school" else f"for the {esc(school.area)} area"
    phone = f", {esc(named.phone)}" if named.phone else ""
    return (
        f"*{esc(school.name)}*: named MASH contact {esc(named.name)} ({scope}){phone}, "
        f"{esc(named.email)}.\n{front_door(deps)}"
    )


def front_door(deps: SlackDeps) -> str:
    if deps.contacts is None:
        return ""
    front = deps.contacts.front_door
    return f"For a concern about a child now, ring the {front.name} on {front.phone}."
