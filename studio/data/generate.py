"""Generate a training dataset: Sobol designs → friction laws → HDF5 shards, resumable, on Dask if asked.

    generate_dataset(out, samples=..., seed=..., shard_size=..., workers=1, scheduler=None, batch=...)

One shard is the unit of work: `make_shard` computes and writes it (in this process or on a
Dask worker sharing the filesystem) and returns its manifest entry. The driver alone writes
the manifest, after each completed shard, so a killed run resumes where it stopped.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from studio.data import store
from studio.data.sampling import sample_designs
from studio.data.store import DataError, DatasetParameters

DEFAULT_SHARD_SIZE = 16384
DEFAULT_BATCH = 1024


def padded_width(max_n: int) -> int:
    """Asperity slots a batch whose largest N is max_n is simulated with (multiples of 32)."""
    from studio.physics import bucket_width  # the physics' own bucketing: one rule for every caller

    return bucket_width(int(max_n))


def batch_plan(n: np.ndarray, batch: int) -> list[tuple[np.ndarray, int]]:
    """Chunks (indices, width) covering every sample once: sorted by N, `batch` at a time.

    Sorting first means each chunk spans a narrow range of N, so its padded width is close
    to what its own samples need; only the last chunk is shorter than `batch`, which keeps
    the number of compiled shapes small (≈ one per width).
    """
    order = np.argsort(n, kind="stable")
    plan = []
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        plan.append((idx, padded_width(n[idx].max())))
    return plan


def simulate_chunk(theta: np.ndarray, n: np.ndarray, seeds: np.ndarray, width: int) -> np.ndarray:
    """Friction laws float32 (len, 128) [N] of one chunk (the physics fast path)."""
    from studio.physics import simulate_batch

    return np.asarray(simulate_batch(theta, n, seeds, width=width), dtype=np.float32)


def compute_shard(dataset_seed: int, first_index: int, count: int, batch: int = DEFAULT_BATCH,
                  on_samples=None) -> dict:
    """The FIELDS of samples first_index .. first_index+count-1 as numpy arrays."""
    theta, n, seeds = sample_designs(dataset_seed, first_index, count)
    friction = np.empty((count, *store.FIELDS["friction"][1]), np.float32)
    for idx, width in batch_plan(n, batch):
        friction[idx] = simulate_chunk(theta[idx], n[idx], seeds[idx], width)
        if on_samples is not None:
            on_samples(len(idx))
    return {"theta": theta, "N": n, "seed": seeds, "friction": friction}


def make_shard(folder: str, params: DatasetParameters, k: int, on_samples=None) -> dict:
    """Compute shard k, write it atomically into `folder`, return its manifest entry (name, first_index, count, sha256)."""
    from studio.physics import enable_float64

    _limit_threads()
    enable_float64()  # may run on a Dask worker: an entry point of its own (the shard bytes depend on it)
    first, count = params.shards()[k]
    arrays = compute_shard(params.seed, first, count, params.batch, on_samples)
    data = store.shard_bytes(arrays, first_index=first, dataset_seed=params.seed, compression=params.compression)
    name = store.shard_name(k)
    store.write_atomic(os.path.join(folder, name), data)
    return {"name": name, "first_index": first, "count": count, "sha256": store.sha256_bytes(data)}


def _limit_threads() -> None:
    """One core per worker: a worker is one process, so XLA and BLAS must not spawn more."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


# ---------------------------------------------------------------- progress

class ProgressBar:
    """A text progress bar on a stream: done/total, samples/s over this run, ETA.

    On a terminal it redraws one line; into a log file it writes a line every `log_interval_s`.
    """

    def __init__(self, total: int, done: int = 0, stream=None, log_interval_s: float = 30.0, width: int = 30):
        self.total, self.done, self.start_done = total, done, done
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.25 if self.tty else log_interval_s
        self.width = width
        self.t0 = time.perf_counter()
        self.last = -1e9

    def line(self) -> str:
        elapsed = time.perf_counter() - self.t0
        made = self.done - self.start_done
        rate = made / elapsed if elapsed > 0 else 0.0
        fraction = self.done / self.total if self.total else 1.0
        filled = int(round(self.width * fraction))
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{100 * fraction:5.1f}%  {rate:8.0f} samples/s  ETA {_duration(eta)}")

    def update(self, added: int = 0, force: bool = False) -> None:
        self.done += added
        now = time.perf_counter()
        if force or now - self.last >= self.interval:
            self.last = now
            end = "\r" if self.tty else "\n"
            self.stream.write(self.line() + end)
            self.stream.flush()

    def close(self) -> None:
        self.update(force=True)
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "--:--"
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


# ---------------------------------------------------------------- driver

