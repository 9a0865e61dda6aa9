"""Workspaces: the tabs of the centre area, each a widget bound to the studio's state.

    [ Design ] [ Validation ] [ Dynamics ] [ Map ]     ← tabs; the candidates column and
                                                         the jobs table stay in view

A workspace shows the state (studio.state.StudioState: target, board, jobs, settings) and
calls its methods; switching tabs keeps the target, the selection and the running jobs,
because they live in the state, not in a workspace. Adding one is a module and a line:

    # studio/gui/validation.py
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    class ValidationWorkspace(QWidget):
        title = "Validation"

        def __init__(self, studio):
            super().__init__()
            self.studio = studio
            self.label = QLabel("Select a design.")
            QVBoxLayout(self).addWidget(self.label)
            studio.state.board.selection_changed.connect(self.show_entry)

        def show_entry(self, entry):
            self.label.setText("Select a design." if entry is None else entry.design.name)

    # and below, in WORKSPACES:
    "studio.gui.validation.ValidationWorkspace",

Its jobs go in the shared jobs table: `studio.jobs.start(Job(name, kind), make_generator)`
(studio.gui.jobs); its problems go to `studio.report(message, kind)`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from PySide6.QtWidgets import QWidget

from studio.gui.jobs import JobRunner
from studio.state import StudioState

# The workspaces, in tab order: "module.Class" of a QWidget subclass with a `title` and
# `__init__(self, studio: Studio)`. Imported when the window opens.
WORKSPACES = [
    "studio.gui.design_workspace.DesignWorkspace",
    "studio.gui.validation.ValidationWorkspace",
    "studio.gui.dynamics.DynamicsWorkspace",
    "studio.gui.map_workspace.MapWorkspace",
]


@dataclass
class Studio:
    """What a workspace is given: the state to show, and the services that act on it."""

    state: StudioState
    jobs: JobRunner  # start(job, make_generator): a background job in the shared jobs table
    report: Callable[..., None]  # report(message, kind="error" | "warn" | "info"): banner, status bar, log
    # processes() -> the worker-process pool for heavy jobs (studio.design.processes.EngineProcessPool:
    # pool.run_job(fn, args, kwargs, control=...)), or None where there is none (tests' stand-in engines)
    processes: Callable[[], object | None] = lambda: None


def create_workspaces(studio: Studio) -> list[QWidget]:
    """One widget per registered workspace, in tab order."""
    widgets = []
    for path in WORKSPACES:
        module, name = path.rsplit(".", 1)
        widgets.append(getattr(importlib.import_module(module), name)(studio))
    return widgets
