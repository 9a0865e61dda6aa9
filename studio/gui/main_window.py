"""The studio's main window: layout and wiring only.

    ┌ menus, toolbar: N, K │ method, budget, Refine ▶ ‖ ■ │ Import CSV, Export ────────┐
    │ banner (messages)                                                               │
    │ [Design][…] workspaces (studio/gui/workspaces.py)   │ candidates (the board)    │
    ├─────────────────────────────────────────────────────┴───────────────────────────┤
    │ jobs table                                                                      │
    └ status: device · model · autosaved · last action ───────────────────────────────┘

The state lives in studio.state.StudioState (target and its history, the board, the jobs,
the settings); the widgets here and in the workspaces show it and forward the user's
actions to it. The engines run off the GUI thread (studio.gui.engines), files are read
and written in workers (studio.gui.files), and closing the window stops every job.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QLabel, QMainWindow, QMenu, QSpinBox, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from studio.design.core import Design
from studio.design.details import card_facts, compute_details
from studio.errors import StudioError
from studio.gui import help as help_pages
from studio.gui.details import CardFactsWorker, SelectedDetails
from studio.gui.engines import Candidates, DesignEngines, start_refinement
from studio.gui.files import FABRICATION_FILTER, FileActions
from studio.gui.gallery import Gallery
from studio.gui.jobs import JobRunner, JobsTable
from studio.gui.messages import Banner, ElidedLabel, LogView
from studio.gui.workers import call_in_thread, wait_for_calls
from studio.gui.workspaces import Studio, create_workspaces
from studio.physics import MAX_ASPERITIES, MIN_ASPERITIES
from studio.state import REFINE_METHODS, Job, StudioState
from studio.state.environment import load_environment

log = logging.getLogger("studio.gui")

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TARGET = REPO_ROOT / "resources" / "examples" / "example_target.csv"
ICON_PATH = REPO_ROOT / "resources" / "icons" / "friction-studio.svg"
AUTOSAVE_INTERVAL_MS = 30_000
AUTOSAVE_AFTER_CHANGE_MS = 2_000


class MainWindow(QMainWindow):
    def __init__(self, engines: dict | None = None, settings: QSettings | None = None,
                 session_path: str | Path | None = None, refine_budget_s: float = 30.0,
                 candidate_budget_s: float = 2.0, load_model_info: bool = True, details_fn=compute_details,
                 facts_fn=card_facts):
        super().__init__()
        self.settings = settings or QSettings("FrictionStudio", "Friction Studio")
        self.state = StudioState(N=int(self.settings.value("design/N", 64)), K=int(self.settings.value("design/K", 16)))
        self.state.settings.set(refine_budget_s=float(refine_budget_s))
        self.engines = DesignEngines(engines)  # engines=None: the real ones, refinements in worker processes
        self.environment: dict = {}
        self.mark_clean_exit_on_close = True
        self.setWindowTitle("Friction Studio")
        if ICON_PATH.is_file():
            self.setWindowIcon(QIcon(str(ICON_PATH)))

        self.banner = Banner()
        self.log_view = LogView(logging.getLogger("studio"))
        self.runner = JobRunner(self.state.jobs, self)
        self.studio = Studio(self.state, self.runner, self.report_error, lambda: self.engines.pool)
        self.details = SelectedDetails(self.state, self.report_error, details_fn, self)
        self._notice_shown = ""  # the target's notice (an import's notes) last put in the banner
        self.gallery = Gallery(self.state.board, self.state.target)
        self.jobs_table = JobsTable(self.state.jobs)
        self.workspaces = create_workspaces(self.studio)
        # Connected last to target.changed: the engine starts once the views have taken the edit
        # (as measured in benchmarks/gui.py), so it does not compete with their updates.
        self.candidates = Candidates(self.state, self.engines, candidate_budget_s, self)
        # The cards' facts wait for the candidates and for running jobs (benchmarks/gui.py: computed beside
        # 3 refinement jobs they added event-loop stalls on a loaded machine).
        self.card_facts = CardFactsWorker(self.state, facts_fn,
                                          lambda: self.candidates.busy() or bool(self.state.jobs.active()), self)
        self._build_layout()
        self._build_toolbar()
        self.recent_menu = QMenu("Open recent", self)
        self.files = FileActions(self, self.state, self.settings, self.report_error, self.recent_menu)
        self.files.session_path = Path(session_path) if session_path else None
        self._build_menus()
        self._build_status()
        self._connect()
        self._autosave_timer = self._timer(AUTOSAVE_INTERVAL_MS, self.files.autosave, single=False)
        self._autosave_timer.start()
        self._autosave_soon = self._timer(AUTOSAVE_AFTER_CHANGE_MS, self.files.autosave)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 1000)
        if load_model_info:
            call_in_thread(load_environment, on_result=self.show_environment, on_error=self.report_error)

    @property
    def design(self):
        """The Design workspace (the first tab)."""
        return self.workspaces[0]

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for workspace in self.workspaces:
            self.tabs.addTab(workspace, workspace.title)
        self.jobs_table.setMinimumHeight(110)
        self.hsplit = QSplitter(Qt.Horizontal)
        self.hsplit.addWidget(self.tabs)
        self.hsplit.addWidget(self.gallery)
        self.hsplit.setStretchFactor(0, 9)
        self.hsplit.setStretchFactor(1, 2)
        self.hsplit.setSizes([1250, 340])
        self.vsplit = QSplitter(Qt.Vertical)
        self.vsplit.addWidget(self.hsplit)
        self.vsplit.addWidget(self.jobs_table)
        self.vsplit.setStretchFactor(0, 5)
        self.vsplit.setStretchFactor(1, 1)
        self.vsplit.setSizes([820, 120])
        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(4, 2, 4, 2)
        box.addWidget(self.banner)
        box.addWidget(self.vsplit, 1)
        self.setCentralWidget(central)

    def _action(self, text, slot=None, shortcut=None, tip="") -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip)
            act.setStatusTip(tip)
        if slot is not None:
            act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _spin(self, spin, low, high, value, tip: str):
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        return spin

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        settings = self.state.settings
        tb.addWidget(QLabel(" N "))
        self.n_spin = self._spin(QSpinBox(), MIN_ASPERITIES, MAX_ASPERITIES, self.state.target.N,
                                 f"Asperity count N of the designs ({MIN_ASPERITIES}–{MAX_ASPERITIES})")
        tb.addWidget(self.n_spin)
        self.auto_n_action = self._action("N: auto", self.show_auto_n, tip="Propose N: candidates at several "
                                          "asperity counts, the best and the smallest good-enough N")
        tb.addAction(self.auto_n_action)
        tb.addWidget(QLabel(" K "))
        self.k_spin = self._spin(QSpinBox(), 1, 64, settings.K, "How many candidates to propose")
        tb.addWidget(self.k_spin)
        tb.addSeparator()
        self.method_combo = QComboBox()
        self.method_combo.addItems(REFINE_METHODS)
        self.method_combo.setCurrentText(settings.method)
        self.method_combo.setToolTip("Refinement method")
        tb.addWidget(self.method_combo)
        tb.addWidget(QLabel(" budget "))
        self.refine_budget = self._spin(QDoubleSpinBox(), 0.5, 3600, settings.refine_budget_s,
                                        "Time budget of a refinement job")
        self.refine_budget.setSuffix(" s")
        tb.addWidget(self.refine_budget)
        self.refine_action = self._action("Refine ▶", self.refine_selected, "Ctrl+R", "Refine the selected design")
        self.pause_action = self._action("‖", self.pause_selected_job, tip="Pause / resume the selected job")
        self.stop_action = self._action("■", self.stop_selected_job, "Esc", "Stop the selected job")
        for a in (self.refine_action, self.pause_action, self.stop_action):
            tb.addAction(a)
        tb.addSeparator()
        self.import_action = self._action("Import CSV…", lambda: self._dialog("import"), "Ctrl+I",
                                          "Import a measured friction curve (load, friction)")
        self.export_action = self._action("Export…", lambda: self._dialog("export"), "Ctrl+S",
                                          "Export the selected design to an HDF5 design file")
        tb.addAction(self.import_action)
        tb.addAction(self.export_action)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addAction(self._action("Open design file…", lambda: self._dialog("open"), "Ctrl+O",
                                         "Open an HDF5 design file"))
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.import_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self._action("Export all designs…", lambda: self._dialog("export all")))
        self.fabrication_action = self._action("Export for fabrication (STL, height map)…",
                                               lambda: self._dialog("fabrication"),
                                               tip="Write the selected design as an STL mesh or a height map")
        file_menu.addAction(self.fabrication_action)
        file_menu.addAction(self._action("Export curves to CSV…", lambda: self._dialog("curve")))
        file_menu.addAction(self._action("Export law plot (PNG/SVG)…", lambda: self._dialog("plot")))
        file_menu.addSeparator()
        file_menu.addAction(self._action("Quit", self.close, "Ctrl+Q"))
        edit_menu = mb.addMenu("&Edit")
        target = self.state.target
        self.undo_action = self._action("Undo", target.undo, "Ctrl+Z")
        self.redo_action = self._action("Redo", target.redo)
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        design_menu = mb.addMenu("&Design")
        for a in (self.refine_action, self.pause_action, self.stop_action):
            design_menu.addAction(a)
        design_menu.addAction(self._action("New candidates (another seed)", self.new_candidates, "F5"))
        design_menu.addSeparator()
        design_menu.addAction(self.auto_n_action)
        self.compare_action = self._action("Compare designs…", self.show_compare, "Ctrl+M",
                                           "Two or three designs side by side (pinned cards first)")
        design_menu.addAction(self.compare_action)
        view_menu = mb.addMenu("&View")
        view_menu.addAction(self._action("Log", lambda: help_pages.non_modal(self, "Log", self.log_view)))
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self._action("Help", self.show_help, "F1"))
        help_menu.addAction(self._action("About Friction Studio", self.show_about))

    def _build_status(self) -> None:
        sb = self.statusBar()
        # Messages get their own stretch area, elided with the whole text in the tooltip: QStatusBar's own
        # message area is cut off by the permanent labels on its right (the device label first).
        self.message_label = ElidedLabel()
        sb.addWidget(self.message_label, 1)
        self._message_timer = self._timer(10_000, lambda: self.message_label.set_full_text(""))
        self.device_label = QLabel("device: …")
        self.model_label = QLabel("model: …")
        self.autosave_label = QLabel("autosaved: –")
        self.timing_label = QLabel("")
        for w in (self.device_label, self.model_label, self.autosave_label, self.timing_label):
            w.setStyleSheet("padding: 0 8px;")
            sb.addPermanentWidget(w)

    def _timer(self, interval_ms: int, slot, single: bool = True) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(single)
        timer.setInterval(interval_ms)
        timer.timeout.connect(slot)
        return timer

    # ------------------------------------------------------------------ wiring: state → widgets, widgets → state
    def _connect(self) -> None:
        state, settings = self.state, self.state.settings
        self.n_spin.valueChanged.connect(state.target.set_N)
        self.k_spin.valueChanged.connect(lambda v: settings.set(K=v))
        self.method_combo.currentTextChanged.connect(lambda m: settings.set(method=m))
        self.refine_budget.valueChanged.connect(lambda s: settings.set(refine_budget_s=s))
        settings.changed.connect(self._settings_changed)
        state.target.changed.connect(self._target_changed)
        state.target.history_changed.connect(self._history_changed)
        self._history_changed(state.target)
        state.jobs.ended.connect(self._job_ended)
        self.gallery.refineRequested.connect(self.refine)
        self.candidates.shown.connect(lambda _g: self._autosave_soon.start())
        self.candidates.message.connect(self.show_timing)
        self.candidates.failed.connect(self.report_error)
        self.files.message.connect(self.show_timing)
        self.files.opened.connect(self._file_named)
        self.files.saved.connect(self._file_named)
        self.files.autosaved.connect(lambda p: self.autosave_label.setText(f"autosaved {time.strftime('%H:%M')}"))

    def _settings_changed(self, settings, names) -> None:
        for widget, value in ((self.k_spin, settings.K), (self.refine_budget, settings.refine_budget_s)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.method_combo.setCurrentText(settings.method)
        if "K" in names:
            self.settings.setValue("design/K", settings.K)

    def _target_changed(self, target) -> None:
        if self.n_spin.value() != target.N:
            self.n_spin.blockSignals(True)
            self.n_spin.setValue(target.N)
            self.n_spin.blockSignals(False)
        if int(self.settings.value("design/N", 0)) != target.N:
            self.settings.setValue("design/N", target.N)
        if target.error:
            self.report_error(target.error)
        self._show_target_notice(target)
        self._autosave_soon.start()

    def _show_target_notice(self, target) -> None:
        """The banner belongs to the target it describes (an import's notes): shown when that target
        becomes current (an import, an undo back to it), hidden when another one does (a preset, an undo)."""
        notice = target.notice
        if notice == self._notice_shown:
            return  # unchanged (a drag on the imported law): a dismissed banner stays dismissed
        self._notice_shown = notice
        if notice:
            log.info(notice)
            self.banner.show_message(notice, "info", owner="target")
        elif self.banner.owner == "target":
            self.banner.hide()

    def _history_changed(self, target) -> None:
        self.undo_action.setEnabled(target.can_undo)
        self.undo_action.setText(f"Undo {target.undo_text}".strip())
        self.redo_action.setEnabled(target.can_redo)
        self.redo_action.setText(f"Redo {target.redo_text}".strip())

    def _file_named(self, path: str) -> None:
        if path.lower().endswith((".h5", ".hdf5")):
            self.setWindowTitle(f"Friction Studio — {Path(path).name}")

    def _dialog(self, what: str) -> None:
        """File ▸ …: ask for a path, then hand it to the file actions (which work in workers)."""
        f, design = self.files, self.design
        design_files = "Design files (*.h5 *.hdf5);;All files (*)"
        asks = {
            "import": (f.ask_import, "Import friction curve", "CSV files (*.csv *.txt *.tsv);;All files (*)", None),
            "open": (f.open_design_file, "Open design file", design_files, None),
            "export": (f.export_designs, "Export designs", "Design files (*.h5)", "designs.h5"),
            "export all": (lambda p: f.export_designs(p, self.state.board.designs()), "Export all designs",
                           "Design files (*.h5)", "designs.h5"),
            "fabrication": (f.export_fabrication, "Export for fabrication", FABRICATION_FILTER, "design.stl"),
            "curve": (f.export_curves_csv, "Export curve", "CSV (*.csv)", "curve.csv"),
            "plot": (lambda p: f.export_plot(p, design.inspector.law_view, design.inspector.law_plot), "Export plot",
                     "PNG image (*.png);;SVG drawing (*.svg)", "law.png"),
        }
        act, title, filter_, default = asks[what]
        path = f.ask(title, filter_, default)
        if path:
            act(path)

    # ------------------------------------------------------------------ candidates and jobs
    def new_candidates(self) -> None:
        self.state.settings.set(candidate_seed=self.state.settings.candidate_seed + 1)

    def show_auto_n(self):
        """N: auto (studio/gui/auto_n.py): one dialog, its job started on each call."""
        from studio.gui.auto_n import AutoNDialog

        if getattr(self, "auto_n_dialog", None) is None:
            self.auto_n_dialog = AutoNDialog(self.studio, self.engines, self)
            self.auto_n_dialog.compareRequested.connect(lambda designs: self.show_compare(designs))
        self.auto_n_dialog.show()
        self.auto_n_dialog.raise_()
        self.auto_n_dialog.start()
        return self.auto_n_dialog

    def show_compare(self, designs=None):
        """Compare designs (studio/gui/compare.py): the given ones (N: auto's), else the pinned or selected."""
        from studio.gui.compare import CompareDialog

        if getattr(self, "compare_dialog", None) is None:
            self.compare_dialog = CompareDialog(self.studio, self.details.details_fn, self)
        dialog = self.compare_dialog
        dialog.closing = False
        dialog.compare(designs if designs else dialog.default_choice(), extra=designs)
        dialog.show()
        dialog.raise_()
        return dialog

    def refine_selected(self) -> None:
        entry = self.state.board.selected
        if entry is None:
            self.report_error("Select a design card to refine.", kind="warn")
        else:
            self.refine(entry.design)

    def refine(self, design: Design | None = None, method: str | None = None,
               budget_s: float | None = None) -> Job | None:
        settings = self.state.settings
        try:
            job = start_refinement(self.state, self.engines, self.runner, design, method or settings.method,
                                   settings.refine_budget_s if budget_s is None else float(budget_s))
        except StudioError as exc:
            self.report_error(str(exc), kind="warn")
            return None
        self.show_timing(f"started {job.name}")
        return job

    def _job_ended(self, job: Job) -> None:
        if job.state == "failed":
            self.report_error(f"{job.name} failed: {job.error}")
        elif job.state == "finished" and job.best is not None and job.best.error_percent is not None:
            self.show_timing(f"{job.name}: sMAPE {job.best.error_percent:.2f} % in {job.elapsed_s():.1f} s")
        self._autosave_soon.start()

    def pause_selected_job(self) -> None:
        job = self.jobs_table.selected_job()
        if job is not None:
            self.state.jobs.toggle_pause(job)

    def stop_selected_job(self) -> None:
        job = self.jobs_table.selected_job()
        if job is not None:
            self.state.jobs.cancel(job)

    # ------------------------------------------------------------------ messages
    def report_error(self, message: str, kind: str = "error") -> None:
        """Errors go to the banner, the status bar and the log; nothing modal."""
        message = str(message)
        (log.error if kind == "error" else log.info)(message)
        self.banner.show_message(message, kind)
        self.message_label.set_full_text(message)
        self._message_timer.start()

    def show_timing(self, text: str) -> None:
        self.timing_label.setText(text)
        self.timing_label.setToolTip(help_pages.SMAPE_TIP if "sMAPE" in text else "")
        log.info(text)

    def show_environment(self, env: dict) -> None:
        self.environment = env
        self.state.models = env.get("models", {})
        self.device_label.setText(f"device: {env['device']}")
        self.model_label.setText(f"model: {env['model']}")
        self.model_label.setToolTip(env.get("model_detail", ""))
        if not env.get("model_ok"):
            self.report_error(f"No trained generator model ({env.get('model_detail', '')}). Candidates come from "
                              "θ-space search instead: slower, but everything works.", kind="warn")

    def show_help(self):
        return help_pages.show_help(self)

    def show_about(self):
        return help_pages.show_about(self, self.environment)

    # ------------------------------------------------------------------ closing
    def stop_all_jobs(self, timeout_ms: int = 15_000) -> bool:
        """Cancel every job, end the job worker processes and wait for the threads; True when all have stopped."""
        self.candidates.stop()
        self.details.stop()
        self.card_facts.stop()
        for workspace in self.workspaces:  # their own workers (e.g. the Design workspace's pattern strips)
            getattr(workspace, "stop", lambda: None)()
        self.state.jobs.cancel_all()  # first, so the job workers see the cancel before they are ended
        self.engines.shutdown()
        ok = self.runner.stop_all(timeout_ms)
        if self.candidates.job is not None:
            ok = self.candidates.job.wait(timeout_ms) and ok
        return wait_for_calls(timeout_ms) and ok

    def closeEvent(self, ev) -> None:
        self._autosave_timer.stop()
        self._autosave_soon.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        if not self.stop_all_jobs():
            log.error("some jobs did not stop within the timeout")
        self.files.close(mark_clean_exit=self.mark_clean_exit_on_close)
        self.log_view.detach()
        super().closeEvent(ev)
