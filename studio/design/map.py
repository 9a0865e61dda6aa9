"""The design map: a 2-D picture of the Janus latent space, Qt-free (the studio's Map workspace shows it).

    job = map_job(MapRequest(samples=4000, method="pca"))     # a job (studio.jobs): yields MapProgress
    design_map = studio.jobs.drive(job)                       # cached: the second time it is a file read
    colours = design_map.property("mu", load_N=5.0)           # effective μ = F/P at 5 N, per point
    xy = design_map.place(janus.encode(theta, N))             # inverse solutions, gallery cards on the map
    design = design_at(design_map, design_map.nearest(x, y), janus, target)   # a click → a Design

The points are the latent codes (posterior means, `JanusModel.encode`) of a sample of the training
data's designs (θ, N): with `data_dir`, the first `samples` of a dataset's test split (studio/data) and
their stored laws (one realisation each); without it, the same designs the dataset generator makes
(studio.data.sampling, the train-v2 seed) and the laws the Janus head predicts for their codes (the
expected law; no files needed). Properties to colour by: effective μ = F/P at a chosen grid load, the
exponent n of a power-law fit F = c·Pⁿ over the load grid, and N.

The 2-D projection is PCA (the two leading axes of the codes; new codes project exactly) or UMAP
(umap-learn; new codes are placed by inverse-distance weighting of their nearest sample codes).
docs/janus.md measures both (time, neighbourhood trustworthiness, how well the 2-D neighbours predict
each property) and says which is the default and why.

A computed map is cached as an .npz (no pickle) under studio.files.cache_folder("maps"), keyed by the
model's weights digest, the data (its manifest digest or the generator seed), the sample size, the
method and its seed; it is written with the one atomic writer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from studio.errors import StudioError
from studio.files import atomic_write, cache_folder, sha256_bytes, sha256_file
from studio.physics import LOAD_GRID_N, THETA_SIZE

MAP_FORMAT = 1
METHODS = ("pca", "umap")
PROPERTIES = {  # name → what the user sees
    "mu": "effective friction coefficient μ = F/P at the chosen load",
    "exponent": "exponent n of a power-law fit F = c·Pⁿ over the load grid",
    "N": "asperity count N",
}
DEFAULT_DATASET_SEED = 1  # without a dataset folder: the designs of data/train-v2 (seed 1), regenerated
ENCODE_CHUNK = 1024  # codes per encoder call (one progress report, one checkpoint each)
PLACE_NEIGHBOURS = 8  # sample codes that place a new code on a UMAP map


class MapError(StudioError):
    """A design map that cannot be made (unknown method or property, unreadable dataset)."""


@dataclass(frozen=True)
class MapRequest:
    """What map to make: how many designs, from where, projected how."""

    samples: int = 4000
    method: str = "pca"
    data_dir: str | None = None  # a studio/data dataset folder (its test split), or None (see the module)
    dataset_seed: int = DEFAULT_DATASET_SEED  # without data_dir: the generator seed of the designs
    seed: int = 0  # UMAP's random state

    def checked(self) -> "MapRequest":
        if self.method not in METHODS:
            raise MapError(f"unknown map method {self.method!r}; choose one of {', '.join(METHODS)}")
        if int(self.samples) < 16:
            raise MapError(f"a design map needs at least 16 designs, not {self.samples}")
        return self


@dataclass
class MapProgress:
    """Progress of a map job (plain, picklable)."""

    fraction: float
    message: str


@dataclass
class DesignMap:
    """The points of a design map and what is needed to colour, place and decode them."""

    xy: np.ndarray  # (S, 2) map coordinates
    codes: np.ndarray  # (S, d) latent codes
    theta: np.ndarray  # (S, 23) the designs
    N: np.ndarray  # (S,) asperity counts
    seeds: np.ndarray  # (S,) realisation seeds (the dataset's)
    laws_N: np.ndarray  # (S, 128) the laws the properties come from
    method: str
    law_source: str  # "stored realisation" (a dataset) or "predicted by the Janus head"
    key: str = ""  # the cache key
    axes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # PCA: (2, d) axes
    centre: np.ndarray = field(default_factory=lambda: np.zeros(0))  # PCA: (d,) mean code

    def __len__(self) -> int:
        return len(self.xy)

    def property(self, name: str, load_N: float = 5.0) -> np.ndarray:
        """Values (S,) of a property (PROPERTIES) at each point; `load_N` for μ (a load-grid point)."""
        return design_property(name, self.laws_N, self.N, load_N)

    def place(self, codes) -> np.ndarray:
        """Map coordinates (B, 2) of latent codes (B, d) not in the sample (inverse solutions, cards)."""
        codes = np.atleast_2d(np.asarray(codes, dtype=np.float64))
        if self.method == "pca":
            return (codes - self.centre) @ self.axes.T
        # UMAP: the inverse-distance-weighted position of the nearest sample codes
        d2 = ((codes[:, None, :] - self.codes[None, :, :]) ** 2).sum(-1)
        k = min(PLACE_NEIGHBOURS, len(self.codes))
        near = np.argpartition(d2, k - 1, axis=1)[:, :k]
        w = 1.0 / (np.sqrt(np.take_along_axis(d2, near, 1)) + 1e-9)
        return (w[..., None] * self.xy[near]).sum(1) / w.sum(1, keepdims=True)

    def nearest(self, x: float, y: float) -> int:
        """Index of the point nearest (x, y) in map coordinates."""
        return int(np.argmin((self.xy[:, 0] - x) ** 2 + (self.xy[:, 1] - y) ** 2))


def design_property(name: str, laws_N, N, load_N: float = 5.0) -> np.ndarray:
    """A property (PROPERTIES) of designs with laws (S, 128) and asperity counts (S,)."""
    if name == "mu":
        from studio.design.sweep import load_index

        j = load_index(load_N)
        return np.asarray(laws_N, dtype=np.float64)[:, j] / LOAD_GRID_N[j]
    if name == "exponent":
        return power_law_exponent(laws_N)
    if name == "N":
        return np.asarray(N, dtype=np.float64)
    raise MapError(f"unknown map property {name!r}; choose one of {', '.join(PROPERTIES)}")


def power_law_exponent(laws_N) -> np.ndarray:
    """Least-squares exponent n of log F = log c + n·log P over the load grid, per law (S, 128)."""
    x = np.log(LOAD_GRID_N)
    y = np.log(np.clip(np.asarray(laws_N, dtype=np.float64), 1e-12, None))
    xc = x - x.mean()
    return ((y - y.mean(-1, keepdims=True)) @ xc) / (xc @ xc)


def place_designs(design_map: DesignMap, janus, designs) -> np.ndarray:
    """Map coordinates (len(designs), 2) of designs (anything with theta and N: the board's cards)."""
    xy = np.empty((len(designs), 2))
    counts = np.array([int(d.N) for d in designs], dtype=np.int64)
    for n in np.unique(counts):  # the encoder takes one N per call here; the board has a few N at most
        idx = np.flatnonzero(counts == n)
        codes = janus.encode(np.stack([np.asarray(designs[i].theta, dtype=np.float64) for i in idx]), int(n))
        xy[idx] = design_map.place(codes)
    return xy


def inverse_solutions_job(design_map: DesignMap, janus, target, *, starts: int = 16, iterations: int = 10,
                          control=None) -> Iterator[MapProgress]:
    """A job: the Janus model's inverse solutions of `target` (latent descent from `starts` codes, the
    `janus` engine's first step, no physics) placed on the map; returns their map coordinates (S, 2)."""
    from studio.design.load_range import canonical_target

    yield MapProgress(0.0, "inverse solutions of the target (latent descent)")
    target = canonical_target(target)  # the model knows the 10 N problem (docs/load-ranges.md)
    inversion = janus.invert(target.friction_N, target.N, starts=int(starts), mask=target.mask,
                             iterations=int(iterations), control=None if control is None else control.checkpoint)
    return design_map.place(inversion.z)


def design_at(design_map: DesignMap, index: int, janus, target=None):
    """The design of map point `index`: its code decoded by the Janus model at the point's N, with the
    point's realisation seed, simulated exactly (studio.design.core.Design.evaluate); scored against
    `target` when the target has the same N."""
    from studio.design.search import _model_name

    n = int(design_map.N[index])
    theta = janus.decode(design_map.codes[index][None], n)[0]
    return exact_design(theta, n, int(design_map.seeds[index]), target, model=_model_name(janus, "janus"),
                        name=f"map point {index}")


def exact_design(theta, N: int, seed: int, target=None, *, model: str = "", name: str = ""):
    """Design (θ, N, seed) of the map (a point, a sweep step) simulated exactly at the target's load range
    (θ is canonical, as the map's codes are), scored against `target` when the target has the same N."""
    from studio.design.core import Design

    same_n = target is not None and int(target.N) == int(N)
    max_load = {} if target is None else {"max_load_N": target.max_load_N}
    return Design.evaluate(theta, int(N), int(seed), target if same_n else None, method="map", model=model,
                           name=name, **max_load)


def design_at_job(design_map: DesignMap, index: int, janus, target=None, *, control=None) -> Iterator[MapProgress]:
    """`design_at` as a job (the studio runs it in the background: the exact simulation may compile)."""
    yield MapProgress(0.0, f"decoding map point {index}")
    _checkpoint(control)
    return design_at(design_map, index, janus, target)


def sweep_step_job(step, target=None, *, model: str = "", control=None) -> Iterator[MapProgress]:
    """A property sweep's step (studio.design.sweep.SweepStep) as an exactly simulated design, a job."""
    yield MapProgress(0.0, f"sweep step μ = {step.requested_mu:.3g}")
    _checkpoint(control)
    return exact_design(step.theta, step.N, step.seed, target, model=model,
                        name=f"sweep μ {step.requested_mu:.3g}")


# --------------------------------------------------------------------------------------------
# Computing a map (a job) and its cache


def map_job(request: MapRequest, janus=None, *, cache_dir=None, control=None) -> Iterator[MapProgress]:
    """Make (or read from the cache) the design map of `request`; a job in the sense of studio.jobs:
    yields MapProgress, checks `control` between steps, returns the DesignMap. `janus` defaults to the
    shipped model (studio.models.load_janus)."""
    request = request.checked()
    if janus is None:
        from studio.models import load_janus

        janus = load_janus()
    key = cache_key(request, janus)
    path = Path(cache_dir) if cache_dir is not None else cache_folder("maps")
    path = path / f"map-{key[:24]}.npz"
    cached = read_map(path, key)
    if cached is not None:
        yield MapProgress(1.0, f"design map read from the cache ({path.name})")
        return cached
    yield MapProgress(0.0, f"reading {request.samples} designs")
    theta, n, seeds, laws = map_sample(request)
    codes = np.empty((len(theta), janus.latent_dim))
    for i in range(0, len(theta), ENCODE_CHUNK):
        _checkpoint(control)
        sl = slice(i, i + ENCODE_CHUNK)
        codes[sl] = janus.encode(theta[sl], n[sl])
        yield MapProgress(0.5 * min(1.0, (i + ENCODE_CHUNK) / len(theta)), f"encoding designs ({i + len(codes[sl])})")
    if laws is None:  # no stored laws: the head's prediction for each code
        laws = np.empty((len(theta), len(LOAD_GRID_N)))
        for i in range(0, len(theta), ENCODE_CHUNK):
            _checkpoint(control)
            sl = slice(i, i + ENCODE_CHUNK)
            laws[sl] = janus.predict_law(codes[sl], n[sl])
        source = "predicted by the Janus head"
    else:
        source = "stored realisation"
    _checkpoint(control)
    yield MapProgress(0.6, f"projecting {len(codes)} codes ({request.method.upper()})")
    xy, axes, centre = project(codes, request.method, request.seed)
    design_map = DesignMap(xy=xy, codes=codes, theta=theta, N=n, seeds=seeds, laws_N=laws, method=request.method,
                           law_source=source, key=key, axes=axes, centre=centre)
    _checkpoint(control)
    try:
        write_map(path, design_map)
        saved = f"cached as {path.name}"
    except OSError as exc:  # a read-only cache folder: the map still works, only not kept
        saved = f"not cached ({exc.strerror or exc})"
    yield MapProgress(1.0, f"design map of {len(codes)} designs ready ({saved})")
    return design_map


def _checkpoint(control) -> None:
    if control is not None:
        control.checkpoint()


def project(codes: np.ndarray, method: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D coordinates (S, 2) of codes (S, d), and for PCA its axes (2, d) and centre (d,)."""
    codes = np.asarray(codes, dtype=np.float64)
    if method == "pca":
        centre = codes.mean(0)
        _, _, vt = np.linalg.svd(codes - centre, full_matrices=False)
        big = np.take_along_axis(vt[:2], np.abs(vt[:2]).argmax(1)[:, None], 1)
        axes = vt[:2] * np.where(big < 0, -1.0, 1.0)  # each axis's largest entry positive: one map, not four
        return (codes - centre) @ axes.T, axes, centre
    if method == "umap":
        try:
            import umap
        except ImportError as exc:
            raise MapError(f"the UMAP map needs umap-learn ({exc}); use method pca") from None
        reducer = umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, random_state=int(seed), n_jobs=1)
        return reducer.fit_transform(codes).astype(np.float64), np.zeros((0, 0)), np.zeros(0)
    raise MapError(f"unknown map method {method!r}; choose one of {', '.join(METHODS)}")


def map_sample(request: MapRequest):
    """(θ (S, 23), N (S,), seeds (S,), laws (S, 128) or None) of the request's designs."""
    count = int(request.samples)
    if request.data_dir is None:
        from studio.data.sampling import sample_designs

        theta, n, seeds = sample_designs(int(request.dataset_seed), 0, count)
        return theta.astype(np.float64), n.astype(np.int64), seeds.astype(np.int64), None
    from studio.data.loader import load_split

    try:
        part = load_split(str(request.data_dir), "test", max_samples=count)
    except OSError as exc:
        raise MapError(f"{request.data_dir}: cannot read the dataset ({exc.strerror or exc})") from None
    if len(part["theta"]) < 16:
        raise MapError(f"{request.data_dir}: its test split has {len(part['theta'])} designs; a map needs 16")
    return (part["theta"].astype(np.float64), part["N"].astype(np.int64), part["seed"].astype(np.int64),
            part["friction"].astype(np.float64))


def cache_key(request: MapRequest, janus) -> str:
    """SHA-256 naming a map: the model's weights, the data, the sample size, the method and its seed."""
    card = getattr(janus, "card", {}) or {}
    model = card.get("weights_sha256") or json.dumps(card.get("config", {}), sort_keys=True)
    if request.data_dir is not None:
        try:
            data = sha256_file(Path(request.data_dir) / "manifest.json")
        except OSError as exc:
            raise MapError(f"{request.data_dir}: not a dataset folder (manifest.json: {exc.strerror})") from None
    else:
        data = f"generator seed {int(request.dataset_seed)}"
    text = json.dumps({"format": MAP_FORMAT, "model": model, "data": data, "samples": int(request.samples),
                       "method": request.method, "seed": int(request.seed)}, sort_keys=True)
    return sha256_bytes(text.encode())


_ARRAYS = ("xy", "codes", "theta", "N", "seeds", "laws_N", "axes", "centre")


def write_map(path, design_map: DesignMap) -> Path:
    """Write a map as .npz atomically (studio.files.atomic_write)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = json.dumps({"format": MAP_FORMAT, "method": design_map.method, "law_source": design_map.law_source,
                       "key": design_map.key})
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=np.array(meta), **{name: getattr(design_map, name) for name in _ARRAYS})
    return path


def read_map(path, key: str | None = None) -> DesignMap | None:
    """The cached map at `path` if it is there, readable and (with `key`) made for that key; else None
    (a damaged or stale cache file is simply made again)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {name: np.array(data[name]) for name in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError):
        return None
    if meta.get("format") != MAP_FORMAT or (key is not None and meta.get("key") != key) \
            or arrays["theta"].shape[-1:] != (THETA_SIZE,):
        return None
    return DesignMap(method=meta["method"], law_source=meta["law_source"], key=meta["key"], **arrays)


__all__ = ["MapRequest", "MapProgress", "DesignMap", "MapError", "map_job", "design_at", "design_at_job",
           "exact_design", "sweep_step_job",
           "place_designs",
           "inverse_solutions_job", "project", "map_sample",
           "design_property", "power_law_exponent", "cache_key", "read_map", "write_map", "METHODS", "PROPERTIES"]
