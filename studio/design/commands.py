"""`friction-studio design`, `bench` and `warm-up` (spec: design-file.md, "Command line").

    friction-studio design TARGET.csv --asperities N|auto --out OUT.h5
                    [--time-budget SECONDS] [--method NAME] [--candidates K] [--seed S] [--max-load P]
                    [--E-star V|LO:HI] [--tau0 V|LO:HI] [--B V|LO:HI] [--allow-invalid]
    friction-studio bench [--targets SPEC] [--engines a,b] [--budget SECONDS] [--json OUT.json]
    friction-studio warm-up [--asperities 64]

`design` prints exactly one JSON line on stdout (best, smape_percent, elapsed_s, ...); progress
goes to stderr with --progress. Errors are StudioErrors, printed as one line by studio/cli.py.
"""
from __future__ import annotations

import argparse
import json
import sys

from studio.io.record import BRANCHES, DEFAULT_BRANCH, DEFAULT_SMOOTHING_PERCENT, MAX_SMOOTHING_PERCENT

BENCH_TARGETS = "sim-00,sim-20,sim-39,linear-mu0.5-N32"
BENCH_ENGINES = "cmaes,hybrid"
DESIGN_DESCRIPTION = """\
Design asperity arrays whose friction law F(P) follows TARGET.csv, and write them to an HDF5 design file.

TARGET.csv: normal load and friction force, one row per measurement (comma, semicolon, tab or spaces;
decimal comma; comments and a header allowed). Units from the header: N, mN, µN (uN) or kN; a pressure
(Pa, kPa, MPa) with the contact area; a friction coefficient column (COF, µ) becomes F = µ·P; no unit:
newtons. Loads ≥ 0 N spanning at most 6 decades. The design's load range is (0, P_max], P_max the
largest load (or --max-load), any value > 0 N: designs are made for the canonical 0–10 N problem and
scaled exactly. Measured records are accepted as written: loading/unloading branches (--branch),
repeated loads (averaged), outliers and noise (named, and smoothed: --smoothing); each step is noted.

Quality is sMAPE, the symmetric mean absolute percentage error between the design's law and the target
over the loads the CSV specifies: mean of |F_design − F_target| / ((F_design + F_target)/2), in %
(0 % exact, 200 % worst; lower is better). Loads outside the CSV's range are extrapolated, not scored.

Prints one JSON line on stdout: best design, smape_percent, the number of loads specified and scored,
the import notes and a one-line message on where the design misses the target (and whether the miss is
the design box's or the data's). Exit 2 with a one-line message on bad input.
"""


