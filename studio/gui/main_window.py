"""The studio's main window: target editor │ inspector │ candidate gallery, jobs below.

Model/view split (napari-style): the design engines know nothing of Qt; every engine
run is an `EngineJob` in its own thread whose progress arrives here as signals. The GUI
thread only draws and routes: candidates, refinement, band/layout computation and file
I/O all run in workers, and closing the window cancels and joins every job.
"""
from __future__ import annotations

import itertools
import json
import logging
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QIcon, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFileDialog, QFrame, QHBoxLayout, QLabel,
                               QMainWindow, QMenu, QPlainTextEdit, QPushButton, QSpinBox, QSplitter, QTextBrowser,
                               QToolButton, QVBoxLayout, QWidget)

from studio.design.core import Design, Target
from studio.errors import StudioError
from studio.gui.gallery import Gallery
from studio.gui.inspector import Inspector, compute_details
from studio.gui.jobs import JobsTable, RefinementJob
from studio.gui.sketch import PRESETS, TargetSketch, preset_sketch
from studio.gui.target_editor import TargetEditor
from studio.gui.workers import EngineJob, call_in_thread, wait_for_calls
from studio.physics import LOAD_GRID_N, MAX_ASPERITIES, MIN_ASPERITIES, bucket_width

log = logging.getLogger("studio.gui")

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TARGET = REPO_ROOT / "resources" / "examples" / "example_target.csv"
ICON_PATH = REPO_ROOT / "resources" / "icons" / "friction-studio.svg"
MODEL_CARD = REPO_ROOT / "models" / "cvae-compact.card.json"
CANDIDATE_DEBOUNCE_MS = 120
DETAILS_DEBOUNCE_MS = 200  # band + layout of the selected card wait until the selection settles
AUTOSAVE_INTERVAL_MS = 30_000
JOB_WORKERS = 1  # idle, warmed worker processes kept ready for refinement jobs (~0.6 GB each)
REFINE_METHODS = ("hybrid", "cmaes", "vae_cmaes")
MAX_RECENT = 8


def default_engines() -> dict:
    from studio.design.engines import ENGINES
    return ENGINES


def engine_generator(engine, target: Target, *, seed: int, time_budget_s: float, control,
                     start: Design | None = None, count: int | None = None, models: dict | None = None):
    """The engine's generator with the options it takes (studio.design.engines.call reads its spec)."""
    from studio.design.engines import call
    return call(engine, target, seed=seed, time_budget_s=time_budget_s, control=control, start=start, count=count,
                **(models or {}))


def start_option(engine) -> str | None:
    """The keyword through which an engine accepts a design to start from, or None (from its spec)."""
    from studio.design.engines import spec
    return "start" if spec(engine).takes_start else None


class ChangeCommand(QUndoCommand):
    """One undoable edit: the (sketch, N) pair before and after."""

    def __init__(self, window: "MainWindow", old: tuple, new: tuple, text: str, merge_id: int = -1):
        super().__init__(text)
        self.window, self.old, self.new, self._id = window, old, new, merge_id

    def id(self) -> int:
        return self._id

    def mergeWith(self, other) -> bool:
        if other.id() != self._id or self._id < 0:
            return False
        self.new = other.new
        return True

    def redo(self) -> None:
        self.window._apply_state(*self.new)

    def undo(self) -> None:
        self.window._apply_state(*self.old)


