"""The inverse-design benchmark: every engine under the same budget on the fixed target set.

Used by benchmarks/design.py (the full run) and `friction-studio bench` (a brief one). Per engine:
mean / median / p95 functional sMAPE [%] of the best design on the simulated targets, the time
[s] at which the Progress stream first reported ≤ 2 %, 1 %, 0.5 % (median over the targets that
reached it, and how many did), the median wall time per target, and for the analytic laws the
error and where each is out of reach.
JIT compilation is done once per engine and asperity bucket before the timed runs (a warm-up
run per shape), so the times are search times, not compile times.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from studio.design.core import Target
from studio.design.material import FIELD_IDX, FREE, Material
from studio.design.load_range import CANONICAL_MAX_LOAD_N, at_target_range, check_max_load
from studio.errors import StudioError
from studio.files import atomic_write_text
from studio.physics import summary
from studio.physics import bucket_width

DEFAULT_SET = Path(__file__).resolve().parents[2] / "resources" / "benchmarks" / "design-targets.json"
THRESHOLDS_PERCENT = (2.0, 1.0, 0.5)


class BenchmarkError(StudioError):
    """A benchmark set or selection that cannot be used (missing file, unknown target or engine)."""


def load_targets(path=None) -> list[dict]:
    """The benchmark targets (list of dicts with name, kind, N, friction_N, ...) from the JSON set."""
    path = Path(path or DEFAULT_SET)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise BenchmarkError(f"{path}: cannot read the benchmark set ({exc.strerror}); "
                             "re-create it with benchmarks/make_benchmark_set.py") from None
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if data.get("format") != "friction-studio-benchmark-targets":
        raise BenchmarkError(f"{path}: not a friction-studio benchmark set (format {data.get('format')!r})")
    return data["targets"]


def select(targets: list[dict], spec: str | None) -> list[dict]:
    """Targets by spec: None/'all', 'simulated', 'analytic', 'A:B' (index slice), or comma-separated names."""
    if not spec or spec == "all":
        return targets
    if spec in ("simulated", "analytic"):
        return [t for t in targets if t["kind"] == spec]
    if ":" in spec:
        a, b = spec.split(":", 1)
        return targets[int(a) if a else None:int(b) if b else None]
    by_name = {t["name"]: t for t in targets}
    out = []
    for name in spec.split(","):
        if name not in by_name:
            raise BenchmarkError(f"benchmark target {name!r} does not exist; names look like "
                                 f"{', '.join(list(by_name)[:3])} ...")
        out.append(by_name[name])
    return out


def scaled_target(target: dict, max_load_N: float = CANONICAL_MAX_LOAD_N, variant: str = "valid") -> Target | None:
    """A benchmark target (a 10 N law) moved to the load range (0, max_load_N], its shape kept (physics.md §2),
    with the constraints of `variant` (VARIANTS); None when the variant does not apply (own material of an
    analytic law, which has no θ)."""
    material = FREE
    if variant == "own-material":
        if "theta" not in target:
            return None
        own = np.asarray(target["theta"], dtype=np.float64)
        material = Material(**{f: (own[i], own[i]) for f, i in FIELD_IDX.items()}, name="the target's own")
    t = Target(np.asarray(target["friction_N"], dtype=np.float64), int(target["N"]), source=f"bench:{target['name']}",
               material=material, validity={"today": "off", "penalty": "penalty"}.get(variant, "feasibility"))
    return at_target_range(t, max_load_N)


# Issue 21's rows: the engine as it was (validity no constraint, material free), with the small-strain
# constraint (the default), and with the material fixed to each simulated target's own (E*, τ0, B).
# "penalty": the constraint as a penalty instead of feasibility (measured against it).
VARIANTS = ("today", "valid", "own-material", "penalty")


def own_strain(target: dict) -> float | None:
    """Largest d/R at 10 N of a simulated target's own design (θ, N, seed); None for analytic laws."""
    if "theta" not in target:
        return None
    from studio.physics import hertz_strain, realize
    theta = np.asarray(target["theta"], dtype=np.float64)
    a = realize(theta, int(target["N"]), int(target["seed"]))
    return float(hertz_strain(a.height_mm, a.radius_mm, theta[FIELD_IDX["E_star"]]))


def range_labels(max_loads) -> list[str]:
    """One label per load range of a run, e.g. '10 N'; a range asked twice (run-to-run noise) gets '#2'."""
    labels, seen = [], {}
    for p in max_loads:
        seen[p] = seen.get(p, 0) + 1
        labels.append(f"{p:g} N" + (f" #{seen[p]}" if seen[p] > 1 else ""))
    return labels


