"""Training data: sampling, deterministic resumable shards, manifest, split, loaders, Dask scale-out.

Datasets here are tiny and use shard size == batch so each shard is one simulate_batch call
at one padded width: the whole file compiles only a couple of shapes.
"""
import errno
import io
import json
import os

import h5py
import numpy as np
import pytest
import torch

from studio.data import generate as gen
from studio.data import store
from studio.data.generate import ProgressBar, batch_plan, generate_dataset, padded_width
from studio.data.loader import ShardStream, load_split, split_blocks
from studio.data.sampling import SEED_LIMIT, realisation_seeds, sample_designs, sobol_points
from studio.data.store import DataError
from studio.errors import StudioError
from studio.physics import LOAD_GRID_N, MAX_ASPERITIES, MIN_ASPERITIES, THETA_LOWER, THETA_UPPER

torch.set_num_threads(1)

SMALL = dict(samples=96, seed=5, shard_size=32, batch=32)
_original_compute = gen.compute_shard


def _make(folder, **kw):
    return generate_dataset(str(folder), progress_stream=io.StringIO(), **{**SMALL, **kw})


def _files(folder):
    """name -> bytes of every file in a dataset folder."""
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as fh:
            out[name] = fh.read()
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    _make(folder)
    return str(folder)


# ---------------------------------------------------------------- sampling

def test_a_sample_depends_only_on_dataset_seed_and_index():
    theta, n, seeds = sample_designs(7, 0, 40)
    theta_b, n_b, seeds_b = sample_designs(7, 25, 10)
    np.testing.assert_array_equal(theta[25:35], theta_b)
    np.testing.assert_array_equal(n[25:35], n_b)
    np.testing.assert_array_equal(seeds[25:35], seeds_b)
    assert not np.array_equal(sample_designs(8, 0, 40)[0], theta)
    assert seeds.dtype == np.int64 and (seeds >= 0).all() and (seeds < SEED_LIMIT).all()
    assert len(set(seeds.tolist())) == len(seeds)
    assert realisation_seeds(7, 33, 1)[0] == seeds[33]


@pytest.mark.parametrize("dataset_seed", [0, 1, 2**32 - 1, 2**40])
def test_realisation_seed_is_the_seed_sequence_of_seed_and_index(dataset_seed):
    rng = np.random.default_rng(dataset_seed % 97)
    for first in [0, int(rng.integers(0, 2**31)), 2**32 - 3]:
        got = realisation_seeds(dataset_seed, first, 5)
        want = [np.random.SeedSequence([dataset_seed, first + i]).generate_state(1, dtype=np.uint32)[0] % SEED_LIMIT
                for i in range(5)]
        assert got.tolist() == [int(w) for w in want]


def test_sobol_designs_fill_the_box_and_the_asperity_range():
    theta, n, _ = sample_designs(0, 0, 4096)
    theta64 = theta.astype(np.float64)
    assert theta.dtype == np.float32 and n.dtype == np.int16
    assert (theta64 >= THETA_LOWER).all() and (theta64 <= THETA_UPPER).all()
    span = THETA_UPPER - THETA_LOWER
    assert (theta64.min(0) < THETA_LOWER + 0.01 * span).all() and (theta64.max(0) > THETA_UPPER - 0.01 * span).all()
    assert n.min() == MIN_ASPERITIES and n.max() == MAX_ASPERITIES
    counts = np.bincount(n - MIN_ASPERITIES, minlength=MAX_ASPERITIES - MIN_ASPERITIES + 1)
    assert counts.min() >= 8 and counts.max() <= 26  # 4096 / 241 ≈ 17 per value
    assert sobol_points(0, 0, 8).shape == (8, 24)


def test_batch_plan_groups_samples_by_padded_width():
    n = sample_designs(3, 0, 3000)[1]
    plan = batch_plan(n, 256)
    seen = np.concatenate([idx for idx, _ in plan])
    assert sorted(seen.tolist()) == list(range(3000))
    for idx, width in plan:
        assert width % 32 == 0 and n[idx].max() <= width <= MAX_ASPERITIES
        assert width == padded_width(n[idx].max())
    slots = sum(len(idx) * width for idx, width in plan)
    assert slots < 0.65 * MAX_ASPERITIES * len(n)  # far fewer padded slots than one width of 256
    assert sum(len(idx) < 256 for idx, _ in plan) == 1


# ---------------------------------------------------------------- content

