"""Band and layout of the selected design, computed in a worker once the selection settles;
the card facts (E*, largest d/R, layout size) of every design on the board, one at a time.

Clicking through cards computes only the last one (a 200 ms debounce); the result is kept on
the board entry (`Entry.details`, studio.design.details.DesignDetails), where every workspace
finds it, and announced by the board's `details_changed` event.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from studio.design.details import card_facts, compute_details
from studio.gui.workers import call_in_thread
from studio.state import StudioState

log = logging.getLogger("studio.gui")

DETAILS_DEBOUNCE_MS = 200
FACTS_QUIET_MS = 250  # card facts start once the board has not changed for this long


class SelectedDetails(QObject):
    shown = Signal()  # the selected design's details arrived

    def __init__(self, state: StudioState, report, details_fn=compute_details, parent=None):
        super().__init__(parent)
        self.board, self.report, self.details_fn = state.board, report, details_fn  # tests pass a quick stand-in
        self.closing = False
        self._token = 0  # a result computed for an older selection is kept but not announced as shown
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DETAILS_DEBOUNCE_MS)
        self._timer.timeout.connect(self._compute)
        state.board.selection_changed.connect(self._selected)
        state.target.changed.connect(lambda _t: self._timer.stop())  # new candidates will be selected instead

    def _selected(self, entry) -> None:
        self._token += 1
        if entry is not None and entry.details is None and not entry.live:
            self._timer.start()

    def _compute(self) -> None:
        entry = self.board.selected
        if entry is None or entry.live or entry.details is not None or self.closing:
            return
        design, token = entry.design, self._token
        call_in_thread(self.details_fn, design, on_result=lambda details: self._ready(token, design, details),
                       on_error=lambda m: self.report(f"Could not compute the band/layout: {m}"))

    def _ready(self, token: int, design, details) -> None:
        if self.closing:
            return
        entry = self.board.set_details(design, details)
        if entry is not None and token == self._token and entry is self.board.selected:
            self.shown.emit()

    def stop(self) -> None:
        self.closing = True
        self._timer.stop()


class CardFactsWorker(QObject):
    """Computes the card facts (studio.design.details.CardFacts) of every board entry, one design at a
    time in a worker (a layout takes 30–110 ms), and puts them on the board (`Board.set_facts`).

    They are extras, so they yield to what the user waits for: none starts while `busy()` (in the studio:
    the candidates engine running or due, or a job running), nor until the board has been quiet for
    FACTS_QUIET_MS, so a burst of edits or a running job pays at most the one call in flight."""

    def __init__(self, state: StudioState, facts_fn=card_facts, busy=lambda: False, parent=None):
        super().__init__(parent)
        self.board, self.facts_fn, self.busy = state.board, facts_fn, busy  # tests pass a quick stand-in
        self.closing = False
        self._running = False
        self._failed: set[int] = set()  # id() of designs whose facts could not be computed: not retried
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(FACTS_QUIET_MS)
        self._quiet.timeout.connect(self._next)
        self.board.changed.connect(lambda _b: self._quiet.start())

    def _next(self) -> None:
        if self._running or self.closing:
            return
        if self.busy():
            self._quiet.start()  # look again when the candidates are done
            return
        entry = next((e for e in self.board.entries
                      if e.facts is None and not e.live and id(e.design) not in self._failed), None)
        if entry is None:
            return
        self._running, design = True, entry.design
        call_in_thread(self.facts_fn, design, on_result=lambda facts: self._ready(design, facts),
                       on_error=lambda m: self._error(design, m))

    def _ready(self, design, facts) -> None:
        self._running = False
        if not self.closing:
            self.board.set_facts(design, facts)
            self._next()

    def _error(self, design, message: str) -> None:
        self._running = False
        self._failed.add(id(design))
        log.info("card facts of %s not computed: %s", design.name, message)
        self._next()

    def stop(self) -> None:
        self.closing = True
        self._quiet.stop()
