"""Plain events for the studio's state: a list of callbacks, called in order (no Qt).

napari's models emit events that its Qt views observe; this is that idea written small.
An `Event` is called synchronously on the thread that emits it, which for the studio's
state is always the GUI thread: workers hand their results back through studio.gui.workers
first, and only then is the state changed.
"""
from __future__ import annotations

from typing import Callable


class Event:
    """Callbacks to call, in the order they connected, each time the event is emitted."""

    def __init__(self, doc: str = ""):
        self.doc = doc  # what the event means and what its callbacks receive
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> Callable:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args) -> None:
        for callback in list(self._callbacks):  # a callback may connect or disconnect others
            callback(*args)

    def __repr__(self) -> str:
        return f"Event({self.doc!r}, {len(self._callbacks)} callbacks)"