def _prepare_folder(folder: str) -> None:
    """Create the folder and prove it is writable, or raise DataError naming it."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise DataError(f"{folder}: exists and is not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, f".write-test-{os.getpid()}{store.PARTIAL_MARK}")
        with open(probe, "wb") as fh:
            fh.write(b"x")
        os.remove(probe)
    except OSError as exc:
        raise DataError(f"{folder}: cannot write dataset here ({exc.strerror or exc})") from None


def _discard_partial_files(folder: str, log) -> None:
    """Remove half-written temporary files a killed run left behind (ours only: studio.files.is_partial)."""
    for name in sorted(os.listdir(folder)):
        if store.is_partial(name):
            os.remove(os.path.join(folder, name))
            log(f"discarded half-written {name}")


def _verified_shards(folder: str, manifest: dict, params: DatasetParameters, log) -> dict[int, dict]:
    """Shards already on disk whose bytes match the manifest's checksum, by shard number."""
    expected = params.shards()
    names = {store.shard_name(k): k for k in range(len(expected))}
    good = {}
    for entry in manifest["shards"]:
        name = entry.get("name", "")
        k = names.get(name)
        if k is None or (entry.get("first_index"), entry.get("count")) != expected[k]:
            continue
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            log(f"{name} is listed but missing: regenerating it")
            continue
        if store.sha256_file(path) != entry.get("sha256"):
            log(f"{name} does not match its checksum: regenerating it")
            continue
        good[k] = entry
    return good


def generate_dataset(folder: str, *, samples: int, seed: int = 0, shard_size: int = DEFAULT_SHARD_SIZE,
                     workers: int = 1, scheduler: str | None = None, batch: int = DEFAULT_BATCH,
                     compression: str = store.DEFAULT_COMPRESSION, progress_stream=None, log=None) -> dict:
    """Generate (or finish) the dataset in `folder`; return its final manifest.

    Re-running after an interruption completes only the missing shards; the result is
    byte-identical to an uninterrupted run. A folder holding a different dataset is an error.
    """
    for label, value, low in (("samples", samples, 1), ("shard size", shard_size, 1), ("workers", workers, 1),
                              ("batch", batch, 1), ("seed", seed, 0)):
        if int(value) != value or value < low:
            raise DataError(f"{label} must be an integer ≥ {low}, got {value!r}")
    if compression not in store.COMPRESSIONS:
        raise DataError(f"compression {compression!r} is not one of {', '.join(store.COMPRESSIONS)}")
    stream = progress_stream if progress_stream is not None else sys.stderr
    if log is None:
        def log(message):
            stream.write(message + "\n")
            stream.flush()

    params = DatasetParameters(seed=int(seed), samples=int(samples), shard_size=int(shard_size), batch=int(batch),
                               compression=compression)
    wanted = store.new_manifest(params)
    _prepare_folder(folder)
    manifest_path = os.path.join(folder, store.MANIFEST_NAME)
    if os.path.exists(manifest_path):
        manifest = store.read_manifest(folder)
        store.check_compatible(manifest, wanted, manifest_path)
    else:
        manifest = wanted
    _discard_partial_files(folder, log)
    done = _verified_shards(folder, manifest, params, log)
    manifest = dict(wanted, shards=list(done.values()))
    todo = [k for k in range(len(params.shards())) if k not in done]
    store.write_manifest(folder, manifest)

    bar = ProgressBar(params.samples, done=sum(e["count"] for e in done.values()), stream=stream)
    if todo:
        log(f"generating {len(todo)} of {len(params.shards())} shards ({sum(params.shards()[k][1] for k in todo)} samples) "
            f"into {folder}" + (f" on {workers} workers" if workers > 1 or scheduler else ""))

    def completed(entry):
        manifest["shards"].append(entry)
        store.write_manifest(folder, manifest)

    try:
        if todo and (workers > 1 or scheduler):
            _run_on_dask(folder, params, todo, workers, scheduler, bar, completed)
        else:
            for k in todo:
                completed(make_shard(folder, params, k, on_samples=bar.update))
    finally:
        bar.close()

    manifest["complete"] = True
    store.write_atomic(os.path.join(folder, store.DATASET_NAME), store.virtual_dataset_bytes(manifest))
    store.write_manifest(folder, manifest)
    return store.read_manifest(folder)


def _run_on_dask(folder, params, todo, workers, scheduler, bar, completed) -> None:
    """One task per shard on a Dask cluster (a new LocalCluster of `workers` processes, or `scheduler`)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise DataError(f"Dask distributed is needed for --workers > 1 or --scheduler ({exc})") from None
    _limit_threads()  # inherited by the worker processes LocalCluster starts
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise DataError(f"cannot reach Dask scheduler {scheduler} ({exc})") from None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            client = Client(cluster)
        with client:
            folder_abs = os.path.abspath(folder)
            futures = [client.submit(make_shard, folder_abs, params, k, key=f"shard-{params.seed}-{k}",
                                     pure=False) for k in todo]
            for future in as_completed(futures):
                try:
                    entry = future.result()
                except DataError:
                    for other in futures:
                        other.cancel()
                    raise
                completed(entry)
                bar.update(entry["count"])
    finally:
        if cluster is not None:
            cluster.close()
