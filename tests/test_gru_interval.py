"""Beyond the paper: the GRU's "interval" features (docs/gru.md, "Beyond the paper: interval features").

Besides the paper's point sample V_k/V_ch, the mean velocity over (t_{k-1}, t_k] / V_ch and the fraction
of that interval held, computed exactly from the protocol's segments: what 100 point samples lose."""
import json

import numpy as np
import pytest
import torch

from studio.data.dynamics import generate_dynamics_dataset, load_dynamics_split, records_dataset
from studio.dynamics.protocol import Protocol, Segment
from studio.models import gru as G
from studio.models.errors import ModelError
from studio.models.gru_training import (GruTrainOptions, load_gru, predict_mu, predict_protocol, predict_scaled,
                                        prepare, train_gru)

T = 0.013
DT = T / 99  # the paper's 100 equally spaced samples
HOLD = 2e-9


@pytest.fixture(scope="module")
def paper_set(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("gru-interval") / "paper")
    generate_dynamics_dataset(folder, samples=80, seed=3, shard_size=40, log=lambda m: None)
    return folder


def _features(protocol, cfg=G.GruConfig(features="interval")):
    t = protocol.sample_times(100)
    v = np.where(protocol.velocity_at(t) > 0, protocol.velocity_at(t), protocol.hold_velocity_m_s)
    slip, held = G.protocol_integrals(t, protocol.durations_s, protocol.velocities_m_s, protocol.hold_velocity_m_s)
    return G.inputs(v, cfg, times_s=t, slip_m=slip, held_s=held)[0].astype(np.float64)


def test_a_jump_mid_interval_gives_the_mean_of_the_two_velocities():
    k = 40  # the jump halfway between samples 39 and 40
    x = _features(Protocol((Segment((k - 0.5) * DT, 0.3), Segment(T - (k - 0.5) * DT, 0.9))))
    assert x.shape == (100, 3)
    assert x[k, 1] == pytest.approx((0.3 + 0.9) / 2 / 0.3, rel=1e-5)  # the mean, not either sample
    assert x[k - 1, 0] == pytest.approx(1.0) and x[k, 0] == pytest.approx(3.0)  # the point samples: unchanged
    np.testing.assert_allclose(x[:k, 1], 1.0, rtol=1e-5)
    np.testing.assert_allclose(x[k + 1:, 1], 3.0, rtol=1e-5)
    np.testing.assert_array_equal(x[:, 2], 0.0)  # no hold
    # a jump a quarter of the way: the mean weighs the velocities by the time at each
    x = _features(Protocol((Segment((k - 0.75) * DT, 0.3), Segment(T - (k - 0.75) * DT, 0.9))))
    assert x[k, 1] == pytest.approx((0.25 * 0.3 + 0.75 * 0.9) / 0.3, rel=1e-5)


def test_a_hold_no_sample_falls_in_is_seen():
    k = 30  # 0.3 m/s, a hold from t_29 + 0.25·Δt lasting 0.5·Δt, then 0.6 m/s: the point samples miss the hold
    protocol = Protocol((Segment((k - 0.75) * DT, 0.3), Segment(0.5 * DT, 0.0), Segment(T - (k - 0.25) * DT, 0.6)))
    x = _features(protocol)
    assert np.all(x[:, 0] > 0.9)  # no sample at the hold velocity
    assert x[k, 2] == pytest.approx(0.5, rel=1e-5)
    assert x[k, 1] == pytest.approx((0.25 * 0.3 + 0.5 * HOLD + 0.25 * 0.6) / 0.3, rel=1e-5)
    assert np.count_nonzero(x[:, 2]) == 1
    assert x[0, 1] == pytest.approx(1.0) and x[0, 2] == 0.0  # k = 0: steady sliding at V(0)
    # a sample inside a hold: held fraction 1, mean velocity the hold velocity
    x = _features(Protocol((Segment(0.004, 0.3), Segment(0.003, 0.0), Segment(0.006, 0.6))))
    inside = np.flatnonzero(x[:, 0] < 1e-6)
    assert len(inside) > 2
    np.testing.assert_allclose(x[inside[1:], 2], 1.0)
    np.testing.assert_allclose(x[inside[1:], 1], HOLD / 0.3, rtol=1e-6)
    # the slip agrees with the protocol's own displacement (holds slide at the hold velocity here)
    t = np.linspace(0, 0.013, 100)
    p = Protocol((Segment(0.004, 0.3), Segment(0.003, 0.0), Segment(0.006, 0.6)))
    slip, held = G.protocol_integrals(t, p.durations_s, p.velocities_m_s, HOLD)
    np.testing.assert_allclose(slip[0], p.displacement_at(t), atol=1e-11)
    np.testing.assert_allclose(held[0], np.clip(t - 0.004, 0, 0.003), atol=1e-15)


