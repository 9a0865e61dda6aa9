"""The design map (studio/design/map.py): a job that encodes, projects and caches; properties; placing and
decoding points. The small untrained Janus model of conftest stands in for the shipped one."""
import threading

import numpy as np
import pytest

from studio.design.core import Target
from studio.design.map import (DesignMap, MapError, MapRequest, design_at, design_property, inverse_solutions_job,
                               map_job, place_designs, power_law_exponent, read_map)
from studio.jobs import Cancelled, JobControl, drive
from studio.physics import LOAD_GRID_N, simulate


def _make(janus_model, tmp_path, **kw):
    seen = []
    design_map = drive(map_job(MapRequest(samples=kw.pop("samples", 200), **kw), janus_model, cache_dir=tmp_path),
                       on_progress=seen.append)
    return design_map, seen


def test_map_job_encodes_projects_and_reports_progress(janus_model, tmp_path):
    design_map, seen = _make(janus_model, tmp_path)
    assert len(design_map) == 200 and design_map.xy.shape == (200, 2) and design_map.codes.shape == (200, 4)
    np.testing.assert_allclose(design_map.codes, janus_model.encode(design_map.theta, design_map.N), atol=1e-6)
    assert design_map.law_source == "predicted by the Janus head"  # no dataset folder given
    np.testing.assert_allclose(design_map.laws_N, janus_model.predict_law(design_map.codes, design_map.N), rtol=1e-6)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and "ready" in seen[-1].message
    # PCA: the map is the codes on the two leading axes, and a new code lands where its sample point is
    np.testing.assert_allclose(design_map.place(design_map.codes[:5]), design_map.xy[:5], atol=1e-9)
    assert np.var(design_map.xy[:, 0]) >= np.var(design_map.xy[:, 1])


def test_second_request_is_read_from_the_cache_and_a_damaged_cache_is_remade(janus_model, tmp_path):
    first, _ = _make(janus_model, tmp_path)
    files = list(tmp_path.glob("map-*.npz"))
    assert len(files) == 1
    again, seen = _make(janus_model, tmp_path)
    assert len(seen) == 1 and "from the cache" in seen[0].message
    np.testing.assert_array_equal(again.xy, first.xy)
    np.testing.assert_array_equal(again.seeds, first.seeds)
    other, _ = _make(janus_model, tmp_path, samples=150)  # another request: another file
    assert len(list(tmp_path.glob("map-*.npz"))) == 2 and len(other) == 150
    files[0].write_bytes(b"not a map")
    assert read_map(files[0]) is None
    remade, seen = _make(janus_model, tmp_path)
    assert "ready" in seen[-1].message
    np.testing.assert_allclose(remade.xy, first.xy)


def test_map_job_can_be_cancelled_between_steps(janus_model, tmp_path):
    control = JobControl()
    job = map_job(MapRequest(samples=3000), janus_model, cache_dir=tmp_path, control=control)
    first = next(job)
    assert first.fraction == 0.0
    control.cancel()
    with pytest.raises(Cancelled):
        drive(job, control)
    assert not list(tmp_path.glob("map-*.npz"))  # nothing half-made is cached


def test_map_job_paused_waits(janus_model, tmp_path):
    control = JobControl()
    seen = []
    control.pause()
    th = threading.Thread(target=lambda: drive(map_job(MapRequest(samples=100), janus_model, cache_dir=tmp_path,
                                                       control=control), control, seen.append))
    th.start()
    th.join(timeout=0.5)
    assert th.is_alive() and not seen
    control.resume()
    th.join(timeout=60)
    assert not th.is_alive() and seen[-1].fraction == 1.0


def test_properties_are_what_their_names_say():
    loads = LOAD_GRID_N
    laws = np.stack([0.4 * loads, 0.3 * loads ** 0.7, 2.0 * loads ** 1.2])
    np.testing.assert_allclose(power_law_exponent(laws), [1.0, 0.7, 1.2], atol=1e-12)
    np.testing.assert_allclose(design_property("mu", laws, [16, 32, 64], load_N=5.0),
                               [0.4, 0.3 * 5.0 ** -0.3, 2.0 * 5.0 ** 0.2])
    np.testing.assert_array_equal(design_property("N", laws, [16, 32, 64]), [16.0, 32.0, 64.0])
    with pytest.raises(MapError, match="unknown map property 'colour'"):
        design_property("colour", laws, [16, 32, 64])
    with pytest.raises(Exception, match="not on the load grid"):
        design_property("mu", laws, [16, 32, 64], load_N=5.01)


