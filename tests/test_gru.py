"""The friction-dynamics GRU: its data set, losses, training, saved models and commands (docs/gru.md)."""
import json
import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from studio.data.dynamics import (BOX, DURATION_S, SLIP_IN_DC, DynamicsParameters, compute_samples,
                                  generate_dynamics_dataset, load_dynamics_split, records_dataset)
from studio.data.store import DataError, sha256_file
from studio.jobs import Cancelled, JobControl, drive
from studio.models import gru as G
from studio.models.errors import ModelError
from studio.models.gru_training import (GruTrainOptions, evaluate_gru, load_gru, predict_mu, prepare, train_gru,
                                        train_steps)


@pytest.fixture(scope="module")
def paper_set(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("gru") / "paper")
    generate_dynamics_dataset(folder, samples=120, seed=5, shard_size=50, log=lambda m: None)
    return folder


def test_protocols_follow_the_paper_rules(paper_set):
    d = load_dynamics_split(paper_set, "train")
    slip = (d["durations_s"] * d["segment_velocity_m_s"]).sum(1)
    np.testing.assert_allclose(slip, SLIP_IN_DC * d["Dc_m"], rtol=1e-12)  # 30·Dc in every protocol
    np.testing.assert_allclose(d["durations_s"].sum(1), DURATION_S, rtol=1e-12)
    assert set(np.unique(d["jumps"])) <= {2, 3, 4, 5} and len(np.unique(d["jumps"])) == 4
    for durations, velocities, jumps in zip(d["durations_s"], d["segment_velocity_m_s"], d["jumps"]):
        used = velocities[: jumps + 1]
        assert used[0] > 0 and used[-1] > 0  # starts sliding; the hold is between two jumps
        assert np.sum(used == 0) == 1
        assert np.all(durations[jumps + 1:] == 0)
    # every protocol starts at steady state at its first velocity: μ(0) = μ0 + (a − b)·ln(V(0)/V0)
    expected = 0.5 + (d["a"] - d["b"]) * np.log(d["segment_velocity_m_s"][:, 0] / 1e-4)
    np.testing.assert_allclose(d["mu"][:, 0], expected, atol=1e-12)
    assert len(d["mu"]) == 96 and len(load_dynamics_split(paper_set, "test")["mu"]) == 24  # 80 / 20 %


def test_dataset_is_deterministic_resumable_and_independent_of_shards(paper_set, tmp_path):
    other = str(tmp_path / "again")
    generate_dynamics_dataset(other, samples=120, seed=5, shard_size=50, log=lambda m: None)
    for name in ("shard-00000.h5", "shard-00001.h5", "shard-00002.h5"):
        assert sha256_file(os.path.join(paper_set, name)) == sha256_file(os.path.join(other, name))
    os.remove(os.path.join(other, "shard-00001.h5"))  # a killed run: resumed, same bytes
    generate_dynamics_dataset(other, samples=120, seed=5, shard_size=50, log=lambda m: None)
    assert sha256_file(os.path.join(paper_set, "shard-00001.h5")) == sha256_file(os.path.join(other, "shard-00001.h5"))
    part = compute_samples(DynamicsParameters(seed=5, samples=120), 60, 5)  # sample i depends on (seed, i) only
    np.testing.assert_array_equal(part["mu"], load_dynamics_split(paper_set, "train")["mu"][60:65])
    with pytest.raises(DataError, match="different dataset"):
        generate_dynamics_dataset(other, samples=120, seed=6, shard_size=50, log=lambda m: None)


def test_box_parameters_and_noise():
    d = compute_samples(DynamicsParameters(seed=1, samples=200, box="box", noise_sigma=1e-4), 0, 200)
    for name, (low, high) in BOX.items():
        assert low <= d[name].min() and d[name].max() <= high
    assert d["Dc_m"].max() / d["Dc_m"].min() > 20  # log-uniform over two decades
    noise = d["mu_noisy"] - d["mu"]
    assert 0.8e-4 < noise.std() < 1.2e-4 and abs(noise.mean()) < 2e-5


