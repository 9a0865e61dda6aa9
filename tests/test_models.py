"""Generative models: heads valid by construction, training, save/load, evaluation, torchrun."""
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

from studio.errors import StudioError  # noqa: E402
from studio.models import ModelError, load_generator, load_vae  # noqa: E402
from studio.models.dataset import from_arrays  # noqa: E402
from studio.models.networks import ModelConfig, ThetaHead, build, preset, unit_to_theta  # noqa: E402
from studio.models.store import save_model  # noqa: E402
from studio.models.training import TrainOptions, train, validate  # noqa: E402
from studio.physics import (  # noqa: E402
    THETA_SIZE,
    canonical,
    from_unit,
    simulate_batch,
    validate as validate_theta,
)

ROOT = Path(__file__).resolve().parents[1]
MU_H = np.arange(4) * 5 + 1
W = np.arange(4) * 5


def tiny_config(kind="cvae") -> ModelConfig:
    return ModelConfig(kind=kind, name="tiny", latent_dim=4 if kind != "mlp" else 0, encoder_hidden=(32,),
                       decoder_hidden=(32, 32))


def simulated_examples(count: int, seed: int = 0):
    """(θ, N, seed, F) simulated here: uniform θ in the box, N in [16, 64], random realisation seeds."""
    rng = np.random.default_rng(seed)
    theta = from_unit(rng.random((count, THETA_SIZE)))
    n = rng.integers(16, 65, count)
    seeds = rng.integers(0, 2**31, count)
    law = np.asarray(simulate_batch(theta, n, seeds, width=64))
    return from_arrays(theta, n, law, seeds)


@pytest.fixture(scope="module")
def examples():
    return simulated_examples(600)


