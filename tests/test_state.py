"""The studio's state without Qt (studio.state): target history, the board, jobs, sessions."""
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from studio.design.core import Design, Progress
from studio.design.targets import TargetSketch, preset_sketch
from studio.io.session import load_session, save_session
from studio.physics import LOAD_GRID_N, from_unit
from studio.state import LIVE, RESULT, Job, StudioState


def designs(target, n=4, seed=0, method="candidates"):
    rng = np.random.default_rng(seed)
    return Design.evaluate_many([from_unit(rng.random(23)) for _ in range(n)], target.N, list(range(n)), target,
                                method=method)


def recorder(event):
    seen = []
    event.connect(lambda *args: seen.append(args))
    return seen


def test_the_state_imports_no_qt():
    code = "import sys, studio.state, studio.state.environment; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_target_edits_and_n_are_undone_and_redone_in_order():
    state = StudioState(N=64)
    changed = recorder(state.target.changed)
    a, b = preset_sketch("linear"), preset_sketch("power law")
    state.target.edit(a, "Preset linear")
    state.target.set_N(40)
    state.target.set_N(48)                      # merges with the previous N step
    state.target.edit(b, "Preset power law")
    assert len(changed) == 4 and state.target.target.N == 48
    assert state.target.undo_text == "Preset power law"
    state.target.undo()
    assert state.target.sketch is a and state.target.N == 48 and state.target.undo_text == "N = 48"
    state.target.undo()
    assert state.target.sketch is a and state.target.N == 64   # both N changes were one step
    state.target.redo()
    assert state.target.N == 48 and state.target.redo_text == "Preset power law"
    state.target.edit(preset_sketch("bilinear"))
    assert not state.target.can_redo                             # a new edit drops what was undone
    np.testing.assert_array_equal(state.target.target_for(20).friction_N, state.target.target.friction_N)
    assert state.target.target_for(20).N == 20


def test_non_decreasing_lives_in_the_sketch_and_is_an_undo_step():
    state = StudioState()
    assert state.target.monotone                 # new strokes are non-decreasing by default
    p = np.linspace(1, 9, 30)
    from studio.design.targets import stroke_to_sketch
    state.target.edit(stroke_to_sketch(p, 2 - 0.1 * p, monotone=False))
    assert not state.target.monotone and np.any(np.diff(state.target.target.friction_N) < 0)
    state.target.set_monotone(True)
    assert state.target.monotone and np.all(np.diff(state.target.target.friction_N) >= 0)
    state.target.undo()
    assert not state.target.monotone


def test_a_law_that_cannot_be_a_target_is_refused_with_the_reason():
    state = StudioState()
    state.target.edit(TargetSketch.from_law(-np.ones(128)))
    assert state.target.target is None and "positive" in state.target.error
    state.target.undo()
    assert state.target.sketch is None and state.target.error == ""


def test_new_candidates_replace_the_old_but_not_pins_results_or_live_ones():
    state = StudioState()
    state.target.edit(preset_sketch("power law"))
    board, t = state.board, state.target.target
    pins = recorder(board.pins_changed)
    first = designs(t, 4, seed=1)
    board.replace_candidates(first)
    assert [e.design for e in board.entries] == sorted(first, key=lambda d: d.error_percent)
    assert board.selected is board.entries[0]
    assert len({e.design.name for e in board.entries}) == 4      # every design has its own name
    kept = board.entries[2]
    board.set_pinned(kept, True)
    result = board.add(designs(t, 1, seed=9, method="hybrid")[0])
    second = designs(t, 4, seed=2)
    board.replace_candidates(second)
    assert kept in board.entries and result in board.entries and len(board.entries) == 6
    assert pins == [([kept.design],)] and board.pinned() == [kept.design]
    assert board.selected is board.entries[0] and board.chosen is None  # no card clicked: the best is selected
    errors = [e.design.error_percent for e in board.entries]
    assert errors == sorted(errors)


def test_new_candidates_select_the_best_unless_the_users_pick_is_still_on_the_board():
    """Issue 22: a clicked card's row used to keep the selection when new candidates refilled it, so ▶
    refined a weaker design. The best is selected, except when the card the user clicked is still shown."""
    state = StudioState()
    state.target.edit(preset_sketch("power law"))
    board, t = state.board, state.target.target
    board.replace_candidates(designs(t, 4, seed=1))
    clicked = board.entries[2]
    board.choose(clicked)
    board.replace_candidates(designs(t, 4, seed=2))             # the clicked row now holds another design
    assert board.selected is board.best() and board.selected.design.error_percent == min(
        e.design.error_percent for e in board.entries)
    pinned = board.entries[3]
    board.set_pinned(pinned, True)
    board.choose(pinned)
    board.replace_candidates(designs(t, 4, seed=3))             # the pinned card stays, and so does the pick
    assert board.selected is pinned and board.chosen is pinned
    board.set_pinned(pinned, False)
    board.replace_candidates(designs(t, 4, seed=4))             # unpinned: it is a candidate like the rest
    assert board.selected is board.best()


