"""Block Kit for the duty desk: escalation and consultation cards, and the modals.

Pure functions of the MASH service's views: no Slack calls, no database. Buttons carry
`{"subject_type", "subject_id"}` as JSON in their value; `parse_subject` reads it back and
refuses anything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chat.labels import category_list
from mash import levels
from mash.consultations import ConsultationView
from mash.escalations import OUTCOME_LABELS, EscalationView

ACKNOWLEDGE = "mash_acknowledge"
PICK_UP = "mash_pick_up"
RECORD_OUTCOME = "mash_record_outcome"
REASSIGN = "mash_reassign"
# Opens a modal with the case text (an escalation's redacted excerpt, a consultation's topic),
# fetched at the press through the MASH service: the access check and an audited read. The
# cards themselves carry no case text: Slack is a third party and a channel's history lasts.
VIEW_CASE_TEXT = "mash_view_excerpt"
DESK_ACTIONS = (ACKNOWLEDGE, PICK_UP, RECORD_OUTCOME, REASSIGN, VIEW_CASE_TEXT)
OUTCOME_VIEW = "mash_outcome_view"
REASSIGN_VIEW = "mash_reassign_view"
STEP_UP_VIEW = "mash_step_up_view"
SUBJECT_TYPES = ("escalation", "consultation")
# Slack refuses section text over 3,000 characters and plain-text inputs over 3,000.
SECTION_MAX = 3000
NOTE_INPUT_MAX = 3000

URGENCY_MARK = {"immediate": ":red_circle: IMMEDIATE", "concern": ":large_orange_circle: Concern"}
ROLE_LABELS = {
    "dsl": "DSL",
    "deputy_dsl": "deputy DSL",
    "gp": "GP",
    "mash_worker": "MASH social worker",
    "mash_manager": "MASH manager",
}
STATUS_LABELS = {
    "raised": "Raised: waiting for the duty desk",
    "acknowledged": "Acknowledged",
    "picked_up": "Picked up",
    "outcome_recorded": "Outcome recorded",
    "originator_informed": "Outcome recorded; originator told",
    "queued": "Waiting for a social worker",
    "closed": "Advice recorded",
}


@dataclass(frozen=True)
class Subject:
    subject_type: str
    subject_id: int


def esc(text: Any) -> str:
    """Escape text for Slack mrkdwn (user text must not become links or mentions)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def button_value(subject_type: str, subject_id: int) -> str:
    return json.dumps({"subject_type": subject_type, "subject_id": subject_id})


