"""The Design workspace's contact-pattern strip, offscreen (pytest-qt): computed in a worker, kept per design,
the slider's load described, a stored BEM result shown where it disagrees with the model."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from studio.gui.pattern_strip import PATTERN_COLORS, PatternStrips
from studio.physics.patterns import PATTERNS
from test_gui import details_fn, slot_exceptions, window  # noqa: F401  (fixtures)
from test_patterns import _Always, _validated_small_design

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def validated_design():
    return _validated_small_design()


def test_the_inspector_shows_the_pattern_at_the_slider_load_and_a_stored_bem_result_that_disagrees(
        qtbot, window, validated_design, monkeypatch):
    import studio.design.patterns as patterns

    w = window
    design = validated_design
    _, bem = patterns.bem_patterns(design.validation)
    other = next(p for p in PATTERNS if PATTERNS.index(p) not in set(bem.tolist()))
    strips: PatternStrips = w.design.patterns
    strips.predictor_fn = lambda: _Always(other)
    calls = []
    real = patterns.pattern_strip
    monkeypatch.setattr(patterns, "pattern_strip", lambda *a, **k: calls.append(1) or real(*a, **k))
    view = w.design.inspector.pattern_view
    entry = w.state.board.add(design, select=True)
    qtbot.waitUntil(lambda: view.strip is not None, timeout=30_000)
    assert len(calls) == 1 and strips.strip_of(design) is view.strip
    k = int(np.flatnonzero(view.strip.from_bem)[-1])
    w.design.inspector.load_slider.setValue(k)
    assert "stored BEM result" in view.line.text() and f"the model predicts {other} and disagrees" in view.line.text()
    assert "disagrees with the stored BEM result at 2 of its loads" in view.line.text()
    w.design.inspector.load_slider.setValue(0)
    assert view.line.text().startswith(f"Contact at {view.strip.loads_N[0]:.3g} N: {other} (predicted")
    # The strip draws one cell per grid load in its pattern's colour (and the slider's load marked).
    image = view.bar.grab().toImage()
    cell = image.width() / 128
    i = next(i for i in range(10, 128) if not view.strip.from_bem[i])  # away from the marker at load 0
    assert image.pixelColor(int((i + 0.5) * cell), image.height() // 2).name() == PATTERN_COLORS[other].lower()
    assert image.pixelColor(int(0.5 * cell), image.height() // 2).name() == "#000000"  # the slider's load
    # Another design and back: the kept strip is shown at once, not computed again.
    w.state.board.select(None)
    assert view.strip is None
    w.state.board.select(entry)
    assert view.strip is strips.strip_of(design) and len(calls) == 1


def test_a_missing_model_is_said_in_the_strip_line(qtbot, window, validated_design):
    from studio.models.errors import ModelError

    w = window
    strips = w.design.patterns

    def missing():
        raise ModelError("models/patterns.safetensors: weights file not found")

    strips.predictor_fn = missing
    w.state.board.add(replace(validated_design), select=True)  # a design of its own: none is kept for it
    view = w.design.inspector.pattern_view
    qtbot.waitUntil(lambda: "not available" in view.line.text(), timeout=30_000)
    assert "weights file not found" in view.line.text() and view.strip is None


def test_the_validation_tab_shows_the_same_strip_at_the_validated_load(qtbot, window, validated_design):
    from studio.gui.validation import ValidationWorkspace

    w = window
    design = replace(validated_design)
    bem_loads = design.validation.loads_N
    for strips in (w.design.patterns, next(p for p in w.workspaces if isinstance(p, ValidationWorkspace)).patterns):
        strips.predictor_fn = lambda: _Always("isolated")
    w.state.board.add(design, select=True)
    page = next(p for p in w.workspaces if isinstance(p, ValidationWorkspace))
    w.tabs.setCurrentWidget(page)
    qtbot.waitUntil(lambda: page.pattern_view.strip is not None, timeout=30_000)
    assert page.pattern_view.strip is w.design.inspector.pattern_view.strip  # computed once for both tabs
    page.load_slider.setValue(0)
    assert page.pattern_view.line.text().startswith(f"Contact at {bem_loads[0]:.3g} N")
    assert "stored BEM result" in page.pattern_view.line.text()


def test_the_design_tab_shows_a_validation_run_in_the_validation_tab_when_it_comes_back(qtbot, window,
                                                                                        validated_design):
    from studio.gui.validation import ValidationWorkspace

    w = window
    design = replace(validated_design, validation=None)
    page = next(p for p in w.workspaces if isinstance(p, ValidationWorkspace))
    for strips in (w.design.patterns, page.patterns):
        strips.predictor_fn = lambda: _Always("isolated")
    w.state.board.add(design, select=True)
    view = w.design.inspector.pattern_view
    qtbot.waitUntil(lambda: view.strip is not None, timeout=30_000)
    assert not view.strip.from_bem.any()
    w.tabs.setCurrentWidget(page)
    design.validation = validated_design.validation  # as "Validate (BEM)" leaves it (same layout)
    w.tabs.setCurrentWidget(w.design)
    qtbot.waitUntil(lambda: view.strip is not None and view.strip.from_bem.sum() == 2, timeout=30_000)
