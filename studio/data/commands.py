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


def _run_verify(args: argparse.Namespace) -> int:
    from studio.data.store import verify_dataset

    problems = verify_dataset(args.folder)
    for line in problems:
        print(line)
    if not problems:
        print(f"{args.folder}: every shard matches its checksum")
    return 1 if problems else 0
