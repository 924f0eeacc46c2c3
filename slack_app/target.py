"""SlackTarget: the outbox's delivery target for the duty channel and direct messages.

- A new escalation or consultation gets a card in the duty channel; later messages about the
  same item redraw that card in place (chat.update) and add a note in its thread: reminders
  (broadcast to the channel), the step up to the duty manager, reassignment.
- The duty managers and a new assignee get direct messages; the originator of an item raised in
  Slack gets the outcome in plain words with what happens next (the portal's notifications are
  a separate outbox message, mash/notifications.py).
- People Slack cannot reach (portal users without a Slack id) go to the `fallback` target.

Idempotent: every post is keyed by the outbox idempotency key and a part name in
`slack_deliveries`. The key is written before the API call and the post carries it in its
message metadata, so after a timeout (posted or not? we cannot know) the retry looks in the
channel's history before posting again. The dispatcher retries anything this raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chat.labels import pack_labels
from mash.outbox import Message, Target
from mash.targets import LogTarget
from settings import Settings
from slack_app.blocks import Subject, esc
from slack_app.deps import SlackDeps, make_client
from slack_app.desk import DutyDesk
from slack_app.store import Card, Delivery

log = logging.getLogger("slack_app.target")

METADATA_EVENT = "mash_notification"
# Shorter than the dispatcher's lease (60 s), so a hung Slack is a failed attempt, not a
# second dispatcher delivering the same message alongside.
TARGET_TIMEOUT_SECONDS = 10.0
# Slack's clock and ours may differ a little; look a bit further back than the attempt.
HISTORY_MARGIN_SECONDS = 120
GONE = ("message_not_found", "cant_update_message", "channel_not_found")

NEXT_STEPS = {
    "advice_given": "A social worker has given advice. Follow it, keep recording what you "
    "see, and contact the MASH again if things change or you are worried again.",
    "no_further_action": "The MASH will not take further action now. Keep following your "
    "own safeguarding procedures and contact the MASH again if anything changes.",
    "early_help_taf": "The family will be offered early help through a Team Around the "
    "Family. The early help team will be in touch; you may be asked to take part.",
    "child_in_need_assessment": "A social worker will assess the child's needs (a child in "
    "need assessment). They may contact you for information.",
    "strategy_discussion_s47": "A strategy discussion is being held and there may be a "
    "section 47 enquiry. You may be asked to share information or attend. Do not tell the "
    "family about it unless the social worker asks you to.",
    "passed_to_police": "The concern has been passed to the police, who will decide what to "
    "do. Do not discuss it with the family unless the police or the MASH ask you to.",
    "already_open": "The child already has a social worker, who has been told. They may "
    "contact you.",
    "other": "The MASH has recorded an outcome. Contact the MASH if you need to know more.",
}


class SlackTarget:
    """mash.outbox.Target for Slack. One instance per dispatcher process is enough."""

    name = "slack"

    def __init__(
        self,
        *,
        deps: SlackDeps,
        client: WebClient | None = None,
        fallback: Target | None = None,
        timeout: float = TARGET_TIMEOUT_SECONDS,
    ) -> None:
        self.deps = deps
        # No automatic retries inside the SDK: a blind re-send could post twice. The
        # dispatcher retries, and `_post_once` checks what reached Slack first.
        self.client = client or make_client(deps.settings, timeout=timeout, retry_handlers=[])
        self.fallback = fallback
        self.desk = DutyDesk(deps)

    @property
    def duty_channel(self) -> str:
        return self.deps.settings.slack_duty_channel

    # -- routing ---------------------------------------------------------------------------
    def deliver(self, message: Message) -> None:
        subject = Subject(message.subject_type, message.subject_id)
        topic = message.topic
        if message.audience == "originator":
            self._tell_originator(message, subject)
        elif topic in ("escalation.raised", "consultation.requested"):
            self._card(subject)
        elif topic in BROADCAST_NOTES:
            # Still waiting, or a further message about the same child joined the item: the
            # card is redrawn (its timer, its message count) and the duty desk is told in its
            # thread, broadcast to the channel.
            card = self._card(subject)
            self._post_once(
                f"{message.idempotency_key}#thread",
                channel=card.channel,
                thread_ts=card.ts,
                reply_broadcast=True,
                text=BROADCAST_NOTES[topic](message.payload),
            )
        elif topic == "escalation.overdue":
            self._step_up(message, subject)
        elif topic == "escalation.reassigned":
            self._reassigned(message, subject)
        elif message.audience == "duty":
            card = self._card(subject)
            self._post_once(
                f"{message.idempotency_key}#thread",
                channel=card.channel,
                thread_ts=card.ts,
                text=esc(message.payload.get("text") or message.payload.get("title") or topic),
            )
        else:
            reached = self._dm_people(message, esc(message.payload.get("text", "")))
            self._rest_to_fallback(message, reached)

    # -- the card ------------------------------------------------------------------------------
    def _card(self, subject: Subject) -> Card:
        """The item's card in the duty channel: posted once, then redrawn on every message."""
        existing = self.deps.store.card(subject.subject_type, subject.subject_id)
        text, blocks = self.desk.render(subject)
        if existing is not None:
            try:
                self.client.chat_update(
                    channel=existing.channel, ts=existing.ts, text=text, blocks=blocks
                )
            except SlackApiError as error:
                if error.response.get("error") not in GONE:
                    raise
                # Someone deleted the card: carry on in its thread rather than retry forever.
                log.warning("the card of %s is gone from Slack; not redrawn", subject)
            return existing
        channel, ts = self._post_once(
            f"card:{subject.subject_type}:{subject.subject_id}",
            channel=self.duty_channel,
            text=text,
            blocks=blocks,
        )
        card = Card(channel=channel, ts=ts)
        self.deps.store.save_card(subject.subject_type, subject.subject_id, card)
        return card

    # -- people -----------------------------------------------------------------------------------
    def _tell_originator(self, message: Message, subject: Subject) -> None:
        slack_user = originator_slack_id(message.recipient)
        if slack_user is None:
            self._to_fallback(message)
        else:
            self._dm(f"{message.idempotency_key}#dm:{slack_user}", slack_user,
                     outcome_text(message, self.deps))
        try:
            self.desk.refresh_card(self.client, subject, originator_told=True)
        except SlackApiError as error:
            if error.response.get("error") not in GONE:
                raise
            log.warning("the card of %s is gone from Slack; not redrawn", subject)

    def _step_up(self, message: Message, subject: Subject) -> None:
        card = self._card(subject)
        reached = self._dm_people(
            message,
            f":rotating_light: *Overdue:* {esc(message.payload.get('reference'))} "
            f"({esc(message.payload.get('urgency'))}) has not been acknowledged after "
            f"{message.payload.get('waited_minutes')} minutes; the duty desk was reminded. "
            f"It is in the duty channel.",
        )
        names = ", ".join(p.get("name") or "?" for p in reached) or "nobody reachable in Slack"
        self._post_once(
            f"{message.idempotency_key}#thread",
            channel=card.channel,
            thread_ts=card.ts,
            reply_broadcast=True,
            text=f":arrow_up: Sent up to the duty manager ({esc(names)}): still not "
            f"acknowledged after {message.payload.get('waited_minutes')} minutes.",
        )
        self._rest_to_fallback(message, reached)

    def _reassigned(self, message: Message, subject: Subject) -> None:
        card = self._card(subject)
        people = message.recipient.get("people") or []
        who = ", ".join(
            f"<@{p['slack_user_id']}>" if p.get("slack_user_id") else esc(p.get("name", "?"))
            for p in people
        )
        self._post_once(
            f"{message.idempotency_key}#thread",
            channel=card.channel,
            thread_ts=card.ts,
            text=f":arrows_counterclockwise: {esc(message.payload.get('reference'))} is now "
            f"with {who or 'another worker'}.",
        )
        reached = self._dm_people(
            message,
            f"{esc(message.payload.get('reference'))} has been reassigned to you. "
            f"It is in the duty channel.",
        )
        self._rest_to_fallback(message, reached)

    def _dm_people(self, message: Message, text: str) -> list[dict[str, Any]]:
        reached = []
        for person in message.recipient.get("people") or []:
            slack_user = person.get("slack_user_id")
            if slack_user:
                self._dm(f"{message.idempotency_key}#dm:{slack_user}", slack_user, text)
                reached.append(person)
        return reached

    def _rest_to_fallback(self, message: Message, reached: list[dict[str, Any]]) -> None:
        people = message.recipient.get("people") or []
        if len(reached) < len(people) and self.fallback is not None:
            self.fallback.deliver(message)

    def _to_fallback(self, message: Message) -> None:
        (self.fallback or LogTarget()).deliver(message)

    def _dm(self, key: str, slack_user: str, text: str) -> None:
        done = self.deps.store.delivery(key)
        if done is not None and done.state == "posted":
            return
        channel = self.client.conversations_open(users=slack_user)["channel"]["id"]
        self._post_once(key, channel=channel, text=text)

    # -- exactly one post per key ------------------------------------------------------------------
    def _post_once(
        self,
        key: str,
        *,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        reply_broadcast: bool = False,
    ) -> tuple[str, str]:
        store = self.deps.store
        previous = store.delivery(key)
        if previous is not None and previous.state == "posted" and previous.ts:
            return previous.channel, previous.ts
        if previous is not None:
            found = self._find_posted(previous)
            if found is not None:
                store.finish_delivery(key, channel=previous.channel, ts=found)
                return previous.channel, found
        store.start_delivery(key, channel=channel, thread_ts=thread_ts)
        kwargs: dict[str, Any] = {}
        if thread_ts:
            kwargs.update(thread_ts=thread_ts, reply_broadcast=reply_broadcast)
        if blocks is not None:
            kwargs["blocks"] = blocks
        response = self.client.chat_postMessage(
            channel=channel,
            text=text,
            unfurl_links=False,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": key}},
            **kwargs,
        )
        store.finish_delivery(key, channel=response["channel"], ts=response["ts"])
        return response["channel"], response["ts"]

    def _find_posted(self, delivery: Delivery) -> str | None:
        """The ts of a post an earlier, unfinished attempt made, if it reached Slack."""
        oldest = f"{delivery.started_at.timestamp() - HISTORY_MARGIN_SECONDS:.6f}"
        try:
            if delivery.thread_ts:
                response = self.client.conversations_replies(
                    channel=delivery.channel,
                    ts=delivery.thread_ts,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                )
            else:
                response = self.client.conversations_history(
                    channel=delivery.channel, oldest=oldest, include_all_metadata=True, limit=200
                )
        except SlackApiError as error:
            if error.response.get("error") in ("channel_not_found", "missing_scope"):
                # Cannot look (a channel name, not an id; or no history scope): post again,
                # a possible repeat is better than a lost message.
                log.warning("cannot check %s for %s: %s", delivery.channel, delivery.key, error)
                return None
            raise
        for item in response.get("messages") or []:
            meta = item.get("metadata") or {}
            if (meta.get("event_payload") or {}).get("key") == delivery.key:
                return item.get("ts")
        return None


