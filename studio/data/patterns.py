"""The contact-pattern dataset: Sobol designs laid out at a range of spacings, solved with the BEM at several loads.

    generate_patterns(out, designs=..., seed=..., workers=2)   resumable; re-run the same command
    load_patterns(folder)                                        every complete shard, as numpy arrays

Design `index` of a dataset with seed S is sample `index` of studio.data.sampling (θ, N, realisation
seed), realised with studio.physics.realize. Each design is laid out LAYOUTS_PER_DESIGN times, each
layout at LOADS_PER_LAYOUT loads of the model's grid, all drawn from SeedSequence([S, index, 0x9A77]):

  * rule: the studio's layout (`caps`, studio.physics.layout.arrange_caps) with probability
    1 − DISC_RULE_SHARE, else the pre-issue-21 packing of contact discs (`discs`,
    pack_contact_discs), whose caps may meet above the flat (older design files hold such layouts);
  * clearance: log-uniform over [CLEARANCE_MM_MIN, CLEARANCE_MM_MAX], stratified over the design's
    layouts (one in each equal slice of log-clearance, in random order);
  * loads: grid indices, one in each of LOADS_PER_LAYOUT equal slices of log(load) over the grid.

Each (layout, load) is solved with studio.physics.contact.solve_at at `cells_per_radius` (coarser
than validation's 5; docs/patterns.md shows the labels agree) and a grid budget; a load over the
budget or unsolved is kept with its status (1 grid budget, 2 solver) and no label. Stored: the
layout's geometry, the independent prediction and the BEM's per-asperity loads,
areas and merged flags, so classes (studio.physics.patterns) can be re-derived without solving.

Shards of DESIGNS_PER_SHARD designs, written atomically with a manifest listing each and its
SHA-256; a killed run resumes with the missing shards (worker processes: multiprocessing, spawn).
Everything but the timing fields (cpu_s) is deterministic for a seed.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from studio.data import store
from studio.data.store import DataError

FORMAT_NAME = "friction-studio-contact-patterns"
FORMAT_VERSION = 1
DESIGNS_PER_SHARD = 4
LAYOUTS_PER_DESIGN = 2
LOADS_PER_LAYOUT = 8
CLEARANCE_MM_MIN = 0.025
CLEARANCE_MM_MAX = 3.2
DISC_RULE_SHARE = 0.25
RULES = ("caps", "discs")
LABEL_CELLS_PER_RADIUS = 4.0
LABEL_BUDGET_CELLS = 512 * 512
STATUS = ("ok", "grid budget", "solver")
PAD = 256  # asperity slots (MAX_ASPERITIES)
_STREAM = 0x9A77


@dataclass(frozen=True)
class PatternParameters:
    """What defines the dataset's content (compared when a run resumes)."""

    seed: int
    designs: int
    designs_per_shard: int = DESIGNS_PER_SHARD
    layouts_per_design: int = LAYOUTS_PER_DESIGN
    loads_per_layout: int = LOADS_PER_LAYOUT
    clearance_mm: tuple = (CLEARANCE_MM_MIN, CLEARANCE_MM_MAX)
    disc_rule_share: float = DISC_RULE_SHARE
    cells_per_radius: float = LABEL_CELLS_PER_RADIUS
    budget_cells: int = LABEL_BUDGET_CELLS
    max_load_N: float = 10.0

    def shards(self) -> list[tuple[int, int]]:
        step = self.designs_per_shard
        return [(first, min(step, self.designs - first)) for first in range(0, self.designs, step)]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["clearance_mm"] = list(self.clearance_mm)
        return d


def layout_plan(params: PatternParameters, index: int) -> tuple[list[int], list[float], list[np.ndarray]]:
    """(rules, clearances [mm], grid load indices (K,) per layout) of design `index`."""
    from studio.physics import LOAD_GRID_N

    rng = np.random.default_rng(np.random.SeedSequence([params.seed, int(index), _STREAM]))
    n = params.layouts_per_design
    lo, hi = np.log(params.clearance_mm[0]), np.log(params.clearance_mm[1])
    slices = rng.permutation(n)
    u = (slices + rng.random(n)) / n
    clearances = [float(np.exp(lo + (hi - lo) * v)) for v in u]
    rules = [int(rng.random() < params.disc_rule_share) for _ in range(n)]
    grid = LOAD_GRID_N.size
    loads = []
    for _ in range(n):
        k = params.loads_per_layout
        t = (np.arange(k) + rng.random(k)) / k * np.log(grid)  # one in each slice of log(load)
        idx = np.clip(np.round(np.exp(t)).astype(int) - 1, 0, grid - 1)
        for j in range(1, k):  # equal draws in the first slices: the next free index up
            if idx[j] <= idx[j - 1]:
                idx[j] = idx[j - 1] + 1
        loads.append(idx)
    return rules, clearances, loads