def assert_all_valid(theta):
    theta = np.asarray(theta)
    for row in theta.reshape(-1, THETA_SIZE):
        validate_theta(row)
    flat = theta.reshape(-1, THETA_SIZE)
    assert np.all(np.diff(flat[:, MU_H], axis=1) <= 0), "components not in canonical order"
    np.testing.assert_allclose(flat[:, W].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(canonical(flat), flat, atol=1e-6)


def test_head_is_valid_by_construction_on_random_inputs():
    raw = torch.randn(20_000, THETA_SIZE) * torch.logspace(-2, 2, 20_000)[:, None]
    theta = unit_to_theta(ThetaHead()(raw))
    assert theta.dtype == np.float64 and theta.shape == (20_000, THETA_SIZE)
    assert_all_valid(theta)


@pytest.mark.parametrize("name", ["paper", "compact"])
def test_configs_have_the_published_and_compact_sizes(name):
    cvae = build(preset("cvae", name))
    enc = [m for m in cvae.encoder if isinstance(m, torch.nn.Linear)]
    dec = [m for m in cvae.decoder if isinstance(m, torch.nn.Linear)]
    assert enc[0].in_features == 152 and dec[0].in_features == 185 and dec[-1].out_features == 23
    if name == "paper":
        assert [m.out_features for m in enc] == [1915, 1723, 767, 112]  # 56 means + 56 log-variances
        assert [m.out_features for m in dec] == [347, 308, 328, 23]


@pytest.mark.parametrize("kind", ["cvae", "vae", "mlp"])
def test_forward_shapes_and_validity(kind, examples):
    model = build(tiny_config(kind))
    model.condition.fit(examples.friction_N) if hasattr(model, "condition") else None
    recon, mu, logvar = model(examples.theta_unit[:8], examples.friction_N[:8], examples.n_asperities[:8])
    assert recon.shape == (8, THETA_SIZE)
    if kind != "mlp":
        assert mu.shape == (8, 4) and logvar.shape == (8, 4)
    assert_all_valid(unit_to_theta(recon))


def test_tiny_training_lowers_the_loss(examples, tmp_path):
    train_set, val_set = examples.subset(np.arange(500)), examples.subset(np.arange(500, 600))
    opts = TrainOptions(epochs=20, batch_size=50, lr=1e-2, log_every=10_000, patience=20)
    config = tiny_config()
    torch.manual_seed(0)
    untrained = build(config)
    untrained.condition.fit(train_set.friction_N)
    before = validate(untrained, val_set, opts, "cpu")["val_loss"]
    model, history = train(config, train_set, val_set, opts, out=tmp_path / "tiny", log=lambda *a: None)
    assert history[-1]["val_loss"] < 0.9 * before  # 500 examples of an ill-posed inverse: measured ≈ 0.82
    assert (tmp_path / "tiny.safetensors").is_file() and (tmp_path / "tiny.checkpoint.pt").is_file()


def test_training_resumes_from_its_checkpoint(examples, tmp_path):
    opts = TrainOptions(epochs=2, batch_size=100, log_every=10_000)
    data = examples.subset(np.arange(500))
    _, first = train(tiny_config(), data, examples.subset(np.arange(500, 600)), opts, out=tmp_path / "m",
                     log=lambda *a: None)
    opts.epochs = 4  # resuming with a larger plan continues the same run
    lines = []
    _, history = train(tiny_config(), data, examples.subset(np.arange(500, 600)), opts, out=tmp_path / "m",
                       resume=True, log=lines.append)
    assert any("resumed" in line for line in lines)
    assert history[: len(first)] == first


class _RunsCodeWhenUnpickled:
    """A pickled object whose loading would create a file (standing in for any code it could run)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_resuming_refuses_a_checkpoint_carrying_a_pickled_object(examples, tmp_path):
    from studio.models.errors import ModelError
    from studio.models.training import load_checkpoint

    opts = TrainOptions(epochs=1, batch_size=100, log_every=10_000)
    data, val = examples.subset(np.arange(300)), examples.subset(np.arange(300, 350))
    train(tiny_config(), data, val, opts, out=tmp_path / "m", log=lambda *a: None)
    ckpt = tmp_path / "m.checkpoint.pt"
    saved = torch.load(ckpt, weights_only=True)  # what friction-studio writes loads the safe way
    assert set(saved) == {"model", "optimiser", "scheduler", "state", "config"}
    marker = tmp_path / "code-ran"
    saved["state"]["history"].append(_RunsCodeWhenUnpickled(marker))
    torch.save(saved, ckpt)  # a checkpoint from elsewhere, carrying an object
    opts.epochs = 2
    with pytest.raises(ModelError) as err:
        train(tiny_config(), data, val, opts, out=tmp_path / "m", resume=True, log=lambda *a: None)
    message = str(err.value)
    assert "\n" not in message and str(ckpt) in message and "refused" in message
    assert not marker.exists()  # nothing in it ran
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="junk.pt: not a readable training checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_save_load_round_trip_samples_identically(examples, tmp_path):
    config = tiny_config()
    model = build(config)
    model.condition.fit(examples.friction_N)
    card = save_model(model, tmp_path / "cvae-tiny", {"training": {"command": "test"}})
    assert len(card["weights_sha256"]) == 64
    gen = load_generator(tmp_path / "cvae-tiny.safetensors", device="cpu")
    again = load_generator(tmp_path / "cvae-tiny.card.json", device="cpu")
    law, n = examples.friction_N[0].numpy(), int(examples.n_asperities[0])
    a, b = gen.sample(law, n, k=16, seed=3), again.sample(law, n, k=16, seed=3)
    assert a.shape == (16, THETA_SIZE) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, gen.sample(law, n, k=16, seed=4))
    assert_all_valid(a)
    batch = gen.sample(examples.friction_N[:3].numpy(), examples.n_asperities[:3].numpy(), k=5, seed=0)
    assert batch.shape == (3, 5, THETA_SIZE)
    assert_all_valid(batch)
    assert gen.device == "cpu"


def test_vae_decodes_valid_designs(tmp_path):
    model = build(tiny_config("vae"))
    save_model(model, tmp_path / "vae-tiny", {})
    vae = load_vae(tmp_path / "vae-tiny.safetensors", device="cpu")
    assert vae.latent_dim == 4
    z = np.random.default_rng(0).standard_normal((1000, 4)) * 5
    theta = vae.decode(z)
    assert theta.shape == (1000, THETA_SIZE)
    assert_all_valid(theta)
    assert vae.encode(theta[:3]).shape == (3, 4)
    with pytest.raises(ModelError, match="latent vector must have 4"):
        vae.decode(np.zeros((2, 5)))


def test_corrupt_or_missing_model_is_refused(tmp_path):
    model = build(tiny_config())
    save_model(model, tmp_path / "m", {})
    weights = tmp_path / "m.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256 .* does not match"):
        load_generator(weights)
    with pytest.raises(StudioError, match="model card not found"):
        load_generator(tmp_path / "absent.safetensors")
    (tmp_path / "m.safetensors").unlink()
    with pytest.raises(ModelError, match="weights file not found"):
        load_generator(tmp_path / "m.card.json")
    (tmp_path / "bad.card.json").write_text("{not json")
    with pytest.raises(ModelError, match="bad.card.json: not a readable model card"):
        load_generator(tmp_path / "bad.safetensors")


def test_sample_rejects_a_bad_law(tmp_path, examples):
    model = build(tiny_config())
    save_model(model, tmp_path / "m", {})
    gen = load_generator(tmp_path / "m.safetensors", device="cpu")
    with pytest.raises(ModelError, match="128 points"):
        gen.sample(np.ones(100), 32, k=2)
    with pytest.raises(StudioError, match="asperity count"):
        gen.sample(examples.friction_N[0].numpy(), 5, k=2)


def test_evaluation_reports_method_metrics(examples):
    from studio.models.evaluate import NearestNeighbour, best_of, evaluate_generators, table
    from studio.models.store import ConditionalGenerator

    train_set = examples.subset(np.arange(500))
    small_n = np.flatnonzero(examples.n_asperities.numpy()[500:] <= 32)[:3] + 500  # one padded width: one compile
    test = examples.subset(small_n)
    model = build(tiny_config())
    model.condition.fit(train_set.friction_N)
    nn_ = NearestNeighbour(train_set)
    # a training law's nearest neighbour is itself
    np.testing.assert_array_equal(nn_.sample(train_set.friction_N[7].numpy(), 32, k=1)[0], train_set.theta[7])
    results = evaluate_generators({"cvae": ConditionalGenerator(model.eval(), {"kind": "cvae"}), "nearest": nn_},
                                  test, k=4, log=lambda *a: None)
    for r in results.values():
        assert r["functional_smape_best_of_4"]["median"] <= r["functional_smape_one_sample"]["median"] + 1.0
        assert 0 <= r["parameter_smape_one_sample"]["median"] <= 200
    assert "best-4 med" in table(results, 4)
    order, err = best_of(train_set.theta[:4], test.friction_N[0].numpy(), int(test.n_asperities[0]))
    assert np.all(np.diff(err) >= 0)
    # one design seed per candidate: the same θ realised twice ranks as two different designs
    twice = np.repeat(train_set.theta[:1], 2, axis=0)
    _, same = best_of(twice, test.friction_N[0].numpy(), 32)
    _, distinct = best_of(twice, test.friction_N[0].numpy(), 32, np.array([0, 1]))
    assert same[0] == same[1] and distinct[0] != distinct[1]
    for r in results.values():
        assert r["functional_smape_best_of_4_distinct_seeds"]["count"] == len(test)


def test_exact_tau0_B_candidates_keep_the_models_geometry_and_fit_their_realisation(examples):
    from studio.models.evaluate import DESIGN_SEED, WithExactTau0B, simulate_fast
    from studio.models.store import ConditionalGenerator
    from studio.physics import THETA_LOWER, THETA_UPPER
    from studio.physics.theta import B_IDX, TAU0_IDX

    model = build(tiny_config())
    model.condition.fit(examples.friction_N[:500])
    raw = ConditionalGenerator(model.eval(), {"kind": "cvae"})
    fitted = WithExactTau0B(raw)
    i = int(np.flatnonzero(examples.n_asperities.numpy() <= 32)[0])
    law, n = examples.friction_N[i].numpy().astype(np.float64), int(examples.n_asperities[i])
    a, b = raw.sample(law, n, 4, seed=3), fitted.sample(law, n, 4, seed=3)
    assert fitted.kind == "cvae+fit"
    np.testing.assert_array_equal(np.delete(a, [TAU0_IDX, B_IDX], axis=1), np.delete(b, [TAU0_IDX, B_IDX], axis=1))
    assert np.all((b >= THETA_LOWER) & (b <= THETA_UPPER))
    rel = lambda th: ((simulate_fast(th, np.full(4, n), DESIGN_SEED) - law) / law) ** 2  # noqa: E731
    assert np.all(rel(b).sum(1) <= rel(a).sum(1) * (1 + 1e-4))  # the fit never worsens its objective


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    from studio.data.generate import generate_dataset

    folder = tmp_path_factory.mktemp("data") / "tiny"
    generate_dataset(str(folder), samples=400, seed=5, shard_size=400, workers=1, batch=400)
    return folder


def _cli(args, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.slow
def test_cli_train_then_evaluate(dataset_dir, tmp_path):
    out = tmp_path / "cvae-t"
    r = _cli([sys.executable, "-m", "studio.cli", "train", "--model", "cvae", "--config", "compact", "--data",
              str(dataset_dir), "--epochs", "1", "--batch-size", "64", "--out", str(out), "--threads", "1"])
    assert r.returncode == 0, r.stderr
    assert "epoch 1 done" in r.stdout
    card = json.loads((tmp_path / "cvae-t.card.json").read_text())
    assert card["data"]["manifest_sha256"] and card["training"]["command"].startswith("friction-studio train")
    r = _cli([sys.executable, "-m", "studio.cli", "evaluate", "--model", str(out) + ".safetensors", "--data",
              str(dataset_dir), "--targets", "1", "--k", "4", "--mlp", "", "--json", str(tmp_path / "e.json"),
              "--figure", str(tmp_path / "e.png")])
    assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "e.json").read_text())["results"]
    assert set(results) == {"cvae", "cvae+fit", "nearest", "true-theta"}
    assert results["true-theta"]["parameter_smape_one_sample"]["median"] == 0.0


@pytest.mark.slow
def test_cli_evaluates_several_models_in_one_run_on_the_same_targets(dataset_dir, examples, tmp_path):
    cvae, mlp = build(tiny_config("cvae")), build(tiny_config("mlp"))
    for model in (cvae, mlp):
        model.condition.fit(examples.friction_N)
    save_model(cvae, tmp_path / "cvae-a", {"training": {"wall_time_s": 120.0}, "data": {"train_samples": 500}})
    save_model(mlp, tmp_path / "mlp-b", {"training": {"wall_time_s": 60.0, "initialised_from": {"card": {}}}})
    a, b = str(tmp_path / "cvae-a.safetensors"), str(tmp_path / "mlp-b.safetensors")
    r = _cli([sys.executable, "-m", "studio.cli", "evaluate", "--model", a, b, "--mlp", b, "--data",
              str(dataset_dir), "--targets", "2", "--k", "4", "--json", str(tmp_path / "e.json"),
              "--figure", str(tmp_path / "e.png"), "--update-card", "--neighbours-data", str(dataset_dir),
              "--neighbours-from", "7"])
    assert r.returncode == 0, r.stderr
    results = json.loads((tmp_path / "e.json").read_text())["results"]
    # one row per model (named by file), the CVAE's exact-τ0/B row, the baselines; the MLP given
    # both as a model and as --mlp is evaluated once
    assert set(results) == {"cvae-a", "cvae-a+fit", "mlp-b", "nearest", "true-theta"}
    assert {r_["functional_smape_one_sample"]["count"] for r_ in results.values()} == {2}
    assert results["cvae-a"]["model"]["parameters"] == sum(p.numel() for p in cvae.parameters())
    assert results["cvae-a"]["model"]["training_wall_s"] == 120.0 and results["cvae-a"]["model"]["train_samples"] == 500
    assert results["mlp-b"]["model"]["training_stages"] == 2 and results["nearest"]["model"]["parameters"] == 0
    assert results["nearest"]["model"]["data"] == str(dataset_dir) and results["nearest"]["model"]["train_samples"] == 7
    table_lines = {line.split("|")[0].strip(): line for line in r.stdout.splitlines() if "|" in line}
    assert table_lines["cvae-a"].rstrip().endswith("2.0") and table_lines["mlp-b"].rstrip().endswith("1.0+")
    for stem, rows in (("cvae-a", ["cvae-a", "cvae-a+fit"]), ("mlp-b", ["mlp-b"])):
        evaluation = json.loads((tmp_path / f"{stem}.card.json").read_text())["evaluation"]
        assert evaluation["rows_of_this_model"] == rows and set(evaluation["results"]) == set(results)
    assert load_generator(a, device="cpu").kind == "cvae"  # the updated card still matches its weights
    # a validation run (for choosing a temperature) must not overwrite the cards' held-out figures
    r = _cli([sys.executable, "-m", "studio.cli", "evaluate", "--model", a, "--split", "validation", "--data",
              str(dataset_dir), "--update-card"])
    assert r.returncode == 2 and "--update-card" in r.stderr
    r = _cli([sys.executable, "-m", "studio.cli", "evaluate", "--model", a, "--split", "validation", "--temperature",
              "0.3", "--data", str(dataset_dir), "--targets", "1", "--k", "2", "--mlp", "", "--json",
              str(tmp_path / "v.json"), "--figure", str(tmp_path / "v.png")])
    assert r.returncode == 0, r.stderr
    payload = json.loads((tmp_path / "v.json").read_text())
    assert payload["split"] == "validation" and payload["temperature"] == {"cvae": 0.3}


@pytest.mark.slow
def test_cli_fine_tune_keeps_the_tuned_sampling_temperature(dataset_dir, tmp_path):
    base = [sys.executable, "-m", "studio.cli", "train", "--model", "cvae", "--config", "compact", "--data",
            str(dataset_dir), "--epochs", "1", "--batch-size", "64", "--threads", "1"]
    r = _cli(base + ["--out", str(tmp_path / "start")])
    assert r.returncode == 0, r.stderr
    card_path = tmp_path / "start.card.json"
    card = json.loads(card_path.read_text())
    card["sampling"] = {"temperature": 0.37, "chosen_on": "test"}
    card_path.write_text(json.dumps(card))
    r = _cli(base + ["--out", str(tmp_path / "tuned"), "--init", str(tmp_path / "start.safetensors")])
    assert r.returncode == 0, r.stderr
    tuned = json.loads((tmp_path / "tuned.card.json").read_text())
    assert tuned["sampling"]["temperature"] == 0.37 and "start.safetensors" in tuned["sampling"]["note"]
    assert load_generator(str(tmp_path / "tuned.safetensors"), device="cpu").temperature == 0.37


@pytest.mark.slow
def test_torchrun_two_processes(dataset_dir, tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    out = tmp_path / "ddp"
    r = _cli([str(torchrun), "--nproc_per_node=2", "--master_port=29517", "-m", "studio.cli", "train", "--model",
              "mlp", "--data", str(dataset_dir), "--epochs", "2", "--batch-size", "32", "--out", str(out),
              "--threads", "1"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert "x2:" in r.stdout and "epoch 2 done" in r.stdout
    assert load_generator(str(out) + ".safetensors", device="cpu").kind == "mlp"


def test_training_can_start_from_saved_weights(examples, tmp_path):
    config = tiny_config()
    start = build(config)
    start.condition.fit(examples.friction_N)
    save_model(start, tmp_path / "start", {})
    opts = TrainOptions(epochs=1, batch_size=100, lr=1e-12, log_every=10_000)
    model, _ = train(config, examples.subset(np.arange(500)), examples.subset(np.arange(500, 600)), opts,
                     init_from=tmp_path / "start.safetensors", log=lambda *a: None)
    for (name, a), b in zip(start.state_dict().items(), model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)
    other = ModelConfig(kind="cvae", name="tiny", latent_dim=3, encoder_hidden=(32,), decoder_hidden=(32, 32))
    with pytest.raises(ModelError, match="differs"):
        train(other, examples.subset(np.arange(500)), examples.subset(np.arange(500, 600)), opts,
              init_from=tmp_path / "start.safetensors", log=lambda *a: None)