def test_a_clicked_point_decodes_to_an_exactly_simulated_design(janus_model, tmp_path):
    design_map, _ = _make(janus_model, tmp_path)
    i = design_map.nearest(*design_map.xy[17])
    assert i == 17
    n = int(design_map.N[i])
    theta = janus_model.decode(design_map.codes[i][None], n)[0]
    target = Target(simulate(theta, n, 3) * 1.05, n, source="test")
    design = design_at(design_map, i, janus_model, target)
    np.testing.assert_allclose(design.theta, theta)
    assert design.N == n and design.seed == int(design_map.seeds[i]) and design.model == "janus-tiny"
    np.testing.assert_allclose(design.friction_N, simulate(theta, n, design.seed), rtol=1e-12)
    assert design.error_percent == pytest.approx(target.error(design.friction_N))
    other_n = Target(target.friction_N, 16 if n != 16 else 17, source="test")
    assert design_at(design_map, i, janus_model, other_n).error_percent is None  # another N: unscored


def test_a_map_request_is_checked(janus_model, tmp_path):
    with pytest.raises(MapError, match="unknown map method 'tsne'"):
        next(map_job(MapRequest(method="tsne"), janus_model, cache_dir=tmp_path))
    with pytest.raises(MapError, match="at least 16"):
        next(map_job(MapRequest(samples=3), janus_model, cache_dir=tmp_path))
    with pytest.raises(MapError, match="not a dataset folder"):
        next(map_job(MapRequest(data_dir=str(tmp_path / "nowhere")), janus_model, cache_dir=tmp_path))


def test_umap_places_new_codes_among_their_neighbours():
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((50, 3))
    xy = codes[:, :2] * 10.0  # any embedding will do: placing only looks up neighbours
    m = DesignMap(xy=xy, codes=codes, theta=np.zeros((50, 23)), N=np.full(50, 32), seeds=np.zeros(50, int),
                  laws_N=np.ones((50, 128)), method="umap", law_source="")
    np.testing.assert_allclose(m.place(codes[:3]), xy[:3], atol=1e-6)  # a sample code sits on its own point



def test_board_designs_and_inverse_solutions_are_placed_on_the_map(janus_model, tmp_path):
    design_map, _ = _make(janus_model, tmp_path)
    picks = [3, 40, 41, 7]
    designs = [design_at(design_map, i, janus_model) for i in picks]
    assert len({d.N for d in designs}) > 1  # several N: the designs are encoded per N
    xy = place_designs(design_map, janus_model, designs)
    for d, row in zip(designs, xy):
        np.testing.assert_allclose(row, design_map.place(janus_model.encode(d.theta[None], d.N))[0], atol=1e-9)
    n = int(design_map.N[5])
    target = Target(janus_model.predict_law(design_map.codes[5][None], n)[0], n, source="test")
    inv = drive(inverse_solutions_job(design_map, janus_model, target, starts=4, iterations=5))
    expected = janus_model.invert(target.friction_N, n, starts=4, mask=target.mask, iterations=5)
    np.testing.assert_allclose(inv, design_map.place(expected.z), atol=1e-9)  # the janus engine's first step


def test_inverse_solutions_and_decoded_designs_follow_the_targets_load_range(janus_model, tmp_path):
    design_map, _ = _make(janus_model, tmp_path)
    n = int(design_map.N[5])
    law = janus_model.predict_law(design_map.codes[5][None], n)[0]
    canonical, small = Target(law, n, source="test"), Target(law * 0.02, n, max_load_N=0.2, source="test")
    a = drive(inverse_solutions_job(design_map, janus_model, canonical, starts=4, iterations=5))
    b = drive(inverse_solutions_job(design_map, janus_model, small, starts=4, iterations=5))
    np.testing.assert_allclose(b, a, atol=1e-9)  # the model inverts the canonical 10 N problem
    d10, d02 = design_at(design_map, 5, janus_model, canonical), design_at(design_map, 5, janus_model, small)
    assert d02.max_load_N == 0.2 and d10.max_load_N == 10.0
    np.testing.assert_allclose(d02.friction_N, d10.friction_N * 0.02, rtol=1e-9)
    assert d02.error_percent == pytest.approx(d10.error_percent, abs=1e-9)
