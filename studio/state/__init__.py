"""studio.state — the studio's state, outside the widgets (no Qt).

    StudioState
      .target    TargetState  the sketch being edited, N, undo/redo       (target.py)
      .board     Board        designs on the board, pins, selection, live (board.py)
      .jobs      Jobs         every background job and its progress       (jobs.py)
      .settings  Settings     K, refinement method and budget, candidate seed
      .models    dict         the loaded models handed to the engines     (environment.py)
      .material  MaterialState  the user's material, validity, presets   (material.py)
      .auto_n    AutoNState   N: auto's proposal; .compare  Comparison   (choices.py)

Each object emits plain events (studio.state.events.Event) that the widgets observe;
widgets show the state and call its methods, nothing more (napari's models and Qt views).
The session file (studio.io.session) is made from this state and restored into it.
State is changed on one thread only, the GUI's.
"""
from __future__ import annotations

import numpy as np

from studio.design.core import Design
from studio.design.targets import TargetSketch
from studio.io.session import Session
from studio.state.board import CANDIDATE, LIVE, RESULT, Board, Entry  # noqa: F401
from studio.state.choices import AutoNState, Comparison
from studio.state.events import Event
from studio.state.jobs import Job, Jobs  # noqa: F401
from studio.state.material import MaterialState
from studio.state.target import TargetState

REFINE_METHODS = ("hybrid", "cmaes", "vae_cmaes")  # the engines a refinement job may use


class Settings:
    """The job settings the user chose; saved with the session."""

    def __init__(self, K: int = 16, method: str = "hybrid", refine_budget_s: float = 30.0, candidate_seed: int = 0):
        self.K, self.method, self.refine_budget_s, self.candidate_seed = K, method, refine_budget_s, candidate_seed
        self.changed = Event("settings changed; callbacks get this Settings and the names that changed")

    def set(self, **values) -> None:
        changed = []
        for name, value in values.items():
            if name not in ("K", "method", "refine_budget_s", "candidate_seed"):
                raise AttributeError(f"no setting named {name!r}")
            if name == "method" and value not in REFINE_METHODS:
                continue  # a session from a studio with other methods: keep ours
            if getattr(self, name) != value:
                setattr(self, name, value)
                changed.append(name)
        if changed:
            self.changed.emit(self, changed)

    def as_dict(self) -> dict:
        return {"K": int(self.K), "method": self.method, "refine_budget_s": float(self.refine_budget_s),
                "candidate_seed": int(self.candidate_seed)}


class StudioState:
    """Everything the studio is working on; the window and its workspaces are views of it."""

    def __init__(self, N: int = 64, K: int = 16, material_presets_path=None):
        self.target = TargetState(N)
        self.material = MaterialState(material_presets_path)
        self.board = Board()
        self.jobs = Jobs()
        self.settings = Settings(K=K)
        self.models: dict = {}  # e.g. {"generator": ..., "vae": ...}, loaded once (environment.py)
        self.auto_n = AutoNState(self.target)  # N: auto's latest proposal (choices.py)
        self.compare = Comparison()  # the designs side by side in the compare view (choices.py)
        # Every design on the board is scored against the current target; design jobs show on the board.
        self.target.changed.connect(lambda t: self.board.rescore(t.target))
        self.jobs.changed.connect(self.board.follow_job)
        self.jobs.ended.connect(self.board.job_ended)

    # --- session ---------------------------------------------------------------------------
    def to_session(self) -> Session:
        """The work as a studio.io Session: target, handles, designs, pins, selection, settings."""
        sketch, board = self.target.sketch, self.board
        kept = [e for e in board.entries if not e.live]
        return Session(
            target=self.target.target,
            handles=[] if sketch is None else [(float(p), float(f)) for p, f in
                                               zip(sketch.handle_load_N, sketch.handle_friction_N)],
            measured=[] if sketch is None or sketch.measured is None else
            [(float(p), float(f), bool(o)) for p, f, o in zip(*sketch.measured)],
            designs=[e.design for e in kept],
            pinned=[e.design.name for e in kept if e.pinned],
            selected=None if board.selected is None else board.selected.design.name,
            settings={**self.settings.as_dict(), "monotone": self.target.monotone, **self.material.as_settings()})

    def restore(self, session: Session, designs: list[Design] | None = None) -> None:
        """Bring a session back: settings, the target with its handles (one undo step), the designs.

        designs: the session's designs re-evaluated (asperities and law; they are stored as
        (θ, N, seed) only), computed by the caller off the GUI thread; default session.designs.
        """
        values = session.settings or {}
        self.settings.set(**{k: values[k] for k in ("K", "method", "refine_budget_s", "candidate_seed")
                             if k in values})
        self.material.restore(values)
        t = session.target
        if t is not None:
            sketch = TargetSketch.from_target(t, monotone=bool(values.get("monotone", True)),
                                              handle_load_N=[p for p, _ in session.handles] or None)
            if session.measured:
                sketch = sketch.with_measured(*np.array(session.measured, dtype=np.float64).T)
            self.target.edit(sketch, "Restore session", N=t.N)
        for design in session.designs if designs is None else designs:
            name = design.name  # before the board renames a design whose name another entry has
            entry = self.board.add(design, RESULT, select=name == session.selected)
            if name in session.pinned:
                self.board.set_pinned(entry, True)


__all__ = ["StudioState", "TargetState", "MaterialState", "Board", "Entry", "Jobs", "Job", "Settings", "Event",
           "REFINE_METHODS", "CANDIDATE", "RESULT", "LIVE", "AutoNState", "Comparison"]
