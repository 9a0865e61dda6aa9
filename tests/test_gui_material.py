"""The material panel (issue 21): what the user types there is what the candidates honour."""
from __future__ import annotations

import pytest
from studio.design.engines import ENGINES
from studio.design.core import Target
from studio.design.material import Material
from studio.physics import E_STAR_IDX, HERTZ_LIMIT, LOAD_GRID_N, TAU0_IDX
from studio.state.material import MaterialState
from test_gui import details_fn, slot_exceptions  # noqa: F401  (fixtures of test_gui's window)
from test_gui import window as studio_window  # noqa: F401

pytestmark = pytest.mark.gui


@pytest.fixture
def window(studio_window, tmp_path):
    """test_gui's window, with the real candidate engine (the stand-in ignores the material)."""
    studio_window.engines.table = {**studio_window.engines.table, "candidates": ENGINES["candidates"]}
    studio_window.state.material.presets_path = tmp_path / "materials.json"
    return studio_window


def candidates(w):
    return [e.design for e in w.state.board.entries if e.kind == "candidate"]


def test_the_material_panel_changes_what_candidates_are_produced(qtbot, window, tmp_path):
    w = window
    panel = w.design.material_panel
    with qtbot.waitSignal(w.candidates.shown, timeout=180_000):  # the real engine compiles on first use
        w.design.apply_preset("power law")
    before = candidates(w)
    assert before and len({round(d.theta[E_STAR_IDX], 6) for d in before}) > 1  # free: a design output

    panel.fields["E_star"].setText("2.5")
    assert panel.commit("E_star")  # as editingFinished does when the user leaves the field
    panel.fields["tau0"].setText("0.1:0.2")
    assert panel.commit("tau0")
    assert w.state.material.material == Material(E_star=(2.5, 2.5), tau0=(0.1, 0.2))  # the state, not the widget

    def honoured():
        after = candidates(w)
        return bool(after) and all(d.theta[E_STAR_IDX] == 2.5 and 0.1 <= d.theta[TAU0_IDX] <= 0.2 for d in after)

    qtbot.waitUntil(honoured, timeout=180_000)
    after = candidates(w)
    # validity is on by default: the first candidate is valid whenever any is
    if any(d.max_strain <= HERTZ_LIMIT for d in after):
        assert after[0].max_strain <= HERTZ_LIMIT
    w.grab().save(str(tmp_path / "material-panel.png"))


def test_bad_material_values_get_a_one_line_message_naming_the_field(qtbot, window):
    w, panel = window, window.design.material_panel
    reports = []
    panel.report = lambda message, kind="error": reports.append(message)
    panel.commit("E_star", "2.5")
    for text, words in (("-1", "negative"), ("nan", "not a finite number"), ("30", "outside the physics' box"),
                        ("6:3", "reversed")):
        assert not panel.commit("E_star", text)
        assert "\n" not in reports[-1] and "Material E*" in reports[-1] and words in reports[-1], reports[-1]
        assert w.state.material.material.E_star == (2.5, 2.5)  # nothing the user had is lost
        assert panel.fields["E_star"].text() == "2.5"


def test_presets_apply_and_a_saved_preset_survives_a_restart(qtbot, window, tmp_path):
    w, panel = window, window.design.material_panel
    name = next(iter(w.state.material.presets))
    panel.apply_preset(name)
    assert w.state.material.material == w.state.material.presets[name]
    assert panel.fields["E_star"].text() != ""
    panel.commit("B", "0.1:0.3")
    panel.save_preset("my PDMS batch 7")
    assert panel.preset_box.currentText() == "my PDMS batch 7"
    again = MaterialState(tmp_path / "materials.json")  # a later session
    assert again.presets["my PDMS batch 7"].B == (0.1, 0.3)
    assert again.presets["my PDMS batch 7"].E_star == w.state.material.presets[name].E_star
    panel.allow_invalid.setChecked(True)
    assert w.state.material.allow_invalid
    target = Target(0.1 + 0.3 * LOAD_GRID_N, 32)
    constrained = w.state.material.constrain(target)
    assert constrained.validity == "off" and constrained.material == w.state.material.material


def test_a_damaged_presets_file_is_reported_and_the_built_in_presets_stay(tmp_path):
    path = tmp_path / "materials.json"
    path.write_text("{not json")
    state = MaterialState(path)
    assert str(path) in state.load_problem and "\n" not in state.load_problem
    assert len(state.presets) >= 3
    assert path.read_text() == "{not json"  # never overwritten by reading
