"""On-disk format of a training dataset: HDF5 shards, manifest.json, a virtual dataset.h5.

A dataset folder holds
    shard-00000.h5 ...   theta float32 (n, 23), N int16 (n,), seed int64 (n,), friction float32 (n, 128) [N]
    manifest.json        parameters, θ box, shard list with SHA-256, train/validation/test index ranges
    dataset.h5           h5py virtual datasets presenting all shards as one array per field

Shards are byte-for-byte deterministic (no timestamps, fixed library version, fixed
chunking and filters), so a dataset regenerated from the same seed has the same checksums.
Every file is written to a temporary name in the same folder and renamed when complete.
"""
from __future__ import annotations

import errno
import io
import json
import os
from dataclasses import dataclass

import h5py
import numpy as np

from studio.errors import StudioError
from studio.physics import LOAD_GRID_N, MAX_ASPERITIES, MIN_ASPERITIES, THETA_LOWER, THETA_NAMES, THETA_SIZE, THETA_UPPER
from studio.files import PARTIAL_MARK, atomic_write_bytes, is_partial, sha256_bytes, sha256_file  # noqa: F401

FORMAT_NAME = "friction-studio-training-data"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DATASET_NAME = "dataset.h5"
LIBVER = ("v110", "v110")  # fixed so the bytes do not depend on the HDF5 build's default
CHUNK_ROWS = 1024
COMPRESSIONS = ("gzip", "lzf", "none")
DEFAULT_COMPRESSION = "gzip"
GZIP_LEVEL = 4
SPLIT_PERCENT = {"train": 90, "validation": 5, "test": 5}
SPLITS = tuple(SPLIT_PERCENT)

# name -> (numpy dtype, per-sample shape)
FIELDS = {
    "theta": (np.dtype(np.float32), (THETA_SIZE,)),
    "N": (np.dtype(np.int16), ()),
    "seed": (np.dtype(np.int64), ()),
    "friction": (np.dtype(np.float32), (len(LOAD_GRID_N),)),
}


class DataError(StudioError):
    """A dataset folder that cannot be written, resumed or read; the message names the file and the problem."""


def shard_name(k: int) -> str:
    return f"shard-{k:05d}.h5"