def test_a_new_target_rescores_every_design_on_the_board():
    state = StudioState()
    state.target.edit(preset_sketch("power law"))
    state.board.replace_candidates(designs(state.target.target, 4))
    state.target.edit(preset_sketch("linear", mu=0.5))
    for e in state.board.entries:
        assert e.design.error_percent == pytest.approx(state.target.target.error(e.design.friction_N))
    errors = [e.design.error_percent for e in state.board.entries]
    assert errors == sorted(errors)


def test_a_design_job_shows_live_then_leaves_its_result():
    state = StudioState()
    state.target.edit(preset_sketch("power law"))
    t = state.target.target
    ds = designs(t, 3, seed=4, method="cmaes")
    job = state.jobs.add(Job("cmaes #1", "cmaes", target=t))
    for i, d in enumerate(ds[::-1]):
        d.error_percent = None                         # the job's target scores what the engine did not
        state.jobs.report(job, Progress(i + 1, 16 * (i + 1), 1.0, d, 0.1 * (i + 1), (i + 1) / 3))
    assert state.board.entries == []                   # reports are published by flush, ~10 times a second
    assert state.jobs.flush() is True
    live = state.board.entries[0]
    assert live.kind == LIVE and live.job is job and live.design is ds[0]
    assert live.design.error_percent == pytest.approx(t.error(ds[0].friction_N))
    state.jobs.end(job, "finished", result=ds)
    assert [e.kind for e in state.board.entries] == [RESULT] and state.board.selected.design is ds[0]
    assert job.best is ds[0] and not job.active and state.jobs.flush() is False

    stopped = state.jobs.add(Job("cmaes #2", "cmaes", target=t))
    state.jobs.report(stopped, Progress(1, 16, 1.0, ds[1], 0.1, 0.1))
    state.jobs.flush()
    state.jobs.cancel(stopped)
    assert stopped.control.cancelled
    state.jobs.end(stopped, "cancelled")
    state.jobs.end(stopped, "finished", result=[])     # ignored: a job ends once
    kept = [e for e in state.board.entries if e.design is ds[1]]
    assert stopped.state == "cancelled" and len(kept) == 1 and kept[0].kind == RESULT and kept[0].job is None


def test_pause_and_resume_reach_the_jobs_control():
    state = StudioState()
    job = state.jobs.add(Job("fit", "RSF fit"))
    changes = recorder(state.jobs.changed)
    state.jobs.toggle_pause(job)
    assert job.state == "paused" and job.control.paused
    state.jobs.toggle_pause(job)
    assert job.state == "running" and not job.control.paused and len(changes) == 2
    state.jobs.report(job, SimpleNamespace(fraction=0.5))     # any progress object with a fraction
    state.jobs.flush()
    assert len(changes) == 3 and state.board.entries == []    # no design: nothing on the board


def test_a_session_is_saved_from_the_state_and_restored_into_it(tmp_path):
    state = StudioState(N=32)
    p = np.array([1.0, 2.0, 4.0, 7.0])
    from studio.design.targets import stroke_to_sketch
    sketch = stroke_to_sketch(p, 0.2 * p ** 0.8, smooth=False, handles=4, monotone=False)
    sketch = sketch.with_handle(1, sketch.handle_friction_N[1] * 1.1)
    state.target.edit(sketch)
    state.board.replace_candidates(designs(state.target.target, 3))
    state.board.set_pinned(state.board.entries[1], True)
    state.board.select(state.board.entries[2])
    state.settings.set(K=5, method="cmaes", refine_budget_s=12.0, candidate_seed=3)
    path = save_session(tmp_path / "s.json", state.to_session())

    other = StudioState()
    other.board.add(designs(other.target.target or state.target.target, 1, seed=8)[0])  # already on the board
    other.restore(load_session(path))
    s = other.target.sketch
    np.testing.assert_array_equal(s.law_N, sketch.law_N)
    np.testing.assert_array_equal(s.mask, sketch.mask)
    np.testing.assert_array_equal(s.handle_load_N, sketch.handle_load_N)
    np.testing.assert_allclose(s.handle_friction_N, sketch.handle_friction_N, rtol=1e-12)
    assert not s.monotone and other.target.N == 32 and other.target.undo_text == "Restore session"
    assert len(other.board.entries) == 4 and all(e.kind == RESULT for e in other.board.entries)
    assert len({e.design.name for e in other.board.entries}) == 4          # a clashing name was changed
    pinned, selected = other.board.pinned(), other.board.selected.design
    assert len(pinned) == 1
    np.testing.assert_array_equal(pinned[0].theta, state.board.entries[1].design.theta)
    np.testing.assert_array_equal(selected.theta, state.board.entries[2].design.theta)
    assert other.settings.as_dict() == {"K": 5, "method": "cmaes", "refine_budget_s": 12.0, "candidate_seed": 3}
    assert LOAD_GRID_N.size == s.law_N.size
