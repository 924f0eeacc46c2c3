"""The MASH service's domain exceptions.

Every message is written to be shown to a user as it is: plain words, no internals.
Callers (portal, Slack desk, Rasa actions) catch `MashError` and show `str(error)`.
"""

from __future__ import annotations


class MashError(Exception):
    """Base class: something the caller can report to the user and carry on."""


class NotFound(MashError):
    """No such item, or the actor may not see it (the two are deliberately indistinguishable)."""


class Forbidden(MashError):
    """The actor may see the item but their role may not do this to it."""


class Conflict(MashError):
    """The item changed state under us, e.g. someone else picked it up first."""


class KeyInUse(Conflict):
    """The idempotency key (message id) is already another sender's: nothing of theirs is shown
    and nothing is stored. The caller should send the request again with a fresh key."""


class InvalidInput(MashError):
    """The input is wrong; nothing was changed. `field` names the offending input if known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
