"""Janus (studio/models/janus.py): the KHRONOS layer's formula, the joint model, save/load, inversion."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from studio.models import ModelError, load_generator, load_janus  # noqa: E402
from studio.models.dataset import from_arrays  # noqa: E402
from studio.models.janus import (  # noqa: E402
    Janus,
    JanusConfig,
    JanusModel,
    KhronosLayer,
    khronos_parameters,
    quadratic_bspline,
)
from studio.models.store import save_model  # noqa: E402
from studio.models.training import TrainOptions, train  # noqa: E402
from studio.physics import THETA_SIZE, canonical, from_unit, simulate_batch, validate as validate_theta  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def tiny_config(head="khronos") -> JanusConfig:
    return JanusConfig(name="tiny", head=head, latent_dim=4, encoder_hidden=(32,), decoder_hidden=(32, 32),
                       khronos_grid=6, khronos_rank=16)


@pytest.fixture(scope="module")
def examples():
    rng = np.random.default_rng(3)
    theta = from_unit(rng.random((600, THETA_SIZE)))
    n = rng.integers(16, 65, 600)
    seeds = rng.integers(0, 2**31, 600)
    return from_arrays(theta, n, np.asarray(simulate_batch(theta, n, seeds, width=64)), seeds)


@pytest.fixture(scope="module")
def trained(examples, tmp_path_factory):
    """A tiny Janus trained briefly and saved; loaded back as a JanusModel."""
    torch.manual_seed(0)
    model, history = train(tiny_config(), examples.subset(np.arange(500)), examples.subset(np.arange(500, 600)),
                           TrainOptions(epochs=6, batch_size=50, lr=3e-3, kl_weight=0.002, log_every=10_000),
                           log=lambda *a: None)
    path = tmp_path_factory.mktemp("janus") / "janus-tiny"
    save_model(model, path, {"data": {"dir": "simulated in the test"}})
    return load_janus(str(path) + ".safetensors", device="cpu"), history


def direct_khronos(layer: KhronosLayer, x: np.ndarray) -> np.ndarray:
    """The KHRONOS formula evaluated term by term in float64 (no tensors, no einsum)."""
    W = layer.weights.detach().double().numpy()
    A = layer.out.weight.detach().double().numpy()
    bias = layer.out.bias.detach().double().numpy()
    G = layer.grid

    def b(t):  # the quadratic B-spline written out piecewise
        t = abs(t)
        if t < 0.5:
            return 0.75 - t * t
        if t < 1.5:
            return 0.5 * (1.5 - t) ** 2
        return 0.0

    out = np.zeros((len(x), A.shape[0]))
    for i, row in enumerate(x):
        modes = np.ones(layer.rank)
        for d, value in enumerate(row):
            for r in range(layer.rank):
                modes[r] *= sum(W[d, g, r] * b((value - g / (G - 1)) * (G - 1)) for g in range(G))
        out[i] = A @ modes + bias
    return out


def test_khronos_layer_matches_its_formula_evaluated_directly():
    torch.manual_seed(1)
    layer = KhronosLayer(inputs=3, grid=5, rank=4, outputs=7)
    with torch.no_grad():
        layer.weights.add_(0.3 * torch.randn_like(layer.weights))  # away from the near-1 start
    x = np.random.default_rng(0).random((9, 3))
    x[0] = [0.0, 1.0, 0.5]  # the box's edges and a grid point
    x[1] = [0.125, 0.375, 0.999]  # half-way between grid points: the B-spline's joints
    got = layer(torch.as_tensor(x, dtype=torch.float64).float()).double().detach().numpy()
    np.testing.assert_allclose(got, direct_khronos(layer, x), rtol=2e-5, atol=2e-6)
    assert sum(p.numel() for p in layer.parameters()) == khronos_parameters(3, 5, 4, 7)


@pytest.mark.parametrize("head", ["khronos", "mlp"])
def test_closed_form_jacobian_matches_autograd(head):
    torch.manual_seed(2)
    model = Janus(tiny_config(head)).double()
    if head == "khronos":
        with torch.no_grad():
            model.head.weights.add_(0.3 * torch.randn_like(model.head.weights))
    z = torch.randn(5, 4, dtype=torch.float64)
    n = torch.tensor([16, 40, 100, 200, 256])
    log_law, jac = model.log_law_and_jacobian(z, n)
    for i in range(5):
        ref = torch.autograd.functional.jacobian(lambda zz: model.predict_log_law(zz[None], n[i:i + 1])[0], z[i])
        np.testing.assert_allclose(jac[i].detach().numpy(), ref.numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(log_law.detach().numpy(), model.predict_log_law(z, n).detach().numpy(), rtol=1e-12)


def test_quadratic_bspline_is_compact_continuous_and_a_partition_of_unity():
    t = torch.linspace(-3, 3, 6001, dtype=torch.float64)
    b = quadratic_bspline(t)
    assert torch.all(b[t.abs() >= 1.5] == 0) and torch.all(b[t.abs() < 1.5] > 0)
    assert float(b.max()) == pytest.approx(0.75)
    assert float((b[1:] - b[:-1]).abs().max()) < 1e-3  # continuous (also at |t| = 0.5, 1.5)
    x = torch.linspace(0.3, 0.7, 101, dtype=torch.float64)  # interior of a unit box with 9 centres
    total = sum(quadratic_bspline((x - g / 8) * 8) for g in range(9))
    np.testing.assert_allclose(total.numpy(), 1.0, atol=1e-12)


def test_mlp_head_has_about_the_khronos_heads_size():
    sizes = {h: sum(p.numel() for p in Janus(JanusConfig(head=h)).head.parameters()) for h in ("khronos", "mlp")}
    assert abs(sizes["mlp"] - sizes["khronos"]) / sizes["khronos"] < 0.02, sizes


@pytest.mark.parametrize("head", ["khronos", "mlp"])
def test_decoder_is_valid_by_construction_and_losses_are_finite(examples, head):
    torch.manual_seed(0)
    model = Janus(tiny_config(head))
    model.condition.fit(examples.friction_N)
    z = torch.randn(2000, 4) * torch.logspace(-2, 2, 2000)[:, None]
    n = torch.randint(16, 257, (2000,))
    unit = model.decode(z, n).detach().numpy()
    theta = from_unit(unit)
    for row in theta[::50]:
        validate_theta(row)
    assert np.all((unit >= 0) & (unit <= 1))
    np.testing.assert_allclose(canonical(theta), theta, atol=1e-5)  # canonical order, weights on the simplex
    terms = model(examples.theta_unit[:64], examples.friction_N[:64], examples.n_asperities[:64])
    assert set(terms) == {"total", "recon", "pred", "cycle", "kl"}
    assert all(torch.isfinite(v) for v in terms.values())
    assert model.predict(z[:5], n[:5]).shape == (5, 128)


def test_training_lowers_the_loss_and_round_trips_through_safetensors(examples, trained, tmp_path):
    janus, history = trained
    assert isinstance(janus, JanusModel) and janus.head == "khronos"
    first, last = history[0], min(history, key=lambda h: h["val_loss"])
    assert last["val_loss"] < first["val_loss"]
    assert last["val_pred"] < first["val_pred"] and "val_law_smape_median" in last
    assert janus.card["kind"] == "janus" and janus.card["config"]["head"] == "khronos"
    theta = examples.theta[:8]
    n = examples.n_asperities[:8].numpy()
    z = janus.encode(theta, n)
    assert z.shape == (8, 4)
    assert janus.decode(z, n).shape == (8, 23) and janus.predict_law(z, n).shape == (8, 128)
    # Reloaded weights give the same codes and laws.
    save_model(janus.model, tmp_path / "again", janus.card)
    again = load_generator(str(tmp_path / "again.safetensors"), device="cpu")
    np.testing.assert_array_equal(again.encode(theta, n), z)
    np.testing.assert_array_equal(again.predict_law(z, n), janus.predict_law(z, n))


def test_inversion_lowers_the_surrogate_error_monotonically_and_is_deterministic(examples, trained):
    from studio.physics import smape

    janus, _ = trained
    n = int(examples.n_asperities[550])
    # A law the head can represent exactly (its own prediction at a code away from the start bank's best):
    # the descent must find a code that reproduces it, not merely not get worse.
    law = janus.predict_law(np.array([[1.2, -0.8, 0.5, -1.5]]), n)[0]
    a = janus.invert(law, n, starts=6, iterations=20, prior_weight=0.0)
    obj = a.objective
    assert obj.shape == (21, 6)
    assert np.all(np.diff(obj, axis=0) <= 0), "the surrogate objective rose in some iteration"
    assert obj[-1].min() < 1e-3 * obj[0].min()
    assert np.all(np.diff(a.objective[-1]) >= 0)  # best first
    before = smape(janus.predict_law(janus.starts(law, n, 6), n), law[None]).min()
    assert a.smape_percent[0] < 0.1 * before
    for row in a.theta:
        validate_theta(row)
    b = janus.invert(law, n, starts=6, iterations=20, prior_weight=0.0)
    np.testing.assert_array_equal(a.z, b.z)
    # A simulated law (realisation noise included): still never worse at any iteration.
    real = examples.friction_N[550].numpy().astype(np.float64)
    c = janus.invert(real, n, starts=6, iterations=10)
    assert np.all(np.diff(c.objective, axis=0) <= 0) and np.all(c.objective[-1] < c.objective[0])
    assert janus.sample(real, n, 3).shape == (3, 23)


def test_inversion_refuses_a_bad_law(trained):
    janus, _ = trained
    with pytest.raises(ModelError, match="positive, finite"):
        janus.invert(np.full(128, np.nan), 32)
    with pytest.raises(ModelError, match="positive, finite"):
        janus.invert(np.ones(12), 32)


def test_a_mismatched_janus_card_is_refused(trained, tmp_path):
    janus, _ = trained
    save_model(janus.model, tmp_path / "j", {})
    card_path = tmp_path / "j.card.json"
    card = json.loads(card_path.read_text())
    card["config"]["khronos_rank"] = 17
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match="do not fit"):
        load_generator(str(tmp_path / "j.safetensors"), device="cpu")
    with pytest.raises(ModelError, match="not a Janus"):
        load_janus(str(ROOT / "models" / "vae-compact.safetensors"), device="cpu")


@pytest.mark.slow
def test_cli_trains_a_janus_model(tmp_path):
    from studio.data.generate import generate_dataset

    data = tmp_path / "tiny"
    generate_dataset(str(data), samples=300, seed=5, shard_size=300, workers=1, batch=300)
    out = tmp_path / "janus-t"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "studio.cli", "train", "--model", "janus", "--head", "mlp", "--data",
                        str(data), "--epochs", "1", "--batch-size", "64", "--latent-dim", "6", "--out", str(out),
                        "--threads", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "law sMAPE median" in r.stdout
    card = json.loads((tmp_path / "janus-t.card.json").read_text())
    assert card["config"]["head"] == "mlp" and card["config"]["latent_dim"] == 6
    assert card["loss"]["w_pred"] == 50.0
    assert load_janus(str(out) + ".safetensors", device="cpu").latent_dim == 6
    # evaluate: several Janus models in one run, one row each (here the model and a renamed copy of it)
    for suffix in (".safetensors", ".card.json"):
        (tmp_path / f"janus-u{suffix}").write_bytes((tmp_path / f"janus-t{suffix}").read_bytes())
    r = subprocess.run([sys.executable, "-m", "studio.cli", "evaluate", "--model", str(out) + ".safetensors",
                        str(tmp_path / "janus-u.safetensors"), "--data", str(data), "--targets", "8",
                        "--realisations", "4", "--json", str(tmp_path / "eval.json")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "eval.json").read_text())["results"]
    assert {"janus-t", "janus-u", "_reference"} <= set(results)
    assert results["janus-t"]["forward_vs_expected"] == results["janus-u"]["forward_vs_expected"]
    assert 0 < results["janus-t"]["forward_vs_expected"]["smape"]["median"] < 200
    r = subprocess.run([sys.executable, "-m", "studio.cli", "evaluate", "--model", str(out) + ".safetensors",
                        str(ROOT / "models" / "cvae-compact.safetensors"), "--data", str(data), "--targets", "8"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "compares Janus models only" in r.stderr