def test_stored_laws_pass_the_physics_checks(reference):
    data = {k: np.concatenate([load_split(reference, s)[k] for s in store.SPLITS]) for k in store.FIELDS}
    assert len(data["N"]) == SMALL["samples"]
    friction, theta = data["friction"].astype(np.float64), data["theta"].astype(np.float64)
    assert np.isfinite(friction).all() and (friction > 0).all()
    assert (np.diff(friction, axis=1) >= 0).all()
    assert (friction >= theta[:, 22:23] * LOAD_GRID_N * (1 - 1e-6)).all()
    assert (theta >= THETA_LOWER).all() and (theta <= THETA_UPPER).all()
    assert ((data["N"] >= MIN_ASPERITIES) & (data["N"] <= MAX_ASPERITIES)).all()
    # Any sample regenerates alone from what is stored (to float32 rounding).
    i = 17
    copies = np.full(SMALL["batch"], i)  # the shape the dataset used: no new compilation
    alone = gen.simulate_chunk(data["theta"][copies], data["N"][copies], data["seed"][copies], 256)
    np.testing.assert_allclose(alone[0], friction[i], rtol=1e-6)
    theta_i, n_i, seed_i = sample_designs(SMALL["seed"], i, 1)
    assert (theta_i[0] == data["theta"][i]).all() and n_i[0] == data["N"][i] and seed_i[0] == data["seed"][i]


def test_manifest_records_parameters_box_checksums_and_split(reference):
    manifest = json.load(open(os.path.join(reference, "manifest.json")))
    assert manifest["complete"] and manifest["seed"] == 5 and manifest["samples"] == 96
    assert manifest["theta_lower"] == THETA_LOWER.tolist() and manifest["theta_upper"] == THETA_UPPER.tolist()
    assert [s["first_index"] for s in manifest["shards"]] == [0, 32, 64]
    for s in manifest["shards"]:
        assert store.sha256_file(os.path.join(reference, s["name"])) == s["sha256"]
    assert store.verify_dataset(reference) == []


@pytest.mark.parametrize("samples", [96, 20, 1000, 2_000_000])
def test_split_is_disjoint_covering_and_90_5_5(samples):
    split = store.split_ranges(samples)
    assert split["train"][0] == 0 and split["test"][1] == samples
    assert split["train"][1] == split["validation"][0] and split["validation"][1] == split["test"][0]
    sizes = {k: b - a for k, (a, b) in split.items()}
    assert sum(sizes.values()) == samples and min(sizes.values()) >= 0
    assert abs(sizes["train"] - 0.9 * samples) <= 1 and abs(sizes["validation"] - 0.05 * samples) <= 1


def test_loaded_splits_are_disjoint_and_cover_the_dataset(reference):
    seeds = [load_split(reference, s, fields=("seed",))["seed"] for s in store.SPLITS]
    together = np.concatenate(seeds)
    assert len(together) == SMALL["samples"] == len(set(together.tolist()))
    with h5py.File(os.path.join(reference, "dataset.h5")) as f:
        np.testing.assert_array_equal(f["seed"][:], together)
    assert len(load_split(reference, "train", max_samples=10)["theta"]) == 10
    with pytest.raises(DataError, match="no split 'holdout'"):
        load_split(reference, "holdout")


