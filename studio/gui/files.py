"""Everything the studio reads or writes: CSV targets, design files, fabrication files, curves, plots, the session.

Reading and writing run in workers (studio.gui.workers.call_in_thread); what they read goes
into the state (studio.state), what they write comes from it. Every write is atomic
(studio.io). Recent files and the last folder persist in QSettings.
"""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from studio.design.core import Design
from studio.design.targets import TargetSketch
from studio.errors import StudioError
from studio.gui.workers import call_in_thread
from studio.state import StudioState

MAX_RECENT = 8
FABRICATION_FILTER = "STL mesh (*.stl);;Height map, 16-bit PNG (*.png);;Height map, NumPy (*.npy);;Height map, CSV (*.csv)"


class FileActions(QObject):
    opened = Signal(str)  # a design file or CSV target was read into the state (its path)
    saved = Signal(str)   # a file was written (its path)
    autosaved = Signal(str)  # the session was saved (its path)
    message = Signal(str)  # what was done and how long it took (status bar)

    def __init__(self, parent: QWidget, state: StudioState, settings: QSettings, report, recent_menu: QMenu):
        super().__init__(parent)
        self.parent_widget, self.state, self.settings, self.report = parent, state, settings, report
        self.recent_menu = recent_menu
        self.session_path: Path | None = None
        self.last_autosave_s: float | None = None
        self.import_dialog = None  # the open import dialog (studio.gui.import_dialog), if any
        self.rebuild_recent()

    # --- reading ------------------------------------------------------------------------------
    def import_csv(self, path, *, branch: str = "loading", smoothing="auto") -> None:
        """Read a target CSV in a worker; it becomes the target (one undo step) exactly as the CLI reads it
        (`design --branch --smoothing`)."""
        from studio.io import read_target_csv

        path, t0 = str(path), time.perf_counter()
        call_in_thread(read_target_csv, path, branch=branch, smoothing=smoothing,
                       on_result=lambda csv: self.use_csv(path, csv, t0), on_error=self.report)

    def ask_import(self, path) -> None:
        """The import dialog on `path` (branch, smoothing, measured points, notes); Import uses its reading."""
        from studio.gui.import_dialog import ImportDialog

        if self.import_dialog is not None:
            self.import_dialog.close()
        self.import_dialog = ImportDialog(path, self.parent_widget)
        self.import_dialog.imported.connect(lambda csv, p=str(path): self.use_csv(p, csv, time.perf_counter()))
        self.import_dialog.show()

    def use_csv(self, path: str, csv, t0: float) -> None:
        """A CsvTarget read from `path` becomes the target, with its measured points (one undo step)."""
        target = csv.to_target(self.state.target.N)  # the command line's `design` makes the same Target
        sketch = TargetSketch.from_target(target).with_measured(csv.raw_load_N, csv.raw_friction_N, csv.outlier)
        # The notes belong to this target: shown while it is current (studio.gui.main_window).
        notice = ("Imported with notes: " + "; ".join(csv.notes)) if csv.notes else ""
        self.state.target.edit(sketch, f"Import {Path(path).name}", notice=notice)
        self._remember(path)
        self.message.emit(f"imported {Path(path).name} in {1000 * (time.perf_counter() - t0):.0f} ms")
        self.opened.emit(path)

    def open_design_file(self, path) -> None:
        """Read a design file in a worker: its target (and N) becomes the target, its designs results."""
        from studio.io import read_design_file

        path, t0 = str(path), time.perf_counter()

        def done(df):
            if df.target is not None:
                N = df.designs[0].N if df.designs else df.target.N
                self.state.target.edit(TargetSketch.from_target(df.target), f"Open {Path(path).name}", N=N)
            for i, design in enumerate(df.designs):
                self.state.board.add(design, select=i == 0)
            self._remember(path)
            self.message.emit(f"opened {Path(path).name} ({len(df.designs)} designs) in "
                              f"{1000 * (time.perf_counter() - t0):.0f} ms")
            self.opened.emit(path)

        call_in_thread(read_design_file, path, on_result=done, on_error=self.report)

    # --- writing ------------------------------------------------------------------------------
    def export_designs(self, path, designs: list[Design] | None = None) -> None:
        """Write designs (default: the selected one) to an HDF5 design file in a worker."""
        from studio.io import write_design_file

        designs = designs if designs is not None else self._selected()
        if not designs:
            return
        layouts = {d.name: d.layout for d in designs if d.layout is not None}  # an opened design keeps its own
        # A design's BEM validation (Validation workspace, or read with it) goes with it: the writer keeps
        # it only when it was made for the layout written.
        validations = {d.name: d.validation for d in designs if d.validation is not None}
        self._write(path, f"{len(designs)} design(s)", write_design_file, path, designs, self.state.target.target,
                    layouts=layouts, validations=validations, remember=True)

    def export_fabrication(self, path, design: Design | None = None) -> None:
        """The selected design as an STL mesh (.stl) or a height map (.png, .npy, .csv), in a worker."""
        from studio.design.details import fabrication_geometry
        from studio.io.export import save_height_map, save_stl

        designs = [design] if design is not None else self._selected()
        if not designs:
            return
        save = save_stl if str(path).lower().endswith(".stl") else save_height_map
        self._write(path, designs[0].name, lambda: save(path, fabrication_geometry(designs[0])))

    def export_curves_csv(self, path) -> None:
        from studio.io import write_curve_csv

        designs = self._selected()
        if not designs:
            return
        d = designs[0]
        comment = f"design {d.name}, N={d.N}, seed={d.seed}, method {d.method}" + (
            f", target sMAPE {d.error_percent:.3f} %" if d.error_percent is not None else "")
        self._write(path, "the curve", write_curve_csv, path, d.load_N, d.friction_N, comment=comment)

    def export_plot(self, path, view, plot) -> None:
        """Save a plot as PNG (pyqtgraph, `plot`) or the whole `view` as SVG (vectors); on the GUI thread (fast).

        Atomic (studio.files.atomic_write): drawn beside the destination, then renamed over it."""
        import pyqtgraph.exporters as ex

        from studio.files import atomic_write
        final = Path(path)
        try:
            with atomic_write(final) as tmp:  # the temporary name keeps the suffix the exporters go by
                partial = str(tmp)
                if partial.lower().endswith(".svg"):
                    from PySide6.QtCore import QRect, QSize
                    from PySide6.QtGui import QPainter
                    from PySide6.QtSvg import QSvgGenerator
                    gen = QSvgGenerator()
                    gen.setFileName(partial)
                    gen.setSize(QSize(view.width(), view.height()))
                    gen.setViewBox(QRect(0, 0, view.width(), view.height()))
                    gen.setTitle("Friction law")
                    painter = QPainter(gen)
                    view.render(painter)
                    painter.end()
                else:
                    exporter = ex.ImageExporter(plot)
                    exporter.parameters()["width"] = 1200
                    exporter.export(partial)
        except Exception as exc:  # a pyqtgraph or Qt failure on a user's file: say so, keep the studio
            self.report(f"{final}: could not export the plot ({exc})")
            return
        self.message.emit(f"plot saved to {final.name}")
        self.saved.emit(str(final))

    def _selected(self) -> list[Design]:
        entry = self.state.board.selected
        if entry is None or entry.design.friction_N is None:
            self.report("Nothing to export: select a design.", "warn")
            return []
        return [entry.design]

    def _write(self, path, what: str, fn, *args, remember: bool = False, **kwargs) -> None:
        path, t0 = str(path), time.perf_counter()

        def done(_):
            if remember:  # design files only: the recent-files menu opens what it lists
                self._remember(path)
            self.message.emit(f"wrote {what} to {Path(path).name} in {1000 * (time.perf_counter() - t0):.0f} ms")
            self.saved.emit(path)

        call_in_thread(fn, *args, on_result=done, on_error=self.report, **kwargs)

    # --- the session --------------------------------------------------------------------------
    def autosave(self) -> None:
        """Save the session (JSON, atomic) in a worker; a few kB, a few ms (see benchmarks/gui.py)."""
        from studio.io.session import save_session

        if self.session_path is None:
            return
        t0 = time.perf_counter()

        def done(path):
            self.last_autosave_s = time.perf_counter() - t0
            self.autosaved.emit(str(path))

        call_in_thread(save_session, self.session_path, self.state.to_session(), on_result=done, on_error=self.report)

    def restore_session(self, path) -> None:
        """Read a session in a worker (its designs re-simulated there) and restore it into the state."""
        path = Path(path)

        def read():
            from studio.io.session import load_session
            session = load_session(path)
            return session, [Design.evaluate(d.theta, d.N, d.seed, session.target, method=d.method, model=d.model,
                                             elapsed_s=d.elapsed_s, name=d.name, max_load_N=d.max_load_N)
                             for d in session.designs]

        def done(result):
            self.state.restore(*result)
            self.message.emit(f"restored session ({len(result[1])} designs)")

        call_in_thread(read, on_result=done, on_error=lambda m: self.report(f"{path}: cannot restore ({m})"))

    def close(self, mark_clean_exit: bool = True) -> None:
        """The window closes: save the autosave session (small JSON, a few ms), mark the exit clean,
        and autosave no more (a save after the clean-exit mark would look like a crash next time)."""
        from studio.io.session import autosave_path, mark_clean_exit as mark, save_session

        path, self.session_path = self.session_path, None
        if not mark_clean_exit or path is None or Path(path) != Path(autosave_path()):
            return
        try:
            save_session(path, self.state.to_session())
            mark()
        except (StudioError, OSError) as exc:
            self.report(f"could not save the session on exit: {exc}")

    # --- dialogs and recent files -------------------------------------------------------------
    def ask(self, title: str, filter_: str, default_name: str | None = None) -> str:
        """A file dialog (the only modal thing in the studio): an open dialog, or a save dialog with a default name."""
        folder = str(self.settings.value("files/last_dir", str(Path.home())))
        if default_name is None:
            path, _ = QFileDialog.getOpenFileName(self.parent_widget, title, folder, filter_)
        else:
            path, _ = QFileDialog.getSaveFileName(self.parent_widget, title, str(Path(folder) / default_name), filter_)
        return path

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        self.settings.setValue("files/recent", [path, *recent][:MAX_RECENT])
        self.settings.setValue("files/last_dir", str(Path(path).parent))
        self.rebuild_recent()

    def _recent(self) -> list[str]:
        recent = self.settings.value("files/recent", []) or []
        return [recent] if isinstance(recent, str) else list(recent)

    def rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for p in self._recent():
            read = self.open_design_file if p.lower().endswith((".h5", ".hdf5")) else self.import_csv
            self.recent_menu.addAction(p, lambda p=p, read=read: read(p))
        self.recent_menu.setEnabled(bool(self._recent()))
