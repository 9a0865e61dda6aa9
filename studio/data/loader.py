"""Reading a dataset folder: whole splits into memory, or a streaming torch IterableDataset.

    arrays = load_split("data/train-v1", "train", max_samples=1_000_000)   # dict of numpy arrays
    stream = ShardStream("data/train-v1", "train", batch_size=1024, seed=0) # bounded memory
    for epoch in range(...):
        stream.set_epoch(epoch)
        for batch in torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2): ...

Fields: theta float32 (n, 23) in the physical box, N int16 (n,), seed int64 (n,), friction
float32 (n, 128) [N] on studio.physics.LOAD_GRID_N. A split is a range of sample indices
(manifest["split"]); streaming reads it in blocks of whole chunks, shuffles the block order
per epoch (seeded) and mixes rows through a shuffle buffer.
"""
from __future__ import annotations

import os

import h5py
import numpy as np
import torch

from studio.data import store
from studio.data.store import FIELDS, DataError

BLOCK_ROWS = 4 * store.CHUNK_ROWS  # rows read at a time: whole chunks, so reads do not decompress twice


def _complete_manifest(folder: str, allow_incomplete: bool = False) -> dict:
    manifest = store.read_manifest(folder)
    if not manifest.get("complete") and not allow_incomplete:
        raise DataError(f"{os.path.join(folder, store.MANIFEST_NAME)}: dataset is incomplete "
                        f"({len(manifest['shards'])} shards done) — re-run the generate command to finish it")
    return manifest


def _check_split(manifest: dict, split: str, folder: str) -> tuple[int, int]:
    if split not in manifest["split"]:
        raise DataError(f"{folder}: no split {split!r} (splits: {', '.join(manifest['split'])})")
    start, stop = manifest["split"][split]
    return int(start), int(stop)


def split_blocks(manifest: dict, split: str, block_rows: int = BLOCK_ROWS) -> list[tuple[str, int, int]]:
    """(shard name, first row, stop row) blocks, in index order, covering the split's index range."""
    start, stop = _check_split(manifest, split, "dataset")
    blocks = []
    for shard in sorted(manifest["shards"], key=lambda s: s["first_index"]):
        first, count = shard["first_index"], shard["count"]
        lo, hi = max(start, first), min(stop, first + count)
        for a in range(lo - first, hi - first, block_rows):
            blocks.append((shard["name"], a, min(a + block_rows, hi - first)))
    return blocks


