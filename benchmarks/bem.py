"""Boundary-element validation, in one run: Hertz, two spheres, and the hybrid designs of the benchmark set.

    python benchmarks/bem.py [--designs FILE.json] [--budget 5] [--loads 16] [--search-loads 8]
                             [--targets all|A:B|name,name] [--workers 1] [--json OUT.json]

(1) One Hertz sphere at 8 loads (10·j/8 N) on the automatic grid: contact area from the patch fit
    (3P/2p0) and from counting cells, against Hertz's; the same problem solved by tamaas (EPFL,
    AGPL-3.0: imported here only, never by studio/) on a periodic grid of the same cell, where
    installed (`pip install tamaas==2.9.0`), with the padding's effect measured at two sizes.
(2) Two equal spheres at decreasing spacing s against a trend derived analytically (first order:
    each contact's Hertz pressure lowers the other by its Boussinesq displacement, Johnson 1985
    §3.4, so the flat must go further by u(s); second order: the curvature of that displacement
    field sharpens each cap, so each contact's area at a fixed load falls by R·P₁/(3π·E*·s³)).
(3) The hybrid designs of the 40 simulated targets (N = 16..256): interaction error (sMAPE of the
    BEM law against the independent-asperity law, `--loads` loads) at the default layout, then the
    automatic spacing (studio.design.validation.find_spacing, searched at `--search-loads` loads)
    and the interaction error there at `--loads` loads, with the time of each validation.
Goals: (1) ≤ 1 %; (3) every design within 1 % at its automatic spacing; an N = 64 design at 16
loads validated in ≤ 30 s (the designs nearest N = 64 are timed alone, before the others).
Prints one JSON line and the tables.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from benchmarks.hybrid_designs import hybrid_designs, realised  # noqa: E402
from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point (module level: its spawned workers import this file too)

E_STAR_MPA = 5.0
RADIUS_MM = 2.0


def hertz_area(load_N, radius_mm, E_star):
    return np.pi * (3 * np.asarray(load_N) * radius_mm / (4 * E_star)) ** (2 / 3)


def part_hertz() -> dict:
    from studio.physics.contact import Interface, solve_at

    itf = Interface.of([0.0], [RADIUS_MM], [0.0], [0.0], E_STAR_MPA)
    loads = 10.0 * np.arange(1, 9) / 8
    rows = []
    for load in loads:
        t0 = time.perf_counter()
        s = solve_at(itf, load)
        exact = float(hertz_area(load, RADIUS_MM, E_STAR_MPA))
        row = {"load_N": float(load), "grid": list(s.grid.shape), "cell_mm": s.grid.cell_mm,
               "fit_error_percent": 100 * (s.contact_area_mm2 / exact - 1),
               "cells_error_percent": 100 * (s.cell_area_mm2 / exact - 1), "s": time.perf_counter() - t0}
        row.update(tamaas_hertz(load, s.grid.cell_mm, exact))
        rows.append(row)
    return {"loads": rows, "max_fit_error_percent": max(abs(r["fit_error_percent"]) for r in rows)}


def tamaas_hertz(load, cell_mm, exact) -> dict:
    """The same sphere in tamaas (periodic) at the same cell; our patch fit applied to its pressure too."""
    try:
        import tamaas as tm
    except ImportError:
        return {"tamaas": "not installed"}
    from studio.physics.contact import Grid, Interface, measure

    tm.set_log_level(tm.LogLevel.error)
    a = np.sqrt(exact / np.pi)
    out = {}
    for span in (8, 16):  # periodic cell of `span` contact radii: the images' effect shrinks with it
        n = 2 * int(np.ceil(span * a / (2 * cell_mm))) + 1  # odd: the summit on a cell centre, as on our grid
        size = n * cell_mm
        model = tm.ModelFactory.createModel(tm.model_type.basic_2d, [size, size], [n, n])
        model.E, model.nu = E_STAR_MPA, 0.0  # E/(1 − ν²) = E*
        x = (np.arange(n) + 0.5) * cell_mm - size / 2
        X, Y = np.meshgrid(x, x, indexing="ij")
        solver = tm.PolonskyKeerRey(model, -(X ** 2 + Y ** 2) / (2 * RADIUS_MM), 1e-12,
                                    tm.PolonskyKeerRey.pressure, tm.PolonskyKeerRey.pressure)
        t0 = time.perf_counter()
        solver.solve(load / size ** 2)
        seconds = time.perf_counter() - t0
        force = np.array(model.traction).reshape(n, n) * cell_mm ** 2
        grid = Grid(-size / 2, -size / 2, cell_mm, (n, n))
        fit = measure(Interface.of([0.0], [RADIUS_MM], [0.0], [0.0], E_STAR_MPA), grid, force,
                      np.zeros((n, n), dtype=np.int32))
        out[f"tamaas_{span}a"] = {"cells_error_percent": 100 * (fit.cell_area_mm2 / exact - 1),
                                  "fit_error_percent": 100 * (fit.contact_area_mm2 / exact - 1), "s": seconds}
    return out


def part_two_spheres() -> list[dict]:
    from studio.physics.contact import Interface, solve_at

    load = 4.0
    one = load / 2
    a = float(np.sqrt(hertz_area(one, RADIUS_MM, E_STAR_MPA) / np.pi))
    p0 = 3 * one / (2 * np.pi * a * a)
    alone = solve_at(Interface.of([0.0], [RADIUS_MM], [0.0], [0.0], E_STAR_MPA), one, cells_per_radius=8)
    rows = []
    for ratio in (16, 8, 5, 4, 3, 2.5, 2.2):
        s_mm = ratio * a
        itf = Interface.of([0.0, 0.0], [RADIUS_MM] * 2, [-s_mm / 2, s_mm / 2], [0.0, 0.0], E_STAR_MPA)
        t0 = time.perf_counter()
        sol = solve_at(itf, load, cells_per_radius=8)
        push = p0 / (2 * a * E_STAR_MPA) * ((2 * a * a - s_mm ** 2) * np.arcsin(a / s_mm)
                                            + a * np.sqrt(s_mm ** 2 - a * a))
        area_change = -RADIUS_MM * one / (3 * np.pi * E_STAR_MPA * s_mm ** 3)
        rows.append({"spacing_over_a": ratio, "spacing_mm": s_mm,
                     "extra_approach_mm": alone.flat_mm - sol.flat_mm, "predicted_approach_mm": push,
                     "area_change_percent": 100 * (sol.contact_area_mm2 / (2 * alone.contact_area_mm2) - 1),
                     "predicted_area_change_percent": 100 * area_change,
                     "coalesced": bool(sol.coalesced.any()), "s": time.perf_counter() - t0})
    return rows


def one_design(design: dict, loads: int, search_loads: int, search: bool = True, row: dict | None = None) -> dict:
    """Default layout's validation (unless `row` has it), then the automatic spacing and its validation."""
    from studio.design.validation import DEFAULT_TOLERANCE_PERCENT, find_spacing, validate_layout
    from studio.jobs import drive
    from studio.physics.contact import ContactError
    from studio.physics.layout import plan_layout

    a, E, tau0, B = realised(design)
    h, R = a.height_mm, a.radius_mm
    if row is None:
        layout = plan_layout(h, R, E)
        row = {"target": design["name"], "N": int(design["N"]), "E_star_MPa": E,
               "touching": int(layout.touching.sum()), "default_footprint_mm": list(layout.footprint_mm)}
        try:
            cpu = time.process_time()
            v = drive(validate_layout(h, R, layout, E, tau0, B, loads=loads))
            row["default"] = {"error_percent": v.interaction_error_percent, "s": v.elapsed_s,
                              "cpu_s": time.process_time() - cpu, "largest_grid": v.summary()["grid"]["largest"],
                              "grid_change_percent": v.grid_change_percent}
        except ContactError as exc:
            row["default"] = {"error": str(exc)}
    if not search or "error_percent" not in row["default"]:
        return row
    if row["default"]["error_percent"] <= DEFAULT_TOLERANCE_PERCENT:
        row["auto"] = {"clearance_mm": 0.05, "error_percent": row["default"]["error_percent"], "reached": True,
                       "search_s": 0.0, "footprint_mm": row["default_footprint_mm"], "s": 0.0}
        return row
    t0 = time.perf_counter()
    try:
        found = drive(find_spacing(h, R, E, tau0, B, loads=search_loads))
    except ContactError as exc:
        row["auto"] = {"error": str(exc)}
        return row
    row["auto"] = {"clearance_mm": found.layout.clearance_mm, "reached": found.reached,
                   "search_s": time.perf_counter() - t0, "footprint_mm": list(found.layout.footprint_mm),
                   "message": found.message, "tried": found.tried}
    try:
        final = drive(validate_layout(h, R, found.layout, E, tau0, B, loads=loads, grid_check=False))
        row["auto"].update({"error_percent": final.interaction_error_percent, "s": final.elapsed_s})
    except ContactError as exc:
        row["auto"]["error"] = str(exc)
    return row