def test_structure_finds_jumps_holds_and_healing_weights():
    v = np.array([[1.0] * 3 + [2.0] * 2 + [2e-9] * 4 + [0.5] * 3])
    s = G.structure(v)
    assert np.flatnonzero(s.jump_before[0]).tolist() == [2, 4, 8]
    assert np.flatnonzero(s.hold[0]).tolist() == [5, 6, 7, 8]
    n, N = np.arange(1, 4), 4
    np.testing.assert_allclose(s.heal_weight[0, 5:8], 1 / np.log(n / N))
    assert s.heal_weight[0, 8] == 0 and np.all(s.heal_last[0, 5:9] == 8)
    assert np.flatnonzero(s.heal_pair[0]).tolist() == [5, 6]
    assert np.flatnonzero(s.after_jump[0]).tolist() == [3, 4, 5, 6, 7, 9, 10, 11]


class _Fixed(torch.nn.Module):
    """A 'model' that returns a given prediction (to test the loss terms by hand)."""

    def __init__(self, pred):
        super().__init__()
        self.pred = pred

    def forward(self, x):
        return self.pred


def _tensors(v, cfg=G.GruConfig()):
    x = G.inputs(v, cfg)
    return torch.from_numpy(x), G.structure_tensors(G.structure(v), x, cfg)


def test_loss_terms_match_the_paper_equations():
    v = np.array([[1.0] * 3 + [2.0] * 2 + [2e-9] * 5 + [0.5] * 2])
    x, s = _tensors(v)
    y = torch.zeros(1, 12)
    y[0, 3:] = 1.0  # a target that jumps by 1 after sample 2
    pred = torch.zeros(1, 12)
    pred[0, 0] = 0.5
    _, parts = G.loss_terms(_Fixed(pred), x, y, s, ("ic", "de", "heal"))
    assert parts["ic"] == pytest.approx(0.25)
    assert parts["mse"] == pytest.approx((0.25 + 9 * 1.0) / 12)
    # jumps at 2→3 (target +1, prediction 0), 4→5 and 9→10 (both flat): (0 - 1)² = 1
    assert parts["de"] == pytest.approx(1.0)
    assert parts["heal"] == pytest.approx(0.0)  # a constant hold is trivially logarithmic
    # healing exactly logarithmic in n, δμ_n = c·ln(n/N_h): the ratios are all c, the term is 0; broken: > 0
    n = np.arange(1, 6)
    log_heal = pred.clone()
    log_heal[0, 5:10] = torch.as_tensor(0.3 * np.log(n / 5.0), dtype=torch.float32)
    assert G.loss_terms(_Fixed(log_heal), x, y, s, ("heal",))[1]["heal"] == pytest.approx(0.0, abs=1e-10)
    log_heal[0, 6] += 0.1
    assert G.loss_terms(_Fixed(log_heal), x, y, s, ("heal",))[1]["heal"] > 1e-3


@pytest.mark.parametrize("features", ["linear", "log"])
def test_autograd_direct_effect_is_the_instantaneous_derivative(features):
    torch.manual_seed(0)
    cfg = G.GruConfig(hidden=8, features=features)
    model = G.build(cfg).double()
    v = np.array([[0.3] * 4 + [0.9] * 4])
    x = torch.from_numpy(G.inputs(v, cfg)).double()
    p, h = model.forward_with_states(x)
    dfeat = torch.from_numpy(G.dfeature_dlogv(x[..., 0].numpy(), cfg))
    d = G.direct_effect(model, x, h, torch.tensor([0]), torch.tensor([4]), dfeat)
    # δμ̂_4 depends on x_4 only through step 4: a finite difference in ln V_4 alone gives the same derivative
    eps = 1e-6
    xp, xm = x.clone(), x.clone()
    xp[0, 4, 0] = float(G.velocity_feature(v[:, 4:5] * np.exp(eps), cfg)[0, 0])  # in float64
    xm[0, 4, 0] = float(G.velocity_feature(v[:, 4:5] * np.exp(-eps), cfg)[0, 0])
    with torch.no_grad():
        fd = (model(xp)[0, 4] - model(xm)[0, 4]) / (2 * eps)
    assert float(d[0].detach()) == pytest.approx(float(fd), rel=1e-5, abs=1e-9)


