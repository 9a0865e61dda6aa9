"""The target being edited: its sketch, the asperity count N, and their undo history (no Qt).

Every change of the target goes through `edit`, `set_N` or `set_monotone` (one undo step
each; consecutive N changes merge into one) or `undo` / `redo`; each ends with the
`changed` event. Widgets show `sketch` and `N` and call these methods; they never keep
a sketch of their own beyond a drag in progress.
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

from studio.design import load_range
from studio.design.core import Target
from studio.design.targets import TargetSketch
from studio.errors import StudioError
from studio.physics import validate_asperity_count
from studio.state.events import Event

HISTORY_LIMIT = 200  # undo steps kept; each holds two references to immutable sketches


@dataclass(frozen=True)
class _Step:
    text: str
    before: tuple[TargetSketch | None, int]
    after: tuple[TargetSketch | None, int]
    merge: str = ""  # steps with the same non-empty key merge when pushed one after the other


class TargetState:
    """The sketch and N the designs are made for, with undo/redo of both."""

    def __init__(self, N: int = 64, monotone: bool = True):
        self.sketch: TargetSketch | None = None
        self.N = validate_asperity_count(N)
        self.target: Target | None = None  # sketch.target(N), None without a sketch or when the law is refused
        self.error = ""  # why the last law was refused as a target ("" when it was not)
        self.changed_at = 0.0  # time.perf_counter() of the last change (what latencies are measured from)
        # The user's choice for new laws (strokes, points, presets): the last "Non-decreasing" toggle. An
        # imported or opened law keeps its own flag (a measured curve is kept as measured) and leaves it be.
        self._monotone_choice = bool(monotone)
        # What the studio says about a sketch (an import's notes), by sketch; edits of the same source keep it.
        self._notices: weakref.WeakKeyDictionary[TargetSketch, str] = weakref.WeakKeyDictionary()
        self._max_load_without_sketch = load_range.CANONICAL_MAX_LOAD_N
        self._done: list[_Step] = []
        self._undone: list[_Step] = []
        self.changed = Event("sketch or N changed (edit, undo, redo, restore); callbacks get this TargetState")
        self.history_changed = Event("what undo and redo would do changed; callbacks get this TargetState")

    # --- reading -----------------------------------------------------------------------------
    @property
    def monotone(self) -> bool:
        """Whether the current law is made non-decreasing (what the "Non-decreasing" toggle shows): the
        sketch's flag, off for a measured curve kept as measured; without a sketch, the choice for new laws."""
        return self.sketch.monotone if self.sketch is not None else self._monotone_choice

    @property
    def monotone_for_new_laws(self) -> bool:
        """Whether a new stroke, point set or preset is made non-decreasing: the user's last choice (default on)."""
        return self._monotone_choice

    @property
    def notice(self) -> str:
        """What the studio has to say about the current target (an import's notes), "" when nothing."""
        return "" if self.sketch is None else self._notices.get(self.sketch, "")

    @property
    def max_load_N(self) -> float:
        """P_max of the load range the target is drawn on (the sketch's; 10 N, or the last choice, without one)."""
        return self.sketch.max_load_N if self.sketch is not None else self._max_load_without_sketch

    def target_for(self, N: int) -> Target | None:
        """The same target law for another asperity count (a design of another N is refined for it)."""
        t = self.target
        if t is None or N == t.N:
            return t
        return Target(t.friction_N, N, mask=t.mask, source=t.source, note=t.note, max_load_N=t.max_load_N)

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    @property
    def undo_text(self) -> str:
        return self._done[-1].text if self._done else ""

    @property
    def redo_text(self) -> str:
        return self._undone[-1].text if self._undone else ""

    # --- changing ----------------------------------------------------------------------------
    def edit(self, sketch: TargetSketch | None, text: str = "Edit target", N: int | None = None,
             notice: str | None = None) -> None:
        """Replace the sketch, and N if given (one undo step).

        notice: what to tell the user about this target while it is current (an import's notes; "" for
        nothing); None: an edit of the current target's source (a handle drag, a load range) keeps its notice."""
        N = self.N if N is None else validate_asperity_count(N)
        if sketch is not None:
            if notice is None and self.sketch is not None and sketch.source == self.sketch.source:
                notice = self._notices.get(self.sketch, "")
            if notice:
                self._notices[sketch] = notice
        self._push(_Step(text, (self.sketch, self.N), (sketch, N)))

    def set_N(self, N: int) -> None:
        """Change the asperity count (one undo step; consecutive changes merge)."""
        N = validate_asperity_count(N)
        if N != self.N:
            self._push(_Step(f"N = {N}", (self.sketch, self.N), (self.sketch, N), merge="N"))

    def set_monotone(self, on: bool) -> None:
        """Make the law non-decreasing or let it decrease (one undo step when there is a sketch)."""
        on = bool(on)
        self._monotone_choice = on  # new laws follow the user's last choice
        if self.sketch is None:
            self.changed.emit(self)
        elif self.sketch.monotone != on:
            self.edit(self.sketch.with_monotone(on), "Non-decreasing" if on else "Allow decreasing")

    def set_max_load(self, max_load_N: float) -> None:
        """Move the target to the load range (0, max_load_N] with its shape kept (one undo step); a
        LoadRangeError (StudioError) for a value that is not positive and finite."""
        value = load_range.check_max_load(max_load_N, "largest load")
        if self.sketch is None:
            if value != self._max_load_without_sketch:
                self._max_load_without_sketch = value
                self.changed.emit(self)
        elif value != self.sketch.max_load_N:
            self.edit(self.sketch.at_max_load(value), f"Load range 0–{value:g} N")

    def undo(self) -> None:
        if self._done:
            step = self._done.pop()
            self._undone.append(step)
            self._apply(*step.before)

    def redo(self) -> None:
        if self._undone:
            step = self._undone.pop()
            self._done.append(step)
            self._apply(*step.after)

    def _push(self, step: _Step) -> None:
        self._undone.clear()
        top = self._done[-1] if self._done else None
        if step.merge and top is not None and top.merge == step.merge:
            self._done[-1] = _Step(step.text, top.before, step.after, step.merge)
        else:
            self._done.append(step)
            del self._done[:-HISTORY_LIMIT]
        self._apply(*step.after)

    def _apply(self, sketch: TargetSketch | None, N: int) -> None:
        self.changed_at = time.perf_counter()
        self.sketch, self.N = sketch, int(N)
        self.target, self.error = None, ""
        if sketch is not None:
            try:
                self.target = sketch.target(self.N)
            except StudioError as exc:
                self.error = str(exc)
        self.history_changed.emit(self)
        self.changed.emit(self)