def test_the_dataset_and_a_protocol_give_the_same_features(paper_set):
    split = load_dynamics_split(paper_set, "test")
    cfg = G.GruConfig(features="interval")
    x = prepare(split, cfg).x.numpy()
    for i in range(len(x)):  # what rsf predict / the Dynamics tab compute from the same segments
        n = int(split["jumps"][i]) + 1
        protocol = Protocol(tuple(Segment(d, v) for d, v in zip(split["durations_s"][i, :n],
                                                                 split["segment_velocity_m_s"][i, :n])))
        np.testing.assert_allclose(_features(protocol, cfg), x[i], rtol=1e-5, atol=1e-7)


def test_interval_model_trains_saves_loads_and_predicts(paper_set, tmp_path, capsys):
    from studio.cli import main

    cfg = G.GruConfig(name="iv", hidden=6, features="interval")
    train = prepare(load_dynamics_split(paper_set, "train"), cfg)
    out = tmp_path / "iv"
    model, _ = train_gru(cfg, train, GruTrainOptions(epochs=1), out=out)
    loaded, card = load_gru(out)
    assert card["config"]["features"] == "interval" and loaded.config.input_size == 3
    assert loaded.gru.weight_ih_l0.shape[1] == 3
    np.testing.assert_array_equal(predict_scaled(loaded, train.x), predict_scaled(model, train.x))
    # the command line: a protocol CSV is predicted with the same features
    protocol = tmp_path / "p.csv"
    protocol.write_text("duration (s),velocity (m/s)\n0.004,0.3\n0.003,0\n0.006,0.6\n")
    curve = tmp_path / "c.csv"
    assert main(["rsf", "predict", str(protocol), "--model", str(out), "--out", str(curve)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["samples"] == 100
    p = Protocol((Segment(0.004, 0.3), Segment(0.003, 0.0), Segment(0.006, 0.6)))
    pred = predict_protocol(loaded, card, p, mu0=0.5)
    with torch.no_grad():
        scaled = loaded(torch.from_numpy(_features(p).astype(np.float32))[None])[0].numpy()
    np.testing.assert_allclose(pred.mu, 0.5 + 0.01 * scaled, atol=1e-7)
    assert main(["rsf", "evaluate-gru", "--model", str(out), "--data", paper_set]) == 0
    assert json.loads(capsys.readouterr().out)["protocols"] == 16
    # velocity samples alone cannot give these features: one error line, not a crash
    with pytest.raises(ModelError, match="interval features need"):
        predict_mu(loaded, pred.velocity_m_s, pred.times_s, mu0=0.5)
    with pytest.raises(ModelError, match="not available with interval features"):
        train_gru(cfg, train, GruTrainOptions(epochs=1, terms=("de_ad",)))


def test_records_carry_what_interval_features_need(tmp_path):
    from studio.cli import main
    from studio.dynamics import RsfParams, simulate
    from studio.dynamics.files import write_curve

    folder = tmp_path / "records"
    folder.mkdir()
    for i in range(3):
        protocol = Protocol((Segment(0.004, 0.3), Segment(0.002 + 0.001 * i, 0.0), Segment(0.004, 0.5)))
        run = simulate(protocol, RsfParams(mu0=0.5, a=0.005, b=0.015, Dc_m=2e-4, V0_m_s=1e-4),
                       times_s=protocol.sample_times(300, boundaries=True))
        write_curve(folder / f"r{i}.csv", protocol, run)
    train = records_dataset(str(folder))["train"]
    np.testing.assert_allclose(train["slip_m"][:, -1], 0.004 * 0.8 + HOLD * np.array([0.002, 0.003, 0.004]), rtol=1e-9)
    assert main(["rsf", "train-gru", "--records", str(folder), "--features", "interval", "--epochs", "1",
                 "--hidden", "4", "--out", str(tmp_path / "mine")]) == 0
    assert load_gru(tmp_path / "mine")[1]["config"]["features"] == "interval"
