"""The candidate gallery: one card per design, best first; live cards for running jobs.

A card shows a sparkline (target grey, design coloured), the sMAPE, method, N and seed,
a ☆ pin toggle and a ▶ refine button. Cards are plain QWidgets painted with QPainter so
a gallery of dozens stays cheap.
"""
from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from studio.design.core import Design
from studio.gui.plots import DESIGN_COLOR

_ids = itertools.count(1)


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
        self._paths = None
        self.update()

    def _build_paths(self) -> list:
        """Polylines in pixels, built once per change of curves (painting then costs ~nothing)."""
        curves = [c for c in (self.target, self.law) if c is not None]
        if not curves:
            return []
        top = max(float(np.nanmax(c)) for c in curves) or 1.0
        w, h = self.width() - 4, self.height() - 4
        out = []
        for curve, color, width in ((self.target, "#333333", 2.5), (self.law, DESIGN_COLOR, 1.5)):
            if curve is None:
                continue
            xs = 2 + w * np.arange(curve.size) / (curve.size - 1)
            ys = 2 + h * (1 - curve / top)
            path = QPainterPath()
            path.addPolygon(QPolygonF([QPointF(x, y) for x, y in zip(xs.tolist(), ys.tolist())]))
            out.append((path, QPen(QColor(color), width)))
        return out

    def paintEvent(self, _ev) -> None:
        if getattr(self, "_paths", None) is None:
            self._paths = self._build_paths()
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor("#fafafa"))
        for path, pen in self._paths:
            p.setPen(pen)
            p.drawPath(path)


class DesignCard(QFrame):
    clicked = Signal(object)       # the card
    pinToggled = Signal(object, bool)
    refineRequested = Signal(object)

    def __init__(self, design: Design, target_law=None, live: bool = False, parent=None):
        super().__init__(parent)
        self.card_id = next(_ids)
        self.design = design
        self.live = live
        self.selected = False
        self.setFrameShape(QFrame.StyledPanel)
        self.setCursor(Qt.PointingHandCursor)
        self.spark = Sparkline()
        self.title = QLabel()
        self.info = QLabel()
        self.info.setObjectName("cardInfo")
        for label in (self.title, self.info):  # text never widens the card past the gallery
            label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
            label.setMinimumWidth(40)
        self.pin = QToolButton()
        self.pin.setText("☆")
        self.pin.setCheckable(True)
        self.pin.setToolTip("Pin: keep this design overlaid in the law plot")
        self.pin.toggled.connect(self._pin_toggled)
        self.refine = QToolButton()
        self.refine.setText("▶")
        self.refine.setToolTip("Refine this design (start a job from it)")
        self.refine.clicked.connect(lambda: self.refineRequested.emit(self))
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
        self.set_design(design, target_law)
        self._restyle()

    def set_design(self, design: Design, target_law=None) -> None:
        self.design = design
        if target_law is not None:
            self.spark.target = np.asarray(target_law, float)
        self.spark.set_curves(self.spark.target, design.friction_N)
        err = "–" if design.error_percent is None else f"{design.error_percent:.2f} %"
        live = " <span style='color:#D55E00'>● live</span>" if self.live else ""
        self.title.setText(f"<b>sMAPE {err}</b>{live}")
        seed = str(design.seed) if design.seed < 100_000 else f"…{design.seed % 10_000:04d}"
        self.info.setText(f"{design.method or '?'} · N {design.N}<br>seed {seed}")
        self.setToolTip(f"{design.name}\nmethod {design.method}, model {design.model or '–'}\n"
                        f"N = {design.N}, seed = {design.seed}, found in {design.elapsed_s:.1f} s")

    def set_selected(self, on: bool) -> None:
        self.selected = on
        self._restyle()

    def _restyle(self) -> None:
        # One style sheet on the gallery keyed by properties: re-polishing is far cheaper than a
        # per-card setStyleSheet (which re-parses and stalls the event loop when cards appear).
        self.setProperty("state", "selected" if self.selected else ("live" if self.live else "normal"))
        self.style().unpolish(self)
        self.style().polish(self)

    def _pin_toggled(self, on: bool) -> None:
        self.pin.setText("★" if on else "☆")
        self.pinToggled.emit(self, on)

    def mousePressEvent(self, ev) -> None:
        if ev.button() == Qt.LeftButton:
            self.clicked.emit(self)
        super().mousePressEvent(ev)


