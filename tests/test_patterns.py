"""Contact patterns (issue 19): labels on hand-built layouts, the dataset, the image, the shipped classifier."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from studio import cli
from studio.data.patterns import PatternParameters, generate_patterns, layout_plan, load_patterns
from studio.data.store import DataError
from studio.models.errors import ModelError
from studio.physics.contact import Interface
from studio.physics.theta import E_STAR_IDX
from studio.physics.patterns import (COALESCED, DOMINATED, INTERACTING, ISOLATED, PATTERNS, classify,
                                     solve_pattern, structural_image)

E_STAR = 5.0


def _hexagon(spacing_mm, rings=2):
    """Centres of a hexagonal patch of 1 + 3·rings·(rings + 1) caps."""
    cells = [(i, j) for i in range(-rings, rings + 1) for j in range(-rings, rings + 1) if abs(i + j) <= rings]
    x = np.array([spacing_mm * (i + j / 2) for i, j in cells])
    y = np.array([spacing_mm * j * np.sqrt(3) / 2 for i, j in cells])
    return x, y


def test_far_apart_caps_are_isolated():
    itf = Interface.of([0.3] * 3, [2.0] * 3, [0.0, 30.0, 0.0], [0.0, 0.0, 30.0], E_STAR)
    name, stats = solve_pattern(itf, 3.0)
    assert name == "isolated"
    assert abs(stats.area_change_percent) < 0.5 and stats.coalesced_load_share == 0


def test_two_touching_caps_coalesce():
    # 2 N each gives Hertz contacts of radius 0.84 mm: centres 1.5 mm apart make their patches meet.
    itf = Interface.of([0.3, 0.3], [2.0, 2.0], [-0.75, 0.75], [0.0, 0.0], E_STAR)
    name, stats = solve_pattern(itf, 4.0)
    assert name == "coalesced"
    assert stats.coalesced_load_share == pytest.approx(1.0)


def test_a_crowded_patch_of_caps_interacts_and_the_same_caps_far_apart_do_not():
    x, y = _hexagon(2.0)  # 19 caps, 2 N each: contact radius 0.84 mm, 0.32 mm of free surface between patches
    crowded, stats = solve_pattern(Interface.of([0.3] * x.size, [2.0] * x.size, x, y, E_STAR), 2.0 * x.size)
    assert crowded == "interacting"
    assert stats.area_change_percent < -4  # each contact pushes its neighbours down: less area at the load
    apart, stats = solve_pattern(Interface.of([0.3] * x.size, [2.0] * x.size, 4 * x, 4 * y, E_STAR), 2.0 * x.size)
    assert apart == "isolated" and abs(stats.area_change_percent) < 2


def test_one_tall_cap_dominates_at_a_small_load():
    itf = Interface.of([0.4, 0.3, 0.3], [2.0] * 3, [0.0, 8.0, 0.0], [0.0, 0.0, 8.0], E_STAR)
    name, stats = solve_pattern(itf, 1.0)
    assert name == "dominated" and stats.largest_load_share > 0.5


def test_classes_are_checked_in_their_order():
    change = np.array([0.5, -3.0, 5.0, 5.0, -0.1])
    merged = np.array([0.0, 0.0, 0.2, 0.0, 0.05])
    largest = np.array([0.2, 0.2, 0.9, 0.9, 0.5])  # exactly half is not "more than all the others"
    assert classify(change, merged, largest).tolist() == [ISOLATED, INTERACTING, COALESCED, DOMINATED, ISOLATED]


def test_layout_plan_is_deterministic_and_stratified():
    params = PatternParameters(seed=3, designs=10)
    rules, clearances, loads = layout_plan(params, 7)
    again = layout_plan(params, 7)
    assert rules == again[0] and clearances == again[1] and all(np.array_equal(a, b) for a, b in zip(loads, again[2]))
    assert all(0.025 <= c <= 3.2 for c in clearances)
    assert max(clearances) / min(clearances) > 1.5  # one clearance in each half of the log range
    for idx in loads:
        assert idx.size == params.loads_per_layout and np.all(np.diff(idx) > 0) and 0 <= idx[0] and idx[-1] < 128


def test_structural_image_turns_with_the_layout():
    x, y = _hexagon(2.0, rings=1)
    h = np.linspace(0.3, 0.36, x.size)
    channel = np.arange(x.size) % 4
    a = structural_image(h, [2.0] * x.size, x, y, channel, flat_lowest_mm=0.25)
    b = structural_image(h, [2.0] * x.size, -y, x, channel, flat_lowest_mm=0.25)  # a quarter turn
    assert a.pixels.shape == (4, 64, 64) and a.pixels.max() == pytest.approx(1.0, abs=0.05)
    assert a.view_mm == pytest.approx(b.view_mm)
    assert np.abs(np.rot90(a.pixels, 1, axes=(1, 2)) - b.pixels).mean() < 0.01
    assert set(np.flatnonzero(a.pixels.reshape(4, -1).max(axis=1) > 0)) == {0, 1, 2, 3}


def test_dataset_is_written_resumed_and_labelled(tmp_path):
    out = tmp_path / "patterns"
    options = dict(designs_per_shard=1, layouts_per_design=1, loads_per_layout=2)
    manifest = generate_patterns(str(out), designs=2, seed=4, workers=1, log=lambda s: None, **options)
    assert manifest["complete"] and len(manifest["shards"]) == 2
    data = load_patterns(str(out))
    assert data["layout_N"].size == 2 and data["sample_status"].size == 4
    solved = data["sample_status"] == 0  # a load whose grid is over the budget is kept with status 1, unlabelled
    assert solved.any() and set(data["sample_status"].tolist()) <= {0, 1, 2}
    assert np.all(np.isnan(data["sample_area_bem_mm2"][~solved]))
    n = int(data["layout_N"][0])
    assert np.all(np.isfinite(data["layout_x_mm"][0, :n])) and np.all(np.isnan(data["layout_x_mm"][0, n:]))
    # Loads carried by the BEM add up to each solved pair's load.
    assert np.allclose(data["sample_asperity_load_N"].sum(axis=1)[solved], data["sample_load_N"][solved], rtol=1e-4)
    shard = out / manifest["shards"][1]["name"]
    before = shard.read_bytes()
    shard.unlink()
    again = generate_patterns(str(out), designs=2, seed=4, workers=1, log=lambda s: None, **options)
    assert again["complete"]
    redone = load_patterns(str(out))
    for key in ("sample_area_bem_mm2", "sample_asperity_load_N", "layout_x_mm"):
        assert np.array_equal(redone[key], data[key], equal_nan=True)
    assert len(before) > 0
    assert load_patterns(str(out), shards=1)["layout_N"].size == 1  # a fixed part of a dataset being made
    with pytest.raises(DataError, match="shard-00002.h5 is not made yet"):
        load_patterns(str(out), shards=3)
    with pytest.raises(DataError, match="different dataset"):
        generate_patterns(str(out), designs=2, seed=5, workers=1, log=lambda s: None, **options)


# ------------------------------------------------------------------------------------- the shipped model

@pytest.fixture(scope="module")
def predictor():
    from studio.models.patterns import load_pattern_model

    return load_pattern_model()


def test_shipped_classifier_loads_and_predicts_every_load(predictor):
    from studio.data.sampling import sample_designs
    from studio.physics import LOAD_GRID_N, realize
    from studio.physics.layout import plan_layout

    theta, n, seeds = sample_designs(123, 0, 1)
    a = realize(theta[0].astype(np.float64), int(n[0]), int(seeds[0]))
    layout = plan_layout(a.height_mm, a.radius_mm, float(theta[0][E_STAR_IDX]))
    p = predictor.predict(a.height_mm, a.radius_mm, layout.x_mm, layout.y_mm, a.component, theta[0].astype(float),
                          layout.clearance_mm)
    assert p.pattern.shape == (LOAD_GRID_N.size,) and p.probability.shape == (LOAD_GRID_N.size, len(PATTERNS))
    assert np.allclose(p.probability.sum(axis=1), 1.0, atol=1e-5)
    assert p.name_at(0) in PATTERNS


def test_corrupt_model_file_is_refused_in_one_line(tmp_path):
    from studio.models.patterns import DEFAULT_PATTERNS, load_pattern_model

    for suffix in (".safetensors", ".card.json"):
        shutil.copy(str(DEFAULT_PATTERNS)[: -len(".safetensors")] + suffix, tmp_path / f"patterns{suffix}")
    weights = tmp_path / "patterns.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        load_pattern_model(weights)
    assert "\n" not in str(err.value) and "patterns.safetensors" in str(err.value)
    weights.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        load_pattern_model(weights)


def test_rotated_layouts_get_the_same_pattern(predictor):
    """A turned part is the same part: the predicted pattern at each load stays in ≥ 95 % of a sample."""
    from studio.data.patterns import lay_out
    from studio.data.sampling import sample_designs
    from studio.physics import realize

    theta, n, seeds = sample_designs(321, 0, 10)
    rng = np.random.default_rng(0)
    same, total = 0, 0
    for i in range(10):
        a = realize(theta[i].astype(np.float64), int(n[i]), int(seeds[i]))
        t = theta[i].astype(np.float64)
        clearance = float(np.exp(rng.uniform(np.log(0.025), np.log(3.2))))
        x, y, _ = lay_out(a.height_mm, a.radius_mm, float(t[E_STAR_IDX]), 0, clearance)
        angle = rng.uniform(0.2, 2 * np.pi - 0.2)
        c, s = np.cos(angle), np.sin(angle)
        p0 = predictor.predict(a.height_mm, a.radius_mm, x, y, a.component, t, clearance)
        p1 = predictor.predict(a.height_mm, a.radius_mm, c * x - s * y, s * x + c * y, a.component, t, clearance)
        same += int(np.sum(p0.pattern == p1.pattern))
        total += p0.pattern.size
    assert same / total >= 0.95


def test_evaluate_refuses_a_corrupt_pattern_model(tmp_path, capsys):
    from studio.models.patterns import DEFAULT_PATTERNS

    for suffix in (".safetensors", ".card.json"):
        shutil.copy(str(DEFAULT_PATTERNS)[: -len(".safetensors")] + suffix, tmp_path / f"patterns{suffix}")
    (tmp_path / "patterns.card.json").write_text("{not json")
    assert cli.main(["evaluate", "--model", str(tmp_path / "patterns.safetensors"), "--data", str(tmp_path)]) == 2
    assert "patterns" in capsys.readouterr().err


# ------------------------------------------------------------------------------------- cheap estimates

def test_interaction_estimate_is_zero_far_apart_and_negative_for_a_crowded_patch():
    from studio.physics.contact import independent_contacts
    from studio.physics.patterns import interaction_estimate

    x, y = _hexagon(2.0)
    h, R = np.full(x.size, 0.3), np.full(x.size, 2.0)
    load = [2.0 * x.size]
    for scale, crowded in ((1.0, True), (40.0, False)):
        d, P, _ = independent_contacts(Interface.of(h, R, scale * x, scale * y, E_STAR), load)
        change, share = interaction_estimate(scale * x, scale * y, R, E_STAR, h[None, :] - (h[0] - d[:, :1]), P)
        if crowded:  # the BEM says −4 % or more for this patch (test above); the hint sees the sign, weaker
            assert change[0] < -0.5
            assert share[0] > 1.1 / x.size  # the rim's caps are pushed down least: they take more of the load
        else:
            assert abs(change[0]) < 0.05 and share[0] == pytest.approx(1 / x.size, rel=0.02)


def test_for_two_equal_caps_the_estimate_is_the_shape_term_alone():
    """Equal caps push each other equally, which only shifts the flat: the load part changes no area, and
    what is left is each cap's sharpening by the other's curved push, R·P/(3π E* s³) of its area."""
    from studio.physics.contact import independent_contacts
    from studio.physics.patterns import interaction_estimate

    h, R = np.full(2, 0.3), np.full(2, 2.0)
    for s in (3.0, 5.0, 8.0):
        x, y = np.array([-s / 2, s / 2]), np.zeros(2)
        d, P, _ = independent_contacts(Interface.of(h, R, x, y, E_STAR), [4.0])
        gap = h[None, :] - (h[0] - d[:, :1])
        change, _ = interaction_estimate(x, y, R, E_STAR, gap, P)
        expected = -100.0 * 2.0 * 2.0 / (3 * np.pi * E_STAR * s ** 3)  # R = 2 mm, P = 2 N each
        assert change[0] == pytest.approx(expected, rel=1e-3, abs=1e-5)  # the rounds run in float32
        assert abs(interaction_estimate(x, y, R, E_STAR, gap, P, shape=False)[0][0]) < 1e-4


# ------------------------------------------------------------------------------------- the studio's strip

class _Always:
    """A predictor stand-in that predicts one pattern at every load (the strip's bookkeeping is under test)."""

    def __init__(self, name):
        self.index = PATTERNS.index(name)

    def predict(self, height_mm, radius_mm, x_mm, y_mm, component, theta, clearance_mm, rule=0, loads_N=None):
        from studio.models.patterns import PatternPrediction

        loads = np.asarray(loads_N, dtype=np.float64)
        p = np.zeros((loads.size, len(PATTERNS)))
        p[:, self.index] = 1.0
        self.seen = dict(height_mm=np.asarray(height_mm), x_mm=np.asarray(x_mm), clearance_mm=clearance_mm,
                         loads_N=loads)
        return PatternPrediction(loads, np.full(loads.size, self.index), p)


def _validated_small_design():
    from studio.design.core import Design
    from studio.design.validation import check_design
    from studio.jobs import drive
    from studio.physics import from_unit

    theta = from_unit(np.array([0.9, 0.8, 0.1, 0.6, 0.1] + [0.1, 0.2, 0.1, 0.5, 0.1] * 3 + [0.6, 0.5, 0.4]))
    design = Design.evaluate(theta, 16, 3, name="small", method="test")
    report = drive(check_design(design, loads=2))
    design.layout, design.validation = report.layout, report.validation
    return design


@pytest.fixture(scope="module")
def validated_design():
    return _validated_small_design()


def test_a_stored_bem_result_is_shown_where_the_model_disagrees(validated_design):
    from studio.design.patterns import bem_patterns, pattern_strip

    design = validated_design
    bem_loads, bem = bem_patterns(design.validation)
    other = next(p for p in PATTERNS if PATTERNS.index(p) not in set(bem.tolist()))
    strip = pattern_strip(design, _Always(other))
    assert strip.loads_N.size == 128 and strip.from_bem.sum() == bem_loads.size == 2
    k = np.flatnonzero(strip.from_bem)
    np.testing.assert_allclose(strip.loads_N[k], bem_loads, rtol=0.03)  # the grid loads nearest the BEM's
    assert strip.shown[k].tolist() == bem.tolist() and np.all(strip.shown[~strip.from_bem] == PATTERNS.index(other))
    assert len(strip.disagreements) == 2
    assert "stored BEM result" in strip.describe(k[0]) and f"predicts {other}" in strip.describe(k[0])
    assert "(predicted, 100 %)" in strip.describe(0)
    agreeing = pattern_strip(design, _Always(PATTERNS[int(bem[-1])]))
    assert "the model agrees" in agreeing.describe(k[-1])


def test_a_design_on_another_load_range_is_predicted_on_the_canonical_one(validated_design):
    from dataclasses import replace

    from studio.design.load_range import at_load_range
    from studio.design.patterns import pattern_strip

    design = replace(validated_design, validation=None)
    small, big = _Always("isolated"), _Always("isolated")
    pattern_strip(design, small)
    pattern_strip(at_load_range(design, 250.0), big)
    np.testing.assert_allclose(big.seen["loads_N"], small.seen["loads_N"], rtol=1e-9)
    np.testing.assert_allclose(big.seen["height_mm"], small.seen["height_mm"], rtol=1e-9)
    np.testing.assert_allclose(big.seen["x_mm"], small.seen["x_mm"], rtol=1e-9, atol=1e-12)
    assert big.seen["clearance_mm"] == pytest.approx(small.seen["clearance_mm"])


def _toy_table(m_layouts=24, loads=4, seed=0):
    """A small table whose class boundary is an area change of ±2 % that the metadata's first column carries."""
    from studio.models.patterns import META_NAMES
    from studio.models.patterns_training import PatternTable

    rng = np.random.default_rng(seed)
    m = m_layouts * loads
    change = rng.uniform(-6, 6, m)
    meta = rng.normal(size=(m, len(META_NAMES))).astype(np.float32)
    meta[:, 0] = change
    label = np.where(np.abs(change) > 2.0, INTERACTING, ISOLATED).astype(np.int64)
    return PatternTable(images=rng.random((m_layouts, 2, 4, 64, 64), dtype=np.float32), meta=meta, label=label,
                        layout=np.repeat(np.arange(m_layouts), loads), load_N=np.ones(m),
                        area_change_percent=change, design=np.arange(m_layouts), clearance_mm=np.ones(m_layouts),
                        rule=np.zeros(m_layouts, dtype=np.int64), source={})


def test_the_area_head_learns_the_area_change_and_round_trips(tmp_path):
    import torch

    from studio.models.patterns import PatternConfig, load_pattern_network
    from studio.models.patterns_training import train_classifier
    from studio.models.store import save_model

    table = _toy_table()
    m = table.label.size
    split = {"train": np.arange(0, m - 16), "validation": np.arange(m - 16, m), "test": np.arange(m - 16, m)}
    plain, info = train_classifier(table, split, epochs=2, area_weight=0.0, log=lambda s: None)
    assert not plain.config.area_head and info["area_weight"] == 0.0
    assert plain.logits_and_area(torch.from_numpy(table.images[:2, 0]), torch.from_numpy(table.meta[:8]).view(2, 4, -1))[1] is None
    model, info = train_classifier(table, split, epochs=40, area_weight=1.0, log=lambda s: None)
    assert model.config.area_head and info["area_weight"] == 1.0
    with torch.no_grad():
        logits, area = model.logits_and_area(torch.from_numpy(table.images[:, 0]),
                                             torch.from_numpy(table.meta).view(table.images.shape[0], 4, -1))
    assert logits.shape == (24, 4, len(PATTERNS)) and area.shape == (24, 4)
    target = np.clip(table.area_change_percent / 2.0, -5, 5).reshape(24, 4)
    assert np.corrcoef(area.numpy().ravel(), target.ravel())[0, 1] > 0.8  # it learned the number, not noise
    save_model(model, tmp_path / "toy", {"data": {}})
    again, card = load_pattern_network(tmp_path / "toy.safetensors")
    assert card["config"]["area_head"] is True
    with torch.no_grad():
        assert torch.allclose(again(torch.from_numpy(table.images[:2, 0]), torch.from_numpy(table.meta[:8]).view(2, 4, -1)),
                              logits[:2])
    # Files written before the area head (no such key in their config) build the network they were written with.
    old = PatternConfig(kind="patterns").to_dict()
    del old["area_head"]
    assert PatternConfig.from_dict(old).area_head is False
