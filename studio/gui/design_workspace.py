"""The Design workspace: the target editor and its tools on the left, the inspector of the selected design.

A view of the state: the editor shows and edits `state.target`; the inspector shows the
board's selected design, its details (band, layout) when they arrive, and the pinned designs.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractSpinBox, QDoubleSpinBox, QLabel, QMenu, QSplitter, QToolBar, QToolButton,
                               QVBoxLayout, QWidget)

from studio.design.targets import PRESETS, preset_parameters, preset_sketch, with_preset_parameters
from studio.errors import StudioError
from studio.gui.inspector import Inspector
from studio.gui.material import MaterialPanel
from studio.gui.pattern_strip import PatternStrips
from studio.gui.target_editor import TargetEditor
from studio.gui.workspaces import Studio
from studio.state import TargetState


class DesignWorkspace(QWidget):
    title = "Design"

    def __init__(self, studio: Studio):
        super().__init__()
        self.studio = studio
        self.target = target = studio.state.target
        board = studio.state.board
        self.editor = TargetEditor(target)
        self.editor.message.connect(lambda m: studio.report(m, "warn"))
        self.inspector = Inspector()
        self.target_info = QLabel()
        self.target_info.setWordWrap(True)

        tools = QToolBar("Target")
        self.draw_action = self._tool(tools, "✎ Draw", "Draw the law with the mouse", lambda: self.set_mode("draw"))
        self.points_action = self._tool(tools, "• Points", "Click points of the law", lambda: self.set_mode("points"))
        self.draw_action.setChecked(True)
        presets = QToolButton()
        presets.setText("Presets ▾")
        presets.setToolTip("Start from a ready-made law")
        presets.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(presets)
        for name in PRESETS:
            menu.addAction(name, lambda n=name: self.apply_preset(n))
        presets.setMenu(menu)
        tools.addWidget(presets)
        tools.addWidget(QLabel(" μ "))
        self.mu_spin = QDoubleSpinBox()
        self.mu_spin.setRange(0.01, 2.0)
        self.mu_spin.setSingleStep(0.05)
        self.mu_spin.setValue(0.3)
        self.mu_spin.setToolTip("Friction coefficient used by the presets")
        tools.addWidget(self.mu_spin)
        tools.addWidget(QLabel(" max load "))
        self.max_load_spin = QDoubleSpinBox()
        self.max_load_spin.setDecimals(4)
        self.max_load_spin.setRange(1e-4, 1e5)
        self.max_load_spin.setStepType(QAbstractSpinBox.AdaptiveDecimalStepType)
        self.max_load_spin.setSuffix(" N")
        self.max_load_spin.setKeyboardTracking(False)
        self.max_load_spin.setValue(target.max_load_N)
        self.max_load_spin.setToolTip("Load range (0, P_max] of the target: axes, presets and drawing follow it, "
                                      "the target keeps its shape; designs are the 10 N ones scaled exactly")
        self.max_load_spin.valueChanged.connect(self.set_max_load)
        tools.addWidget(self.max_load_spin)
        # A second row, so the toggles never fall into the first row's overflow menu: the view and the
        # non-decreasing toggles; a third, the bilinear preset's knee and second slope while it is the target.
        view = QToolBar("Target view")
        self.mu_view_action = self._tool(view, "μ = F/P", "Show the friction coefficient μ = F/P in the target "
                                         "and inspector plots", self.set_mu_view)
        self.monotone_action = self._tool(view, "Non-decreasing", "Force the target law to be non-decreasing in "
                                          "load (off: a measured curve is kept as measured)", target.set_monotone)
        self.knee_spin = QDoubleSpinBox()
        self.knee_spin.setDecimals(3)
        self.knee_spin.setStepType(QAbstractSpinBox.AdaptiveDecimalStepType)
        self.knee_spin.setSuffix(" N")
        self.knee_spin.setToolTip("Bilinear preset: the load of the knee, where the slope changes")
        self.after_spin = QDoubleSpinBox()
        self.after_spin.setDecimals(3)
        self.after_spin.setRange(0.0, 2.0)
        self.after_spin.setSingleStep(0.01)
        self.after_spin.setToolTip("Bilinear preset: the slope dF/dP after the knee (before it: μ)")
        self.bilinear_bar = QToolBar("Bilinear preset")  # a row of its own, shown while it is the target
        for widget in (QLabel(" Bilinear preset: knee "), self.knee_spin, QLabel("  slope after the knee "),
                       self.after_spin):
            self.bilinear_bar.addWidget(widget)
        for spin in (self.knee_spin, self.after_spin):
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(self.edit_bilinear)

        editor_box = QWidget()
        ebox = QVBoxLayout(editor_box)
        ebox.setContentsMargins(0, 0, 0, 0)
        ebox.addWidget(tools)
        ebox.addWidget(view)
        ebox.addWidget(self.bilinear_bar)
        ebox.addWidget(self.editor, 1)
        ebox.addWidget(self.target_info)
        # The user's material and the validity switch (issue 21): candidates and refinements honour them
        self.material_panel = MaterialPanel(studio.state.material, studio.report)
        ebox.addWidget(self.material_panel)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(editor_box)
        split.addWidget(self.inspector)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 5)
        split.setSizes([480, 760])
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(split)

        target.changed.connect(self._target_changed)
        board.selection_changed.connect(lambda e: self.inspector.set_design(*(None, None) if e is None else
                                                                             (e.design, e.details)))
        board.details_changed.connect(lambda e: e is board.selected and self.inspector.set_details(e.details))
        board.pins_changed.connect(self.inspector.set_pinned)
        self.patterns = PatternStrips(board, self.inspector.pattern_view, parent=self)  # after the inspector's slots
        self._target_changed(target)

    def stop(self) -> None:
        """Closing: results of pattern predictions still running are dropped."""
        self.patterns.stop()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        # Back from another tab: a BEM validation run there may have given the design a stored result.
        self.patterns.refresh(self.studio.state.board.selected)

    def _tool(self, bar: QToolBar, text: str, tip: str, slot) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setCheckable(True)
        action.triggered.connect(slot)
        bar.addAction(action)
        return action

    def set_mode(self, mode: str) -> None:
        self.draw_action.setChecked(mode == "draw")
        self.points_action.setChecked(mode == "points")
        self.editor.set_mode(mode)

    def apply_preset(self, name: str) -> None:
        try:
            self.target.edit(preset_sketch(name, mu=self.mu_spin.value(), monotone=self.target.monotone_for_new_laws,
                                           max_load_N=self.target.max_load_N), f"Preset {name}")
        except StudioError as exc:
            self.studio.report(str(exc))

    def edit_bilinear(self, _value=None) -> None:
        """The knee or second-slope field: the bilinear preset remade with them (one undo step)."""
        sketch = self.target.sketch
        if sketch is None or preset_parameters(sketch).get("name") != "bilinear":
            return
        try:
            self.target.edit(with_preset_parameters(sketch, knee_N=self.knee_spin.value(),
                                                    mu_after=self.after_spin.value()), "Bilinear knee/slope")
        except StudioError as exc:
            self.studio.report(str(exc))

    def set_mu_view(self, on: bool) -> None:
        """μ = F/P: the target editor and the inspector's law plot show the friction coefficient."""
        self.editor.set_mu_view(on)
        self.inspector.set_mu_view(on)

    def set_max_load(self, max_load_N: float) -> None:
        """The load-range field: move the target to (0, max_load_N] (one undo step; designs follow)."""
        try:
            self.target.set_max_load(max_load_N)
        except StudioError as exc:
            self.studio.report(str(exc))

    def _show_bilinear(self, target: TargetState) -> None:
        params = {} if target.sketch is None else preset_parameters(target.sketch)
        bilinear = params.get("name") == "bilinear"
        self.bilinear_bar.setVisible(bilinear)
        if bilinear:
            for spin, value in ((self.knee_spin, params["knee_N"]), (self.after_spin, params["mu_after"])):
                spin.blockSignals(True)
                if spin is self.knee_spin:
                    spin.setRange(1e-3 * target.max_load_N, 0.999 * target.max_load_N)
                spin.setValue(value)
                spin.blockSignals(False)

    def _target_changed(self, target: TargetState) -> None:
        self.inspector.set_target(target.target)
        self.monotone_action.setChecked(target.monotone)
        self._show_bilinear(target)
        if self.max_load_spin.value() != target.max_load_N:  # an undo, a CSV or a file on another range
            self.max_load_spin.blockSignals(True)
            self.max_load_spin.setValue(target.max_load_N)
            self.max_load_spin.blockSignals(False)
        s = target.sketch
        if s is None:
            self.target_info.setText("Draw a friction law, pick a preset or import a CSV.")
            return
        lo, hi = s.specified_range_N
        self.target_info.setText(f"target: {s.source}  ·  specified {lo:.4g}–{hi:.4g} N of 0–{s.max_load_N:g} N "
                                 "(shaded: extrapolated, "
                                 "not scored)" + (f"  ·  {s.note}" if s.note else ""))
