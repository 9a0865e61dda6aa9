"""The candidates column: one card per design on the board (studio.state.Board), best first.

A card shows a sparkline (target dark, design coloured), the sMAPE, and what tells designs
apart: E*, N, the largest d/R of its contacts (✓ within Hertz validity, ⚠ beyond) and the
layout's size in mm (studio.design.details.CardFacts, computed in a worker: "…" until then);
the method, model and seed are in its tooltip. A ☆ pin toggle and a ▶ refine button.
The board decides what is shown and in which order;
the gallery only mirrors it (reusing card widgets: cheaper than deleting and creating) and
forwards clicks, pins and ▶ to it. Cards are plain QWidgets painted with QPainter so a
gallery of dozens stays cheap.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from studio.design.core import Design
from studio.gui.help import SMAPE_TIP
from studio.gui.plots import DESIGN_COLOR
from studio.physics import HERTZ_LIMIT
from studio.physics.theta import E_STAR_IDX
from studio.state import Board, Entry, TargetState


class Sparkline(QWidget):
    """Target (grey) and design (orange) laws over the load grid, no axes."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.target: np.ndarray | None = None
        self.law: np.ndarray | None = None
        self.setMinimumSize(QSize(110, 46))
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setFixedSize(QSize(110, 46))

    def set_curves(self, target, law) -> None:
        self.target = None if target is None else np.asarray(target, float)
        self.law = None if law is None else np.asarray(law, float)
        self._picture = None
        self.update()

    def _draw(self) -> QPixmap:
        """The curves drawn once per change of curves; a repaint copies the pixmap (card lists repaint often:
        a new target repaints every card, and so does scrolling)."""
        ratio = self.devicePixelRatioF()  # sharp on high-DPI screens
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(QColor("#fafafa"))
        curves = [c for c in (self.target, self.law) if c is not None]
        if curves:
            top = max(float(np.nanmax(c)) for c in curves) or 1.0
            w, h = self.width() - 4, self.height() - 4
            p = QPainter(pixmap)
            p.setRenderHint(QPainter.Antialiasing)
            for curve, color, width in ((self.target, "#333333", 2.5), (self.law, DESIGN_COLOR, 1.5)):
                if curve is not None:
                    xs = 2 + w * np.arange(curve.size) / (curve.size - 1)
                    p.setPen(QPen(QColor(color), width))
                    p.drawPath(pg.arrayToQPath(xs, 2 + h * (1 - curve / top)))
            p.end()
        return pixmap

    def paintEvent(self, _ev) -> None:
        if getattr(self, "_picture", None) is None:
            self._picture = self._draw()
        p = QPainter(self)
        p.drawPixmap(0, 0, self._picture)
        p.end()


class DesignCard(QFrame):
    """One board entry: sparkline, sMAPE, E*, N, largest d/R, layout size, ☆ and ▶."""

    def __init__(self, entry: Entry, gallery: "Gallery"):
        super().__init__()
        self.entry = entry
        self._shown = None
        self.setFrameShape(QFrame.StyledPanel)
        self.setCursor(Qt.PointingHandCursor)
        self.spark = Sparkline()
        self.title = QLabel()
        self.title.setToolTip(SMAPE_TIP)
        self.info = QLabel()
        self.info.setObjectName("cardInfo")
        for label in (self.title, self.info):  # text never widens the card past the gallery
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
            label.setMinimumWidth(40)
        self.pin = QToolButton()
        self.pin.setText("☆")
        self.pin.setCheckable(True)
        self.pin.setToolTip("Pin: keep this design overlaid in the law plot")
        self.pin.clicked.connect(lambda on: gallery.board.set_pinned(self.entry, on))
        self.refine = QToolButton()
        self.refine.setText("▶")
        self.refine.setToolTip("Refine this design (start a job from it)")
        self.refine.clicked.connect(lambda: gallery.refineRequested.emit(self.entry.design))
        self._gallery = gallery
        text = QVBoxLayout()
        text.setSpacing(1)
        text.addWidget(self.title)
        text.addWidget(self.info)
        buttons = QVBoxLayout()
        buttons.addWidget(self.pin)
        buttons.addWidget(self.refine)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 4, 4, 4)
        row.addWidget(self.spark)
        row.addLayout(text, 1)
        row.addLayout(buttons)
        self.show_entry(entry, gallery.target_law, selected=False)

    @property
    def design(self) -> Design:
        return self.entry.design

    def show_entry(self, entry: Entry, target_law, selected: bool) -> None:
        """Redraw only what changed (the board re-sorts on every edit; most cards stay as they are)."""
        self.entry = entry
        d = entry.design
        shown = (d, d.error_percent, entry.facts, entry.kind, entry.pinned, selected)
        if self._shown is not None and self._shown[0] is d and self._shown[1:] == shown[1:]:
            return  # (designs compare by identity: a dataclass == would compare their arrays)
        if self._shown is None or self._shown[0] is not d or self._shown[2] is not entry.facts:
            self.spark.set_curves(target_law, d.friction_N)
            self.info.setText(card_text(d, entry.facts))
            self.setToolTip(card_tooltip(d, entry.facts))
        err = "–" if d.error_percent is None else f"{d.error_percent:.2f} %"
        live = " <span style='color:#D55E00'>● live</span>" if entry.live else ""
        self.title.setText(f"<b>sMAPE {err}</b>{live}")
        self.pin.setChecked(entry.pinned)
        self.pin.setText("★" if entry.pinned else "☆")
        if self._shown is None or self._shown[3:] != shown[3:]:
            # One style sheet on the gallery keyed by properties: re-polishing is far cheaper than a
            # per-card setStyleSheet (which re-parses and stalls the event loop when cards appear).
            self.setProperty("state", "selected" if selected else ("live" if entry.live else "normal"))
            self.style().unpolish(self)
            self.style().polish(self)
        self._shown = shown

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.LeftButton:
            self._gallery.board.choose(self.entry)
        super().mousePressEvent(ev)


