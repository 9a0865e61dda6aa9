"""The Map workspace (pytest-qt, offscreen): the map is made in the background when the tab is shown,
the board's designs and the target's inverse solutions are marked, and a click decodes the nearest
design onto the board, selected, so the inspector shows it. The small Janus model of conftest stands in."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from studio.state import RESULT
from test_gui import details_fn, slot_exceptions, window  # noqa: F401  (fixtures)
from test_gui_helpers import mouse_click

pg.setConfigOptions(mouseRateLimit=-1)
pytestmark = pytest.mark.gui


@pytest.fixture
def map_window(window, tmp_path, monkeypatch, janus_model):  # noqa: F811
    """test_gui's window (stand-in engines, closed with its jobs joined) with the small Janus model."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the map's cache, this test's own
    window.state.models["janus"] = janus_model
    return window


def set_target(qtbot, w, name="power law"):
    with qtbot.waitSignal(w.candidates.shown, timeout=120_000):  # the first exact simulation compiles (load)
        w.design.apply_preset(name)


def map_of(w):
    return next(ws for ws in w.workspaces if ws.title == "Map")


def shown_map(qtbot, w, samples: int = 300):
    """Set a target, show the Map tab with a small map and wait for the map."""
    set_target(qtbot, w)
    m = map_of(w)
    m.samples_spin.setValue(samples)
    w.tabs.setCurrentWidget(m)
    qtbot.waitUntil(lambda: m.design_map is not None, timeout=120_000)
    return m


def test_map_is_made_in_the_background_and_marks_the_board_and_the_inverse_solutions(qtbot, map_window):
    w = map_window
    set_target(qtbot, w)
    m = map_of(w)
    m.samples_spin.setValue(300)
    assert m.design_map is None and not w.state.jobs.items     # nothing computed before the tab is shown
    w.tabs.setCurrentWidget(m)
    job = w.state.jobs.items[0]
    assert job.kind == "map" and "Design map" in job.name       # a job of the shared table
    qtbot.waitUntil(lambda: m.design_map is not None, timeout=120_000)
    assert len(m.points.data) == 300 and len(m.design_map) == 300
    assert len(m.board_marks.data) == len(w.state.board.entries) == 4
    qtbot.waitUntil(lambda: len(m.inverse_marks.data) == 16, timeout=60_000)
    before = [b.color().name() for b in m.points.data["brush"][:20]]
    m.property_combo.setCurrentIndex(m.property_combo.findData("exponent"))
    assert [b.color().name() for b in m.points.data["brush"][:20]] != before and "exponent" in m.legend.text()


def test_clicking_a_point_decodes_its_design_into_the_inspector(qtbot, map_window, janus_model):
    w = map_window
    m = shown_map(qtbot, w)
    dm = m.design_map
    m.plot.autoRange()
    far = int(np.argmax(np.linalg.norm(dm.xy - dm.xy.mean(0), axis=1)))  # a point clear of the crowd
    count = len(w.state.board.entries)
    mouse_click(m.plot_widget, *dm.xy[far])
    qtbot.waitUntil(lambda: len(w.state.board.entries) == count + 1, timeout=120_000)
    entry = w.state.board.selected
    assert entry.kind == RESULT and entry.design.method == "map"
    n = int(dm.N[far])
    np.testing.assert_allclose(entry.design.theta, janus_model.decode(dm.codes[far][None], n)[0])
    assert entry.design.N == n and entry.design.seed == int(dm.seeds[far])
    assert w.design.inspector.design is entry.design                # the inspector shows the decoded design
    np.testing.assert_allclose(m.selected_mark.data["x"], [dm.place(janus_model.encode(entry.design.theta[None],
                                                                                     n))[0][0]], atol=1e-9)


def test_a_property_sweep_draws_its_path_and_laws_and_a_step_goes_on_the_board(qtbot, map_window, janus_model):
    w = map_window
    m = shown_map(qtbot, w)
    mu = m.design_map.property("mu", load_N=5.0)
    lo, hi = np.percentile(mu, [30, 70])  # values the small model reaches
    m.sweep_from.setValue(lo)
    m.sweep_to.setValue(hi)
    m.sweep_count.setValue(4)
    job = m.start_sweep()
    assert job.kind == "sweep" and f"N {w.state.target.N}" in job.name
    qtbot.waitUntil(lambda: job.state == "finished", timeout=120_000)
    steps = job.result
    assert len(steps) == 4 and all(s.N == w.state.target.N for s in steps)
    np.testing.assert_allclose(np.column_stack(m.sweep_path.getData()), m.design_map.place([s.z for s in steps]))
    shown = [c for c in m.law_curves if c.isVisible()]
    assert len(shown) == 4
    np.testing.assert_array_equal(shown[2].getData()[1], steps[2].law_N)
    assert "Spearman" in m.status.text()
    count = len(w.state.board.entries)
    m.plot.autoRange()
    x, y = m.sweep_path.getData()
    mouse_click(m.plot_widget, x[1], y[1])                     # a step of the path, not the map point under it
    qtbot.waitUntil(lambda: len(w.state.board.entries) == count + 1, timeout=120_000)
    design = w.state.board.selected.design
    hit = [s for s in steps if np.array_equal(s.theta, design.theta)]  # the step clicked (neighbours may overlap)
    assert hit and design.seed == hit[0].seed and design.name.startswith("sweep μ")
    np.testing.assert_allclose(design.friction_N, hit[0].law_N, rtol=1e-12)
    assert not any(j.name.startswith("Map point") for j in w.state.jobs.items)
