"""Realistic practitioner conversations: questions, threshold checks and a few disclosures.

Deterministic for a seed, so two runs (or the 1- and 2-replica phases) send the same mix.
Disclosures carry a unique reference token so each can be traced to its escalation.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

QUESTIONS = [
    "what does level 3 mean?",
    "who is our MASH contact?",
    "what is the front door phone number",
    "how do I make a referral to children's social care",
    "what happened to my referral",
    "can I share information without consent?",
    "is there any safeguarding training for DSLs",
    "what is early help",
    "what should I do if a child discloses abuse",
    "what's the out of hours number",
    "do i need to send a report to a child protection conference",
    "what is a section 47 enquiry",
    "explain level 2 please",
    "hi",
    "thanks, that helps",
]
WORRIES = [
    "I'm worried about a pupil who often comes in hungry and in dirty clothes",
    "attendance for one of my year 8s has dropped off a lot and he seems withdrawn",
    "mum seems to be struggling to cope since the new baby",
    "a girl in year 7 keeps getting into fights and won't say why",
]
THRESHOLD_CHECK = [
    "I want to do a threshold check",
    "a 7 year old keeps coming to school hungry and unwashed, often late",
    "7",
    "mum and her new partner",
    "we spoke to mum and offered a food bank referral",
]
DISCLOSURES = [
    "a pupil told me her stepdad hit her last night and she is scared to go home",
    "a boy in year 5 has bruises on his arms and says his dad hurt him",
    "a 14 year old told me an older man is making her have sex with his friends",
]


@dataclass(frozen=True)
class Turn:
    text: str
    disclosure: bool = False
    token: str = ""


def conversation(rng: random.Random, turns: int, disclosure_rate: float) -> list[Turn]:
    """`turns` messages: questions and worries, sometimes a whole threshold check, and with
    probability `disclosure_rate` per conversation one disclosure somewhere in it."""
    out: list[Turn] = []
    while len(out) < turns:
        pick = rng.random()
        if pick < 0.2 and len(out) + len(THRESHOLD_CHECK) <= turns:
            out += [Turn(t) for t in THRESHOLD_CHECK]
        elif pick < 0.35:
            out.append(Turn(rng.choice(WORRIES)))
        else:
            out.append(Turn(rng.choice(QUESTIONS)))
    if rng.random() < disclosure_rate:
        token = f"LT{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}"
        text = f"{rng.choice(DISCLOSURES)} (case note {token})"
        out[rng.randrange(len(out))] = Turn(text, disclosure=True, token=token)
    return out[:turns]
