"""Friction-dynamics datasets: random slide-hold protocols → rate-and-state μ(t) → HDF5 shards.

    generate_dynamics_dataset(folder, samples=15_000, seed=0, box="paper"|"box", law="aging"|"slip",
                              noise_sigma=0.0)
    load_dynamics_split(folder, "train"|"test") -> dict of numpy arrays
    records_dataset(folder_of_csv) -> the same arrays from measured records (studio.dynamics.files)

The protocols follow Garcia-Suarez, "Neural networks and friction: slide, hold, learn"
(refs/rsf-gru-slide-hold-learn.md II.B); its text leaves choices open, and these are ours
(docs/gru.md lists them with what they could change):
  * jumps: 2, 3, 4 or 5 (uniform), at times T·U(0, 1) sorted, T = 0.013 s; no minimum gap
    (jump_times="continuous"). The text does not say how jumps sit relative to the 100 samples; with
    jump_times="grid" they fall on sample instants (distinct, uniform among the 98 interior ones), so
    every interval holds at least one sample and each jump is seen where it happens. With continuous
    times an interval shorter than the sample spacing can fall between two samples: the velocity
    samples never show it, yet μ after it depends on it (docs/gru.md measures what that costs);
  * the hold is one of the intervals *between* two jumps (uniform among them), so it starts at a jump
    and ends at the next ("until the subsequent jump"); the first interval always slides (the start is
    at steady state at V(0) > 0);
  * "divide the total sliding distance by the time spans": each sliding interval slides an equal share
    of the 30·Dc total, V_i = 30·Dc / (n_slides·Δt_i), so the protocol's slip is exactly 30·Dc;
  * holds are simulated at 2e-9 m/s and that velocity is what the velocity samples hold;
  * μ is sampled at 100 equally spaced instants from 0 to T (right-continuous at a jump), float64.
With box="box", a, b and Dc are drawn per protocol: a ~ U[0.002, 0.02], b ~ U[0.002, 0.03], Dc
log-uniform in [1, 100] µm (the fitting issue's box), with the same 30·Dc slip in the same T: the
velocities scale with Dc, so slip per sample in units of Dc and the time in units of Dc/V are those of
the paper protocol and only the hold's direct effect a·ln(V_hold/V) depends on Dc.

Storage follows studio/data/store.py: deterministic HDF5 shards written atomically, a manifest with
their SHA-256, a virtual dataset.h5, resumable (a re-run completes only missing shards). Every sample i
is a function of (seed, i) alone (its own SeedSequence), so shards do not depend on the shard size.
"""
from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass

import numpy as np

from studio.data import store
from studio.data.store import DataError

FORMAT_NAME = "friction-studio-dynamics-data"
FORMAT_VERSION = 1
SAMPLES_PER_PROTOCOL = 100
MAX_SEGMENTS = 6  # 5 jumps → 6 intervals
JUMP_COUNTS = (2, 3, 4, 5)
JUMP_TIMES = ("continuous", "grid")
DURATION_S = 0.013
SLIP_IN_DC = 30.0
HOLD_VELOCITY_M_S = 2e-9
PAPER_PARAMS = {"mu0": 0.5, "a": 0.005, "b": 0.015, "V0_m_s": 1e-4, "Dc_m": 2e-4}
BOX = {"a": (0.002, 0.02), "b": (0.002, 0.03), "Dc_m": (1e-6, 1e-4)}
BOXES = ("paper", "box")
SPLIT_FRACTION_TRAIN = 0.8  # the paper: 12 000 train, 3 000 test of 15 000
DEFAULT_SHARD_SIZE = 5000
SIMULATE_BATCH = 1000  # protocols per simulate call (one compiled shape)


def fields(noise: bool, samples: int = SAMPLES_PER_PROTOCOL) -> dict:
    """name → (dtype, per-sample shape) of a dynamics shard."""
    f64 = np.dtype(np.float64)
    out = {
        "times_s": (f64, (samples,)),
        "velocity_m_s": (f64, (samples,)),  # the slider's velocity at each sample (holds: the hold velocity)
        "mu": (f64, (samples,)),  # noiseless μ
        "durations_s": (f64, (MAX_SEGMENTS,)),
        "segment_velocity_m_s": (f64, (MAX_SEGMENTS,)),  # 0 for a hold; padding segments last 0 s
        "a": (f64, ()), "b": (f64, ()), "Dc_m": (f64, ()),
        "jumps": (np.dtype(np.int8), ()),
    }
    if noise:
        out["mu_noisy"] = (f64, (samples,))  # μ + N(0, σ²): what a noisy-target model trains on
    return out


