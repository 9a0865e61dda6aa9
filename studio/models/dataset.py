"""Training examples for the models: (θ in the unit box, canonical order; law F [N]; N) as tensors.

Data on disk is studio/data's format, read through `studio.data.loader.load_split`; this module only
turns those arrays into tensors and never defines a file format of its own.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from studio.files import sha256_file
from studio.models.errors import ModelError
from studio.physics import N_LOADS, THETA_SIZE, canonical, to_unit


@dataclass
class Examples:
    """theta_unit float32 (n, 23) canonical; friction_N float32 (n, 128); n_asperities int64 (n,);
    theta float64 (n, 23) as stored (physical box); seed int64 (n,) realisation seeds."""

    theta_unit: torch.Tensor
    friction_N: torch.Tensor
    n_asperities: torch.Tensor
    theta: np.ndarray
    seed: np.ndarray

    def __len__(self) -> int:
        return len(self.n_asperities)

    def subset(self, index) -> "Examples":
        index = np.asarray(index)
        t = torch.as_tensor(index)
        return Examples(self.theta_unit[t], self.friction_N[t], self.n_asperities[t], self.theta[index],
                        self.seed[index])


def from_arrays(theta, n_asperities, friction_N, seed=None) -> Examples:
    """Examples from in-memory arrays: θ (n, 23) physical box, N (n,), F (n, 128) [N]."""
    theta = np.asarray(theta, dtype=np.float64)
    n_asperities = np.array(n_asperities, dtype=np.int64)
    friction_N = np.array(friction_N, dtype=np.float32)  # a writable copy (torch shares its memory)
    if theta.ndim != 2 or theta.shape[1] != THETA_SIZE or friction_N.shape != (len(theta), N_LOADS) \
            or n_asperities.shape != (len(theta),):
        raise ModelError(f"examples: expected theta (n, 23), N (n,), friction (n, 128); got {theta.shape}, "
                         f"{n_asperities.shape}, {friction_N.shape}")
    unit = np.clip(to_unit(canonical(theta)), 0.0, 1.0).astype(np.float32)
    seed = np.zeros(len(theta), np.int64) if seed is None else np.asarray(seed, dtype=np.int64)
    return Examples(torch.from_numpy(unit), torch.from_numpy(friction_N), torch.from_numpy(n_asperities),
                    theta, seed)


def _field(split, name):
    if isinstance(split, dict):
        return split[name]
    return getattr(split, name)


def read_split(data_dir, split: str, max_samples: int | None = None) -> Examples:
    """One split ('train', 'validation' or 'test') of a studio/data dataset directory."""
    data_dir = Path(data_dir)
    if not (data_dir / "manifest.json").is_file():
        raise ModelError(f"{data_dir}: not a dataset directory (no manifest.json); "
                         f"make one with `friction-studio data generate`")
    try:
        from studio.data.loader import load_split
    except ImportError as exc:  # the data layer is not installed in this checkout
        raise ModelError(f"{data_dir}: cannot read datasets ({exc})") from None
    part = load_split(data_dir, split, max_samples=max_samples)
    try:
        theta, n, friction = _field(part, "theta"), _field(part, "N"), _field(part, "friction")
        seed = _field(part, "seed")
    except (KeyError, AttributeError) as exc:
        raise ModelError(f"{data_dir}: split {split!r} lacks field {exc}") from None
    if len(theta) == 0:
        raise ModelError(f"{data_dir}: split {split!r} is empty")
    return from_arrays(theta, n, friction, seed)


def manifest_hash(data_dir) -> str:
    """SHA-256 of the dataset's manifest.json (names exactly which data a model saw)."""
    path = Path(data_dir) / "manifest.json"
    try:
        return sha256_file(path)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from None


def manifest(data_dir) -> dict:
    path = Path(data_dir) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the manifest ({exc})") from None