def _one(args):
    import jax  # noqa: F401  (import before work; float64 is enabled by studio.physics)

    return one_design(*args)


def main(argv=None) -> int:
    from studio.design.benchmark import select

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", default=None, help="hybrid designs JSON (benchmarks/hybrid_designs.py); made if absent")
    ap.add_argument("--budget", type=float, default=5.0)
    ap.add_argument("--loads", type=int, default=16)
    ap.add_argument("--search-loads", type=int, default=8)
    ap.add_argument("--targets", default="all")
    ap.add_argument("--workers", type=int, default=1, help="processes for part (3) after the timed designs")
    ap.add_argument("--no-search", action="store_true", help="part (3) at the default layout only (timing runs)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    designs = select(hybrid_designs(args.budget, cache=args.designs, log=log), args.targets)
    load0 = os.getloadavg()[0]
    hertz = part_hertz()
    log(f"(1) Hertz: max patch-fit error {hertz['max_fit_error_percent']:.3f} %")
    pair = part_two_spheres()
    log("(2) two spheres done")
    # The designs nearest N = 64 first, alone, at the default layout: the timing goal.
    near = sorted(designs, key=lambda d: abs(int(d["N"]) - 64))[:2]
    timed = {}
    for d in near:
        timed[d["name"]] = one_design(d, args.loads, args.search_loads, search=False)["default"]
        log(f"timing {d['name']} N={d['N']}: {json.dumps(timed[d['name']])}")
    # Then two passes, rows appended to OUT.json.rows.jsonl as they finish (an interrupted run keeps what
    # it measured): A, every design's default layout; B, the spacing search of those outside 1 %.
    progress = (args.json + ".rows.jsonl") if args.json else None
    by_size = sorted(designs, key=lambda d: int(d["N"]))
    rows = {}
    for name, row in _map([(d, args.loads, args.search_loads, False) for d in by_size], args.workers):
        rows[name] = _keep(row, progress, log)
    if not args.no_search:
        jobs = [(d, args.loads, args.search_loads, True, rows[d["name"]]) for d in by_size]
        for name, row in _map(jobs, args.workers):
            rows[name] = _keep(row, progress, log)
    ordered = [rows[d["name"]] for d in designs]
    auto_ok = [r for r in ordered if "error_percent" in (r.get("auto") or {})]
    summary = {
        "hertz_max_error_percent": hertz["max_fit_error_percent"],
        "default_error_percent": _stats([r["default"]["error_percent"] for r in ordered if "error_percent" in r["default"]]),
        "auto_error_percent": _stats([r["auto"]["error_percent"] for r in auto_ok]),
        "within_1_percent_at_auto_spacing": sum(r["auto"]["error_percent"] <= 1.0 for r in auto_ok),
        "designs": len(ordered),
        "n64_validation_s": {name: t.get("s") for name, t in timed.items()},
        "n64_validation_cpu_s": {name: t.get("cpu_s") for name, t in timed.items()},
        "validation_s": _stats([r["default"]["s"] for r in ordered if "s" in r["default"]]),
        "load_average": [round(load0, 2), round(os.getloadavg()[0], 2)]}
    result = {"benchmark": "bem", "loads": args.loads, "search_loads": args.search_loads, "summary": summary}
    if args.json:
        from studio.files import atomic_write_text
        atomic_write_text(args.json, json.dumps({**result, "hertz": hertz, "two_spheres": pair, "designs": ordered},
                                                indent=1))
    print(json.dumps(result))
    print_tables(hertz, pair, ordered)
    return 0


def _map(jobs, workers):
    """(design name, row) of one_design over `jobs`, in worker processes when workers > 1."""
    if workers <= 1:
        for job in jobs:
            yield job[0]["name"], one_design(*job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: forking a process that has started JAX's threads can deadlock
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_one, job): job[0]["name"] for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _keep(row: dict, progress: str | None, log) -> dict:
    if progress:
        with open(progress, "a") as fh:
            fh.write(json.dumps(row) + "\n")
    log(f"{row['target']} N={row['N']}: default {row.get('default', {}).get('error_percent')}, "
        f"auto {(row.get('auto') or {}).get('error_percent')} at {(row.get('auto') or {}).get('clearance_mm')} mm")
    return row


def _stats(values):
    if not values:
        return None
    v = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(v)), "max": float(v.max()), "count": int(v.size)}