def lay_out(height_mm, radius_mm, E_star_MPa: float, rule: int, clearance_mm: float, max_load_N: float = 10.0):
    """Centres (x, y) [mm] and g_low [mm] of one layout under a rule (0 caps, 1 contact discs)."""
    from studio.physics import contact_radius_mm
    from studio.physics.layout import arrange_caps, flat_lowest_mm, pack_contact_discs

    g_low = flat_lowest_mm(height_mm, radius_mm, E_star_MPa, max_load_N)
    if rule == 0:
        lay = arrange_caps(height_mm, radius_mm, g_low, max_load_N=max_load_N, clearance_mm=clearance_mm)
        return lay.x_mm, lay.y_mm, g_low
    x, y = pack_contact_discs(contact_radius_mm(height_mm, radius_mm, E_star_MPa, max_load_N), clearance_mm)
    return x, y, g_low


def _padded(values, fill, dtype):
    out = np.full(PAD, fill, dtype=dtype)
    out[:len(values)] = values
    return out


def compute_shard(params: PatternParameters, k: int, log=None) -> dict:
    """The arrays of shard k: per layout (prefix layout_) and per (layout, load) (prefix sample_)."""
    from studio.data.sampling import sample_designs
    from studio.physics import LOAD_GRID_N, realize
    from studio.physics.theta import E_STAR_IDX
    from studio.physics.contact import ContactError, GridBudgetError, Interface, independent_contacts, solve_at

    first, count = params.shards()[k]
    theta, counts, seeds = sample_designs(params.seed, first, count)
    lay, smp = {}, {}

    def add(group, name, value):
        group.setdefault(name, []).append(value)

    for i in range(count):
        index = first + i
        a = realize(theta[i].astype(np.float64), int(counts[i]), int(seeds[i]))
        E = float(theta[i][E_STAR_IDX])
        rules, clearances, load_indices = layout_plan(params, index)
        for j, (rule, clearance, idx) in enumerate(zip(rules, clearances, load_indices)):
            x, y, g_low = lay_out(a.height_mm, a.radius_mm, E, rule, clearance, params.max_load_N)
            itf = Interface.of(a.height_mm, a.radius_mm, x, y, E)
            row = len(lay.get("design_index", []))
            for name, value in (("design_index", index), ("layout_in_design", j), ("theta", theta[i]),
                                ("N", counts[i]), ("seed", seeds[i]), ("rule", rule), ("clearance_mm", clearance),
                                ("flat_lowest_mm", g_low), ("x_mm", _padded(x, np.nan, np.float64)),
                                ("y_mm", _padded(y, np.nan, np.float64)),
                                ("height_mm", _padded(a.height_mm, np.nan, np.float64)),
                                ("radius_mm", _padded(a.radius_mm, np.nan, np.float64)),
                                ("component", _padded(a.component, -1, np.int8))):
                add(lay, name, value)
            loads = LOAD_GRID_N[idx]
            d_ind, p_ind, a_ind = independent_contacts(itf, loads)
            for m, load in enumerate(loads):
                t0 = time.process_time()
                status, sol = 0, None
                try:
                    sol = solve_at(itf, float(load), cells_per_radius=params.cells_per_radius,
                                   budget_cells=params.budget_cells)
                except GridBudgetError:
                    status = 1
                except ContactError:
                    status = 2
                touching = d_ind[m] > 0
                for name, value in (("layout_row", row), ("load_index", idx[m]), ("load_N", load), ("status", status),
                                    ("area_independent_mm2", a_ind[m].sum()), ("contacts_independent", int(touching.sum())),
                                    ("flat_independent_mm", float(np.max(a.height_mm[touching] - d_ind[m][touching]))),
                                    ("independent_load_N", _padded(p_ind[m], 0, np.float32))):
                    add(smp, name, value)
                if sol is None:
                    values = dict(area_bem_mm2=np.nan, flat_bem_mm=np.nan, grid_nx=0, grid_ny=0, cell_mm=np.nan,
                                  iterations=0, asperity_load_N=np.zeros(PAD, np.float32),
                                  asperity_area_mm2=np.zeros(PAD, np.float32), coalesced=np.zeros(PAD, bool))
                else:
                    values = dict(area_bem_mm2=sol.contact_area_mm2, flat_bem_mm=sol.flat_mm,
                                  grid_nx=sol.grid.shape[0], grid_ny=sol.grid.shape[1], cell_mm=sol.grid.cell_mm,
                                  iterations=sol.iterations,
                                  asperity_load_N=_padded(sol.asperity_load_N, 0, np.float32),
                                  asperity_area_mm2=_padded(sol.area_mm2, 0, np.float32),
                                  coalesced=_padded(sol.coalesced, False, bool))
                for name, value in values.items():
                    add(smp, name, value)
                add(smp, "cpu_s", time.process_time() - t0)
        if log is not None:
            log(f"shard {k}: design {index} done")
    out = {f"layout_{n}": np.asarray(v) for n, v in lay.items()}
    out.update({f"sample_{n}": np.asarray(v) for n, v in smp.items()})
    return out


