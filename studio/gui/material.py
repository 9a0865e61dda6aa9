"""The material panel of the Design workspace: the user's E*, τ0 and B, presets, small-strain validity.

A view of studio.state.material.MaterialState (the state lives there, not here): one field per
quantity in θ's units, where the user writes a value (fixed, e.g. `2.4`), a range (`4:8`) or
nothing (free: the engines choose it, a design output). A preset fills the fields; "Save preset…"
keeps the current values under a name (the settings folder, written atomically). A bad value
(negative, not a number, outside the physics' box, a reversed range) is a one-line message naming
the field; the field then shows the value in force again. "Allow invalid designs" lifts the
small-strain validity constraint (d/R ≤ 0.25 at the largest load). Candidates and refinements take
their target through the state, so whatever is set here is what they honour.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
                               QLineEdit, QPushButton)

from studio.design.material import BOX, LABELS, UNITS
from studio.errors import StudioError
from studio.physics import HERTZ_LIMIT
from studio.physics.theta import MATERIAL_FIELDS
from studio.state.material import MaterialState

CUSTOM = "(your values)"  # the preset box's entry when the fields match no preset


class MaterialPanel(QGroupBox):
    """Fields for E*, τ0 and B (value, low:high or empty = free), presets, and the validity switch."""

    def __init__(self, state: MaterialState, report: Callable[..., None] = lambda message, kind="error": None):
        super().__init__("Material")
        self.state, self.report = state, report
        self.setToolTip("The material you will mould the part from: the designs keep these values.\n"
                        "A value fixes a quantity, low:high bounds it, empty leaves it to the design.")
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(6)
        self.preset_box = QComboBox()
        self.preset_box.setToolTip("Start from a named material; edit the fields and save your own")
        self.save_button = QPushButton("Save preset…")
        self.save_button.setToolTip("Keep the current values under a name (offered in every session)")
        self.save_button.clicked.connect(lambda: self.save_preset())
        row = QHBoxLayout()
        row.addWidget(QLabel("Preset"))
        row.addWidget(self.preset_box, 1)
        row.addWidget(self.save_button)
        grid.addLayout(row, 0, 0, 1, 6)
        self.fields: dict[str, QLineEdit] = {}
        for col, field in enumerate(MATERIAL_FIELDS):
            lo, hi = BOX[field]
            unit = "" if UNITS[field] == "-" else f" [{UNITS[field]}]"
            edit = QLineEdit()
            edit.setPlaceholderText(f"free ({lo:g}–{hi:g})")
            edit.setToolTip(f"{LABELS[field]}{unit}: a value (fixed), low:high (a range) or empty (free); "
                            f"inside the physics' box {lo:g}–{hi:g}")
            edit.editingFinished.connect(lambda f=field: self.commit(f))
            grid.addWidget(QLabel(f"{LABELS[field]}{unit}"), 1, 2 * col)
            grid.addWidget(edit, 1, 2 * col + 1)
            self.fields[field] = edit
        self.allow_invalid = QCheckBox(f"Allow invalid designs (d/R > {HERTZ_LIMIT:g}: outside small-strain Hertz)")
        self.allow_invalid.setToolTip("By default every design stays within small-strain Hertz theory at the "
                                      "largest load, and a valid design is ranked first")
        self.allow_invalid.toggled.connect(self.state.set_allow_invalid)
        grid.addWidget(self.allow_invalid, 2, 0, 1, 6)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        grid.addWidget(self.summary, 3, 0, 1, 6)
        self.preset_box.activated.connect(lambda i: self.apply_preset(self.preset_box.itemText(i)))
        state.changed.connect(lambda _s: self.show_state())
        self.show_state()
        if state.load_problem:
            self.report(state.load_problem, "warn")

    # --- the user's actions ---------------------------------------------------------------------
    def commit(self, field: str, text: str | None = None) -> bool:
        """Set `field` from its text (or `text`); a bad value is reported in one line and undone."""
        text = self.fields[field].text() if text is None else text
        unit = "" if UNITS[field] == "-" else f" [{UNITS[field]}]"
        try:
            self.state.set_text(field, text, where=f"Material {LABELS[field]}{unit}")
        except StudioError as exc:
            self.report(str(exc), "error")
            self.show_state()
            return False
        self.show_state()
        return True

    def apply_preset(self, name: str) -> None:
        if name == CUSTOM:
            return
        try:
            self.state.apply_preset(name)
        except StudioError as exc:
            self.report(str(exc), "error")

    def save_preset(self, name: str | None = None) -> None:
        if name is None:
            name, ok = QInputDialog.getText(self, "Save material preset", "Name:", text=self.state.material.name)
            if not ok:
                return
        try:
            self.state.save_preset(name)
        except (StudioError, OSError) as exc:
            self.report(f"material preset not saved: {exc}", "error")

    # --- the view -------------------------------------------------------------------------------
    def show_state(self) -> None:
        state = self.state
        for field, edit in self.fields.items():
            if edit.text() != state.text(field):
                edit.setText(state.text(field))
        self.allow_invalid.blockSignals(True)
        self.allow_invalid.setChecked(state.allow_invalid)
        self.allow_invalid.blockSignals(False)
        self.preset_box.blockSignals(True)
        self.preset_box.clear()
        names = list(state.presets)
        self.preset_box.addItems([CUSTOM] + names)
        current = state.material.name if state.material.name in names and \
            state.presets[state.material.name] == state.material else CUSTOM
        self.preset_box.setCurrentText(current)
        self.preset_box.blockSignals(False)
        validity = ("invalid designs allowed" if state.allow_invalid
                    else f"designs kept within small strain (d/R ≤ {HERTZ_LIMIT:g})")
        self.summary.setText(("material free: E*, τ0 and B are design outputs" if state.material.free
                              else f"designs keep {state.material.describe()}") + f" · {validity}")