def print_tables(hertz, pair, rows) -> None:
    print("\n(1) Hertz sphere, R = 2 mm, E* = 5 MPa: area error [%] (BEM patch fit | cells | tamaas cells | "
          "tamaas + patch fit, periodic 16a)")
    for r in hertz["loads"]:
        t = r.get("tamaas_16a")
        tam = f"{t['cells_error_percent']:+7.2f} {t['fit_error_percent']:+7.3f}" if t else "  tamaas not installed"
        print(f"  P = {r['load_N']:5.2f} N  grid {r['grid'][0]:>3}x{r['grid'][1]:<3} cell {r['cell_mm']:.4f} mm  "
              f"{r['fit_error_percent']:+7.3f} {r['cells_error_percent']:+7.2f} {tam}   {r['s']:.2f} s")
    print("\n(2) two equal spheres, 2 N each: extra approach [µm] BEM vs first-order; area change [%] BEM vs "
          "second-order")
    for r in pair:
        print(f"  s = {r['spacing_over_a']:>4} a ({r['spacing_mm']:.2f} mm): {1e3 * r['extra_approach_mm']:7.2f} vs "
              f"{1e3 * r['predicted_approach_mm']:7.2f}   {r['area_change_percent']:+7.3f} vs "
              f"{r['predicted_area_change_percent']:+7.3f}{'  (coalesced)' if r['coalesced'] else ''}")
    print("\n(3) hybrid designs: interaction error [%] at the default layout (0.05 mm) and at the automatic spacing")
    print(f"  {'target':<8}{'N':>5}{'touch':>6}{'E*':>6} {'default':>8}{'s':>6}  {'clearance':>9}{'auto':>8}"
          f"{'s':>6}{'search s':>9}  footprint")
    for r in rows:
        d, a = r.get("default", {}), r.get("auto", {})
        dflt = f"{d['error_percent']:8.3f}{d['s']:6.1f}" if "error_percent" in d else f"{'refused':>8}{'':>6}"
        auto = (f"{a.get('clearance_mm', float('nan')):9.3g}{a.get('error_percent', float('nan')):8.3f}"
                f"{a.get('s', float('nan')):6.1f}{a.get('search_s', float('nan')):9.0f}") if a else ""
        fp = a.get("footprint_mm") or r.get("default_footprint_mm")
        note = "" if a.get("reached", True) else "  not reached"
        print(f"  {r['target']:<8}{r['N']:>5}{r.get('touching', 0):>6}{r['E_star_MPa']:6.2f} {dflt}  {auto}  "
              f"{fp[0]:.1f} x {fp[1]:.1f} mm{note}")


if __name__ == "__main__":
    sys.exit(main())