def test_percent_error_is_paper_eq_15():
    t = np.array([[0.0, 3.0, 4.0]])
    assert G.percent_error(t + np.array([[0.0, 0.3, 0.4]]), t)[0] == pytest.approx(10.0)
    assert np.isnan(G.percent_error(t, t, mask=np.array([[True, False, False]]))[0])


def test_training_learns_resumes_exactly_and_saves_a_checked_model(paper_set, tmp_path):
    torch.set_num_threads(1)
    cfg = G.GruConfig(name="tiny", hidden=12)
    train = prepare(load_dynamics_split(paper_set, "train"), cfg)
    test = prepare(load_dynamics_split(paper_set, "test"), cfg)
    opts = GruTrainOptions(epochs=3, batch_size=8, lr=1e-2, terms=("ic", "de", "heal", "de_ad"), log_every=1000,
                           schedule="cosine")
    out = tmp_path / "tiny"
    untrained = evaluate_gru(G.build(cfg), test)["mean_error_percent"]
    model, history = train_gru(cfg, train, opts, out=out)
    assert history[-1]["loss"] < history[0]["loss"]
    assert evaluate_gru(model, test)["mean_error_percent"] < untrained
    # stopped in the third epoch, then resumed from the epoch-2 checkpoint (read with weights_only=True):
    # the same weights as the uninterrupted run (optimiser, schedule and shuffles restored)
    two = tmp_path / "two"
    control = JobControl()
    stop_in_epoch_3 = lambda p: p.step == 2 * 12 + 5 and control.cancel()  # noqa: E731  (12 steps per epoch)
    with pytest.raises(Cancelled):
        train_gru(cfg, train, replace(opts, log_every=1), out=two, control=control, on_progress=stop_in_epoch_3)
    assert not os.path.exists(str(two) + ".safetensors")  # a cancelled run saves no model
    resumed, _ = train_gru(cfg, train, opts, out=two, resume=True)
    for (k, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k
    loaded, card = load_gru(out)
    assert card["kind"] == "gru" and card["training"]["epochs"] == 3
    assert os.path.getsize(str(out) + ".safetensors") < 50e6
    with torch.no_grad():
        assert torch.equal(loaded(test.x[:4]), model(test.x[:4]))
    weights = str(out) + ".safetensors"
    data = bytearray(open(weights, "rb").read())
    data[-3] ^= 0xFF
    open(weights, "wb").write(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        load_gru(out)


def test_training_can_be_cancelled_between_steps(paper_set):
    cfg = G.GruConfig(hidden=4)
    train = prepare(load_dynamics_split(paper_set, "train"), cfg)
    steps, control = [], JobControl()

    def seen(progress):
        steps.append(progress.step)
        if len(steps) == 3:
            control.cancel()

    with pytest.raises(Cancelled):
        drive(train_steps(cfg, train, GruTrainOptions(epochs=5, batch_size=8, log_every=1), control=control),
              control, seen)
    assert steps == [1, 2, 3]


def test_conditioned_inputs_carry_no_time_or_length_scale():
    cfg = G.GruConfig(features="slip", conditioned=True)
    v = np.array([[0.1, 0.1, 0.3, 2e-9]])
    t = np.linspace(0, 1e-3, 4)
    x = G.inputs(v, cfg, times_s=t, a=0.01, b=0.02, Dc_m=1e-5)
    # ten times slower over ten times longer, or a ten times larger Dc with ten times the velocity: same inputs
    np.testing.assert_allclose(G.inputs(v / 10, cfg, times_s=t * 10, a=0.01, b=0.02, Dc_m=1e-5)[..., 0], x[..., 0],
                               atol=1e-6)
    np.testing.assert_allclose(G.inputs(v * 10, cfg, times_s=t, a=0.01, b=0.02, Dc_m=1e-4)[..., 0], x[..., 0],
                               atol=1e-6)
    np.testing.assert_allclose(x[0, :, 1:], [[1.0, 2.0]] * 4)
    with pytest.raises(ValueError, match="a and b"):
        G.inputs(v, cfg, times_s=t, Dc_m=1e-5)


def _tiny_model(folder, tmp_path, **config):
    cfg = G.GruConfig(name="t", hidden=6, **config)
    train = prepare(load_dynamics_split(folder, "train"), cfg)
    out = tmp_path / "t"
    train_gru(cfg, train, GruTrainOptions(epochs=1, batch_size=32), out=out)
    return out


def test_predict_writes_a_curve_that_reads_back(paper_set, tmp_path, capsys):
    from studio.cli import main
    from studio.dynamics.files import read_record

    model = _tiny_model(paper_set, tmp_path)
    protocol = tmp_path / "p.csv"
    protocol.write_text("duration (s);velocity (m/s)\n0.004;0.3\n0.003;0\n0.006;0.6\n")
    curve = tmp_path / "c.csv"
    assert main(["rsf", "predict", str(protocol), "--model", str(model), "--mu0", "0.6", "--out", str(curve)]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["samples"] == 100 and line["notes"] == []
    record = read_record(curve)
    loaded, _ = load_gru(model)
    t = np.linspace(0, 0.013, 100)
    v = np.where(t < 0.004, 0.3, np.where(t < 0.007, 2e-9, 0.6))
    np.testing.assert_allclose(record.mu, predict_mu(loaded, v, t, mu0=0.6), atol=1e-9)
    with torch.no_grad():
        first = float(loaded(torch.from_numpy(G.inputs(v, loaded.config)))[0, 0])
    assert record.mu[0] == pytest.approx(0.6 + 0.01 * first, abs=1e-9)  # μ0 plus the predicted change
    # a protocol of another duration is predicted with a note: the paper model's inputs carry no time scale
    long = tmp_path / "long.csv"
    long.write_text("duration (s),velocity (m/s)\n1,0.3\n1,0.6\n")
    assert main(["rsf", "predict", str(long), "--model", str(model), "--out", str(tmp_path / "l.csv")]) == 0
    assert "trained on" in capsys.readouterr().err


def test_bad_inputs_are_one_line_exit_2(paper_set, tmp_path, capsys):
    from studio.cli import main

    model = _tiny_model(paper_set, tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("duration (s),velocity (m/s)\n0.01,0.3\n0.01,-1\n")
    assert main(["rsf", "predict", str(bad), "--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 3" in err and len(err.strip().splitlines()) == 1
    assert main(["rsf", "predict", str(bad), "--model", str(tmp_path / "missing")]) == 2
    assert "model card not found" in capsys.readouterr().err
    box = str(tmp_path / "box")
    generate_dynamics_dataset(box, samples=40, seed=1, box="box", log=lambda m: None)
    cond = tmp_path / "cond"
    cfg = G.GruConfig(name="c", hidden=4, features="slip", conditioned=True)
    train_gru(cfg, prepare(load_dynamics_split(box, "train"), cfg), GruTrainOptions(epochs=1), out=cond)
    good = tmp_path / "good.csv"
    good.write_text("duration (s),velocity (m/s)\n0.005,0.01\n0.008,0.02\n")
    assert main(["rsf", "predict", str(good), "--model", str(cond)]) == 2
    assert "give a, b, Dc" in capsys.readouterr().err
    assert main(["rsf", "predict", str(good), "--model", str(cond), "--a", "0.01", "--b", "0.015",
                 "--Dc", "1e-5", "--out", str(tmp_path / "c.csv")]) == 0


def test_learning_from_a_folder_of_measured_records(tmp_path, capsys):
    from studio.cli import main
    from studio.dynamics import RsfParams, simulate
    from studio.dynamics.files import write_curve
    from studio.dynamics.protocol import Protocol, Segment

    folder = tmp_path / "records"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        segments = [Segment(0.004, 0.3), Segment(rng.uniform(0.002, 0.004), 0.0), Segment(0.004, rng.uniform(0.2, 0.6))]
        protocol = Protocol(tuple(segments))
        run = simulate(protocol, RsfParams(mu0=0.5, a=0.005, b=0.015, Dc_m=2e-4, V0_m_s=1e-4),
                       times_s=protocol.sample_times(300, boundaries=True))
        write_curve(folder / f"r{i}.csv", protocol, run)
    splits = records_dataset(str(folder))
    assert len(splits["train"]["mu"]) == 5 and len(splits["test"]["mu"]) == 1
    assert list(splits["test"]["source"]) == ["r4.csv"]
    out = tmp_path / "mine"
    assert main(["rsf", "train-gru", "--records", str(folder), "--variant", "de", "--de-autograd", "--epochs", "2",
                 "--hidden", "8", "--out", str(out)]) == 0
    card = json.loads((tmp_path / "mine.card.json").read_text())
    assert card["data"]["train_records"] == ["r0.csv", "r1.csv", "r2.csv", "r3.csv", "r5.csv"]
    assert card["evaluation"]["protocols"] == 1 and card["config"]["law"] == "measured"
    (folder / "r9.csv").write_text("time (s),velocity (m/s),mu\n0,1,0.5\n0,1,0.5\n")
    assert main(["rsf", "train-gru", "--records", str(folder), "--out", str(out)]) == 2
    assert "r9.csv, line 3" in capsys.readouterr().err


def test_rsf_beside_the_gru_with_notes_outside_its_training(paper_set, tmp_path):
    from studio.dynamics import RsfParams
    from studio.dynamics.protocol import Protocol, Segment
    from studio.models.gru_training import compare_with_rsf

    model, card = load_gru(_tiny_model(paper_set, tmp_path))
    params = RsfParams(mu0=0.5, a=0.005, b=0.015, Dc_m=2e-4, V0_m_s=0.3)
    paper_like = Protocol((Segment(0.004, 0.3), Segment(0.003, 0.0), Segment(0.006, 0.6)))
    c = compare_with_rsf(paper_like, params, model=model, card=card)
    assert c.notes == [] and len(c.mu_gru) == 100 and c.mu_rsf[0] == pytest.approx(0.5)
    with torch.no_grad():  # the prediction is μ(0) of the simulation plus the network's change
        first = float(model(torch.from_numpy(G.inputs(np.array([0.3]), model.config)))[0, 0])
    assert c.mu_gru[0] == pytest.approx(0.5 + 0.01 * first, abs=1e-7)
    expected = 100 * np.linalg.norm(c.mu_gru - c.mu_rsf) / np.linalg.norm(c.mu_rsf - c.mu_rsf[0])
    assert c.error_percent == pytest.approx(expected)
    assert len(c.dense_times_s) > 1000 and c.dense_mu_rsf.min() < c.mu_rsf.max()
    lab = Protocol((Segment(100.0, 1e-5), Segment(100.0, 1e-6)))  # lab speeds: far below what it saw
    notes = compare_with_rsf(lab, params, model=model, card=card).notes
    assert any("outside what the model was trained on" in n for n in notes)
    assert any("trained on 0.013 s" in n for n in notes)
    assert compare_with_rsf(lab, params).mu_gru is None


def test_learning_from_records_is_a_generator_that_stops_when_cancelled(tmp_path):
    from studio.cli import main
    from studio.models.gru_training import train_on_records

    folder = tmp_path / "records"
    folder.mkdir()
    for i in range(3):
        assert main(["rsf", "simulate", "--preset", "velocity-steps", "--a", "0.008", "--b", "0.012", "--Dc", "2e-5",
                     "--samples", "200", "--out", str(folder / f"r{i}.csv")]) == 0
    seen, control = [], JobControl()
    job = train_on_records(folder, tmp_path / "mine", hidden=4, epochs=50, batch_size=1, control=control)
    with pytest.raises(Cancelled):
        drive(job, control, lambda p: (seen.append(p), len(seen) == 2 and control.cancel()))
    assert len(seen) == 2 and 0 < seen[-1].fraction < 1
    assert not (tmp_path / "mine.safetensors").exists()
    done = list(train_on_records(folder, tmp_path / "mine", hidden=4, epochs=2, batch_size=1))
    assert done[-1].done and load_gru(tmp_path / "mine")[1]["data"]["test_records"] == ["r2.csv"]