def test_dataset_h5_views_all_shards_from_any_working_folder(reference, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with h5py.File(os.path.join(reference, "dataset.h5")) as f:
        assert f["friction"].shape == (96, 128) and f["theta"].shape == (96, 23) and f["friction"].is_virtual
        with h5py.File(os.path.join(reference, "shard-00001.h5")) as shard:
            np.testing.assert_array_equal(f["friction"][32:64], shard["friction"][:])
            np.testing.assert_array_equal(f["N"][32:64], shard["N"][:])


# ---------------------------------------------------------------- determinism and resume

def test_same_seed_gives_the_same_bytes(reference, tmp_path):
    _make(tmp_path / "again")
    assert _files(tmp_path / "again") == _files(reference)


def test_resume_after_a_kill_equals_an_uninterrupted_run(reference, tmp_path, monkeypatch):
    folder = tmp_path / "killed"
    real = gen.simulate_chunk
    calls = []

    def dies_in_second_shard(theta, n, seeds, width):
        calls.append(len(n))
        if len(calls) == 2:  # shard size == batch: the second call is the second shard
            raise KeyboardInterrupt("killed")
        return real(theta, n, seeds, width)

    monkeypatch.setattr(gen, "simulate_chunk", dies_in_second_shard)
    with pytest.raises(KeyboardInterrupt):
        _make(folder)
    manifest = store.read_manifest(str(folder))
    assert not manifest["complete"] and [s["name"] for s in manifest["shards"]] == ["shard-00000.h5"]
    partial = _files(folder)
    assert partial["shard-00000.h5"] == _files(reference)["shard-00000.h5"]
    assert "shard-00001.h5" not in partial and "dataset.h5" not in partial
    # An incomplete dataset is refused unless asked for, then gives what is done.
    with pytest.raises(DataError, match="incomplete"):
        load_split(str(folder), "train")
    assert len(load_split(str(folder), "train", allow_incomplete=True)["N"]) == 32
    # A half-written temporary file from the kill is discarded on resume.
    (folder / ".shard-00001.h5.partial").write_bytes(b"half a shard")

    monkeypatch.setattr(gen, "simulate_chunk", real)
    resumed = []

    def counting(dataset_seed, first_index, *args, **kw):
        resumed.append(first_index)
        return _original_compute(dataset_seed, first_index, *args, **kw)

    monkeypatch.setattr(gen, "compute_shard", counting)
    log = io.StringIO()
    generate_dataset(str(folder), progress_stream=log, **SMALL)
    assert resumed == [32, 64]  # only the missing shards were computed
    assert "discarded half-written .shard-00001.h5.partial" in log.getvalue()
    assert _files(folder) == _files(reference)


def test_a_corrupt_shard_is_found_by_checksum_and_regenerated(reference, tmp_path):
    folder = tmp_path / "corrupt"
    _make(folder)
    path = folder / "shard-00002.h5"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert store.verify_dataset(str(folder)) == [f"{path}: SHA-256 does not match the manifest"]
    log = io.StringIO()
    generate_dataset(str(folder), progress_stream=log, **SMALL)
    assert "shard-00002.h5 does not match its checksum" in log.getvalue()
    assert _files(folder) == _files(reference)


def test_different_parameters_in_the_same_folder_is_an_error_and_deletes_nothing(reference, tmp_path):
    folder = tmp_path / "other"
    _make(folder)
    before = _files(folder)
    with pytest.raises(DataError, match=r"samples: 96 in the folder, 128 asked") as err:
        _make(folder, samples=128)
    assert isinstance(err.value, StudioError) and "manifest.json" in str(err.value)
    with pytest.raises(DataError, match=r"seed: 5 in the folder, 6 asked"):
        _make(folder, seed=6)
    assert _files(folder) == before


def test_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DataError, match="exists and is not a folder"):
        _make(blocker)
    with pytest.raises(DataError, match="cannot write dataset here"):
        _make(blocker / "inside")


def test_a_full_disk_stops_cleanly_and_keeps_completed_shards(reference, tmp_path, monkeypatch):
    folder = tmp_path / "full"
    real_fsync = os.fsync
    written = []

    def fsync_then_disk_full(fd):
        written.append(fd)
        if len(written) == 3:  # manifest, shard 0, then shard 1 hits the full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(store.os, "fsync", fsync_then_disk_full)
    with pytest.raises(DataError, match="disk full.*completed shards are kept"):
        _make(folder)
    monkeypatch.setattr(store.os, "fsync", real_fsync)
    names = sorted(os.listdir(folder))
    assert "shard-00000.h5" in names and "shard-00001.h5" not in names
    assert not [n for n in names if store.is_partial(n)]
    _make(folder)
    assert _files(folder) == _files(reference)


def test_bad_arguments_are_studio_errors(tmp_path):
    for bad in (dict(samples=0), dict(shard_size=0), dict(batch=-1), dict(seed=-3), dict(workers=0)):
        with pytest.raises(DataError):
            _make(tmp_path / "bad", **bad)


def test_cli_generates_and_reports_a_mismatch(reference, tmp_path, capsys):
    from studio.cli import main

    out = tmp_path / "cli"
    args = ["data", "generate", "--samples", "96", "--out", str(out), "--seed", "5", "--shard-size", "32", "--batch", "32"]
    assert main(args) == 0
    assert _files(out) == _files(reference)
    assert "96 samples in 3 shards, complete" in capsys.readouterr().out
    assert main(args[:3] + ["64"] + args[4:]) == 2
    assert "samples: 96 in the folder, 64 asked" in capsys.readouterr().err
    assert main(["data", "verify", str(out)]) == 0