def card_text(d: Design, facts) -> str:
    """The card's lines under its sMAPE: E* and the largest d/R (validity), then N and the layout size."""
    if facts is None:
        return f"E* {d.theta[E_STAR_IDX]:.3g} MPa · d/R …<br>N {d.N} · layout …"
    mark = "✓" if facts.hertz_valid else "<span style='color:#a33'>⚠</span>"
    w, depth = facts.footprint_mm
    return (f"E* {d.theta[E_STAR_IDX]:.3g} MPa · d/R {d_over_r_text(facts.max_d_over_R)} {mark}<br>"
            f"N {d.N} · {w:.3g} × {depth:.3g} mm")


def d_over_r_text(value: float) -> str:
    """Two decimals, three near the validity limit (so 0.254 ⚠ never reads as 0.25 ⚠)."""
    return f"{value:.3f}" if abs(value - HERTZ_LIMIT) < 0.01 else f"{value:.2f}"


def card_tooltip(d: Design, facts) -> str:
    lines = [d.name, f"method {d.method or '?'}, model {d.model or '–'}, seed {d.seed}, found in {d.elapsed_s:.1f} s",
             f"E* {d.theta[E_STAR_IDX]:.4g} MPa: effective modulus of the material; N = {d.N} asperities"]
    if facts is not None:
        w, depth = facts.footprint_mm
        lines += [f"largest d/R {facts.max_d_over_R:.3f} at {d.max_load_N:g} N (indentation over tip radius): "
                  + ("within" if facts.hertz_valid else "beyond") + f" small-strain Hertz validity (≤ {HERTZ_LIMIT:g})",
                  f"layout footprint {w:.3g} × {depth:.3g} mm (the caps at the plate)"]
    return "\n".join(lines + ["", SMAPE_TIP])


CARD_STYLE = """
DesignCard { border: 1px solid #c8c8c8; border-radius: 4px; background: white; }
DesignCard[state="live"] { border: 1px solid #E69F00; }
DesignCard[state="selected"] { border: 2px solid #D55E00; background: #fff7f0; }
QLabel#cardInfo { color: #555; }
"""


class Gallery(QWidget):
    """The board's entries as cards, best first (live cards on top)."""

    refineRequested = Signal(object)  # Design: ▶ on its card

    def __init__(self, board: Board, target: TargetState, parent=None):
        super().__init__(parent)
        self.board = board
        self.cards: list[DesignCard] = []
        self.target_law = None
        self.header = QLabel("<b>Candidates</b>")
        self._inner = QWidget()
        self._list = QVBoxLayout(self._inner)
        self._list.setContentsMargins(2, 2, 2, 2)
        self._list.setSpacing(4)
        self._list.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self._inner)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.header)
        box.addWidget(scroll)
        self.setMinimumWidth(280)
        self.setStyleSheet(CARD_STYLE)
        board.changed.connect(lambda _b: self._sync())
        board.entry_changed.connect(lambda _e: self._sync())
        board.selection_changed.connect(lambda _e: self._sync())
        board.facts_changed.connect(self._facts_arrived)
        target.changed.connect(self._target_changed)

    def card_of(self, entry: Entry) -> DesignCard | None:
        return next((c for c in self.cards if c.entry is entry), None)

    def _facts_arrived(self, entry: Entry) -> None:
        card = self.card_of(entry)
        if card is not None:
            card.show_entry(entry, self.target_law, selected=entry is self.board.selected)

    def _target_changed(self, target: TargetState) -> None:
        self.target_law = None if target.target is None else target.target.friction_N
        for card in self.cards:
            card.spark.set_curves(self.target_law, card.design.friction_N)

    def _sync(self) -> None:
        """Make the cards mirror the board's entries, in its order."""
        entries = self.board.entries
        by_entry = {c.entry: c for c in self.cards}
        present = set(entries)
        spare = [c for c in self.cards if c.entry not in present]
        cards = []
        for entry in entries:
            card = by_entry.get(entry)
            if card is None and spare:
                card = spare.pop(0)
                card._shown = None
            if card is None:
                card = DesignCard(entry, self)
            card.show_entry(entry, self.target_law, selected=entry is self.board.selected)
            cards.append(card)
        for card in spare:
            self._list.removeWidget(card)
            card.hide()
            card.deleteLater()
        shown = [self._list.itemAt(i).widget() for i in range(self._list.count())]
        if shown[:len(cards)] != cards:  # move widgets only when the order changed
            for i, card in enumerate(cards):
                self._list.insertWidget(i, card)
        self.cards = cards
        self.header.setText(f"<b>Candidates</b> ({len(cards)}) — best first")