class Banner(QFrame):
    """A dismissable message strip above the panels (errors, missing model, recovery offer)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.action_button = QPushButton()
        self.action_button.hide()
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 3, 8, 3)
        row.addWidget(self.label, 1)
        row.addWidget(self.action_button)
        row.addWidget(close)
        self._callback = None
        self.action_button.clicked.connect(self._act)
        self.hide()

    def show_message(self, text: str, kind: str = "error", action: str | None = None, callback=None) -> None:
        colors = {"error": ("#fde8e8", "#a33"), "info": ("#e8f0fd", "#235"), "warn": ("#fff4d6", "#740")}
        bg, fg = colors.get(kind, colors["info"])
        self.setStyleSheet(f"Banner {{ background: {bg}; border: 1px solid {fg}; }} QLabel {{ color: {fg}; }}")
        self.label.setText(text)
        self._callback = callback
        self.action_button.setVisible(action is not None)
        if action:
            self.action_button.setText(action)
        self.show()

    def _act(self) -> None:
        cb, self._callback = self._callback, None
        self.hide()
        if cb:
            cb()


class _LogHandler(logging.Handler):
    def __init__(self, sink: QPlainTextEdit):
        super().__init__(logging.INFO)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))

    def emit(self, record) -> None:
        try:
            self.sink.appendPlainText(self.format(record))
        except RuntimeError:  # widget already deleted
            pass


class MainWindow(QMainWindow):
    candidatesShown = Signal(int)   # generation number, after the gallery shows them
    jobEnded = Signal(object)       # RefinementJob
    detailsShown = Signal()
    autosaved = Signal(str)

    def __init__(self, engines: dict | None = None, settings: QSettings | None = None,
                 session_path: str | Path | None = None, refine_budget_s: float = 30.0,
                 candidate_budget_s: float = 2.0, load_model_info: bool = True, details_fn=compute_details,
                 process_jobs: bool = True):
        super().__init__()
        self._engines = engines
        self.details_fn = details_fn  # band + layout of a design (worker); tests may pass a quick stand-in
        # Refinement jobs of the real engines run in worker processes (studio.design.processes), so
        # their Python work never holds this process's GIL; other engines (tests) run in threads.
        self.engine_pool = None
        if engines is None and process_jobs:
            from studio.design.processes import EngineProcessPool
            self.engine_pool = EngineProcessPool(spare=JOB_WORKERS)
        self.settings = settings or QSettings("FrictionStudio", "Friction Studio")
        self.session_path = Path(session_path) if session_path else None
        self.candidate_budget_s = candidate_budget_s
        self.sketch: TargetSketch | None = None
        self.N = int(self.settings.value("design/N", 64))
        self.K = int(self.settings.value("design/K", 16))
        self.target: Target | None = None
        self.jobs: list[RefinementJob] = []
        self.candidate_job: EngineJob | None = None
        self._candidate_generation = 0
        self._shown_generation = 0
        self._candidate_started = 0.0
        self._change_time = 0.0
        self.last_candidates_latency_s: float | None = None
        self._details_cache: dict[int, object] = {}
        self._details_token = 0
        self._names = itertools.count(1)
        self._closing = False
        self._seed_counter = itertools.count(1)
        self.undo = QUndoStack(self)
        self.candidate_seed = 0
        self.mark_clean_exit_on_close = True
        self.last_autosave_s: float | None = None
        self.models: dict = {}  # loaded once, handed to the engines (generator=, vae=)

        self.setWindowTitle("Friction Studio")
        if ICON_PATH.is_file():
            self.setWindowIcon(QIcon(str(ICON_PATH)))
        self._build_widgets()
        self._build_actions()
        self._build_status()

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(CANDIDATE_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._debounce_ended)
        self._candidates_pending = False
        self._details_timer = QTimer(self)
        self._details_timer.setSingleShot(True)
        self._details_timer.setInterval(DETAILS_DEBOUNCE_MS)
        self._details_timer.timeout.connect(self._compute_selected_details)
        self._job_redraw = QTimer(self)  # live jobs: table rows and cards redrawn at most 10 times a second
        self._job_redraw.setInterval(100)
        self._job_redraw.timeout.connect(self._redraw_jobs)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()
        self._autosave_soon = QTimer(self)
        self._autosave_soon.setSingleShot(True)
        self._autosave_soon.setInterval(2000)
        self._autosave_soon.timeout.connect(self.autosave)
        self.refine_budget.setValue(refine_budget_s)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 1000)
        if load_model_info:
            call_in_thread(_environment_summary, on_result=self._show_environment, on_error=self.report_error)

    # ------------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        self.editor = TargetEditor()
        self.editor.sketchEdited.connect(self._sketch_edited)
        self.editor.message.connect(lambda m: self.report_error(m, kind="warn"))
        self.inspector = Inspector()
        self.gallery = Gallery()
        self.gallery.selectionChanged.connect(self._card_selected)
        self.gallery.pinsChanged.connect(self.inspector.set_pinned)
        self.gallery.refineRequested.connect(self.refine)
        self.jobs_table = JobsTable()
        self.jobs_table.setMinimumHeight(110)
        self.banner = Banner()
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self._log_handler = _LogHandler(self.log_view)
        log.addHandler(self._log_handler)
        log.setLevel(logging.INFO)

        editor_box = QWidget()
        ebox = QVBoxLayout(editor_box)
        ebox.setContentsMargins(0, 0, 0, 0)
        self.target_info = QLabel()
        self.target_info.setWordWrap(True)
        ebox.addWidget(self.editor, 1)
        ebox.addWidget(self.target_info)

        self.hsplit = QSplitter(Qt.Horizontal)
        self.hsplit.addWidget(editor_box)
        self.hsplit.addWidget(self.inspector)
        self.hsplit.addWidget(self.gallery)
        self.hsplit.setStretchFactor(0, 4)
        self.hsplit.setStretchFactor(1, 5)
        self.hsplit.setStretchFactor(2, 2)
        self.hsplit.setSizes([480, 760, 340])
        self.vsplit = QSplitter(Qt.Vertical)
        self.vsplit.addWidget(self.hsplit)
        self.vsplit.addWidget(self.jobs_table)
        self.vsplit.setStretchFactor(0, 5)
        self.vsplit.setStretchFactor(1, 1)
        self.vsplit.setSizes([820, 120])
        central = QWidget()
        cbox = QVBoxLayout(central)
        cbox.setContentsMargins(4, 2, 4, 2)
        cbox.addWidget(self.banner)
        cbox.addWidget(self.vsplit, 1)
        self.setCentralWidget(central)

    def _action(self, text, slot=None, shortcut=None, tip="", checkable=False) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString()})" if shortcut else tip)
            act.setStatusTip(tip)
        act.setCheckable(checkable)
        if slot is not None:
            act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        tb = self.addToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        self.draw_action = self._action("✎ Draw", lambda: self._set_mode("draw"), tip="Draw the law with the mouse",
                                        checkable=True)
        self.points_action = self._action("• Points", lambda: self._set_mode("points"),
                                          tip="Click points of the law", checkable=True)
        self.draw_action.setChecked(True)
        tb.addAction(self.draw_action)
        tb.addAction(self.points_action)
        self.preset_button = QToolButton()
        self.preset_button.setText("Presets ▾")
        self.preset_button.setToolTip("Start from a ready-made law")
        self.preset_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.preset_button)
        for name in PRESETS:
            menu.addAction(name, lambda n=name: self.apply_preset(n))
        self.preset_button.setMenu(menu)
        tb.addWidget(self.preset_button)
        tb.addWidget(QLabel(" μ "))
        self.mu_spin = QDoubleSpinBox()
        self.mu_spin.setRange(0.01, 2.0)
        self.mu_spin.setSingleStep(0.05)
        self.mu_spin.setValue(0.3)
        self.mu_spin.setToolTip("Friction coefficient used by the presets")
        tb.addWidget(self.mu_spin)
        self.import_action = self._action("Import CSV…", self._import_dialog, "Ctrl+I",
                                          "Import a measured friction curve (load, friction)")
        tb.addAction(self.import_action)
        self.mu_view_action = self._action("μ = F/P", self.editor.set_mu_view, tip="Show the friction coefficient",
                                           checkable=True)
        tb.addAction(self.mu_view_action)
        self.monotone_action = self._action("Non-decreasing", self._set_monotone, checkable=True,
                                            tip="Force the target law to be non-decreasing in load")
        self.monotone_action.setChecked(True)
        tb.addAction(self.monotone_action)
        tb.addSeparator()
        tb.addWidget(QLabel(" N "))
        self.n_spin = QSpinBox()
        self.n_spin.setRange(MIN_ASPERITIES, MAX_ASPERITIES)
        self.n_spin.setValue(self.N)
        self.n_spin.setToolTip("Asperity count N of the designs (16–256)")
        self.n_spin.setKeyboardTracking(False)
        self.n_spin.valueChanged.connect(self._n_changed)
        tb.addWidget(self.n_spin)
        tb.addWidget(QLabel(" K "))
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 64)
        self.k_spin.setValue(self.K)
        self.k_spin.setToolTip("How many candidates to propose")
        self.k_spin.setKeyboardTracking(False)
        self.k_spin.valueChanged.connect(self._k_changed)
        tb.addWidget(self.k_spin)
        tb.addSeparator()
        self.method_combo = QComboBox()
        self.method_combo.addItems(REFINE_METHODS)
        self.method_combo.setToolTip("Refinement method")
        tb.addWidget(self.method_combo)
        tb.addWidget(QLabel(" budget "))
        self.refine_budget = QDoubleSpinBox()
        self.refine_budget.setRange(0.5, 3600)
        self.refine_budget.setSuffix(" s")
        self.refine_budget.setToolTip("Time budget of a refinement job")
        tb.addWidget(self.refine_budget)
        self.refine_action = self._action("Refine ▶", self.refine_selected, "Ctrl+R", "Refine the selected design")
        self.pause_action = self._action("‖", self.pause_selected_job, tip="Pause / resume the selected job")
        self.stop_action = self._action("■", self.stop_selected_job, "Esc", "Stop the selected job")
        for a in (self.refine_action, self.pause_action, self.stop_action):
            tb.addAction(a)
        tb.addSeparator()
        self.export_action = self._action("Export…", self._export_dialog, "Ctrl+S",
                                          "Export designs to an HDF5 design file")
        tb.addAction(self.export_action)

        self.open_action = self._action("Open design file…", self._open_dialog, "Ctrl+O", "Open an HDF5 design file")
        self.undo_action = self.undo.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = self.undo.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Y"), QKeySequence("Ctrl+Shift+Z")])
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)

        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open recent")
        self._rebuild_recent()
        file_menu.addAction(self.import_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self._action("Export all designs…", lambda: self._export_dialog(all_designs=True)))
        file_menu.addAction(self._action("Export curves to CSV…", self._export_curves_dialog))
        file_menu.addAction(self._action("Export law plot (PNG/SVG)…", self._export_plot_dialog))
        file_menu.addSeparator()
        file_menu.addAction(self._action("Quit", self.close, "Ctrl+Q"))
        edit_menu = mb.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        design_menu = mb.addMenu("&Design")
        for a in (self.refine_action, self.pause_action, self.stop_action):
            design_menu.addAction(a)
        design_menu.addAction(self._action("New candidates (another seed)", self.new_candidates, "F5"))
        view_menu = mb.addMenu("&View")
        view_menu.addAction(self.mu_view_action)
        view_menu.addAction(self._action("Log", self._show_log))
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self._action("Help", self.show_help, "F1"))
        help_menu.addAction(self._action("About Friction Studio", self.show_about))

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.device_label = QLabel("device: …")
        self.model_label = QLabel("model: …")
        self.autosave_label = QLabel("autosaved: –")
        self.timing_label = QLabel("")
        for w in (self.device_label, self.model_label, self.autosave_label, self.timing_label):
            w.setStyleSheet("padding: 0 8px;")
            sb.addPermanentWidget(w)
        self.model_summary = "unknown"
        self.environment: dict = {}

    # ------------------------------------------------------------------ state
    @property
    def engines(self) -> dict:
        if self._engines is None:
            self._engines = default_engines()
        return self._engines

    def _state(self) -> tuple:
        return (self.sketch, self.N)

    def _apply_state(self, sketch: TargetSketch | None, N: int) -> None:
        """Set sketch and N without making an undo step (undo/redo and loading land here)."""
        changed = (sketch is not self.sketch) or N != self.N
        self.sketch = sketch
        self.N = int(N)
        if self.n_spin.value() != self.N:
            self.n_spin.blockSignals(True)
            self.n_spin.setValue(self.N)
            self.n_spin.blockSignals(False)
        self.editor.set_sketch(sketch)
        self._update_target()
        if changed:
            self.request_candidates()
            self._autosave_soon.start()

    def _update_target(self) -> None:
        self.target = None
        if self.sketch is not None:
            try:
                self.target = self.sketch.target(self.N)
            except StudioError as exc:
                self.report_error(str(exc))
        self.inspector.set_target(self.target)
        self.gallery.set_target_law(None if self.target is None else self.target.friction_N)
        if self.target is not None:
            self.gallery.rescore(self.target)
        s = self.sketch
        if s is None:
            self.target_info.setText("Draw a friction law, pick a preset or import a CSV.")
        else:
            covered = np.flatnonzero(s.mask)
            self.target_info.setText(f"target: {s.source}  ·  specified {LOAD_GRID_N[covered[0]]:.2f}–"
                                     f"{LOAD_GRID_N[covered[-1]]:.2f} N (shaded: extrapolated, not scored)"
                                     + (f"  ·  {s.note}" if s.note else ""))

    def set_sketch(self, sketch: TargetSketch, text: str = "Edit target") -> None:
        """Replace the target (undoable)."""
        self._change_time = time.perf_counter()
        self.undo.push(ChangeCommand(self, self._state(), (sketch, self.N), text))

    def _sketch_edited(self, change) -> None:
        old, new = change
        self._change_time = time.perf_counter()
        self.undo.push(ChangeCommand(self, (old, self.N), (new, self.N), "Edit target"))

    def _n_changed(self, value: int) -> None:
        if value == self.N:
            return
        self._change_time = time.perf_counter()
        self.undo.push(ChangeCommand(self, self._state(), (self.sketch, value), f"N = {value}", merge_id=1))
        self.settings.setValue("design/N", value)

    def _k_changed(self, value: int) -> None:
        self.K = value
        self.settings.setValue("design/K", value)
        self.request_candidates()

    def _set_mode(self, mode: str) -> None:
        self.draw_action.setChecked(mode == "draw")
        self.points_action.setChecked(mode == "points")
        self.editor.set_mode(mode)

    def _set_monotone(self, on: bool) -> None:
        self.editor.monotone = on
        if self.sketch is not None and self.sketch.monotone != on:
            self.set_sketch(self.sketch.with_monotone(on), "Non-decreasing" if on else "Allow decreasing")

    def apply_preset(self, name: str) -> None:
        try:
            self.set_sketch(preset_sketch(name, mu=self.mu_spin.value()), f"Preset {name}")
            self.editor.plot.enableAutoRange()
        except StudioError as exc:
            self.report_error(str(exc))

    # ------------------------------------------------------------------ candidates
    def request_candidates(self) -> None:
        """Regenerate candidates, debounced on the leading and trailing edge.

        An edit after a quiet spell starts the candidates at once (a preset, an N change, a handle
        released: no waiting); edits that follow within CANDIDATE_DEBOUNCE_MS of the last one are
        merged into one more run when they stop (a freehand drag, a spin box held down)."""
        if self._closing:
            return
        if not self._change_time:
            self._change_time = time.perf_counter()
        self._details_timer.stop()
        if self._debounce.isActive():
            self._candidates_pending = True  # the trailing run, when the edits stop
            self._debounce.start()
            return
        self._candidates_pending = False
        self._debounce.start()  # the quiet spell this run opens
        self._run_candidates()

    def _debounce_ended(self) -> None:
        if self._candidates_pending:
            self._candidates_pending = False
            self._run_candidates()

    def new_candidates(self) -> None:
        self.candidate_seed += 1
        self.request_candidates()

    def _run_candidates(self) -> None:
        if self.target is None or self._closing:
            return
        if self.candidate_job is not None:
            self.candidate_job.cancel()  # stale: its results will be discarded too
        self._candidate_generation += 1
        generation = self._candidate_generation
        target, count = self.target, self.K
        try:
            engine = self.engines["candidates"]
        except (KeyError, ImportError) as exc:
            self.report_error(f"No candidate engine available ({exc}); refine from a design file instead.")
            return
        seed = self.candidate_seed  # fixed, so the same target (e.g. after undo) gives the same candidates
        budget, models = self.candidate_budget_s, dict(self.models)
        job = EngineJob(lambda control: engine_generator(engine, target, seed=seed, time_budget_s=budget,
                                                         control=control, count=count, models=models),
                        name="candidates")
        job.finished.connect(lambda designs, g=generation, t=target: self._candidates_done(g, t, designs))
        job.failed.connect(lambda msg, g=generation: self._candidates_failed(g, msg))
        job.ended.connect(lambda j=job: self._forget_candidate_job(j))
        self.candidate_job = job
        self._candidate_started = time.perf_counter()
        self._pending_change_time = self._change_time or self._candidate_started
        self._change_time = 0.0
        self.statusBar().showMessage("Proposing candidates…")
        job.start()

    def _forget_candidate_job(self, job: EngineJob) -> None:
        if self.candidate_job is job:
            self.candidate_job = None

    def _candidates_done(self, generation: int, target: Target, designs: list) -> None:
        if generation != self._candidate_generation or self._closing:
            return  # a newer target is on its way: discard
        t_show = time.perf_counter()
        self.last_engine_s = t_show - self._candidate_started
        for d in designs:
            self._name(d)
        self.gallery.replace_candidates(designs[: self.K])
        if self.gallery.selected is None and self.gallery.cards:
            self.gallery.select(self.gallery.cards[0])
        now = time.perf_counter()
        self.last_gallery_update_s = now - t_show
        self.last_wait_before_start_s = self._candidate_started - self._pending_change_time
        self.last_candidates_latency_s = now - self._pending_change_time
        self._shown_generation = generation
        best = min((d.error_percent for d in designs if d.error_percent is not None), default=None)
        self._warm_refinement(target)
        self._timing(f"{len(designs)} candidates in {1000 * (now - self._candidate_started):.0f} ms"
                     + (f", best sMAPE {best:.2f} %" if best is not None else ""))
        self.statusBar().clearMessage()
        self._autosave_soon.start()
        self.candidatesShown.emit(generation)

    def _warm_refinement(self, target: Target) -> None:
        """Have idle job workers ready, with the refinement programs for this asperity bucket compiled,
        so a refinement starts at once. Asked for when candidates are shown: the workers are
        separate processes below even the candidate engine's priority, so this costs the GUI thread
        nothing and the next candidates little."""
        if self.engine_pool is None or self._closing:
            return
        try:
            self.engine_pool.prestart(target=target)
        except (StudioError, OSError) as exc:  # jobs then start their own worker, or fail with a message
            log.info("could not prepare job workers: %s", exc)

    def _candidates_failed(self, generation: int, message: str) -> None:
        if generation == self._candidate_generation:
            self.report_error(f"Candidates failed: {message}")

    def _name(self, d: Design) -> Design:
        taken = {c.design.name for c in self.gallery.cards}
        if not d.name or d.name in taken:
            d.name = f"{d.method or 'design'}-{next(self._names)}"
        return d

    # ------------------------------------------------------------------ selection / inspector
    def selected_design(self) -> Design | None:
        card = self.gallery.selected
        return None if card is None else card.design

    def _card_selected(self) -> None:
        card = self.gallery.selected
        if card is None:
            self.inspector.set_design(None)
            return
        d = card.design
        details = self._cached_details(d)
        self.inspector.set_design(d, details)
        self._details_token += 1  # any band/layout still on its way is for an older selection
        if details is None and not card.live:
            self._details_timer.start()  # debounced: clicking through cards computes only the last

    def _cached_details(self, design: Design):
        entry = self._details_cache.get(id(design))
        return entry[1] if entry is not None and entry[0] is design else None

    def _compute_selected_details(self) -> None:
        card = self.gallery.selected
        if card is None or card.live or self._closing or self._candidates_pending:
            return  # a new target is coming: its candidates will be selected instead
        d = card.design
        if self._cached_details(d) is not None:
            return
        token = self._details_token
        call_in_thread(self.details_fn, d,
                       on_result=lambda det, t=token, dd=d: self._details_ready(t, dd, det),
                       on_error=lambda m: self.report_error(f"Could not compute the band/layout: {m}"))

    def _details_ready(self, token: int, design: Design, details) -> None:
        if self._closing:
            return
        self._details_cache[id(design)] = (design, details)  # the design is kept, so its id stays unique
        while len(self._details_cache) > 64:
            self._details_cache.pop(next(iter(self._details_cache)))
        if token == self._details_token and self.selected_design() is design:
            self.inspector.set_details(details)
            self.detailsShown.emit()

    # ------------------------------------------------------------------ refinement jobs
    def refine_selected(self) -> None:
        d = self.selected_design()
        if d is None:
            self.report_error("Select a design card to refine.", kind="warn")
            return
        self.refine(d)

    def refine(self, design: Design | None = None, method: str | None = None,
               budget_s: float | None = None) -> RefinementJob | None:
        if self.target is None:
            self.report_error("Set a target before refining.", kind="warn")
            return None
        method = method or self.method_combo.currentText()
        try:
            engine = self.engines[method]
        except (KeyError, ImportError) as exc:
            self.report_error(f"Refinement method {method!r} is not available ({exc}).")
            return None
        target = self.target if design is None or design.N == self.N else Target(
            self.target.friction_N, design.N, mask=self.target.mask, source=self.target.source, note=self.target.note)
        budget = float(budget_s if budget_s is not None else self.refine_budget.value())
        seed = next(self._seed_counter)
        models = dict(self.models)
        from_design = design is not None and start_option(engine) is not None
        if self.engine_pool is not None:
            pool, options = self.engine_pool, {"seed": seed, "time_budget_s": budget}
            if from_design:
                options["start"] = design
            engine_job = EngineJob(lambda control: pool.run(method, target, control=control, **options), name=method)
        else:
            engine_job = EngineJob(lambda control: engine_generator(engine, target, seed=seed, time_budget_s=budget,
                                                                    control=control, start=design, models=models),
                                   name=method)
        name = f"{method} #{len(self.jobs) + 1}" + (f" from {design.name}" if from_design else " (new search)")
        if design is not None and not from_design:
            log.info("engine %r takes no start design: %s searches for the target from scratch", method, name)
        job = RefinementJob(name, method, engine_job, self)
        job.start_design = design
        job.target = target
        self.jobs.append(job)
        self.jobs_table.add_job(job)
        job.changed.connect(self._job_changed)
        job.changed.connect(self.jobs_table.refresh)
        self._job_redraw.start()
        job.result.connect(self._job_result)
        engine_job.failed.connect(lambda m, j=job: self.report_error(f"{j.name} failed: {m}"))
        engine_job.ended.connect(lambda j=job: self._job_ended(j))
        engine_job.start()
        self._timing(f"started {name}")
        return job

    def _redraw_jobs(self) -> None:
        active = False
        for job in self.jobs:
            if job.dirty:
                job.dirty = False
                self._job_changed(job)
                self.jobs_table.refresh(job)
            active = active or job.job.active
        if not active:
            self._job_redraw.stop()

    def _job_changed(self, job: RefinementJob) -> None:
        if self._closing or job.best is None or job.best.friction_N is None:
            return
        if job.best.error_percent is None and job.target is not None:
            job.best.error_percent = job.target.error(job.best.friction_N)
        if job.card is None and job.job.active:
            job.card = self.gallery.add(self._name(job.best), live=True)
            job.card.design.name = job.name
        elif job.card is not None and job.card in self.gallery.cards and job.card.design is not job.best:
            job.best.name = job.best.name or job.name  # redraw only when the job found a new best
            self.gallery.update_card(job.card, job.best)

    def _job_result(self, job: RefinementJob, designs: list) -> None:
        if self._closing:
            return
        if job.card is not None and job.card in self.gallery.cards:
            self.gallery.remove(job.card)
            job.card = None
        if designs:
            best = self._name(designs[0])
            card = self.gallery.add(best, is_result=True)
            self.gallery.select(card)
            self._timing(f"{job.name}: sMAPE {best.error_percent:.2f} % in {job.elapsed_s():.1f} s"
                         if best.error_percent is not None else f"{job.name} finished")
        self._autosave_soon.start()

    def _job_ended(self, job: RefinementJob) -> None:
        if not self._closing and job.state in ("cancelled", "failed") and job.card is not None \
                and job.best is not None:
            # A stopped job keeps its best design so far, as a normal card.
            self.gallery.update_card(job.card, job.best, live=False)
            job.card.is_result = True
            job.card = None
        self.jobs_table.refresh(job)
        self.jobEnded.emit(job)

    def pause_selected_job(self) -> None:
        job = self.jobs_table.selected_job()
        if job is not None and job.job.active:
            self.jobs_table.toggle_pause(job)

    def stop_selected_job(self) -> None:
        job = self.jobs_table.selected_job()
        if job is not None:
            job.job.cancel()

    def live_cards(self) -> list:
        return [c for c in self.gallery.cards if c.live]

    def active_jobs(self) -> list[RefinementJob]:
        return [j for j in self.jobs if j.job.active]

    # ------------------------------------------------------------------ files
    def _io(self):
        import studio.io as sio
        return sio

    def import_csv(self, path) -> None:
        """Read a target CSV in a worker; on success it becomes the (undoable) target."""
        path = str(path)
        t0 = time.perf_counter()

        def read():
            try:
                from studio.io import read_target_csv
            except ImportError:
                from studio.io.csv_target import read_target_csv
            return read_target_csv(path)

        def done(csv):
            try:
                sketch = TargetSketch.from_law(csv.friction_N, csv.mask, source=csv.source,
                                               note="; ".join(csv.notes), monotone=False)
            except StudioError as exc:
                self.report_error(f"{path}: {exc}")
                return
            self.set_sketch(sketch, f"Import {Path(path).name}")
            self.editor.plot.enableAutoRange()
            self._remember_recent(path)
            self._timing(f"imported {Path(path).name} in {1000 * (time.perf_counter() - t0):.0f} ms")
            if csv.notes:
                self.report_error("Imported with notes: " + "; ".join(csv.notes), kind="info")

        call_in_thread(read, on_result=done, on_error=self.report_error)

    def export_designs(self, path, designs: list[Design] | None = None) -> None:
        """Write designs (default: the selected one) to an HDF5 design file in a worker."""
        designs = designs if designs is not None else ([self.selected_design()] if self.selected_design() else [])
        if not designs:
            self.report_error("Nothing to export: no design selected.", kind="warn")
            return
        path, target, t0 = str(path), self.target, time.perf_counter()

        def write():
            from studio.io import write_design_file
            for d in designs:  # the file carries each design's simulated law
                if d.asperities is None or d.friction_N is None:
                    full = Design.evaluate(d.theta, d.N, d.seed, target, method=d.method, model=d.model,
                                           elapsed_s=d.elapsed_s, name=d.name)
                    d.asperities, d.friction_N, d.error_percent = full.asperities, full.friction_N, full.error_percent
            write_design_file(path, designs, target)
            return path

        def done(_):
            self._remember_recent(path)
            self._timing(f"exported {len(designs)} design(s) to {Path(path).name} in "
                         f"{1000 * (time.perf_counter() - t0):.0f} ms")
            self.exported = path

        call_in_thread(write, on_result=done, on_error=self.report_error)

    def open_design_file(self, path) -> None:
        path, t0 = str(path), time.perf_counter()

        def read():
            from studio.io import read_design_file
            return read_design_file(path)

        def done(df):
            designs = list(df.designs.values()) if isinstance(df.designs, dict) else list(df.designs)
            if df.target is not None:
                t = df.target
                sketch = TargetSketch.from_law(t.friction_N, t.mask, source=t.source, note=t.note, monotone=False)
                n = designs[0].N if designs else self.N
                self.set_sketch(sketch, f"Open {Path(path).name}")
                self.editor.plot.enableAutoRange()
                if n != self.N:
                    self.n_spin.setValue(n)
            for d in designs:
                card = self.gallery.add(self._name(d), is_result=True)
            if designs:
                self.gallery.select(self.gallery.cards[0])
            self._remember_recent(path)
            self._timing(f"opened {Path(path).name} ({len(designs)} designs) in "
                         f"{1000 * (time.perf_counter() - t0):.0f} ms")
            self.opened = df

        call_in_thread(read, on_result=done, on_error=self.report_error)

    def export_curves_csv(self, path) -> None:
        d, target = self.selected_design(), self.target
        if d is None or d.friction_N is None:
            self.report_error("Select a design to export its curve.", kind="warn")
            return

        def write():
            try:
                from studio.io import write_curve_csv
            except ImportError:
                from studio.io.csv_target import write_curve_csv
            write_curve_csv(path, LOAD_GRID_N, d.friction_N, header=("load (N)", "friction (N)"),
                            comment=f"design {d.name}, N={d.N}, seed={d.seed}, method {d.method}"
                            + (f", target sMAPE {d.error_percent:.3f} %" if d.error_percent is not None else ""))
            return path

        call_in_thread(write, on_result=lambda p: self._timing(f"curve written to {Path(p).name}"),
                       on_error=self.report_error)

    def export_plot(self, path) -> None:
        """Save the law plot as PNG (pyqtgraph exporter) or the law and residual view as SVG.

        SVG is drawn by QSvgGenerator from the whole law view, so the residual strip comes along
        as vectors. Fast, on the GUI thread.
        """
        import pyqtgraph.exporters as ex

        from studio.files import atomic_write
        final = Path(path)
        try:
            with atomic_write(final) as tmp:  # the temporary name keeps the suffix the exporters go by
                path = str(tmp)
                if path.lower().endswith(".svg"):
                    from PySide6.QtCore import QRect, QSize
                    from PySide6.QtGui import QPainter
                    from PySide6.QtSvg import QSvgGenerator
                    view = self.inspector.law_view
                    gen = QSvgGenerator()
                    gen.setFileName(path)
                    gen.setSize(QSize(view.width(), view.height()))
                    gen.setViewBox(QRect(0, 0, view.width(), view.height()))
                    gen.setTitle("Friction law")
                    painter = QPainter(gen)
                    view.render(painter)
                    painter.end()
                else:
                    exporter = ex.ImageExporter(self.inspector.law_plot)
                    exporter.parameters()["width"] = 1200
                    exporter.export(path)
        except Exception as exc:
            self.report_error(f"{final}: could not export the plot ({exc})")
            return
        self._timing(f"plot saved to {final.name}")

    def _import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import friction curve", self._last_dir(),
                                              "CSV files (*.csv *.txt *.tsv);;All files (*)")
        if path:
            self.import_csv(path)

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open design file", self._last_dir(),
                                              "Design files (*.h5 *.hdf5);;All files (*)")
        if path:
            self.open_design_file(path)

    def _export_dialog(self, all_designs: bool = False) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export designs", str(Path(self._last_dir()) / "designs.h5"),
                                              "Design files (*.h5)")
        if path:
            self.export_designs(path, self.gallery.designs() if all_designs else None)

    def _export_curves_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export curve", str(Path(self._last_dir()) / "curve.csv"),
                                              "CSV (*.csv)")
        if path:
            self.export_curves_csv(path)

    def _export_plot_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", str(Path(self._last_dir()) / "law.png"),
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export_plot(path)

    def _last_dir(self) -> str:
        return str(self.settings.value("files/last_dir", str(Path.home())))

    def _remember_recent(self, path: str) -> None:
        recent = [p for p in (self.settings.value("files/recent", []) or []) if p != path]
        recent = [path, *recent][:MAX_RECENT]
        self.settings.setValue("files/recent", recent)
        self.settings.setValue("files/last_dir", str(Path(path).parent))
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.value("files/recent", []) or []
        if isinstance(recent, str):
            recent = [recent]
        for p in recent:
            if p.lower().endswith((".h5", ".hdf5")):
                self.recent_menu.addAction(p, lambda p=p: self.open_design_file(p))
            else:
                self.recent_menu.addAction(p, lambda p=p: self.import_csv(p))
        self.recent_menu.setEnabled(bool(recent))

    # ------------------------------------------------------------------ session
    def session_state(self):
        """The work as a studio.io Session: target, handles, designs on the board, pins, settings."""
        from studio.io.session import Session
        s = self.sketch
        cards = [c for c in self.gallery.cards if not c.live]
        return Session(
            target=self.target,
            handles=[] if s is None else [(float(p), float(f)) for p, f in zip(s.handle_load_N, s.handle_friction_N)],
            designs=[c.design for c in cards],
            pinned=[c.design.name for c in cards if c.pin.isChecked()],
            selected=None if self.gallery.selected is None else self.gallery.selected.design.name,
            settings={"K": self.K, "method": self.method_combo.currentText(),
                      "refine_budget_s": self.refine_budget.value(),
                      "monotone": bool(s.monotone) if s is not None else True,
                      "candidate_seed": self.candidate_seed})

    def autosave(self) -> None:
        """Save the session (JSON, atomic) in a worker; a few kB, a few ms (see benchmarks/gui.py)."""
        if self.session_path is None or self._closing:
            return
        session, path, t0 = self.session_state(), self.session_path, time.perf_counter()

        def write():
            from studio.io.session import save_session
            save_session(path, session)
            return time.perf_counter() - t0

        def done(seconds):
            self.last_autosave_s = seconds
            self.autosave_label.setText(f"autosaved {time.strftime('%H:%M')}")
            self.autosave_label.setToolTip(f"{path} ({1000 * seconds:.1f} ms)")
            self.autosaved.emit(str(path))

        call_in_thread(write, on_result=done, on_error=self.report_error)

    def restore_session(self, path) -> None:
        """Restore a session file: target and N (one undo step), settings, designs re-simulated in a worker."""
        path = Path(path)

        def read():
            from studio.io.session import load_session
            session = load_session(path)
            target = session.target
            designs = [Design.evaluate(d.theta, d.N, d.seed, target, method=d.method, model=d.model,
                                       elapsed_s=d.elapsed_s, name=d.name) for d in session.designs]
            return session, designs

        def done(result):
            session, designs = result
            settings = session.settings or {}
            self.k_spin.setValue(int(settings.get("K", self.K)))
            if settings.get("method") in REFINE_METHODS:
                self.method_combo.setCurrentText(settings["method"])
            if "refine_budget_s" in settings:
                self.refine_budget.setValue(float(settings["refine_budget_s"]))
            t = session.target
            if t is not None:
                sketch = TargetSketch.from_law(t.friction_N, t.mask, source=t.source, note=t.note,
                                               monotone=bool(settings.get("monotone", True)))
                self.undo.push(ChangeCommand(self, self._state(), (sketch, int(t.N)), "Restore session"))
            for d in designs:
                card = self.gallery.add(self._name(d), is_result=True)
                card.pin.setChecked(d.name in session.pinned)
                if d.name == session.selected:
                    self.gallery.select(card)
            self._timing(f"restored session ({len(designs)} designs)")

        call_in_thread(read, on_result=done, on_error=lambda m: self.report_error(f"{path}: cannot restore ({m})"))

    # ------------------------------------------------------------------ messages
    def report_error(self, message: str, kind: str = "error") -> None:
        """Errors go to the banner, the status bar and the log; nothing modal."""
        message = str(message)
        (log.error if kind == "error" else log.info)(message)
        self.banner.show_message(message, kind)
        self.statusBar().showMessage(message, 10_000)

    def _timing(self, text: str) -> None:
        self.timing_label.setText(text)
        log.info(text)

    def _show_environment(self, env: dict) -> None:
        self.environment = env
        self.models = env.get("models", {})
        self.device_label.setText(f"device: {env['device']}")
        self.model_summary = env["model"]
        self.model_label.setText(f"model: {env['model']}")
        self.model_label.setToolTip(env.get("model_detail", ""))
        if not env.get("model_ok"):
            self.report_error(f"No trained generator model ({env.get('model_detail', '')}). Candidates come from "
                              "θ-space search instead: slower, but everything works.", kind="warn")

    def _show_log(self) -> None:
        self._non_modal("Log", self.log_view)

    def _non_modal(self, title: str, widget: QWidget) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        dialog.setModal(False)
        box = QVBoxLayout(dialog)
        box.addWidget(widget)
        dialog.resize(640, 420)
        dialog.show()
        return dialog

    def show_help(self) -> QDialog:
        text = QTextBrowser()
        text.setHtml(HELP_HTML)
        return self._non_modal("Friction Studio help", text)

    def show_about(self) -> QDialog:
        import jax
        import PySide6
        import pyqtgraph
        from studio import __version__
        try:
            import torch
            torch_version = torch.__version__
        except ImportError:  # pragma: no cover
            torch_version = "not installed"
        text = QTextBrowser()
        text.setHtml(f"<h3>Friction Studio {__version__}</h3><p>Design frictional metainterfaces: asperity "
                     f"arrays whose friction law F(P) follows a target.</p><p>PySide6 {PySide6.__version__} · "
                     f"pyqtgraph {pyqtgraph.__version__} · JAX {jax.__version__} · torch {torch_version}</p>"
                     f"<p>Device: {self.environment.get('device', '?')}</p>"
                     f"<p>Model: {self.model_summary}<br><small>{self.environment.get('model_detail', '')}</small></p>")
        return self._non_modal("About Friction Studio", text)

    # ------------------------------------------------------------------ closing
    def stop_all_jobs(self, timeout_ms: int = 15_000) -> bool:
        """Cancel every job, end the job worker processes and wait for the threads; True when all have stopped."""
        jobs = [j.job for j in self.jobs] + ([self.candidate_job] if self.candidate_job else [])
        for job in jobs:
            job.cancel()
        if self.engine_pool is not None:  # workers that do not stop within 0.5 s are terminated
            try:
                self.engine_pool.shutdown(timeout_s=0.5)
            except OSError as exc:  # closing must go on; the workers are daemons and end with the studio
                log.error("could not stop the job workers cleanly: %s", exc)
        ok = all(job.wait(timeout_ms) for job in jobs)
        return wait_for_calls(timeout_ms) and ok

    def closeEvent(self, ev) -> None:
        self._closing = True
        self._debounce.stop()
        self._details_timer.stop()
        self._job_redraw.stop()
        self._autosave_timer.stop()
        self._autosave_soon.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        stopped = self.stop_all_jobs()
        if not stopped:
            log.error("some jobs did not stop within the timeout")
        log.removeHandler(self._log_handler)
        if self.session_path is not None and self.mark_clean_exit_on_close:
            try:
                from studio.io.session import autosave_path, mark_clean_exit, save_session
                if Path(self.session_path) == Path(autosave_path()):
                    save_session(self.session_path, self.session_state())  # small JSON, a few ms
                    mark_clean_exit()
            except (StudioError, OSError) as exc:
                log.error("could not save the session on exit: %s", exc)
        super().closeEvent(ev)


def _environment_summary() -> dict:
    """Device and model card (runs in a worker; reads a small JSON file)."""
    env = {}
    try:
        import torch
        env["device"] = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU"
    except Exception:  # pragma: no cover
        env["device"] = "CPU"
    try:
        import jax
        env["device"] += f" · JAX {jax.devices()[0].platform.upper()}"
    except Exception:  # pragma: no cover
        pass
    env["models"] = {}
    try:
        from studio import models
        loader = getattr(models, "load_generator", None)
        if loader is not None:
            env["models"]["generator"] = loader()
        vae_loader = getattr(models, "load_vae", None)
        if vae_loader is not None:
            try:
                env["models"]["vae"] = vae_loader()
            except Exception as exc:  # the VAE is optional: vae_cmaes falls back to θ-space CMA-ES
                log.info("VAE not loaded: %s", exc)
        model_error = "" if env["models"].get("generator") is not None else "studio.models has no generator"
    except Exception as exc:  # a missing or corrupt model must not stop the studio
        model_error = str(exc)
    card = {}
    if MODEL_CARD.is_file():
        try:
            card = json.loads(MODEL_CARD.read_text())
        except (OSError, ValueError) as exc:
            model_error = model_error or f"{MODEL_CARD}: unreadable card ({exc})"
    gen = env["models"].get("generator")
    if gen is not None:
        parts = [str(getattr(gen, "name", "") or f"{card.get('kind', 'cvae')}-{card.get('config', {}).get('name', '')}")]
        if isinstance(card.get("parameters"), int):
            parts.append(f"{card['parameters'] / 1e3:.0f} k parameters")
        smape = _first_smape(card)
        if smape is not None:
            parts.append(f"{smape[0].replace('_', ' ')} {smape[1]:.1f} %")
        parts.append(f"on {getattr(gen, 'device', '?')}")
        env["model"] = " · ".join(parts)
        env["model_detail"] = json.dumps({k: v for k, v in card.items() if not isinstance(v, (dict, list))})[:600]
        env["model_ok"] = True
    else:
        env.update(model="none (θ-space search)", model_detail=model_error or f"{MODEL_CARD} not found",
                   model_ok=False)
    return env


def _first_smape(card: dict, prefix: str = ""):
    """The first sMAPE figure found in a model card (its headline metric), as (key, value)."""
    for key, value in card.items():
        if isinstance(value, dict):
            found = _first_smape(value, f"{key}.")
            if found is not None:
                return found
        elif "smape" in key.lower() and isinstance(value, (int, float)):
            return key, float(value)
    return None


HELP_HTML = """
<h3>Friction Studio</h3>
<p><b>1. Target.</b> In <i>Draw</i> mode press and drag on the left plot to paint the friction
force F [N] against the normal load P [N]; release to turn the stroke into a smooth law with white
handles you can drag. <i>Points</i> mode: click points. <i>Presets</i> start from a linear, power-law
or bilinear law (μ in the toolbar). <i>Import CSV</i> reads a measured curve (load, friction; units
from the header). Grey shading marks loads the target does not specify: they are extrapolated and not
scored. <i>μ = F/P</i> shows the friction coefficient instead.</p>
<p><b>2. Candidates.</b> After every edit, or a change of the asperity count N, K candidate designs
appear on the right, best (lowest sMAPE) first. Click one to inspect it: its law with the spread over
other moulds (band p5–p95) and the residual, the height and radius distributions of its four
components, its asperities and a fabrication layout with contact discs at the load of the slider.</p>
<p><b>3. Refine.</b> ▶ on a card (or Ctrl+R) starts a refinement job; several can run at once. The jobs
table shows progress; ‖ pauses, ■ (Esc) stops and keeps the best so far.</p>
<p><b>4. Export.</b> Ctrl+S writes the selected design to an HDF5 design file (File ▸ Export all
designs for every card); Ctrl+O opens one. Curves export to CSV and plots to PNG/SVG. Before moulding,
<code>friction-studio validate designs.h5</code> checks the layout with a boundary-element solve.</p>
<p>Ctrl+Z / Ctrl+Y undo and redo target edits and N. The session is autosaved every 30 s.</p>
"""