def test_progress_bar_shows_rate_and_eta():
    stream = io.StringIO()
    bar = ProgressBar(1000, done=200, stream=stream, log_interval_s=0)
    bar.t0 -= 2.0  # two seconds in
    bar.update(400)
    line = stream.getvalue().splitlines()[-1]
    assert "600/1000" in line and "60.0%" in line and "samples/s" in line and "ETA" in line
    rate = float(line.split("samples/s")[0].split()[-1])
    assert 150 <= rate <= 200  # 400 samples made in this run over ~2 s
    assert "00:02" in line or "00:01" in line  # 400 left at ~200/s


# ---------------------------------------------------------------- streaming loader

def test_stream_deals_every_split_sample_once_across_consumers(reference):
    stream = ShardStream(reference, "train", fields=("seed",), block_rows=8, even_consumers=False, buffer_size=16)
    expected = sorted(load_split(reference, "train", fields=("seed",))["seed"].tolist())
    for consumers in (1, 2, 3):
        got = []
        for c in range(consumers):
            blocks, limit = stream._my_blocks(c, consumers)
            assert limit is None
            got += [int(x) for block in stream._rows(blocks, limit) for x in block["seed"]]
        assert sorted(got) == expected


def test_even_consumers_yield_equal_counts_for_ddp(reference):
    stream = ShardStream(reference, "train", fields=("seed",), block_rows=7)
    counts = []
    for c in range(3):
        blocks, limit = stream._my_blocks(c, 3)
        counts.append(sum(len(b["seed"]) for b in stream._rows(blocks, limit)))
    assert len(set(counts)) == 1 and counts[0] >= (len(stream) - 3 * 7) // 3


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # the DataLoader workers never touch JAX
def test_stream_shuffles_per_epoch_reproducibly_through_a_dataloader(reference):
    stream = ShardStream(reference, "train", fields=("seed", "friction"), block_rows=8, buffer_size=16, seed=3,
                         even_consumers=False)

    def epoch(e, workers):
        stream.set_epoch(e)
        loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers)
        rows = [(int(s["seed"]), tuple(s["friction"].shape)) for s in loader]
        return [r[0] for r in rows], {r[1] for r in rows}

    first, shapes = epoch(0, 0)
    assert shapes == {(128,)}
    assert sorted(first) == sorted(load_split(reference, "train", fields=("seed",))["seed"].tolist())
    assert epoch(0, 0)[0] == first and epoch(1, 0)[0] != first
    two_workers = epoch(0, 2)[0]
    assert sorted(two_workers) == sorted(first)


def test_stream_in_batches(reference):
    stream = ShardStream(reference, "validation", batch_size=2, shuffle=False)
    batches = list(stream)
    assert [len(b["N"]) for b in batches] == [2, 2]  # validation of 96 holds samples 86..89
    assert batches[0]["theta"].dtype == torch.float32 and batches[0]["friction"].shape == (2, 128)
    got = torch.cat([b["friction"] for b in batches]).numpy()
    np.testing.assert_array_equal(got, load_split(reference, "validation")["friction"])


def test_split_blocks_stay_inside_the_split(reference):
    manifest = store.read_manifest(reference)
    blocks = split_blocks(manifest, "validation", block_rows=4)
    assert blocks == [("shard-00002.h5", 22, 26)]  # samples 86..89
    assert split_blocks(manifest, "train", block_rows=20)[:3] == [("shard-00000.h5", 0, 20), ("shard-00000.h5", 20, 32),
                                                                   ("shard-00001.h5", 0, 20)]


# ---------------------------------------------------------------- Dask

@pytest.mark.slow
def test_two_dask_workers_give_the_same_bytes_as_one_process(reference, tmp_path):
    folder = tmp_path / "dask"
    generate_dataset(str(folder), workers=2, progress_stream=io.StringIO(), **SMALL)
    assert _files(folder) == _files(reference), _differences(folder, reference)


def _differences(a, b):
    """Which shard fields differ between two dataset folders, and by how much."""
    out = []
    for k in range(3):
        with h5py.File(os.path.join(a, store.shard_name(k))) as fa, h5py.File(os.path.join(b, store.shard_name(k))) as fb:
            for name in store.FIELDS:
                x, y = fa[name][:], fb[name][:]
                if not np.array_equal(x, y):
                    rows = np.flatnonzero((x != y).reshape(len(x), -1).any(axis=1))
                    rel = np.abs(x.astype(np.float64) / y - 1).max() if name == "friction" else None
                    out.append(f"shard {k} {name}: rows {rows.tolist()} N {fa['N'][:][rows].tolist()} max rel {rel}")
    return "; ".join(out) or "only metadata differs"
