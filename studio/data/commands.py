"""`friction-studio data generate`: build a training dataset folder (see docs/data.md)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    data = subparsers.add_parser("data", help="training data: generate a dataset of designs and friction laws")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    data.set_defaults(run=lambda args: (data.print_help(), 2)[1])

    gen = data_sub.add_parser(
        "generate", help="Sobol designs → friction laws → HDF5 shards (resumable: re-run the same command)",
        description="Generate a training dataset: scrambled Sobol designs (θ, N), one realisation each, "
                    "friction laws from the physics fast path, HDF5 shards + manifest.json + dataset.h5. "
                    "Re-running the same command after an interruption completes only the missing shards.")
    gen.add_argument("--samples", type=int, required=True, help="number of samples (designs) in the dataset")
    gen.add_argument("--out", required=True, help="dataset folder (created if missing)")
    gen.add_argument("--seed", type=int, default=0, help="dataset seed: fixes every sample (default 0)")
    gen.add_argument("--shard-size", type=int, default=None, help="samples per shard file (default 16384)")
    gen.add_argument("--workers", type=int, default=1,
                     help="worker processes on a local Dask cluster; 1 runs in this process (default 1)")
    gen.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler (tcp://host:port)")
    gen.add_argument("--batch", type=int, default=None, help="designs per simulate_batch call (default 1024)")
    gen.add_argument("--compression", choices=("gzip", "lzf", "none"), default="gzip",
                     help="shard compression (default gzip)")
    gen.set_defaults(run=_run_generate)

    pat = data_sub.add_parser(
        "patterns", help="contact-pattern dataset: Sobol designs laid out at several spacings, BEM-solved at "
                         "several loads (resumable: re-run the same command)",
        description="Make the contact-pattern dataset of docs/patterns.md: each design laid out "
                    "twice (rule and clearance drawn per layout), each layout solved with the BEM at 8 loads, "
                    "HDF5 shards + manifest.json. Re-running the same command completes the missing shards.")
    pat.add_argument("--designs", type=int, required=True, help="number of designs")
    pat.add_argument("--out", required=True, help="dataset folder (created if missing)")
    pat.add_argument("--seed", type=int, default=0, help="dataset seed: fixes every design, layout and load (default 0)")
    pat.add_argument("--workers", type=int, default=2, help="worker processes (spawned; default 2)")
    pat.set_defaults(run=_run_patterns)

    ver = data_sub.add_parser("verify", help="check a dataset folder's shards against its manifest checksums")
    ver.add_argument("folder", help="dataset folder")
    ver.set_defaults(run=_run_verify)


def _run_generate(args: argparse.Namespace) -> int:
    from studio.data.generate import DEFAULT_BATCH, DEFAULT_SHARD_SIZE, generate_dataset

    manifest = generate_dataset(
        args.out, samples=args.samples, seed=args.seed,
        shard_size=args.shard_size if args.shard_size is not None else DEFAULT_SHARD_SIZE,
        workers=args.workers, scheduler=args.scheduler,
        batch=args.batch if args.batch is not None else DEFAULT_BATCH, compression=args.compression)
    print(f"{args.out}: {manifest['samples']} samples in {len(manifest['shards'])} shards, complete")
    return 0


def _run_patterns(args: argparse.Namespace) -> int:
    from studio.data.patterns import generate_patterns

    manifest = generate_patterns(args.out, designs=args.designs, seed=args.seed, workers=args.workers)
    samples = sum(s["samples"] for s in manifest["shards"])
    print(f"{args.out}: {samples} (layout, load) pairs in {len(manifest['shards'])} shards, "
          f"{'complete' if manifest['complete'] else 'incomplete'}")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    from studio.data.store import verify_dataset

    problems = verify_dataset(args.folder)
    for line in problems:
        print(line)
    if not problems:
        print(f"{args.folder}: every shard matches its checksum")
    return 1 if problems else 0
