"""Running a batch with the cyclic garbage collector paused.

Why: screening and assessing allocate many short-lived containers (tokens, phrase hits, cue
zones, features) while the spaCy vocabulary, the lexicon and the model's tables keep some
470,000 tracked objects alive. Profiled on `python -m guidance bench`: with the collector on,
its passes cost more than the screening (about 40% before the screen first paused it), and
when the pause ended inside the batch, with the batch's own lists still alive, each pass that
followed walked them (about 5 ms each) and promoted them, so that every few batches a full pass
of the whole heap followed (0.1-0.6 s). Nothing the engine builds per message is cyclic, so
reference counting frees all of it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def without_gc(call: Callable[..., T], *args: object) -> T:
    """`call(*args)` with the collector paused. It is enabled again only after `call` has
    returned, when its temporaries are already freed, so the collector never walks them;
    inside an outer pause it just calls."""
    if not gc.isenabled():
        return call(*args)
    gc.disable()
    try:
        return call(*args)
    finally:
        gc.enable()
