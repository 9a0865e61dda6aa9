"""Dataset generation throughput: end-to-end (sampling + physics + HDF5 + checksums) against raw forward.

    python benchmarks/data.py [--samples 8192] [--shard-size 4096] [--batch 1024] [--repeats 2] [--json OUT]

In one run, on the same Sobol θ/N mix and the same batch size:
  raw_ungrouped   simulate_batch over chunks in index order, every chunk at width 256
  raw_grouped     simulate_batch over the chunks `data generate` uses (sorted by N, width per chunk)
  end_to_end      generate_dataset into a fresh folder (1 process): Sobol, seeds, physics,
                  gzip HDF5 shards, SHA-256, manifest, dataset.h5
and the cost of each shard compression on the generated arrays. All shapes are compiled
before timing. Goal: end_to_end ≥ 80 % of raw_grouped. Prints one JSON line and a table.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import numpy as np  # noqa: E402

from studio.data import store  # noqa: E402
from studio.data.generate import batch_plan, compute_shard, generate_dataset, simulate_chunk  # noqa: E402
from studio.data.sampling import sample_designs  # noqa: E402
from studio.physics import MAX_ASPERITIES, enable_float64  # noqa: E402

enable_float64()  # an entry point: the shards' bytes depend on it

SEED = 12345


def _raw(theta, n, seeds, plan):
    t0 = time.perf_counter()
    for idx, width in plan:
        simulate_chunk(theta[idx], n[idx], seeds[idx], width)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=8192)
    ap.add_argument("--shard-size", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=2, help="timed passes of each measurement (median)")
    ap.add_argument("--json", help="also write the JSON here")
    args = ap.parse_args(argv)

    # The same θ/N mix and chunking as the dataset: per shard, as generate does.
    shards = store.DatasetParameters(SEED, args.samples, args.shard_size, args.batch).shards()
    designs = [sample_designs(SEED, first, count) for first, count in shards]
    grouped = [batch_plan(n, args.batch) for _, n, _ in designs]
    ungrouped = [[(np.arange(a, min(a + args.batch, len(n))), MAX_ASPERITIES) for a in range(0, len(n), args.batch)]
                 for _, n, _ in designs]

    t0 = time.perf_counter()
    for (theta, n, seeds), g, u in zip(designs, grouped, ungrouped):  # compile every shape used below
        _raw(theta, n, seeds, g)
        _raw(theta, n, seeds, u)
    warmup_s = time.perf_counter() - t0

    times = {"raw_ungrouped": [], "raw_grouped": [], "end_to_end": []}
    for _ in range(args.repeats):
        times["raw_ungrouped"].append(sum(_raw(*d, u) for d, u in zip(designs, ungrouped)))
        times["raw_grouped"].append(sum(_raw(*d, g) for d, g in zip(designs, grouped)))
        folder = tempfile.mkdtemp(prefix="bench-data-")
        try:
            t0 = time.perf_counter()
            generate_dataset(folder, samples=args.samples, seed=SEED, shard_size=args.shard_size, batch=args.batch,
                             progress_stream=io.StringIO())
            times["end_to_end"].append(time.perf_counter() - t0)
            written = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        finally:
            shutil.rmtree(folder)
    rate = {k: args.samples / statistics.median(v) for k, v in times.items()}

    arrays = compute_shard(SEED, 0, shards[0][1], args.batch)
    compression = {}
    for name in store.COMPRESSIONS:
        t0 = time.perf_counter()
        data = store.shard_bytes(arrays, first_index=0, dataset_seed=SEED, compression=name)
        compression[name] = {"seconds_per_shard": time.perf_counter() - t0,
                             "bytes_per_sample": len(data) / shards[0][1]}

    slots = {"grouped": sum(len(i) * w for p in grouped for i, w in p) / args.samples,
             "ungrouped": float(MAX_ASPERITIES)}
    result = {
        "benchmark": "data",
        "samples": args.samples, "shard_size": args.shard_size, "batch": args.batch, "repeats": args.repeats,
        "device": str(jax.devices()[0]), "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "samples_per_s": rate,
        "end_to_end_over_raw_grouped": rate["end_to_end"] / rate["raw_grouped"],
        "grouping_speedup": rate["raw_grouped"] / rate["raw_ungrouped"],
        "padded_slots_per_sample": slots,
        "compile_warmup_s": warmup_s,
        "dataset_bytes_per_sample": written / args.samples,
        "compression": compression,
    }
    print(json.dumps(result))
    print(f"{'measure':<16} {'samples/s':>10}")
    for k, v in rate.items():
        print(f"{k:<16} {v:>10.0f}")
    print(f"end-to-end / raw grouped: {100 * result['end_to_end_over_raw_grouped']:.1f} % (goal ≥ 80 %)")
    print(f"grouping by N: {result['grouping_speedup']:.2f}x ({slots['grouped']:.0f} vs {MAX_ASPERITIES} padded slots/sample)")
    for name, c in compression.items():
        print(f"{name:<5} {1e3 * c['seconds_per_shard']:8.1f} ms/shard  {c['bytes_per_sample']:7.1f} bytes/sample")
    print(f"load average during the run: {result['load_average_1min']:.1f} on {os.cpu_count()} CPUs")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return result


if __name__ == "__main__":
    main()