@dataclass(frozen=True)
class DynamicsParameters:
    """What defines a dynamics dataset's content: the same parameters give the same bytes."""

    seed: int
    samples: int
    shard_size: int = DEFAULT_SHARD_SIZE
    box: str = "paper"
    law: str = "aging"
    noise_sigma: float = 0.0
    jump_times: str = "continuous"

    def shards(self) -> list[tuple[int, int]]:
        return [(first, min(self.shard_size, self.samples - first)) for first in range(0, self.samples, self.shard_size)]


def _rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def sample_protocol(rng: np.random.Generator, Dc_m: float, jump_times: str = "continuous"
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    """(durations_s (6,), velocities_m_s (6,), jumps) of one random protocol (module docstring)."""
    jumps = int(rng.choice(JUMP_COUNTS))
    if jump_times == "grid":
        k = np.sort(rng.choice(np.arange(1, SAMPLES_PER_PROTOCOL - 1), jumps, replace=False))
        times = k * (DURATION_S / (SAMPLES_PER_PROTOCOL - 1))
    else:
        times = np.sort(rng.uniform(0.0, 1.0, jumps)) * DURATION_S
    edges = np.concatenate([[0.0], times, [DURATION_S]])
    spans = np.diff(edges)  # jumps + 1 intervals
    hold_index = int(rng.integers(1, jumps))  # between jumps: intervals 1 .. jumps-1
    slides = jumps  # every interval but the hold
    velocities = SLIP_IN_DC * Dc_m / (slides * spans)
    velocities[hold_index] = 0.0
    durations = np.zeros(MAX_SEGMENTS)
    seg_v = np.zeros(MAX_SEGMENTS)
    durations[: jumps + 1] = spans
    seg_v[: jumps + 1] = velocities
    seg_v[jumps + 1:] = velocities[-1]
    return durations, seg_v, jumps


def sample_parameters(rng: np.random.Generator, box: str) -> tuple[float, float, float]:
    """(a, b, Dc_m): the paper's, or drawn from the box (a, b uniform; Dc log-uniform)."""
    if box == "paper":
        return PAPER_PARAMS["a"], PAPER_PARAMS["b"], PAPER_PARAMS["Dc_m"]
    a = rng.uniform(*BOX["a"])
    b = rng.uniform(*BOX["b"])
    Dc = float(np.exp(rng.uniform(*np.log(BOX["Dc_m"]))))
    return float(a), float(b), Dc


def compute_samples(params: DynamicsParameters, first_index: int, count: int) -> dict:
    """The fields of samples first_index .. first_index+count-1 (simulated in float64, imposed velocity)."""
    from studio.dynamics import ProtocolBatch, RsfParams, simulate

    durations = np.zeros((count, MAX_SEGMENTS))
    seg_v = np.zeros((count, MAX_SEGMENTS))
    a, b, Dc = np.zeros(count), np.zeros(count), np.zeros(count)
    jumps = np.zeros(count, np.int8)
    noise = np.zeros((count, SAMPLES_PER_PROTOCOL))
    for i in range(count):
        rng = _rng(params.seed, first_index + i)
        a[i], b[i], Dc[i] = sample_parameters(rng, params.box)
        durations[i], seg_v[i], jumps[i] = sample_protocol(rng, Dc[i], params.jump_times)
        if params.noise_sigma > 0:
            noise[i] = rng.normal(0.0, params.noise_sigma, SAMPLES_PER_PROTOCOL)
    times = np.broadcast_to(np.linspace(0.0, DURATION_S, SAMPLES_PER_PROTOCOL), (count, SAMPLES_PER_PROTOCOL))
    mu = np.zeros((count, SAMPLES_PER_PROTOCOL))
    velocity = np.zeros((count, SAMPLES_PER_PROTOCOL))
    for start in range(0, count, SIMULATE_BATCH):
        sl = slice(start, min(start + SIMULATE_BATCH, count))
        n = sl.stop - sl.start
        pad = SIMULATE_BATCH - n  # a fixed batch shape: one compilation for every chunk
        def padded(x):
            return np.concatenate([x[sl], np.repeat(x[sl][-1:], pad, axis=0)]) if pad else x[sl]
        batch = ProtocolBatch(durations_s=padded(durations), velocities_m_s=padded(seg_v),
                              times_s=padded(times), initial_velocity_m_s=padded(seg_v)[:, 0],
                              hold_velocity_m_s=np.full(SIMULATE_BATCH, HOLD_VELOCITY_M_S))
        rsf = RsfParams(mu0=PAPER_PARAMS["mu0"], a=padded(a), b=padded(b), Dc_m=padded(Dc),
                        V0_m_s=PAPER_PARAMS["V0_m_s"])
        run = simulate(batch, rsf, law=params.law, dtype=np.float64)
        mu[sl] = run.mu[:n]
        velocity[sl] = run.velocity_m_s[:n]
    out = {"times_s": np.ascontiguousarray(times), "velocity_m_s": velocity, "mu": mu, "durations_s": durations,
           "segment_velocity_m_s": seg_v, "a": a, "b": b, "Dc_m": Dc, "jumps": jumps}
    if params.noise_sigma > 0:
        out["mu_noisy"] = mu + noise
    return out


def split_ranges(samples: int) -> dict:
    n_train = int(round(samples * SPLIT_FRACTION_TRAIN))
    return {"train": [0, n_train], "test": [n_train, samples]}


def new_manifest(params: DynamicsParameters) -> dict:
    from studio import __version__

    return {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "generator": {"name": "studio.data.dynamics", "version": __version__,
                      "protocol": {"jump_counts": list(JUMP_COUNTS), "duration_s": DURATION_S,
                                   "slip_in_Dc": SLIP_IN_DC, "hold_velocity_m_s": HOLD_VELOCITY_M_S,
                                   "hold": "one interval between two jumps, uniform",
                                   "jump_times": params.jump_times,
                                   "velocities": "equal slip share per sliding interval: 30·Dc/(n_slides·Δt)",
                                   "samples": SAMPLES_PER_PROTOCOL},
                      "rng": "numpy default_rng(SeedSequence([seed, index])) per protocol: params, protocol, noise",
                      "simulator": "studio.dynamics.simulate, imposed velocity (exact), float64"},
        "seed": params.seed, "samples": params.samples, "shard_size": params.shard_size, "box": params.box,
        "law": params.law, "noise_sigma": params.noise_sigma,
        "parameters": dict(PAPER_PARAMS) if params.box == "paper" else
        {"mu0": PAPER_PARAMS["mu0"], "V0_m_s": PAPER_PARAMS["V0_m_s"], **{k: list(v) for k, v in BOX.items()}},
        "fields": {name: {"dtype": dtype.str, "shape": ["n", *shape]}
                   for name, (dtype, shape) in fields(params.noise_sigma > 0).items()},
        "split": split_ranges(params.samples), "complete": False, "shards": [],
    }


_COMPARED = ("format", "format_version", "generator", "seed", "samples", "shard_size", "box", "law", "noise_sigma")
# (jump_times is inside "generator")


def generate_dynamics_dataset(folder: str, *, samples: int = 15_000, seed: int = 0, box: str = "paper",
                              law: str = "aging", noise_sigma: float = 0.0, shard_size: int = DEFAULT_SHARD_SIZE,
                              jump_times: str = "continuous", log=None) -> dict:
    """Generate (or finish) a dynamics dataset in `folder`; return its manifest (module docstring)."""
    from studio.data.generate import _discard_partial_files, _prepare_folder, _verified_shards

    if box not in BOXES:
        raise DataError(f"box {box!r} is not one of {', '.join(BOXES)}")
    if jump_times not in JUMP_TIMES:
        raise DataError(f"jump times {jump_times!r} is not one of {', '.join(JUMP_TIMES)}")
    if law not in ("aging", "slip"):
        raise DataError(f"law {law!r} is not aging or slip")
    for label, value, low in (("samples", samples, 2), ("shard size", shard_size, 1), ("seed", seed, 0)):
        if int(value) != value or value < low:
            raise DataError(f"{label} must be an integer ≥ {low}, got {value!r}")
    if not (np.isfinite(noise_sigma) and noise_sigma >= 0):
        raise DataError(f"noise sigma must be ≥ 0, got {noise_sigma!r}")
    log = log or (lambda m: (sys.stderr.write(m + "\n"), sys.stderr.flush()))
    params = DynamicsParameters(int(seed), int(samples), int(shard_size), box, law, float(noise_sigma), jump_times)
    wanted = new_manifest(params)
    _prepare_folder(folder)
    path = os.path.join(folder, store.MANIFEST_NAME)
    if os.path.exists(path):
        existing = store.read_manifest(folder, FORMAT_NAME, FORMAT_VERSION)
        diffs = [f"{k}: {existing.get(k)!r} in the folder, {wanted[k]!r} asked" for k in _COMPARED
                 if existing.get(k) != wanted[k]]
        if diffs:
            raise DataError(f"{path} describes a different dataset ({'; '.join(diffs)}); use another folder")
        manifest = existing
    else:
        manifest = wanted
    _discard_partial_files(folder, log)
    done = _verified_shards(folder, manifest, params, log)
    manifest = dict(wanted, shards=list(done.values()))
    store.write_manifest(folder, manifest)
    layout = fields(params.noise_sigma > 0)
    for k, (first, count) in enumerate(params.shards()):
        if k in done:
            continue
        log(f"shard {k + 1}/{len(params.shards())}: protocols {first}..{first + count - 1}")
        arrays = compute_samples(params, first, count)
        data = store.shard_bytes(arrays, first_index=first, dataset_seed=params.seed, fields=layout,
                                 format_name=FORMAT_NAME, format_version=FORMAT_VERSION)
        name = store.shard_name(k)
        store.write_atomic(os.path.join(folder, name), data)
        manifest["shards"].append({"name": name, "first_index": first, "count": count,
                                   "sha256": store.sha256_bytes(data)})
        store.write_manifest(folder, manifest)
    manifest["complete"] = True
    store.write_atomic(os.path.join(folder, store.DATASET_NAME), store.virtual_dataset_bytes(manifest, layout))
    store.write_manifest(folder, manifest)
    return read_dynamics_manifest(folder)


def read_dynamics_manifest(folder: str) -> dict:
    return store.read_manifest(folder, FORMAT_NAME, FORMAT_VERSION)


def load_dynamics_split(folder: str, split: str = "train", max_samples: int | None = None) -> dict:
    """A split of a complete dynamics dataset as numpy arrays by field name, plus `manifest`."""
    from studio.data.loader import split_blocks

    manifest = read_dynamics_manifest(folder)
    if not manifest.get("complete"):
        raise DataError(f"{folder}: dataset is incomplete; re-run the generate command to finish it")
    if split not in manifest["split"]:
        raise DataError(f"{folder}: no split {split!r} (splits: {', '.join(manifest['split'])})")
    names = list(manifest["fields"])
    parts = []
    for name, a, b in split_blocks(manifest, split, block_rows=1 << 30):
        parts.append(store.read_shard(os.path.join(folder, name), a, b, names))
    out = {n: np.concatenate([p[n] for p in parts]) for n in names}
    if max_samples is not None:
        out = {n: v[:max_samples] for n, v in out.items()}
    out["manifest"] = manifest
    return out


# ---------------------------------------------------------------- measured records

def records_dataset(folder: str, *, samples: int = SAMPLES_PER_PROTOCOL, test_every: int = 5) -> dict:
    """Measured records (every *.csv in `folder`, the record format of studio.dynamics.files) as
    training arrays: each record resampled at `samples` equally spaced instants (μ linearly
    interpolated, the velocity the record's protocol at that instant, holds at the hold velocity).
    Every `test_every`-th file (sorted by name) goes to the test split. Returns {"train": ..., "test": ...}
    with the fields of a synthetic split (a, b, Dc_m are NaN: unknown), and slip_m, held_s: the slip and
    the time held since t = 0 at each sample (what "interval" GRU features need; records have no fixed
    segment count)."""
    from studio.dynamics.files import read_record

    paths = sorted(glob.glob(os.path.join(folder, "*.csv")))
    if not paths:
        raise DataError(f"{folder}: no *.csv records to learn from")
    rows = []
    for path in paths:
        record = read_record(path)
        t = np.linspace(0.0, float(record.times_s[-1]), samples)
        v = record.protocol.velocity_at(t)
        v = np.where(v > 0, v, record.protocol.hold_velocity_m_s)
        slip, held = _integrals(t, record.protocol)
        rows.append({"times_s": t, "velocity_m_s": v, "mu": np.interp(t, record.times_s, record.mu),
                     "slip_m": slip, "held_s": held,
                     "a": np.nan, "b": np.nan, "Dc_m": np.nan, "source": os.path.basename(path)})
    split = {"train": [r for i, r in enumerate(rows) if len(rows) < 2 or (i + 1) % test_every],
             "test": [r for i, r in enumerate(rows) if len(rows) >= 2 and not (i + 1) % test_every]}
    if not split["test"]:
        split["test"] = rows[-1:]
    return {name: {k: np.array([r[k] for r in part]) for k in rows[0]} for name, part in split.items()}


def _integrals(times_s, protocol):
    from studio.models.gru import protocol_integrals

    slip, held = protocol_integrals(times_s, protocol.durations_s, protocol.velocities_m_s,
                                    protocol.hold_velocity_m_s)
    return slip[0], held[0]


__all__ = ["FORMAT_NAME", "PAPER_PARAMS", "BOX", "DynamicsParameters", "sample_protocol", "sample_parameters",
           "compute_samples", "generate_dynamics_dataset", "read_dynamics_manifest", "load_dynamics_split",
           "records_dataset"]