def register(subparsers) -> None:
    from studio.design.engines import ENGINES, help_text
    from studio.design.material import BOX as MATERIAL_BOX

    p = subparsers.add_parser("design", help="design asperity arrays for a friction curve (CSV) → HDF5 design file",
                              description=DESIGN_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="TARGET.csv", help="friction curve: normal load, friction force (units in header)")
    p.add_argument("--asperities", "-N", type=asperities_argument, required=True, metavar="N|auto",
                   help="asperity count N (16..256), or 'auto': candidates at 9 log-spaced counts first, then the "
                        "design at the smallest N whose best sMAPE is within 0.5 points or 1.2x of the best "
                        "count's (the JSON's auto_n lists every count)")
    p.add_argument("--auto-counts", default=None, metavar="N,N,...",
                   help="with --asperities auto: the counts to try (default 16,23,32,45,64,91,128,181,256)")
    p.add_argument("--out", "-o", required=True, metavar="OUT.h5",
                   help="design file to write (HDF5; required; its folder must exist and be writable: checked "
                        "before the search)")
    p.add_argument("--time-budget", type=float, default=5.0, metavar="SECONDS",
                   help="search time in seconds (default 5; JIT compilation on first use comes on top)")
    p.add_argument("--method", default="hybrid", metavar="NAME",
                   help="design engine (default hybrid): " + help_text())
    p.add_argument("--candidates", type=int, default=None, metavar="K",
                   help="designs to keep (default: " + ", ".join(f"{s.default_count} for {s.name}" for s in
                                                                   ENGINES.values()) + ")")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="job seed (default 0)")
    p.add_argument("--max-load", type=float, default=None, metavar="P",
                   help="largest load of the design's range in N (default: the CSV's largest load); designs "
                        "for any range are the 10 N ones scaled exactly (docs/load-ranges.md)")
    for flag, field, unit, what in (("--E-star", "E_star", "in MPa", "effective modulus E* = E/(1 − ν²) of the elastomer"),
                                    ("--tau0", "tau0", "in MPa", "interfacial shear strength τ0"),
                                    ("--B", "B", "(dimensionless)", "pressure coefficient B")):
        lo, hi = MATERIAL_BOX[field]
        p.add_argument(flag, dest=field, default=None, metavar="V|LO:HI",
                       help=f"the material's {what} {unit} (θ's {field}): a value fixes it (e.g. {hi / 2:g}), "
                            f"LO:HI bounds it; inside [{lo:g}, {hi:g}]; default: free (a design output)")
    p.add_argument("--allow-invalid", action="store_true",
                   help="do not require small-strain validity (largest contact depth/tip radius d/R ≤ 0.25 at the "
                        "largest load); by default the engines return valid designs and rank them first")
    p.add_argument("--branch", choices=BRANCHES, default=DEFAULT_BRANCH,
                   help="which part of a record with loading and unloading branches makes the target; mean: "
                        f"both averaged at the loads both cover (default {DEFAULT_BRANCH})")
    p.add_argument("--smoothing", default="auto", metavar="auto|off|PERCENT",
                   help="smoothing of a measured record: robust local-linear fit in log-load, width ± PERCENT of "
                        f"the load (0–{MAX_SMOOTHING_PERCENT:g}); auto: ±{DEFAULT_SMOOTHING_PERCENT:g} %% when the "
                        "record is noisy or has outliers (then left out), off for clean curves (default auto)")
    p.add_argument("--progress", action="store_true", help="print progress to stderr (default off)")
    p.set_defaults(run=design_command)

    b = subparsers.add_parser("bench", help="benchmark the design engines on the fixed target set (brief by default)",
                              description="Run each design engine on each benchmark target for a fixed time budget "
                                          "and print one JSON summary line and a table of sMAPE [%] (lower is "
                                          "better). The targets are resources/benchmarks/design-targets.json: "
                                          "simulated laws of known designs and analytic laws, some out of reach.")
    b.add_argument("--targets", default=BENCH_TARGETS,
                   help="'all', 'simulated', 'analytic', an index slice 'A:B' or comma-separated names "
                        f"(default {BENCH_TARGETS})")
    b.add_argument("--engines", default=BENCH_ENGINES,
                   help=f"comma-separated engine names, of: {', '.join(ENGINES)} (default {BENCH_ENGINES})")
    b.add_argument("--budget", type=float, default=1.0, metavar="SECONDS",
                   help="seconds per engine and target (default 1)")
    b.add_argument("--seed", type=int, default=0, help="job seed of every run: same seed, same designs (default 0)")
    b.add_argument("--json", metavar="OUT.json", help="also write the full result here (default: not written)")
    b.set_defaults(run=bench_command)

    w = subparsers.add_parser("warm-up", help="compile the physics once so the first design and studio start "
                                              "quickly (quickstart setup runs it)",
                              description="Compile, once, what a first design and the studio's first screen run, "
                                          "into JAX's persistent compilation cache.")
    w.add_argument("--asperities", "-N", default="64", metavar="N[,N...]",
                   help="asperity counts to prepare (default 64; each bucket of 32 compiles once)")
    w.set_defaults(run=warm_up_command)


