"""A stand-in for Rasa's signed channel, shared by the chat, portal and Slack tests: it checks
the relay's signature, records each call, and keeps one open form per conversation key, as the
bot's rules do ("check the threshold" opens one, the bare cancel command stops it)."""

from __future__ import annotations

import json

import httpx

from chat.relay import CANCEL_COMMAND
from chat.signing import MemoryNonceStore, verify_request

FORM_STOPPED = "OK, I've stopped. Nothing has been sent. What would you like to do instead?"
NOTHING_OPEN = "There's nothing in progress to stop. What can I help with?"


class FakeRasa:
    """Rasa's signed channel as the relay sees it: checks the signature, records each call,
    and keeps one open form per conversation key, as the bot's rules do."""

    def __init__(self, secret: str) -> None:
        self.secret, self.calls, self.open_form = secret, [], set()
        self.nonces = MemoryNonceStore()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        verify_request(self.secret, body=request.content, headers=request.headers,
                       nonces=self.nonces)
        call = json.loads(request.content)
        self.calls.append(call)
        sender, text = call["sender"], call["message"]
        if text == CANCEL_COMMAND:
            stopped = sender in self.open_form
            self.open_form.discard(sender)
            return httpx.Response(200, json=[{"text": FORM_STOPPED if stopped else NOTHING_OPEN}])
        if sender in self.open_form:
            return httpx.Response(200, json=[{"text": "How old is the child?"}])
        if text == "check the threshold":
            self.open_form.add(sender)
            return httpx.Response(200, json=[{"text": "What is the worry, in a sentence?"}])
        return httpx.Response(200, json=[{"text": "Your MASH contact is ..."}])