BROADCAST_NOTES: dict[str, Callable[[dict[str, Any]], str]] = {
    "escalation.renotify": lambda p: (
        f"<!here> :alarm_clock: *Still waiting:* {esc(p['reference'])} has not been "
        f"acknowledged after {p.get('waited_minutes')} minutes. Please acknowledge it or pick "
        f"it up."
    ),
    "escalation.follow_up": lambda p: (
        f":speech_balloon: *Further information:* {esc(p.get('reference'))} has a further "
        f"message from the same person ({p.get('message_count')} messages now)."
    ),
}


def originator_slack_id(recipient: dict[str, Any]) -> str | None:
    """The originator's Slack user, for an item raised in Slack only: their directory entry's,
    else the Slack sender they wrote from (sender ids are `slack:TEAM:USER`). An item raised in
    the portal is told in the portal (mash/notifications.py) and by the fallback target."""
    if recipient.get("channel") != "slack":
        return None
    for person in recipient.get("people") or []:
        if person.get("slack_user_id"):
            return str(person["slack_user_id"])
    # `slack:TEAM:USER`; an address with more after it (a thread) still names the user third
    parts = str(recipient.get("sender") or "").split(":")
    if len(parts) >= 3 and parts[0] == "slack":
        return parts[2] or None
    return None


