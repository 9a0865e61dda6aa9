"""The velocity-protocol editor of the Dynamics workspace: a table of segments and a velocity–time plot.

Each segment is a row (duration in s, velocity in m/s; 0 is a hold) and a step of the plot; on the plot,
a segment's handle drags its velocity up and down (log scale), and the line between two segments drags
their common boundary left and right (the two durations change, the total stays). Presets fill the
table; Open / Save read and write the protocol CSV of studio.dynamics.files. Every change emits
`changed` with the new studio.dynamics.Protocol; a row that makes no protocol is reported through
`message` and the last good protocol is kept.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QMenu, QTableWidget, QTableWidgetItem,
                               QToolButton, QVBoxLayout, QWidget)

from studio.dynamics.protocol import Protocol, ProtocolError, Segment
from studio.gui.plots import labelled_plot

HANDLE_PEN = pg.mkPen("#0072B2", width=2)
STEP_PEN = pg.mkPen("#444444", width=2)


class ProtocolEditor(QWidget):
    changed = Signal(object)  # a studio.dynamics.Protocol
    message = Signal(str)  # a row that makes no protocol (the banner shows it)

    def __init__(self, presets: dict, parent=None):
        """presets: name → callable returning a Protocol (the workspace's, which know a, b, Dc)."""
        super().__init__(parent)
        self.presets = presets
        self.protocol: Protocol | None = None
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["duration (s)", "velocity (m/s)"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setToolTip("One row per segment; a velocity of 0 is a hold. Edit a cell to change it.")
        self.table.itemChanged.connect(self._table_edited)
        self.plot_widget = pg.PlotWidget()
        self.plot = labelled_plot(self.plot_widget.getPlotItem(), ("time", "s"), ("velocity", "m/s"),
                                  "protocol: drag a handle (velocity) or a boundary (time)")
        self.plot.setLogMode(y=True)
        self.steps = self.plot.plot([0, 1], [1], stepMode="center", pen=STEP_PEN)
        self.handles: list[pg.TargetItem] = []
        self.boundaries: list[pg.InfiniteLine] = []

        tools = QHBoxLayout()
        for text, tip, slot in (("+ segment", "Add a segment after the selected one", self.add_segment),
                                ("− segment", "Remove the selected segment", self.remove_segment)):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            tools.addWidget(button)
        self.preset_button = QToolButton()
        self.preset_button.setText("Presets ▾")
        self.preset_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.preset_button)
        for name in presets:
            menu.addAction(name, lambda n=name: self.apply_preset(n))
        self.preset_button.setMenu(menu)
        tools.addWidget(self.preset_button)
        tools.addStretch(1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(tools)
        box.addWidget(self.plot_widget, 3)
        box.addWidget(self.table, 2)

    # --- the protocol --------------------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        self.set_protocol(self.presets[name]())

    def set_protocol(self, protocol: Protocol) -> None:
        """Show a protocol (table, steps, handles) and announce it."""
        self.protocol = protocol
        self.table.blockSignals(True)
        self.table.setRowCount(len(protocol.segments))
        for row, s in enumerate(protocol.segments):
            for col, value in enumerate((s.duration_s, s.velocity_m_s)):
                self.table.setItem(row, col, QTableWidgetItem(f"{value:.6g}"))
        self.table.blockSignals(False)
        self._draw()
        self.changed.emit(protocol)

    def _segments_from_table(self) -> list[Segment]:
        segments = []
        for row in range(self.table.rowCount()):
            values = []
            for col, what in ((0, "duration"), (1, "velocity")):
                item = self.table.item(row, col)
                text = item.text().strip().replace(",", ".") if item is not None else ""
                try:
                    values.append(float(text))
                except ValueError:
                    raise ProtocolError(f"protocol table, row {row + 1}: {what} {text!r} is not a number") from None
            segments.append(Segment(values[0], values[1], row + 1))
        return segments

    def _table_edited(self, _item) -> None:
        try:
            protocol = self._with_segments(self._segments_from_table())
        except ProtocolError as exc:
            self.message.emit(str(exc))
            return
        self.protocol = protocol
        self._draw()
        self.changed.emit(protocol)

    def _with_segments(self, segments) -> Protocol:
        hold = self.protocol.hold_velocity_m_s if self.protocol is not None else Protocol((Segment(1, 1),)).hold_velocity_m_s
        for s in segments:
            if s.duration_s <= 0:
                raise ProtocolError(f"protocol table, row {s.line}: a segment needs a duration > 0 s")
        return Protocol(tuple(segments), hold_velocity_m_s=hold, name="edited protocol")

    def add_segment(self) -> None:
        if self.protocol is None:
            return
        rows = self.table.selectionModel().selectedRows()
        at = rows[0].row() if rows else len(self.protocol.segments) - 1
        segments = list(self.protocol.segments)
        segments.insert(at + 1, Segment(segments[at].duration_s, segments[at].velocity_m_s))
        self.set_protocol(self._with_segments(segments))

    def remove_segment(self) -> None:
        if self.protocol is None or len(self.protocol.segments) < 2:
            return
        rows = self.table.selectionModel().selectedRows()
        at = rows[0].row() if rows else len(self.protocol.segments) - 1
        segments = [s for i, s in enumerate(self.protocol.segments) if i != at]
        try:
            self.set_protocol(self._with_segments(segments))
        except ProtocolError as exc:
            self.message.emit(str(exc))

    # --- the plot --------------------------------------------------------------------------------
    def _shown_velocity(self, v: float) -> float:
        return v if v > 0 else self.protocol.hold_velocity_m_s  # holds drawn at the hold velocity (log axis)

    def _draw(self) -> None:
        p = self.protocol
        edges = np.concatenate([[0.0], np.cumsum(p.durations_s)])
        shown = np.array([self._shown_velocity(v) for v in p.velocities_m_s])
        self.steps.setData(edges, shown)
        for item in self.handles + self.boundaries:
            self.plot.removeItem(item)
        self.handles, self.boundaries = [], []
        for i, v in enumerate(shown):
            handle = pg.TargetItem((0.5 * (edges[i] + edges[i + 1]), math.log10(v)), size=11, pen=HANDLE_PEN,
                                   movable=True)
            handle.setToolTip("drag up or down: this segment's velocity (to the bottom: a hold)")
            handle.sigPositionChangeFinished.connect(lambda h, i=i: self._velocity_dragged(i, h))
            self.plot.addItem(handle)
            self.handles.append(handle)
        for i in range(1, len(edges) - 1):
            line = pg.InfiniteLine(edges[i], angle=90, movable=True, pen=pg.mkPen("#999999", style=Qt.DashLine),
                                   hoverPen=pg.mkPen("#D55E00", width=2), bounds=(edges[i - 1], edges[i + 1]))
            line.setToolTip("drag left or right: move this step in time")
            line.sigPositionChangeFinished.connect(lambda ln, i=i: self._boundary_dragged(i, ln.value()))
            self.plot.addItem(line)
            self.boundaries.append(line)

    def _velocity_dragged(self, index: int, handle: pg.TargetItem) -> None:
        velocity = 10.0 ** handle.pos().y()
        hold = self.protocol.hold_velocity_m_s
        if velocity <= 3 * hold:  # dragged down to the hold level: a hold
            velocity = 0.0
        segments = list(self.protocol.segments)
        segments[index] = Segment(segments[index].duration_s, float(f"{velocity:.4g}"))
        try:
            self.set_protocol(self._with_segments(segments))
        except ProtocolError as exc:
            self.message.emit(str(exc))
            self.set_protocol(self.protocol)

    def _boundary_dragged(self, index: int, time_s: float) -> None:
        """Move the step between segments index-1 and index to `time_s`."""
        edges = np.concatenate([[0.0], np.cumsum(self.protocol.durations_s)])
        t = float(np.clip(time_s, edges[index - 1] + 1e-9 * edges[-1], edges[index + 1] - 1e-9 * edges[-1]))
        segments = list(self.protocol.segments)
        a, b = segments[index - 1], segments[index]
        segments[index - 1] = Segment(t - edges[index - 1], a.velocity_m_s)
        segments[index] = Segment(edges[index + 1] - t, b.velocity_m_s)
        self.set_protocol(self._with_segments(segments))