def shard_bytes(arrays: dict, *, first_index: int, dataset_seed: int, compression: str = DEFAULT_COMPRESSION,
                fields: dict = FIELDS, format_name: str = FORMAT_NAME, format_version: int = FORMAT_VERSION) -> bytes:
    """The complete, deterministic bytes of one shard file holding `arrays` (`fields`: name → (dtype,
    per-sample shape); the static data's FIELDS unless another dataset kind names its own)."""
    if compression not in COMPRESSIONS:
        raise DataError(f"compression {compression!r} is not one of {', '.join(COMPRESSIONS)}")
    count = len(arrays[next(iter(fields))])
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=LIBVER) as f:
        f.attrs["format"] = format_name
        f.attrs["format_version"] = format_version
        f.attrs["first_index"] = int(first_index)
        f.attrs["count"] = int(count)
        f.attrs["dataset_seed"] = int(dataset_seed)
        for name, (dtype, shape) in fields.items():
            data = np.ascontiguousarray(arrays[name], dtype=dtype)
            if data.shape != (count, *shape):
                raise DataError(f"shard field {name}: expected shape {(count, *shape)}, got {data.shape}")
            options = {}
            if compression == "gzip":
                options = {"compression": "gzip", "compression_opts": GZIP_LEVEL, "shuffle": True}
            elif compression == "lzf":
                options = {"compression": "lzf", "shuffle": True}
            chunks = (min(CHUNK_ROWS, count), *shape) if count else None
            f.create_dataset(name, data=data, chunks=chunks, track_times=False, **options)
            # Write this field's chunks now. Otherwise they wait in the chunk cache until the
            # Dataset object is garbage-collected or the file closes, and the order in which chunks
            # get their file addresses (so the bytes) followed the garbage collector: two Dask
            # workers occasionally wrote a shard with the same values in another layout.
            f.flush()
    return buffer.getvalue()


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` with the project's atomic writer (studio.files), errors as DataError.

    A full disk raises DataError (the temporary file is removed, other files are untouched).
    """
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DataError(f"{path}: disk full ({exc.strerror}); completed shards are kept — free space and "
                            f"re-run the same command to resume") from None
        raise DataError(f"{path}: cannot write ({exc.strerror or exc})") from None


def read_shard(path: str, start: int = 0, stop: int | None = None, fields=None) -> dict:
    """Rows start..stop of one shard as numpy arrays (all FIELDS unless `fields` names some)."""
    try:
        with h5py.File(path, "r") as f:
            return {name: f[name][start:stop] for name in (fields or FIELDS)}
    except (OSError, KeyError) as exc:
        raise DataError(f"{path}: not a readable dataset shard ({exc})") from None


# ---------------------------------------------------------------- manifest

@dataclass(frozen=True)
class DatasetParameters:
    """What defines a dataset's content: the same parameters give the same bytes."""

    seed: int
    samples: int
    shard_size: int
    batch: int
    compression: str = DEFAULT_COMPRESSION

    def shards(self) -> list[tuple[int, int]]:
        """(first_index, count) of every shard."""
        return [(first, min(self.shard_size, self.samples - first)) for first in range(0, self.samples, self.shard_size)]


def generator_description() -> dict:
    from studio import __version__
    from studio.physics import friction

    return {"name": "studio.data", "version": __version__, "physics_newton_iterations": friction.FAST_ITERATIONS,
            "physics_solver": friction.SOLVER,
            "sobol": "scipy.stats.qmc.Sobol(d=24, scramble=True, rng=default_rng(SeedSequence(seed, spawn_key=(0x50B0,))))"
                     " point `index`; theta = from_unit(point[:23]) as float32 clipped to the box; "
                     "N = 16 + floor(point[23] * 241)",
            "realisation_seed": "SeedSequence([seed, index]).generate_state(1, uint32)[0] % 2**31"}


def split_ranges(samples: int) -> dict:
    """Deterministic, disjoint, covering index ranges [start, stop) per split: 90 / 5 / 5 %, in index order.

    Contiguous runs of a Sobol sequence are themselves well spread, so every split covers the box.
    """
    n_train = samples * SPLIT_PERCENT["train"] // 100
    n_validation = samples * SPLIT_PERCENT["validation"] // 100
    bounds = [0, n_train, n_train + n_validation, samples]
    return {name: [bounds[i], bounds[i + 1]] for i, name in enumerate(SPLITS)}


def new_manifest(params: DatasetParameters) -> dict:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "generator": generator_description(),
        "seed": params.seed,
        "samples": params.samples,
        "shard_size": params.shard_size,
        "batch": params.batch,
        "compression": params.compression,
        "theta_names": list(THETA_NAMES),
        "theta_lower": THETA_LOWER.tolist(),
        "theta_upper": THETA_UPPER.tolist(),
        "asperity_count_range": [MIN_ASPERITIES, MAX_ASPERITIES],
        "load_grid_N": {"count": len(LOAD_GRID_N), "first": float(LOAD_GRID_N[0]), "last": float(LOAD_GRID_N[-1])},
        "fields": {name: {"dtype": dtype.str, "shape": ["n", *shape]} for name, (dtype, shape) in FIELDS.items()},
        "split": split_ranges(params.samples),
        "complete": False,
        "shards": [],
    }


# `batch` is compared because XLA may round the last bit of a law differently in chunks of
# different sizes: the same batch is what makes a resumed run byte-identical.
_COMPARED = ("format", "format_version", "seed", "samples", "shard_size", "batch", "compression",
             "theta_lower", "theta_upper", "asperity_count_range", "generator")


def check_compatible(existing: dict, wanted: dict, path: str) -> None:
    """Raise DataError naming every field where an existing manifest differs from the wanted one."""
    diffs = [f"{key}: {existing.get(key)!r} in the folder, {wanted[key]!r} asked"
             for key in _COMPARED if existing.get(key) != wanted[key]]
    if diffs:
        raise DataError(f"{path} describes a different dataset ({'; '.join(diffs)}); "
                        "use another folder or the same parameters — nothing was changed")


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


def write_manifest(folder: str, manifest: dict) -> None:
    manifest = dict(manifest, shards=sorted(manifest["shards"], key=lambda s: s["first_index"]))
    write_atomic(os.path.join(folder, MANIFEST_NAME), manifest_bytes(manifest))


def read_manifest(folder: str, format_name: str = FORMAT_NAME, format_version: int = FORMAT_VERSION) -> dict:
    """The manifest of a dataset folder of kind `format_name` (default: the static data's)."""
    path = os.path.join(folder, MANIFEST_NAME)
    try:
        with open(path, "rb") as fh:
            manifest = json.loads(fh.read())
    except FileNotFoundError:
        raise DataError(f"{path}: no manifest — not a dataset folder (create one with `friction-studio data generate`)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        raise DataError(f"{path}: not a {format_name} manifest (format field is "
                        f"{manifest.get('format') if isinstance(manifest, dict) else None!r})")
    if manifest.get("format_version") != format_version:
        raise DataError(f"{path}: format_version {manifest.get('format_version')!r}, this version reads {format_version}")
    return manifest


def verify_dataset(folder: str) -> list[str]:
    """Problems found checking every shard against the manifest (empty list: all good)."""
    manifest = read_manifest(folder)
    problems = [] if manifest.get("complete") else [f"{folder}: dataset is incomplete"]
    covered = 0
    for shard in sorted(manifest["shards"], key=lambda s: s["first_index"]):
        path = os.path.join(folder, shard["name"])
        if shard["first_index"] != covered:
            problems.append(f"{path}: starts at sample {shard['first_index']}, expected {covered}")
        covered = shard["first_index"] + shard["count"]
        if not os.path.exists(path):
            problems.append(f"{path}: missing")
        elif sha256_file(path) != shard["sha256"]:
            problems.append(f"{path}: SHA-256 does not match the manifest")
    if manifest.get("complete") and covered != manifest["samples"]:
        problems.append(f"{folder}: shards cover {covered} samples, manifest says {manifest['samples']}")
    return problems


# ---------------------------------------------------------------- virtual view

def virtual_dataset_bytes(manifest: dict, fields: dict = FIELDS) -> bytes:
    """dataset.h5: one virtual dataset per field mapping every shard in order (relative file names)."""
    samples = manifest["samples"]
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=LIBVER) as f:
        f.attrs["format"] = manifest["format"]
        f.attrs["format_version"] = manifest["format_version"]
        f.attrs["samples"] = samples
        for name, (dtype, shape) in fields.items():
            layout = h5py.VirtualLayout(shape=(samples, *shape), dtype=dtype)
            for shard in sorted(manifest["shards"], key=lambda s: s["first_index"]):
                first, count = shard["first_index"], shard["count"]
                source = h5py.VirtualSource(shard["name"], name, shape=(count, *shape))
                layout[first:first + count] = source
            _create_virtual_dataset(f, name, layout)
        for split, (start, stop) in manifest["split"].items():
            f.attrs[f"split_{split}"] = np.array([start, stop], dtype=np.int64)
    return buffer.getvalue()


def _create_virtual_dataset(f: h5py.File, name: str, layout: h5py.VirtualLayout) -> None:
    """Group.create_virtual_dataset without the creation timestamp (h5py has no track_times option there)."""
    from h5py import h5d, h5s, h5t

    dcpl = layout._get_dcpl(f.filename)
    dcpl.set_obj_track_times(False)
    space = h5s.create_simple(layout.shape)
    h5d.create(f.id, name.encode(), h5t.py_create(np.dtype(layout.dtype), logical=1), space, dcpl=dcpl).close()