def load_split(folder: str, split: str = "train", max_samples: int | None = None, fields=None,
               allow_incomplete: bool = False) -> dict:
    """The first `max_samples` samples (all by default) of a split as numpy arrays, by field name.

    With `allow_incomplete`, a dataset still being generated gives the samples of the split
    that its completed shards hold (in index order), so training can start early.
    """
    manifest = _complete_manifest(folder, allow_incomplete)
    _check_split(manifest, split, folder)
    available = sum(b - a for _, a, b in split_blocks(manifest, split, block_rows=1 << 30))
    total = available if max_samples is None else min(available, int(max_samples))
    names = tuple(fields or FIELDS)
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise DataError(f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
    out = {n: np.empty((total, *FIELDS[n][1]), dtype=FIELDS[n][0]) for n in names}
    filled = 0
    for name, a, b in split_blocks(manifest, split, block_rows=1 << 30):
        if filled >= total:
            break
        b = min(b, a + total - filled)
        part = store.read_shard(os.path.join(folder, name), a, b, names)
        for n in names:
            out[n][filled:filled + b - a] = part[n]
        filled += b - a
    return out


def _consumer() -> tuple[int, int]:
    """(this consumer's number, number of consumers) over DDP ranks × DataLoader workers."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = torch.utils.data.get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world * workers


class ShardStream(torch.utils.data.IterableDataset):
    """Streaming torch IterableDataset over one split of a dataset folder, with bounded memory.

    Each epoch the split's blocks (runs of whole chunks) are shuffled with (seed, epoch) and dealt
    round-robin to the consumers (DDP ranks × DataLoader workers), so each sample is read by
    exactly one consumer; rows pass through a shuffle buffer of `buffer_size` rows. h5py files
    are opened lazily inside the consuming process and closed when its iteration ends. With
    `even_consumers` every consumer yields the same number of samples (the smallest share), as
    DDP needs; the few samples cut change with the epoch.

    Yields dicts of torch tensors: one sample each, or batches of `batch_size` rows.
    """

    def __init__(self, folder: str, split: str = "train", *, fields=("theta", "N", "friction"), shuffle: bool = True,
                 buffer_size: int = 16384, seed: int = 0, batch_size: int | None = None, drop_last: bool = False,
                 even_consumers: bool = True, block_rows: int = BLOCK_ROWS, max_samples: int | None = None):
        self.folder, self.split = folder, split
        self.fields = tuple(fields)
        unknown = [n for n in self.fields if n not in FIELDS]
        if unknown:
            raise DataError(f"unknown field(s) {', '.join(unknown)}; fields are {', '.join(FIELDS)}")
        manifest = _complete_manifest(folder)
        _check_split(manifest, split, folder)
        self.blocks = split_blocks(manifest, split, block_rows)
        if max_samples is not None:
            self.blocks = _truncate(self.blocks, int(max_samples))
        self.shuffle, self.buffer_size, self.seed = shuffle, int(buffer_size), int(seed)
        self.batch_size, self.drop_last, self.even_consumers = batch_size, drop_last, even_consumers
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose shuffle the next iteration uses (call it in every process)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        """Samples in the split (over all consumers)."""
        return sum(b - a for _, a, b in self.blocks)

    def _my_blocks(self, consumer: int, consumers: int) -> tuple[list, int | None]:
        order = list(range(len(self.blocks)))
        if self.shuffle:
            np.random.default_rng([self.seed, self.epoch]).shuffle(order)
        shares = [order[c::consumers] for c in range(consumers)]
        limit = None
        if self.even_consumers and consumers > 1:
            limit = min(sum(self.blocks[i][2] - self.blocks[i][1] for i in share) for share in shares)
        return [self.blocks[i] for i in shares[consumer]], limit

    def _rows(self, blocks, limit):
        """Blocks of rows (dict of arrays) in this consumer's order, at most `limit` rows in all."""
        files = {}
        try:
            sent = 0
            for name, a, b in blocks:
                if limit is not None and sent >= limit:
                    break
                if limit is not None:
                    b = min(b, a + limit - sent)
                if name not in files:
                    files[name] = h5py.File(os.path.join(self.folder, name), "r")
                yield {n: files[name][n][a:b] for n in self.fields}
                sent += b - a
        finally:
            for f in files.values():
                f.close()

    def _shuffled(self, rows, rng):
        pool = None
        keep = max(1, self.buffer_size // 2)
        for block in rows:
            pool = block if pool is None else {n: np.concatenate([pool[n], block[n]]) for n in self.fields}
            size = len(pool[self.fields[0]])
            if size >= self.buffer_size:
                perm = rng.permutation(size)
                yield {n: pool[n][perm[keep:]] for n in self.fields}
                pool = {n: pool[n][perm[:keep]] for n in self.fields}
        if pool is not None:
            perm = rng.permutation(len(pool[self.fields[0]]))
            yield {n: pool[n][perm] for n in self.fields}

    def __iter__(self):
        consumer, consumers = _consumer()
        blocks, limit = self._my_blocks(consumer, consumers)
        rows = self._rows(blocks, limit)
        if self.shuffle:
            rows = self._shuffled(rows, np.random.default_rng([self.seed, self.epoch, consumer, 1]))
        pending = None
        for block in rows:
            if self.batch_size is None:
                tensors = {n: torch.from_numpy(np.ascontiguousarray(block[n])) for n in self.fields}
                for i in range(len(tensors[self.fields[0]])):
                    yield {n: t[i] for n, t in tensors.items()}
                continue
            pending = block if pending is None else {n: np.concatenate([pending[n], block[n]]) for n in self.fields}
            while len(pending[self.fields[0]]) >= self.batch_size:
                yield {n: torch.from_numpy(np.ascontiguousarray(pending[n][:self.batch_size])) for n in self.fields}
                pending = {n: pending[n][self.batch_size:] for n in self.fields}
        if pending is not None and len(pending[self.fields[0]]) and not self.drop_last:
            yield {n: torch.from_numpy(np.ascontiguousarray(pending[n])) for n in self.fields}


def _truncate(blocks, max_samples):
    out, total = [], 0
    for name, a, b in blocks:
        if total >= max_samples:
            break
        b = min(b, a + max_samples - total)
        out.append((name, a, b))
        total += b - a
    return out