def run_one(engine_name: str, target: dict, budget_s: float, seed: int = 0, *,
            max_load_N: float = CANONICAL_MAX_LOAD_N, max_evaluations: int | None = None,
            variant: str = "valid") -> dict | None:
    """One engine on one target (on the load range (0, max_load_N], with `variant`'s constraints): best
    error, validity, times to thresholds, message; None when the variant does not apply to the target."""
    from studio.design.engines import run

    t = scaled_target(target, max_load_N, variant)
    if t is None:
        return None
    reached = {thr: None for thr in THRESHOLDS_PERCENT}
    seen = []

    def on_progress(p) -> None:
        seen[:] = [p]
        for thr in THRESHOLDS_PERCENT:
            if reached[thr] is None and np.isfinite(p.best_error) and p.best_error <= thr:
                reached[thr] = p.elapsed_s

    t0 = time.perf_counter()
    options = {} if max_evaluations is None else {"max_evaluations": int(max_evaluations)}
    designs = run(engine_name, t, seed=seed, time_budget_s=budget_s, on_progress=on_progress, **options)
    wall = time.perf_counter() - t0
    last = seen[0] if seen else None
    best = designs[0]
    return {"target": target["name"], "kind": target["kind"], "N": int(target["N"]), "engine": engine_name,
            "max_load_N": float(max_load_N), "max_load_N_of_best": float(best.max_load_N),
            "smape_percent": float(best.error_percent), "wall_s": wall, "evaluations": last.evaluations if last else 0,
            "hertz_valid": bool(best.hertz_valid), "max_strain": float(best.max_strain),
            "own_strain": own_strain(target), "material_kept": bool(t.material.contains(best.theta)),
            "time_to_percent": {str(k): v for k, v in reached.items()}, "message": last.message if last else ""}


def warm_up(engine_names, targets, log: Callable[[str], None] = lambda s: None, variants=("valid",)) -> None:
    """Compile every (engine, asperity bucket, variant) once with a tiny budget, outside the timed runs."""
    done = set()
    for name in engine_names:
        for variant in variants:
            for target in targets:
                key = (name, bucket_width(int(target["N"])), variant)
                if key in done or scaled_target(target, variant=variant) is None:
                    continue
                done.add(key)
                t0 = time.perf_counter()
                run_one(name, target, budget_s=0.01, seed=12345, variant=variant)
                log(f"warm-up {name} width {key[1]} {variant}: {time.perf_counter() - t0:.1f} s")


def run_benchmark(targets: list[dict], engine_names, budget_s: float = 5.0, seed: int = 0,
                  log: Callable[[str], None] = lambda s: None, *, max_loads=(CANONICAL_MAX_LOAD_N,),
                  max_evaluations: int | None = None, variants=None) -> dict:
    """Every engine on every target under `budget_s` (and `max_evaluations`, if given), on each load range
    of `max_loads` (the targets scaled, interleaved per target so load drift on the machine hits every
    range alike); returns per-run rows and per-engine (and per-range) summaries."""
    max_loads = [check_max_load(p, "--max-load") for p in max_loads]
    labels = range_labels(max_loads)
    from studio.design.engines import spec

    for name in engine_names:
        spec(name)  # an unknown name stops here, before the warm-up
    for v in variants or ():
        if v not in VARIANTS:
            raise BenchmarkError(f"unknown variant {v!r}; choose among {', '.join(VARIANTS)}")
    warm_up(engine_names, targets, log, variants or ("valid",))
    rows = []
    for target in targets:
        for name in engine_names:
            for variant in variants or ("valid",):
                for max_load, label in zip(max_loads, labels):
                    row = run_one(name, target, budget_s, seed, max_load_N=max_load, max_evaluations=max_evaluations,
                                  variant=variant)
                    if row is None:
                        continue
                    if labels != ["10 N"]:  # a run over load ranges: rows and summaries say which
                        row["range"] = label
                    if variants:
                        row["variant"] = variant
                    rows.append(row)
                    log(f"{target['name']:>16} N={row['N']:<4d} {_key(row):<24} {label:>9} "
                        f"{row['smape_percent']:8.3f} %  d/R {row['max_strain']:.3f}  {row['wall_s']:.1f} s")
    keys = list(engine_names) if labels == ["10 N"] else [f"{n} @ {label}" for n in engine_names for label in labels]
    if variants:
        keys = [f"{k} [{v}]" for k in keys for v in variants]
    return {"budget_s": budget_s, "seed": seed, "engines": list(engine_names), "max_loads_N": max_loads,
            "max_evaluations": max_evaluations, "variants": list(variants or ()), "rows": rows,
            "summary": summarise(rows, keys)}