CARD_STYLE = """
DesignCard { border: 1px solid #c8c8c8; border-radius: 4px; background: white; }
DesignCard[state="live"] { border: 1px solid #E69F00; }
DesignCard[state="selected"] { border: 2px solid #D55E00; background: #fff7f0; }
QLabel#cardInfo { color: #555; }
"""


class Gallery(QWidget):
    """Cards best first. Live cards (running jobs) sit on top; candidates and results below."""

    selectionChanged = Signal()              # read .selected
    pinsChanged = Signal(list)               # list[Design]
    refineRequested = Signal(object)         # Design

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cards: list[DesignCard] = []
        self.selected: DesignCard | None = None
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

    # --- content ---------------------------------------------------------------
    def set_target_law(self, law) -> None:
        self.target_law = law
        for card in self.cards:
            card.spark.set_curves(law, card.design.friction_N)

    def replace_candidates(self, designs: list[Design]) -> None:
        """Swap the unpinned, non-live candidate cards for new ones (keeps pins, results and live cards)."""
        keep = [c for c in self.cards if c.live or c.pin.isChecked() or c.is_result]
        reusable = [c for c in self.cards if c not in keep]
        for card, d in zip(reusable, designs):  # reuse widgets: cheaper than delete + create
            card.set_design(d, self.target_law)
        for card in reusable[len(designs):]:
            self._remove(card)
        for d in designs[len(reusable):]:
            self.add(d, reorder=False)
        self._reorder()
        self._update_header()
        if self.selected is not None and self.selected in reusable[:len(designs)]:
            self.selectionChanged.emit()  # the selected card now holds a new design

    def add(self, design: Design, *, live: bool = False, is_result: bool = False, reorder: bool = True) -> DesignCard:
        card = DesignCard(design, self.target_law, live=live)
        card.is_result = is_result
        card.clicked.connect(self.select)
        card.pinToggled.connect(lambda *_: self.pinsChanged.emit(self.pinned()))
        card.refineRequested.connect(lambda c: self.refineRequested.emit(c.design))
        self.cards.append(card)
        if reorder:
            self._reorder()
        else:
            self._list.insertWidget(len(self.cards) - 1, card)
        if self.selected is None:
            self.select(card)
        self._update_header()
        return card

    def rescore(self, target) -> None:
        """Re-score kept cards against a new target (sMAPE of their own law; cheap)."""
        for card in self.cards:
            if card.design.friction_N is not None and target is not None:
                card.design.error_percent = target.error(card.design.friction_N)
                card.set_design(card.design)
        self._reorder()

    def update_card(self, card: DesignCard, design: Design, live: bool | None = None) -> None:
        if live is not None:
            card.live = live
            card._restyle()
        card.set_design(design)
        self._reorder()
        if card is self.selected:
            self.selectionChanged.emit()

    def remove(self, card: DesignCard) -> None:
        self._remove(card)
        self._update_header()

    def _remove(self, card: DesignCard) -> None:
        was_pinned = card.pin.isChecked()
        self.cards.remove(card)
        self._list.removeWidget(card)
        card.hide()
        card.deleteLater()
        if card is self.selected:
            self.selected = None
            self.select(self.cards[0] if self.cards else None)
        if was_pinned:
            self.pinsChanged.emit(self.pinned())

    def clear(self) -> None:
        for card in list(self.cards):
            self._remove(card)
        self._update_header()

    def _reorder(self) -> None:
        def key(c: DesignCard):
            e = c.design.error_percent
            return (not c.live, np.inf if e is None else e, c.card_id)
        self.cards.sort(key=key)
        shown = [self._list.itemAt(i).widget() for i in range(self._list.count())]
        if shown[:len(self.cards)] != self.cards:  # move widgets only when the order changed
            for i, card in enumerate(self.cards):
                self._list.insertWidget(i, card)

    def _update_header(self) -> None:
        self.header.setText(f"<b>Candidates</b> ({len(self.cards)}) — best first")

    # --- selection -------------------------------------------------------------
    def select(self, card: DesignCard | None) -> None:
        if self.selected is not None and self.selected in self.cards:
            self.selected.set_selected(False)
        self.selected = card
        if card is not None:
            card.set_selected(True)
        self.selectionChanged.emit()

    def pinned(self) -> list[Design]:
        return [c.design for c in self.cards if c.pin.isChecked()]

    def designs(self) -> list[Design]:
        return [c.design for c in self.cards if not c.live]