def parse_subject(raw: Any) -> Subject:
    """The subject a button or modal names; ValueError (fit to show) when malformed."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
        subject_type, subject_id = data["subject_type"], data["subject_id"]
    except (TypeError, ValueError, KeyError):
        raise ValueError("This button's data is malformed, so nothing was changed.") from None
    if subject_type not in SUBJECT_TYPES or isinstance(subject_id, bool):
        raise ValueError("This button names an unknown kind of item, so nothing was changed.")
    try:
        subject_id = int(subject_id)
    except (TypeError, ValueError):
        raise ValueError("This button's item number is malformed; nothing was changed.") from None
    if subject_id <= 0:
        raise ValueError("This button's item number is malformed; nothing was changed.")
    return Subject(subject_type, subject_id)


def _slack_date(when: datetime, fallback_format: str = "%H:%M UTC") -> str:
    epoch = int(when.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{when.strftime(fallback_format)}>"


def _button(text: str, action_id: str, subject: Subject, style: str | None = None) -> dict:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": button_value(subject.subject_type, subject.subject_id),
    }
    if style:
        button["style"] = style
    return button


def deadline_text(view: EscalationView, *, limit_minutes: int, now: datetime) -> str:
    """Time left before the escalation must be acknowledged (or how it went)."""
    if view.acknowledged_at is not None:
        waited = int((view.acknowledged_at - view.raised_at).total_seconds() // 60)
        return f"Acknowledged {waited} min after it was raised (limit {limit_minutes} min)."
    due = view.raised_at.timestamp() + limit_minutes * 60
    left = int((due - now.timestamp()) // 60)
    by = _slack_date(datetime.fromtimestamp(due, tz=view.raised_at.tzinfo))
    if left >= 0:
        return f":hourglass_flowing_sand: Acknowledge by {by}: *{left} min left*."
    return f":rotating_light: *Overdue by {-left} min*: it had to be acknowledged by {by}."


def escalation_card(
    view: EscalationView,
    *,
    raised_by: str,
    limit_minutes: int,
    now: datetime,
    originator_told: bool = False,
    category_labels: Mapping[str, str] | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) for an escalation's duty-channel message; categories as the
    pack's labels (`category_labels`), never ids."""
    subject = Subject("escalation", view.id)
    mark = URGENCY_MARK.get(view.urgency, view.urgency)
    title = f"{mark} escalation {view.reference}"
    status = STATUS_LABELS.get(view.status, view.status)
    if originator_told and view.status == "outcome_recorded":
        status = STATUS_LABELS["originator_informed"]
    if view.status in ("acknowledged",) and view.acknowledged_by is not None:
        status = "Acknowledged"
    if view.picked_up_by_name and view.status == "picked_up":
        status = f"Picked up by {view.picked_up_by_name}"
    if view.outcome_label:
        status += f": {view.outcome_label}"
    categories = category_list(view.categories, category_labels or {}, empty="none given")
    level = f"Level {view.suggested_level}" if view.suggested_level else "not suggested"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(
            f"{'IMMEDIATE' if view.urgency == 'immediate' else 'Concern'}: "
            f"escalation {view.reference}", 150)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Urgency*\n{mark}"},
                {"type": "mrkdwn", "text": f"*Categories*\n{esc(categories)}"},
                {"type": "mrkdwn", "text": f"*Raised by*\n{esc(raised_by)}"},
                {"type": "mrkdwn", "text": f"*Suggested level*\n{level}"},
                {"type": "mrkdwn", "text": f"*Status*\n{esc(status)}"},
                {"type": "mrkdwn", "text": f"*Raised*\n{_slack_date(view.raised_at)}"},
            ],
        },
    ]
    if view.message_count > 1:  # further messages about the same child joined it
        blocks[1]["fields"].append({
            "type": "mrkdwn",
            "text": f"*Messages*\n{view.message_count} (latest "
                    f"{_slack_date(view.last_message_at or view.raised_at)})",
        })
    if view.level_reasons:
        reasons = "; ".join(view.level_reasons[:5])
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": cut("Why: " + esc(reasons), 2000)}],
            }
        )
    if view.status in ("raised", "acknowledged", "picked_up"):
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": deadline_text(view, limit_minutes=limit_minutes, now=now),
                    }
                ],
            }
        )
    buttons = []
    if view.status == "raised":
        buttons.append(_button("Acknowledge", ACKNOWLEDGE, subject, "primary"))
    if view.status in ("raised", "acknowledged"):
        buttons.append(_button("Pick up", PICK_UP, subject))
    if view.status == "picked_up":
        buttons.append(_button("Record outcome", RECORD_OUTCOME, subject, "primary"))
    if view.status in ("raised", "acknowledged", "picked_up"):
        buttons.append(_button("Reassign", REASSIGN, subject))
    if buttons:
        blocks.append({"type": "actions", "block_id": "desk", "elements": buttons})
    blocks.extend(_case_text_row(subject, "View excerpt", purged=view.excerpt is None))
    text = f"{title} from {raised_by}: {categories}. {status}."
    return text, blocks


def _case_text_row(subject: Subject, label: str, *, purged: bool) -> list[dict[str, Any]]:
    """The button that opens the case text, or a note that retention removed it."""
    if purged:
        note = "The case text was removed after the retention period."
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text": f"_{note}_"}]}]
    return [
        {
            "type": "actions",
            "block_id": "case_text",
            "elements": [_button(label, VIEW_CASE_TEXT, subject)],
        }
    ]


def case_text_modal(reference: str, label: str, text: str) -> dict[str, Any]:
    """A read-only modal with an item's case text (escaped; cut to Slack's section limit)."""
    quoted = "\n".join("> " + line for line in esc(text).splitlines() or [""])
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": cut(f"{label} {reference}", 24)},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": cut(quoted, SECTION_MAX - 50)}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Redacted as stored. Your reading it is recorded in the audit "
                        "trail. Please do not copy it into Slack.",
                    }
                ],
            },
        ],
    }


# What the code modal does once its code is right: the submit button's words.
CODE_ACTIONS = {"acknowledge": "Acknowledge", "pick_up": "Pick up", "view_excerpt": "View"}


def code_block() -> dict[str, Any]:
    """The input for the worker's authenticator code, in every modal that acts or reads: a
    Slack account is one factor, and a right code authorises that one action only."""
    return {
        "type": "input",
        "block_id": "code",
        "label": {"type": "plain_text", "text": "Code from your authenticator app"},
        "hint": {
            "type": "plain_text",
            "text": "Each action needs its own code, and a code works once. A recovery code "
            "works too.",
        },
        "element": {"type": "plain_text_input", "action_id": "code", "max_length": 20},
    }