def design_command(args) -> int:
    import dataclasses

    from studio.design.engines import run
    from studio.design.material import from_flags
    from studio.errors import StudioError
    from studio.files import writable_problem
    from studio.io import read_target_csv, write_design_file
    from studio.physics import B_IDX, E_STAR_IDX, HERTZ_LIMIT, TAU0_IDX

    problem = writable_problem(args.out)  # said now, not after the search
    if problem:
        raise StudioError(f"--out {args.out}: {problem}")
    if args.time_budget <= 0:
        raise StudioError(f"--time-budget must be positive, got {args.time_budget:g} s")
    if args.candidates is not None and args.candidates < 1:
        raise StudioError(f"--candidates must be at least 1, got {args.candidates}")
    material = from_flags(args.E_star, args.tau0, args.B)  # checked before the CSV is read: a bad flag is quick
    csv = read_target_csv(args.target, max_load_N=args.max_load, branch=args.branch, smoothing=args.smoothing)

    def constrained(target):
        return dataclasses.replace(target, material=material, validity="off" if args.allow_invalid else "feasibility")
    chosen = None
    if args.auto_counts and args.asperities != "auto":
        raise StudioError("--auto-counts goes with --asperities auto")
    if args.asperities == "auto":  # the material and validity flags hold at every count tried
        chosen = choose_asperities(constrained(csv.to_target(64)), args)
        args.asperities = chosen.smallest_good_N
    target = constrained(csv.to_target(args.asperities))
    last = []

    def on_progress(p):
        last[:] = [p]
        if args.progress:
            print(f"{p.elapsed_s:6.2f} s  best {p.best_error:8.3f} %  {p.message}", file=sys.stderr)

    designs = run(args.method, target, seed=args.seed, time_budget_s=args.time_budget, count=args.candidates,
                  on_progress=on_progress)
    write_design_file(args.out, designs, target)
    best = designs[0]
    if not best.hertz_valid:  # said on stderr too: stdout is the JSON line
        print(f"warning: the best design leaves small-strain Hertz theory: largest d/R {best.max_strain:.3g} > "
              f"{HERTZ_LIMIT:g}" + ("" if args.allow_invalid else " (no valid design found; try a longer "
                                    "--time-budget, other --asperities or a wider material range)"), file=sys.stderr)
    print(json.dumps({"best": best.name, "smape_percent": round(float(best.error_percent), 6),
                      "elapsed_s": round(float(best.elapsed_s), 3), "method": args.method, "N": target.N,
                      "seed": best.seed, "designs": len(designs), "out": args.out,
                      "max_load_N": target.max_load_N, "hertz_valid": bool(best.hertz_valid),
                      "max_d_over_R": round(float(best.max_strain), 6), "d_over_R_limit": HERTZ_LIMIT,
                      "validity_required": not args.allow_invalid, "material": material.as_dict(),
                      "E_star_MPa": float(best.theta[E_STAR_IDX]), "tau0_MPa": float(best.theta[TAU0_IDX]),
                      "B": float(best.theta[B_IDX]),
                      "fabrication_warnings": best.fabrication_warnings(),
                      "specified_loads": int(target.mask.sum()), "grid_loads": int(target.mask.size),
                      "scored_loads": int(target.mask.sum()), "target_notes": list(csv.notes),
                      "message": last[0].message if last else ""}
                     | ({"auto_n": chosen.summary()} if chosen is not None else {})))
    return 0


def asperities_argument(text: str):
    """--asperities: an integer count or 'auto' (the count is checked against 16..256 by the target)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        import argparse
        raise argparse.ArgumentTypeError(f"give an asperity count (16..256) or 'auto', not {text!r}") from None


def choose_asperities(target, args):
    """--asperities auto: the candidates engine at each of auto_n.asperity_counts(), the same seed; an AutoN."""
    from studio.design.auto_n import auto_n
    from studio.errors import StudioError
    from studio.jobs import drive

    def on_progress(p):
        if args.progress:
            print(f"N: auto {100 * p.fraction:5.1f} %  {p.message}", file=sys.stderr)

    counts = None
    if args.auto_counts:
        try:
            counts = [int(v) for v in args.auto_counts.split(",") if v.strip()]
        except ValueError:
            raise StudioError(f"--auto-counts {args.auto_counts!r}: give asperity counts such as 16,32,64") from None
    chosen = drive(auto_n(target, counts=counts, seed=args.seed), on_progress=on_progress)
    if args.progress:
        print(f"N: auto: best N = {chosen.best_N}, smallest good-enough N = {chosen.smallest_good_N}",
              file=sys.stderr)
    return chosen


def bench_command(args) -> int:
    from studio.design.benchmark import load_targets, run_benchmark, select, table
    from studio.errors import StudioError
    from studio.files import writable_problem

    problem = args.json and writable_problem(args.json)  # said now, not after the benchmark
    if problem:
        raise StudioError(f"--json {args.json}: {problem}")
    targets = select(load_targets(), args.targets)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    result = run_benchmark(targets, engines, budget_s=args.budget, seed=args.seed,
                           log=lambda s: print(s, file=sys.stderr))
    if args.json:
        from studio.design.benchmark import write_json
        write_json(args.json, result)
    print(json.dumps({"budget_s": result["budget_s"], "summary": result["summary"]}))
    print(table(result))
    return 0


def warm_up_command(args) -> int:
    import jax

    from studio.design.warmup import warm_up
    from studio.errors import StudioError
    from studio.physics import validate_asperity_count

    try:
        counts = [validate_asperity_count(int(v)) for v in str(args.asperities).split(",") if v.strip()]
    except ValueError:
        raise StudioError(f"--asperities {args.asperities!r}: give asperity counts such as 64 or 32,128") from None
    if not counts:
        raise StudioError("--asperities: give at least one asperity count")
    result = warm_up(counts, log=lambda text: print(f"warm-up: {text}", file=sys.stderr))
    result["cache"] = jax.config.jax_compilation_cache_dir  # None: FRICTION_STUDIO_JAX_CACHE=0, nothing kept
    print(json.dumps(result))
    return 0