def write_json(path, result: dict) -> None:
    """Write the benchmark result atomically (studio.files, the one atomic writer)."""
    atomic_write_text(Path(path), json.dumps(result, indent=1))


def _key(row: dict) -> str:
    """A row's summary key: its engine, or 'engine @ range' in a run over several load ranges."""
    key = f"{row['engine']} @ {row['range']}" if "range" in row else row["engine"]
    return f"{key} [{row['variant']}]" if "variant" in row else key


def summarise(rows: list[dict], engine_names) -> dict:
    """Per key (an engine name, or 'engine @ 10 N' for runs over load ranges): simulated-target summary,
    times to thresholds, analytic laws."""
    out = {}
    for name in engine_names:
        mine = [r for r in rows if _key(r) == name]
        sim = [r for r in mine if r["kind"] == "simulated"]
        ana = [r for r in mine if r["kind"] == "analytic"]
        entry: dict = {}
        if sim:
            entry["simulated"] = summary([r["smape_percent"] for r in sim])
            entry["valid_share"] = float(np.mean([r.get("hertz_valid", False) for r in sim]))
            own_valid = [r for r in sim if r.get("own_strain") is not None and r["own_strain"] <= 0.25]
            if own_valid:  # the targets whose own design is small-strain valid (issue 21's goal set)
                entry["own_valid"] = summary([r["smape_percent"] for r in own_valid])
                one = [r["time_to_percent"]["1.0"] for r in own_valid if r["time_to_percent"]["1.0"] is not None]
                entry["own_valid_reached_1"] = len(one)
                entry["own_valid_median_time_to_1_s"] = float(np.median(one)) if one else None
            # what a quick engine (candidates, janus) takes per target; the others take the budget
            entry["median_wall_s"] = float(np.median([r["wall_s"] for r in sim]))
            for thr in THRESHOLDS_PERCENT:
                times = [r["time_to_percent"][str(thr)] for r in sim if r["time_to_percent"][str(thr)] is not None]
                entry[f"reached_{thr:g}"] = len(times)
                entry[f"median_time_to_{thr:g}_s"] = float(np.median(times)) if times else None
        if ana:
            entry["analytic"] = {r["target"]: {"smape_percent": r["smape_percent"], "reach": r["message"]}
                                 for r in ana}
        out[name] = entry
    return out


def table(result: dict) -> str:
    """A short text table of the summary."""
    evals = f", at most {result['max_evaluations']} evaluations" if result.get("max_evaluations") else ""
    width = max([11] + [len(k) for k in result["summary"]])
    lines = [f"budget {result['budget_s']:g} s per target{evals}; sMAPE [%] of the best design on simulated targets",
             f"{'engine':<{width}} {'n':>3} {'mean':>7} {'median':>7} {'p95':>7} {'wall':>6}   "
             + "  ".join(f"t≤{thr:g}% (n)" for thr in THRESHOLDS_PERCENT)]
    for name, entry in result["summary"].items():
        sim = entry.get("simulated")
        if sim:
            times = "  ".join(
                (f"{entry[f'median_time_to_{thr:g}_s']:5.2f}s ({entry[f'reached_{thr:g}']:>2})"
                 if entry[f"median_time_to_{thr:g}_s"] is not None else f"{'-':>6} ({0:>2})")
                for thr in THRESHOLDS_PERCENT)
            lines.append(f"{name:<{width}} {sim['count']:>3} {sim['mean']:7.3f} {sim['median']:7.3f} "
                         f"{sim['p95']:7.3f} {entry['median_wall_s']:5.2f}s   {times}   valid {entry['valid_share']:.0%}")
    own = [(name, e) for name, e in result["summary"].items() if "own_valid" in e]
    if own:
        lines.append("on the simulated targets whose own design is small-strain valid:")
        for name, e in own:
            t1 = e["own_valid_median_time_to_1_s"]
            lines.append(f"{name:<{width}} {e['own_valid']['count']:>3} {e['own_valid']['mean']:7.3f} "
                         f"{e['own_valid']['median']:7.3f} {e['own_valid']['p95']:7.3f}   t≤1% "
                         + (f"{t1:5.2f}s" if t1 is not None else "    -") + f" ({e['own_valid_reached_1']})")
    analytic = [(name, t, v) for name, e in result["summary"].items() for t, v in e.get("analytic", {}).items()]
    if analytic:
        lines.append("analytic laws (sMAPE [%], where out of reach):")
        for name, t, v in analytic:
            reach = v["reach"].split("; ")[-1]
            lines.append(f"  {name:<12} {t:<18} {v['smape_percent']:7.3f}  {reach}")
    return "\n".join(lines)
