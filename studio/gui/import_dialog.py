"""The import dialog of a measured record: which branch, how much smoothing, and what that makes.

File ▸ Import CSV… opens it on the chosen file (not modal: the studio keeps working). It reads the
file as the command line does (studio.io.read_target_csv, in a worker, again on every change) with
the branch (loading by default, unloading or mean) and the smoothing (on when the record looks
measured: noise or outliers; its strength ± % of the load, adjustable), and shows the measured points
(outliers ×), the target they make and the notes (branches found, repeats averaged, outliers named,
noise). Import hands the CsvTarget to the file actions; the target's note keeps the same notes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QHBoxLayout, QLabel, QVBoxLayout)

from studio.gui.plots import TARGET_PEN, labelled_plot
from studio.gui.workers import call_in_thread
from studio.io.record import BRANCHES, DEFAULT_BRANCH, DEFAULT_SMOOTHING_PERCENT, MAX_SMOOTHING_PERCENT

BRANCH_TIPS = {"loading": "the rows measured while the load rose (default)",
               "unloading": "the rows measured while the load fell",
               "mean": "both branches averaged at the loads both cover"}


class ImportDialog(QDialog):
    imported = Signal(object)  # the CsvTarget the user accepted

    def __init__(self, path, parent=None, read=None):
        super().__init__(parent)
        from studio.io import read_target_csv

        self.path, self._read = str(path), read or read_target_csv
        self.csv = None          # the latest reading (a CsvTarget), None while reading or after an error
        self.error = ""
        self._generation = 0     # readings still running for older choices are ignored
        self.setWindowTitle(f"Import {Path(self.path).name}")
        self.setModal(False)

        self.branch_combo = QComboBox()
        for name in BRANCHES:
            self.branch_combo.addItem(name)
            self.branch_combo.setItemData(self.branch_combo.count() - 1, BRANCH_TIPS[name], Qt.ToolTipRole)
        self.branch_combo.setCurrentText(DEFAULT_BRANCH)
        self.branch_combo.setToolTip("Which part of a record with loading and unloading branches makes the target")
        self.found_label = QLabel("")
        self.smooth_check = QCheckBox("on")
        self.smooth_check.setToolTip("Robust local-linear fit in log-load; outliers left out. On by default when the "
                                     "record is noisy or has outliers")
        self.smooth_spin = QDoubleSpinBox()
        self.smooth_spin.setRange(0.5, MAX_SMOOTHING_PERCENT)
        self.smooth_spin.setDecimals(1)
        self.smooth_spin.setSingleStep(1.0)
        self.smooth_spin.setPrefix("± ")
        self.smooth_spin.setSuffix(" % of load")
        self.smooth_spin.setValue(DEFAULT_SMOOTHING_PERCENT)
        self.smooth_spin.setToolTip("Smoothing strength: the kernel width, in % of the load (at 5 N, ±10 % averages "
                                    "rows within about ±0.5 N)")
        smooth_row = QHBoxLayout()
        smooth_row.addWidget(self.smooth_check)
        smooth_row.addWidget(self.smooth_spin)
        smooth_row.addStretch(1)
        form = QFormLayout()
        form.addRow("File", QLabel(self.path))
        form.addRow("Branch", self.branch_combo)
        form.addRow("", self.found_label)
        form.addRow("Smoothing", smooth_row)

        self.view = pg.PlotWidget()
        self.plot = labelled_plot(self.view.getPlotItem(), ("Normal load P", "N"), ("Friction force F", "N"),
                                  "Measured points and the target they make")
        self.plot.addLegend(offset=(10, 10))
        self.measured_item = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(90, 90, 90, 160), pen=pg.mkPen(None),
                                                name="measured")
        self.outlier_item = pg.ScatterPlotItem(size=10, symbol="x", brush=pg.mkBrush("#c62828"),
                                               pen=pg.mkPen("#c62828", width=1.5), name="outliers")
        self.target_curve = pg.PlotDataItem(pen=TARGET_PEN, name="target")
        for item in (self.measured_item, self.outlier_item, self.target_curve):
            self.plot.addItem(item)
        self.view.setMinimumSize(520, 300)
        self.notes_label = QLabel("Reading…")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.import_button = self.buttons.button(QDialogButtonBox.Ok)
        self.import_button.setText("Import")
        self.import_button.setEnabled(False)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.buttons)
        self.resize(720, 620)

        self.branch_combo.currentTextChanged.connect(self._choice_changed)
        self.smooth_check.toggled.connect(self._choice_changed)
        self.smooth_spin.valueChanged.connect(self._choice_changed)
        self._start("auto")  # the first reading decides whether smoothing starts on

    # --- what the controls say ---------------------------------------------------------------
    @property
    def branch(self) -> str:
        return self.branch_combo.currentText()

    @property
    def smoothing(self) -> float:
        """The strength asked for, in % of the load (0: off)."""
        return float(self.smooth_spin.value()) if self.smooth_check.isChecked() else 0.0

    def _choice_changed(self, *_):
        self.smooth_spin.setEnabled(self.smooth_check.isChecked())
        self._start(self.smoothing)

    # --- reading ------------------------------------------------------------------------------
    def _start(self, smoothing) -> None:
        self._generation += 1
        generation = self._generation
        self.csv, self.error = None, ""
        self.import_button.setEnabled(False)
        self.notes_label.setText("Reading…")
        call_in_thread(self._read, self.path, branch=self.branch, smoothing=smoothing,
                       on_result=lambda csv: self._done(generation, csv, smoothing == "auto"),
                       on_error=lambda message: self._failed(generation, message))

    def _done(self, generation: int, csv, first: bool) -> None:
        if generation != self._generation:
            return
        self.csv = csv
        if first:  # show what "auto" chose; the controls then drive every reading
            for widget in (self.smooth_check, self.smooth_spin):
                widget.blockSignals(True)
            self.smooth_check.setChecked(csv.smoothing_percent > 0)
            self.smooth_spin.setValue(csv.smoothing_percent or DEFAULT_SMOOTHING_PERCENT)
            self.smooth_spin.setEnabled(csv.smoothing_percent > 0)
            for widget in (self.smooth_check, self.smooth_spin):
                widget.blockSignals(False)
        found = " and ".join(csv.branches)
        self.found_label.setText(f"found: {found} branch{'es' if len(csv.branches) > 1 else ''}")
        for i, name in enumerate(BRANCHES):  # a branch the record lacks cannot be chosen
            possible = name in csv.branches or (name == DEFAULT_BRANCH)
            if name == "mean":
                possible = len(csv.branches) > 1
            self.branch_combo.model().item(i).setEnabled(possible)
        outlier = csv.outlier if csv.outlier is not None else np.zeros(csv.raw_load_N.size, bool)
        self.measured_item.setData(csv.raw_load_N[~outlier], csv.raw_friction_N[~outlier])
        self.outlier_item.setData(csv.raw_load_N[outlier], csv.raw_friction_N[outlier])
        self.target_curve.setData(csv.load_N[csv.mask], csv.friction_N[csv.mask])
        lines = [f"{csv.raw_load_N.size} measured points"
                 + (f", noise ≈ {csv.noise_percent:.1f} %" if csv.noise_percent is not None else "")
                 + (f", smoothed ± {csv.smoothing_percent:g} % of load" if csv.smoothing_percent else ", not smoothed")]
        lines += [f"• {note}" for note in csv.notes]
        self.notes_label.setStyleSheet("")
        self.notes_label.setText("\n".join(lines))
        self.import_button.setEnabled(True)

    def _failed(self, generation: int, message: str) -> None:
        if generation != self._generation:
            return
        self.error = message
        self.notes_label.setStyleSheet("color: #b00020")
        self.notes_label.setText(message)
        for item in (self.measured_item, self.outlier_item, self.target_curve):
            item.setData([], [])

    def _accept(self) -> None:
        if self.csv is not None:
            self.imported.emit(self.csv)
            self.accept()