def step_up_modal(action: str, private_metadata: str) -> dict[str, Any]:
    """Ask for the code, then do `action` (one of CODE_ACTIONS) on the item the metadata
    names: the desk keeps no window after a right code (security re-review R6-1)."""
    return {
        "type": "modal",
        "callback_id": STEP_UP_VIEW,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Your second factor"},
        "submit": {"type": "plain_text", "text": CODE_ACTIONS[action]},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [code_block()],
    }


def note_modal(message: str) -> dict[str, Any]:
    """A modal that only says something (what a code modal's submission turns into)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Duty desk"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": esc(message)}}],
    }


def consultation_card(
    view: ConsultationView, *, raised_by: str, originator_told: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    subject = Subject("consultation", view.id)
    status = STATUS_LABELS.get(view.status, view.status)
    if view.picked_up_by_name and view.status == "picked_up":
        status = f"Picked up by {view.picked_up_by_name}"
    if originator_told and view.status == "closed":
        status = "Advice recorded; practitioner told"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": f"Consultation request {view.reference}"}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Requested by*\n{esc(raised_by)}"},
                {"type": "mrkdwn", "text": f"*Status*\n{esc(status)}"},
                {"type": "mrkdwn", "text": f"*Call back on*\n{esc(view.callback_number or '-')}"},
                {"type": "mrkdwn", "text": f"*Best time*\n{esc(view.best_time or 'any time')}"},
            ],
        },
    ]
    buttons = []
    if view.status == "queued":
        buttons.append(_button("Pick up", PICK_UP, subject, "primary"))
    if view.status == "picked_up":
        buttons.append(_button("Record outcome", RECORD_OUTCOME, subject, "primary"))
    if buttons:
        blocks.append({"type": "actions", "block_id": "desk", "elements": buttons})
    blocks.extend(_case_text_row(subject, "View request", purged=view.topic is None))
    return f"Consultation request {view.reference} from {raised_by}. {status}.", blocks


def _choice(block_id: str, action_id: str, label: str, placeholder: str,
            options: dict[str, str], *, optional: bool = False) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "static_select",
            "action_id": action_id,
            "placeholder": {"type": "plain_text", "text": placeholder},
            "options": [
                {"text": {"type": "plain_text", "text": cut(text, 75)}, "value": value}
                for value, text in options.items()
            ],
        },
    }


def outcome_modal(
    subject: Subject, reference: str, private_metadata: str,
    level_names: dict[int, str] | None = None,
) -> dict[str, Any]:
    """Record outcome: the outcome codes, the level of need and route decided (optional:
    mash/levels.py; `level_names` are the pack's names for the levels) and a note
    (escalation), or the advice (consultation), and the worker's code."""
    blocks: list[dict[str, Any]] = []
    if subject.subject_type == "escalation":
        blocks.append(
            _choice("outcome", "code", "Outcome", "Choose the outcome", OUTCOME_LABELS)
        )
        names = level_names or {}
        blocks.append(_choice(
            "level", "level", "Level of need decided", "Choose the level",
            {str(n): f"Level {n}: {names[n]}" if names.get(n) else f"Level {n}"
             for n in levels.LEVELS},
            optional=True,
        ))
        blocks.append(_choice("route", "route", "Route", "Choose the route",
                              levels.ROUTE_LABELS, optional=True))
    blocks.append(
        {
            "type": "input",
            "block_id": "note",
            "optional": subject.subject_type == "escalation",
            "label": {
                "type": "plain_text",
                "text": "Note" if subject.subject_type == "escalation" else "Advice given",
            },
            "element": {
                "type": "plain_text_input",
                "action_id": "text",
                "multiline": True,
                "max_length": NOTE_INPUT_MAX,
            },
        }
    )
    blocks.append(code_block())
    return {
        "type": "modal",
        "callback_id": OUTCOME_VIEW,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": cut(f"Outcome {reference}", 24)},
        "submit": {"type": "plain_text", "text": "Record"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def reassign_modal(
    reference: str, people: list[tuple[int, str]], private_metadata: str
) -> dict[str, Any]:
    """Reassign: the MASH staff to hand it to, and the worker's code."""
    return {
        "type": "modal",
        "callback_id": REASSIGN_VIEW,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": cut(f"Reassign {reference}", 24)},
        "submit": {"type": "plain_text", "text": "Reassign"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": "assignee",
                "label": {"type": "plain_text", "text": "Give it to"},
                "element": {
                    "type": "static_select",
                    "action_id": "person",
                    "options": [
                        {"text": {"type": "plain_text", "text": cut(name, 75)}, "value": str(pid)}
                        for pid, name in people[:100]
                    ],
                },
            },
            code_block(),
        ],
    }