def outcome_text(message: Message, deps: SlackDeps) -> str:
    """The originator's message, in plain words, with what happens next."""
    payload = message.payload
    reference = esc(payload.get("reference", ""))
    contact = ""
    if deps.contacts is not None:
        front = deps.contacts.front_door
        contact = f" If you are worried again, ring the {front.name} on {front.phone}."
    if not payload.get("sender_verified", True):
        # We could not confirm who raised it, so the decision itself stays with the MASH.
        return (
            f"The MASH has looked at the concern you raised ({reference}) and recorded what "
            f"it decided. Your Slack account is not linked to the partnership's directory, so "
            f"we cannot share the outcome here; ring the MASH and quote {reference}.{contact}"
        )
    if message.subject_type == "consultation":
        return (
            f"A MASH social worker has recorded advice on your consultation request "
            f"({reference}). If they have not reached you on the number you gave, ring the "
            f"MASH and quote {reference}.{contact}"
        )
    label = esc(payload.get("outcome_label") or "an outcome")
    steps = NEXT_STEPS.get(str(payload.get("outcome_code")), NEXT_STEPS["other"])
    # when the MASH placed it at another level than the practitioner expected, the guide's
    # reason for the level decided (issue 16: the feedback promised to every referrer)
    feedback = esc(payload.get("level_feedback") or "")
    return (
        f"The MASH has decided what happens about the concern you raised ({reference}): "
        f"*{label}*.\n{steps}{contact}" + (f"\n{feedback}" if feedback else "")
    )


def with_slack(
    targets: dict[str, Target], *, settings: Settings, sessions: Any
) -> dict[str, Target]:
    """The dispatcher's audience map with Slack in front: the duty desk, the duty managers and
    originators go to Slack; whatever Slack cannot reach goes to the target the map had."""
    from guidance.contacts import load_manifest

    manifest, _problems = load_manifest(settings.pack_path)
    deps = SlackDeps(
        settings=settings,
        sessions=sessions,
        relay=None,
        contacts=manifest.contacts if manifest else None,
        category_labels=pack_labels(settings.pack_path),
    )
    client = make_client(settings, timeout=TARGET_TIMEOUT_SECONDS, retry_handlers=[])
    routed: dict[str, Target] = dict(targets)
    for audience in ("duty", "duty_manager", "originator"):
        fallback = targets.get(audience) or targets.get("*")
        routed[audience] = SlackTarget(deps=deps, client=client, fallback=fallback)
    return routed