FIELD_TYPES = {  # stored dtypes (the rest float64)
    "layout_design_index": np.int64, "layout_layout_in_design": np.int8, "layout_theta": np.float32,
    "layout_N": np.int16, "layout_seed": np.int64, "layout_rule": np.int8, "layout_component": np.int8,
    "sample_layout_row": np.int32, "sample_load_index": np.int16, "sample_status": np.int8,
    "sample_contacts_independent": np.int16, "sample_independent_load_N": np.float32, "sample_grid_nx": np.int16,
    "sample_grid_ny": np.int16, "sample_iterations": np.int32, "sample_asperity_load_N": np.float32,
    "sample_asperity_area_mm2": np.float32, "sample_coalesced": np.bool_, "sample_cpu_s": np.float32,
}


def shard_bytes(arrays: dict, first_index: int, seed: int) -> bytes:
    """One shard as HDF5 bytes (gzip + shuffle, no timestamps)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w", libver=store.LIBVER) as f:
        f.attrs["format"] = FORMAT_NAME
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["first_design"] = int(first_index)
        f.attrs["dataset_seed"] = int(seed)
        for name in sorted(arrays):
            data = np.ascontiguousarray(arrays[name], dtype=FIELD_TYPES.get(name, np.float64))
            f.create_dataset(name, data=data, compression="gzip", compression_opts=store.GZIP_LEVEL, shuffle=True,
                             track_times=False)
            f.flush()  # fixed chunk addresses (studio.data.store.shard_bytes says why)
    return buffer.getvalue()


def make_shard(folder: str, params: PatternParameters, k: int) -> dict:
    """Compute shard k, write it atomically, return its manifest entry."""
    from studio.physics import enable_float64

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    enable_float64()  # runs in a spawned worker: an entry point of its own (realize needs the float64 physics)
    t0 = time.perf_counter()
    c0 = time.process_time()
    arrays = compute_shard(params, k)
    first, count = params.shards()[k]
    data = shard_bytes(arrays, first, params.seed)
    name = store.shard_name(k)
    store.write_atomic(os.path.join(folder, name), data)
    return {"name": name, "first_design": first, "designs": count, "sha256": store.sha256_bytes(data),
            "samples": int(arrays["sample_status"].size), "wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(time.process_time() - c0, 1)}


def _make_shard_job(job):
    folder, params, k = job
    return make_shard(folder, params, k)


def new_manifest(params: PatternParameters) -> dict:
    from studio.data.store import generator_description
    from studio.physics.contact import contact_library_versions
    from studio.physics.layout import ALGORITHM

    return {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "parameters": params.to_dict(),
            "generator": {**generator_description(), "contact": contact_library_versions(), "layout_caps": ALGORITHM,
                          "layout_discs": "pack_contact_discs: Hertz contact discs at the largest load + clearance",
                          "plan": "layout_plan: SeedSequence([seed, design index, 0x9A77])"},
            "rules": list(RULES), "status": list(STATUS), "complete": False, "shards": []}


def _compatible(existing: dict, wanted: dict, path: str) -> None:
    diffs = [f"{key}: {existing.get(key)!r} in the folder, {wanted[key]!r} asked"
             for key in ("format", "format_version", "parameters", "generator") if existing.get(key) != wanted[key]]
    if diffs:
        raise DataError(f"{path} describes a different dataset ({'; '.join(diffs)}); use another folder or the "
                        "same parameters — nothing was changed")


def _write_manifest(folder: str, manifest: dict) -> None:
    manifest = dict(manifest, shards=sorted(manifest["shards"], key=lambda s: s["first_design"]))
    store.write_atomic(os.path.join(folder, store.MANIFEST_NAME), store.manifest_bytes(manifest))


def read_manifest(folder: str) -> dict:
    path = os.path.join(folder, store.MANIFEST_NAME)
    try:
        with open(path, "rb") as fh:
            manifest = json.loads(fh.read())
    except FileNotFoundError:
        raise DataError(f"{path}: no manifest — not a contact-pattern dataset (make one with "
                        "`friction-studio data patterns`)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise DataError(f"{path}: not a contact-pattern dataset manifest")
    return manifest


def generate_patterns(out: str, *, designs: int, seed: int = 0, workers: int = 2, log=None,
                      **options) -> dict:
    """Make (or complete) the dataset in folder `out`; returns the manifest. Worker processes are spawned:
    call it under `if __name__ == "__main__":` (the CLI does)."""
    import multiprocessing

    log = log or (lambda s: print(s, file=sys.stderr, flush=True))
    if designs < 1:
        raise DataError(f"designs: {designs} — give at least one design")
    params = PatternParameters(seed=int(seed), designs=int(designs), **options)
    os.makedirs(out, exist_ok=True)
    wanted = new_manifest(params)
    path = os.path.join(out, store.MANIFEST_NAME)
    if os.path.exists(path):
        manifest = read_manifest(out)
        _compatible(manifest, wanted, path)
    else:
        manifest = wanted
        _write_manifest(out, manifest)
    from studio.data.generate import _discard_partial_files

    _discard_partial_files(out, log or (lambda s: None))  # half-written files of a killed run
    done = {}
    for entry in manifest["shards"]:
        file = os.path.join(out, entry["name"])
        if os.path.exists(file) and store.sha256_file(file) == entry["sha256"]:
            done[entry["name"]] = entry
    manifest["shards"] = list(done.values())
    todo = [k for k in range(len(params.shards())) if store.shard_name(k) not in done]
    log(f"{out}: {len(done)} of {len(params.shards())} shards present, {len(todo)} to make with {workers} workers")
    t0 = time.perf_counter()
    jobs = [(out, params, k) for k in todo]
    if workers <= 1:
        results = map(_make_shard_job, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn").Pool(workers, maxtasksperchild=50)
        results = pool.imap_unordered(_make_shard_job, jobs)
    try:
        for n, entry in enumerate(results, 1):
            manifest["shards"].append(entry)
            _write_manifest(out, manifest)
            log(f"{entry['name']}: {entry['samples']} (layout, load) pairs, {entry['cpu_s']} CPU-s, "
                f"{entry['wall_s']} s; {n}/{len(todo)} this run, {time.perf_counter() - t0:.0f} s")
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    manifest["complete"] = len(manifest["shards"]) == len(params.shards())
    _write_manifest(out, manifest)
    return manifest


def load_patterns(folder: str, allow_incomplete: bool = True, shards: int | None = None) -> dict:
    """Every shard listed in the manifest, concatenated: layout_* (L, ...) and sample_* (M, ...) arrays;
    sample_layout_row indexes the layout arrays of the whole dataset. shards: only shards 0 … shards − 1
    (all of them must be there): a fixed part of a dataset still being made."""
    import h5py

    manifest = read_manifest(folder)
    if not manifest.get("complete") and not allow_incomplete:
        raise DataError(f"{folder}: dataset is incomplete (re-run its command to finish it)")
    entries = sorted(manifest["shards"], key=lambda s: s["first_design"])
    if shards is not None:
        wanted = {store.shard_name(k) for k in range(int(shards))}
        entries = [e for e in entries if e["name"] in wanted]
        missing = sorted(wanted - {e["name"] for e in entries})
        if missing:
            raise DataError(f"{folder}: {missing[0]} is not made yet ({len(missing)} of the first {shards} shards "
                            f"missing)")
        manifest = {**manifest, "shards": entries}
    parts: dict[str, list] = {}
    offset = 0
    for entry in entries:
        path = os.path.join(folder, entry["name"])
        try:
            with h5py.File(path, "r") as f:
                arrays = {name: f[name][()] for name in f}
        except OSError as exc:
            raise DataError(f"{path}: not a readable contact-pattern shard ({exc})") from None
        arrays["sample_layout_row"] = arrays["sample_layout_row"].astype(np.int64) + offset
        offset += arrays["layout_design_index"].size
        for name, value in arrays.items():
            parts.setdefault(name, []).append(value)
    if not parts:
        raise DataError(f"{folder}: no complete shard yet")
    out = {name: np.concatenate(v) for name, v in parts.items()}
    out["manifest"] = manifest
    return out
