"""The contact-pattern strip of the selected design: one coloured cell per grid load, the slider's load marked.

The strip is computed in a worker (studio.design.patterns.pattern_strip, after the design's details
brought its layout) and kept per design (with its layout and stored validation: a new BEM result or a
new spacing computes it again), shared by the Design and Validation workspaces, so going back to a
design shows it at once. The model is loaded once, in the first worker call; a missing or corrupt model
file is said in the strip's line.
"""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from studio.gui.workers import call_in_thread
from studio.physics.patterns import PATTERNS

PATTERN_COLORS = {"isolated": "#009E73", "interacting": "#E69F00", "coalesced": "#D55E00",
                  "dominated": "#CC79A7"}  # Okabe–Ito: told apart with any colour vision
CACHED_DESIGNS = 64  # strips kept (a few kB each); the oldest goes first


class PatternStripView(QWidget):
    """A line saying the pattern at the slider's load, over a strip of every grid load's pattern."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.strip = None
        self.index = 0
        self.line = QLabel("Contact pattern: select a design.")
        self.line.setWordWrap(True)
        self.bar = _Bar(self)
        self.legend = QLabel("  ".join(f'<span style="color:{PATTERN_COLORS[name]}">■</span> {name}'
                                       for name in PATTERNS) + "  ·  outlined: stored BEM result  ·  "
                                                               "left to right: the grid's loads")
        self.legend.setStyleSheet("color: #555;")
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(self.line)
        box.addWidget(self.bar)
        box.addWidget(self.legend)
        self.setToolTip("Contact pattern at each load of the grid (left: smallest). Predicted by the CNN-MLP "
                        "(docs/patterns.md); outlined cells come from the BEM result stored in the design file.\n"
                        + "\n".join(f"{name}: {PATTERN_COLORS[name]}" for name in PATTERNS))

    def set_strip(self, strip) -> None:
        self.strip = strip
        self._update_line()
        self.bar.update()

    def set_message(self, text: str) -> None:
        self.strip = None
        self.line.setText(text)
        self.bar.update()

    def set_index(self, index: int) -> None:
        self.index = int(index)
        self._update_line()
        self.bar.update()

    def _update_line(self) -> None:
        s = self.strip
        if s is None:
            return
        k = min(self.index, s.loads_N.size - 1)
        text = s.describe(k)
        if s.disagreements:
            text += f" · the model disagrees with the stored BEM result at {len(s.disagreements)} of its loads"
        self.line.setText(text)


class _Bar(QWidget):
    def __init__(self, view: PatternStripView):
        super().__init__(view)
        self.view = view
        self.setMinimumHeight(16)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def paintEvent(self, _ev) -> None:
        s = self.view.strip
        p = QPainter(self)
        w, h = self.width(), self.height()
        if s is None:
            p.fillRect(0, 0, w, h, QColor("#eeeeee"))
            return
        k = s.loads_N.size
        cell = w / k
        for i in range(k):
            p.fillRect(QRectF(i * cell, 0, cell + 0.5, h), QColor(PATTERN_COLORS.get(s.names[int(s.shown[i])], "#999")))
        p.setPen(QPen(QColor("#111111"), 1.5))
        for i in range(k):
            if s.from_bem[i]:
                p.drawRect(QRectF(i * cell, 0.75, max(cell, 2.0), h - 1.5))
        i = min(self.view.index, k - 1)
        p.setPen(QPen(QColor("#000000"), 2))
        x = (i + 0.5) * cell
        p.drawLine(int(x), 0, int(x), h)
        p.end()


class PatternStrips(QObject):
    """Computes the selected design's strip in a worker when its details (layout) arrive, into a cache shared by
    every workspace's strip (one computation per design, layout and stored validation)."""

    def __init__(self, board, view: PatternStripView, predictor_fn=None, parent=None):
        super().__init__(parent)
        self.board, self.view = board, view
        self.predictor_fn = predictor_fn or _shipped_predictor  # tests pass their own
        self.closing = False
        board.selection_changed.connect(self.refresh)
        board.details_changed.connect(lambda e: e is board.selected and self.refresh(e))

    def strip_of(self, design, layout=None):
        """The kept strip of `design` (on `layout`, with the validation it carries now), else None."""
        hit = _CACHE.get(id(design))
        if hit is None or hit[0] is not design or hit[1] is not design.validation:
            return None
        return hit[3] if layout is None or hit[2] is layout else None

    def refresh(self, entry) -> None:
        """Show the strip of `entry` (the selected board entry), computing it if it is not kept."""
        if entry is None:
            self.view.set_message("Contact pattern: select a design.")
            return
        layout = getattr(entry.details, "layout", None)
        strip = self.strip_of(entry.design, layout)
        if strip is not None:
            self.view.set_strip(strip)
            return
        if entry.live:
            self.view.set_message("Contact pattern: after the job ends.")
            return
        if entry.details is None:
            self.view.set_message("Contact pattern: waiting for the layout …")
            return
        self.view.set_message("Contact pattern: predicting …")
        design, validation = entry.design, entry.design.validation
        key = (id(design), id(validation), id(layout))
        if key in _PENDING:
            _PENDING[key].append(self)
            return
        _PENDING[key] = [self]
        call_in_thread(_strip, design, layout, self.predictor_fn,
                       on_result=lambda strip: _ready(key, design, validation, layout, strip),
                       on_error=lambda m: _failed(key, design, m))

    def _show_if_selected(self, design, strip=None, message: str = "") -> None:
        entry = self.board.selected
        if self.closing or entry is None or entry.design is not design:
            return
        if strip is not None:
            self.view.set_strip(strip)
        else:
            self.view.set_message(f"Contact pattern: not available ({message})")

    def stop(self) -> None:
        self.closing = True


_CACHE: dict[int, tuple] = {}  # id(design) → (design, its validation, layout, strip): the objects keep ids their own
_PENDING: dict[tuple, list] = {}  # (ids of design, validation, layout) → the PatternStrips waiting for it


def _ready(key, design, validation, layout, strip) -> None:
    _CACHE.pop(id(design), None)
    _CACHE[id(design)] = (design, validation, layout, strip)
    while len(_CACHE) > CACHED_DESIGNS:
        _CACHE.pop(next(iter(_CACHE)))
    for strips in _PENDING.pop(key, []):
        strips._show_if_selected(design, strip)


def _failed(key, design, message: str) -> None:
    for strips in _PENDING.pop(key, []):
        strips._show_if_selected(design, message=message)


_predictor_lock = threading.Lock()
_predictor = None


def _shipped_predictor():
    """The shipped classifier, loaded once (in a worker thread; ModelError names a missing or corrupt file)."""
    global _predictor
    with _predictor_lock:
        if _predictor is None:
            from studio.models.patterns import load_pattern_model

            _predictor = load_pattern_model()
        return _predictor


def _strip(design, layout, predictor_fn):
    from studio.design.patterns import pattern_strip

    return pattern_strip(design, predictor_fn(), layout)
