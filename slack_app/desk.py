"""The duty desk's domain glue: who pressed, what the MASH service says, what the card shows.

Listeners stay thin: they parse Slack's payload and call one method here. Every method that
changes anything goes through the MASH service (one transaction each, access enforced inside);
this module adds the Slack-side rules: only MASH staff may press, every action or read carries
the worker's authenticator code (good for that one action), and a refused press is written to
the audit trail.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from mash import audit, consultations, directory, escalations, twofactor
from mash.access import Actor
from mash.consultations import ConsultationView
from mash.db import transaction
from mash.errors import MashError, NotFound
from mash.escalations import EscalationView
from slack_app import blocks
from slack_app.blocks import Subject
from slack_app.deps import SlackDeps
from slack_app.store import Card

log = logging.getLogger("slack_app.desk")

REFUSAL = (
    "Only MASH staff can work escalations from the duty channel, so nothing was changed. "
    "Your attempt has been recorded."
)
ASK_CODE = "Type the code from your authenticator app: each action needs its own."
NO_CODE_REASON = "no second factor given in Slack"
WRONG_CODE = (
    "That code is not right, or was used already (each code works once). Nothing was done: "
    "type the next one."
)
TOO_MANY_CODES = (
    "Too many wrong codes: nothing was done. Wait 15 minutes, or work the escalation in the "
    "portal."
)
USED_CODE = "That code has been used: type the next one."
TOO_MANY_REASON = "too many wrong codes in Slack"
MALFORMED_REASON = "malformed form"
DESK_ACTOR = Actor.system("slack duty desk")


class Refused(Exception):
    """The presser may not use the duty desk (already audited). `str()` is fit to show."""


class CodeRefused(Refused):
    """MASH staff whose second factor for this action was missing, wrong, used already or
    asked too often (already audited). `str()` is fit to show."""


class DutyDesk:
    def __init__(self, deps: SlackDeps) -> None:
        self.deps = deps

    # -- who is pressing -------------------------------------------------------------------
    def actor_for(self, slack_user_id: str) -> Actor | None:
        if not slack_user_id:
            return None
        try:
            with self.deps.sessions() as session:
                return directory.actor_for(session=session, slack_user_id=slack_user_id)
        except NotFound:
            return None

    def require_mash(self, slack_user_id: str, *, action: str, subject: Subject | None) -> Actor:
        """The presser's Actor if they are MASH staff; otherwise audit the attempt and raise
        Refused. Enough to open a form; acting needs `require_code` too."""
        actor = self.actor_for(slack_user_id)
        if actor is None or not actor.is_mash:
            self.record_refusal(
                actor=actor, slack_user_id=slack_user_id, action=action, subject=subject
            )
            raise Refused(REFUSAL)
        return actor

    def require_code(
        self, slack_user_id: str, code: Any, *, action: str, subject: Subject | None
    ) -> Actor:
        """The presser's Actor if they are MASH staff (checked again: a form may have been
        opened before a role change) and `code` is their second factor now, used up by this
        one action; otherwise audit and raise (CodeRefused when only the code fails).

        A Slack account is one factor (security re-reviews F3, N1), and Slack's payloads cannot
        tell two clients of one user apart, so a right code authorises this action only: no
        window is kept that a thief holding the worker's Slack session could use (R6-1)."""
        actor = self.require_mash(slack_user_id, action=action, subject=subject)
        if not isinstance(code, str) or not code.strip():
            self.record_refusal(actor=actor, slack_user_id=slack_user_id, action=action,
                                subject=subject, reason=NO_CODE_REASON)
            raise CodeRefused(ASK_CODE)
        item = f"{subject.subject_type}:{subject.subject_id}" if subject else None
        try:
            with self.deps.sessions() as session:
                result = twofactor.slack_step_up(
                    session=session, person_id=actor.user_id, code=code,
                    production=self.deps.settings.is_production, action=action, item=item,
                )
        except (SQLAlchemyError, MashError):
            log.exception("could not check the presser's second factor")
            raise CodeRefused(
                "The code could not be checked, so nothing was done. Try again."
            ) from None
        if result == "wait":
            self.record_refusal(actor=actor, slack_user_id=slack_user_id, action=action,
                                subject=subject, reason=TOO_MANY_REASON)
            raise CodeRefused(TOO_MANY_CODES)
        if result != "ok":  # audited by twofactor as slack.step_up_failed
            raise CodeRefused(WRONG_CODE)
        return actor

    def record_refusal(
        self,
        *,
        actor: Actor | None,
        slack_user_id: str,
        action: str,
        subject: Subject | None,
        reason: str = "not MASH staff",
    ) -> None:
        """An append-only audit entry for a refused press (mash.audit has no helper for this)."""
        who = actor or Actor(
            user_id=None,
            role="unverified",
            organisation_id=None,
            name=f"unlinked slack:{slack_user_id}"[:200],
        )
        try:
            with transaction(self.deps.sessions) as session:
                audit.record(
                    session,
                    actor=who,
                    action=f"slack.refused.{action}"[:60],
                    subject_type=subject.subject_type if subject else "unknown",
                    subject_id=subject.subject_id if subject else None,
                    detail={"channel": "slack", "slack_user_id": slack_user_id, "reason": reason},
                )
        except SQLAlchemyError:
            log.exception("could not audit a refused %s by %s", action, slack_user_id)

    # -- the MASH service --------------------------------------------------------------------
    def acknowledge(self, actor: Actor, subject: Subject) -> None:
        if subject.subject_type != "escalation":
            raise MashError("Consultations are not acknowledged: pick it up instead.")
        with self.deps.sessions() as session:
            escalations.acknowledge(session=session, actor=actor, escalation_id=subject.subject_id)

    def pick_up(self, actor: Actor, subject: Subject) -> None:
        with self.deps.sessions() as session:
            if subject.subject_type == "escalation":
                escalations.pick_up(session=session, actor=actor, escalation_id=subject.subject_id)
            else:
                consultations.pick_up_consultation(
                    session=session, actor=actor, consultation_id=subject.subject_id
                )

    def level_names(self) -> dict[int, str]:
        """The pack's name for each level of need, for the outcome modal."""
        return {number: level.name for number, level in self.deps.levels.items()}

    def record_outcome(
        self, actor: Actor, subject: Subject, *, code: str, note: str,
        decided_level: int | None = None, decided_route: str | None = None,
    ) -> None:
        with self.deps.sessions() as session:
            if subject.subject_type == "escalation":
                escalations.record_outcome(
                    session=session,
                    actor=actor,
                    escalation_id=subject.subject_id,
                    outcome_code=code,
                    note=note,
                    decided_level=decided_level,
                    decided_route=decided_route,
                    level_guide=self.deps.levels,
                )
            else:
                consultations.close_consultation(
                    session=session,
                    actor=actor,
                    consultation_id=subject.subject_id,
                    advice=note,
                )

    def reassign(self, actor: Actor, subject: Subject, *, to_user_id: int) -> None:
        if subject.subject_type != "escalation":
            raise MashError("Consultations cannot be reassigned from Slack yet.")
        with self.deps.sessions() as session:
            escalations.reassign(
                session=session,
                actor=actor,
                escalation_id=subject.subject_id,
                to_user_id=to_user_id,
            )

    def form_reference(self, actor: Actor, subject: Subject, *, form: str) -> str:
        """The item's reference for the `form` the worker is opening, checking it exists and is
        visible (NotFound otherwise). Audited as `<kind>.form_opened`: opening a form needs no
        code and shows no case text, so it must not write the `<kind>.read` a real read does
        (security re-review R7-2)."""
        with self.deps.sessions() as session:
            if subject.subject_type == "escalation":
                return escalations.open_form(session=session, actor=actor,
                                             escalation_id=subject.subject_id, form=form,
                                             channel="slack")
            return consultations.open_form(session=session, actor=actor,
                                           consultation_id=subject.subject_id, form=form,
                                           channel="slack")

    def load(self, actor: Actor, subject: Subject) -> EscalationView | ConsultationView:
        with self.deps.sessions() as session:
            if subject.subject_type == "escalation":
                return escalations.get_escalation(
                    session=session, actor=actor, escalation_id=subject.subject_id
                )
            return consultations.get_consultation(
                session=session, actor=actor, consultation_id=subject.subject_id
            )

    def case_text(self, actor: Actor, subject: Subject) -> tuple[str, str | None]:
        """(reference, case text) for a MASH worker who pressed "View excerpt": read through the
        service as that worker (the access check and an audited read). None once purged."""
        view = self.load(actor, subject)
        if not isinstance(view, EscalationView):
            return view.reference, view.topic
        text = view.excerpt
        # Further messages about the same child that joined it (mash/followups.py), in order.
        further = [m["excerpt"] for m in view.further_messages if m["excerpt"]]
        if further and text:
            parts = [text, *further]
            text = "\n\n".join(f"Message {n} of {len(parts)}:\n{part}"
                                for n, part in enumerate(parts, 1))
        return view.reference, text

    def mash_people(self, actor: Actor) -> list[tuple[int, str]]:
        with self.deps.sessions() as session:
            people = directory.list_people(session=session, actor=actor)
        return [
            (p.id, f"{p.name} ({blocks.ROLE_LABELS.get(p.role, p.role)})")
            for p in people
            if p.active and p.role in ("mash_worker", "mash_manager")
        ]

    # -- the card ----------------------------------------------------------------------------
    def raised_by(self, view: EscalationView | ConsultationView) -> str:
        name = None
        if view.originator_user_id is not None:
            with self.deps.sessions() as session:
                name = directory.people_names(session, {view.originator_user_id}).get(
                    view.originator_user_id
                )
        role = getattr(view, "sender_role", None)
        role_label = blocks.ROLE_LABELS.get(role or "", role or "")
        where = f"via {view.channel.capitalize()}"
        if not view.sender_verified:
            claimed = f" (says: {role_label})" if role_label else ""
            return f"Unverified sender{claimed}, {where}"
        parts = [f"{name} ({role_label})" if name and role_label else (name or "A practitioner")]
        if view.organisation_name:
            parts.append(view.organisation_name)
        return ", ".join(parts) + f", {where}"

    def render(
        self, subject: Subject, *, actor: Actor = DESK_ACTOR, originator_told: bool = False
    ) -> tuple[str, list[dict[str, Any]]]:
        view = self.load(actor, subject)
        if isinstance(view, EscalationView):
            limit = self.deps.settings.ack_limit_minutes.get(view.urgency, 15)
            return blocks.escalation_card(
                view,
                raised_by=self.raised_by(view),
                limit_minutes=limit,
                now=self.deps.clock(),
                originator_told=originator_told,
                category_labels=self.deps.category_labels,
            )
        return blocks.consultation_card(
            view, raised_by=self.raised_by(view), originator_told=originator_told
        )

    def refresh_card(
        self,
        client: WebClient,
        subject: Subject,
        *,
        fallback: Card | None = None,
        originator_told: bool = False,
    ) -> bool:
        """Redraw the item's duty-channel card in place. False if there is none to update.
        Raises SlackApiError when Slack refuses (the caller decides whether that matters).

        `fallback` is where the pressed card was, as the form's private_metadata says: a
        client can forge it, so it is used only in the duty channel and only when it is no
        other item's card; otherwise a worker's code could overwrite any bot message, such as
        the assistant's reply in a practitioner's DM (security re-review R7-4)."""
        store = self.deps.store
        card = store.card(subject.subject_type, subject.subject_id)
        if (
            card is None
            and fallback is not None
            and fallback.channel == self.deps.settings.slack_duty_channel
            and store.card_owner(fallback) is None
        ):
            card = fallback  # a card posted before its ts was recorded: redraw the pressed one
        if card is None:
            return False
        text, card_blocks = self.render(subject, originator_told=originator_told)
        client.chat_update(channel=card.channel, ts=card.ts, text=text, blocks=card_blocks)
        return True

    def try_refresh_card(self, client: WebClient, subject: Subject, **kwargs: Any) -> bool:
        """refresh_card for listeners: the change is already saved, so a Slack hiccup here is
        logged, not shown as a failure (the next change or delivery redraws the card)."""
        try:
            return self.refresh_card(client, subject, **kwargs)
        except (SlackApiError, OSError, MashError) as error:
            log.warning("could not update the card of %s: %s", subject, error)
            return False
