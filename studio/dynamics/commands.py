"""Rate-and-state friction from the command line (docs/dynamics.md).

    friction-studio rsf simulate PROTOCOL.csv --a A --b B --Dc DC [--mode imposed|spring --k K] --out CURVE.csv
    friction-studio rsf simulate --preset slide-hold-slide --a A --b B --Dc DC --out CURVE.csv
    friction-studio rsf fit DATA.csv [--law aging|slip] [--mode imposed|spring] [--fix NAME=VALUE] [--detrend]

`fit` prints one JSON line (values keyed mu0, a, b, Dc_m, k, each with <name>_2sigma, a_minus_b
with its interval, r2, residual) and exits 0, or 1 when the fit did not converge (the JSON then
holds the best point and its cost), or 2 on bad input.
"""
from __future__ import annotations

import json
import sys

ALIASES = {"Dc": "Dc_m", "k": "k_per_m", "Dc2": "Dc2_m", "trend": "trend_per_m"}


def register(subparsers) -> None:
    rsf = subparsers.add_parser("rsf", help="rate-and-state friction: simulate protocols, fit records",
                                description=__doc__.splitlines()[0])
    sub = rsf.add_subparsers(dest="rsf_command", metavar="{simulate,fit}")

    s = sub.add_parser("simulate", help="simulate a velocity protocol (CSV or preset) → friction curve CSV")
    s.add_argument("protocol", metavar="PROTOCOL.csv", nargs="?", help="segments: duration (s), slip (m), "
                   "velocity (m/s); or use --preset")
    s.add_argument("--preset", choices=("velocity-steps", "slide-hold-slide"), help="a built-in protocol")
    _law_options(s)
    s.add_argument("--mu0", type=float, default=0.6, help="steady-state friction at V0 (default 0.6)")
    s.add_argument("--a", type=float, required=True, help="direct effect a")
    s.add_argument("--b", type=float, required=True, help="evolution effect b")
    s.add_argument("--Dc", type=float, required=True, help="critical slip distance Dc [m]")
    s.add_argument("--V0", type=float, default=None, help="reference velocity [m/s] (default: the initial velocity)")
    s.add_argument("--k", type=float, default=None, help="stiffness / normal stress [1/m] (spring mode)")
    s.add_argument("--eta", type=float, default=0.0, help="radiation damping / normal stress [s/m] (spring mode)")
    s.add_argument("--b2", type=float, default=None, help="second state variable's b")
    s.add_argument("--Dc2", type=float, default=None, help="second state variable's Dc [m]")
    s.add_argument("--samples", type=int, default=1000, help="equally spaced samples (default 1000), "
                   "plus one at each segment start")
    s.add_argument("--initial-velocity", type=float, default=None, help="steady state at this velocity "
                   "[m/s] before t = 0 (default: the first segment's)")
    s.add_argument("--hold-velocity", type=float, default=None, help="slider velocity of holds in imposed "
                   "mode [m/s] (default 2e-9)")
    s.add_argument("--float32", action="store_true", help="the float32 fast path instead of the float64 reference")
    s.add_argument("--out", metavar="CURVE.csv", default=None, help="write the curve here (default: print it)")
    s.add_argument("--write-protocol", metavar="PROTOCOL.csv", default=None, help="also write the protocol")
    s.set_defaults(run=run_simulate)

    f = sub.add_parser("fit", help="fit mu0, a, b, Dc (and k) to a measured record by least squares")
    f.add_argument("record", metavar="DATA.csv", help="time (s), velocity (m/s) or displacement (m), mu")
    _law_options(f)
    f.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a parameter (mu0, a, b, Dc_m, k, b2, Dc2_m, trend_per_m); repeatable")
    f.add_argument("--detrend", action="store_true", help="fit a linear trend in μ per metre of displacement")
    f.add_argument("--two-states", action="store_true", help="fit a second state variable (b2, Dc2_m)")
    f.add_argument("--V0", type=float, default=None, help="reference velocity [m/s] (default: the initial one)")
    f.add_argument("--max-iterations", type=int, default=200)
    f.add_argument("--out", metavar="FIT.csv", default=None, help="also write the fitted curve with the data")
    f.set_defaults(run=run_fit)


def _law_options(parser) -> None:
    parser.add_argument("--law", choices=("aging", "slip"), default="aging", help="state evolution law")
    parser.add_argument("--mode", choices=("imposed", "spring"), default="imposed",
                        help="imposed slider velocity (exact) or a spring-slider driven at the load point")


def parse_fix(items) -> dict:
    """['Dc_m=1e-5', 'k=2e3'] → {'Dc_m': 1e-5, 'k_per_m': 2e3}; bad items raise FitError naming them."""
    from studio.dynamics.fit import FitError

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = ALIASES.get(name.strip(), name.strip())
        if not sep:
            raise FitError(f"--fix {item!r}: write NAME=VALUE, e.g. --fix Dc_m=1e-5")
        try:
            out[name] = float(value)
        except ValueError:
            raise FitError(f"--fix {item!r}: {value!r} is not a number") from None
    return out


def run_simulate(args) -> int:
    from studio.dynamics import PRESETS, RsfParams, simulate
    from studio.dynamics.files import format_curve, read_protocol, write_curve, write_protocol
    from studio.dynamics.protocol import Protocol, ProtocolError

    if (args.protocol is None) == (args.preset is None):
        raise ProtocolError("give a protocol CSV or --preset (one of them)")
    if args.protocol:
        protocol = read_protocol(args.protocol, initial_velocity_m_s=args.initial_velocity)
    else:
        protocol = PRESETS[args.preset]()
    if args.hold_velocity is not None or (args.preset and args.initial_velocity is not None):
        protocol = Protocol(protocol.segments, args.initial_velocity if args.initial_velocity is not None
                            else protocol.initial_velocity_m_s,
                            args.hold_velocity if args.hold_velocity is not None else protocol.hold_velocity_m_s,
                            protocol.name)
    if args.samples < 2:
        raise ProtocolError(f"--samples {args.samples}: need at least 2")
    params = RsfParams(mu0=args.mu0, a=args.a, b=args.b, Dc_m=args.Dc,
                       V0_m_s=args.V0 if args.V0 is not None else protocol.start_velocity_m_s,
                       k_per_m=args.k, eta_s_per_m=args.eta, b2=args.b2, Dc2_m=args.Dc2)
    import numpy as np

    trajectory = simulate(protocol, params, mode=args.mode, law=args.law,
                          times_s=protocol.sample_times(args.samples, boundaries=True),
                          dtype=np.float32 if args.float32 else np.float64)
    if args.write_protocol:
        write_protocol(args.write_protocol, protocol)
    comment = (f"friction-studio rsf simulate: {protocol.name or 'protocol'}, {args.mode} mode, {args.law} law, "
               + ", ".join(f"{k}={v:g}" for k, v in params._asdict().items() if v is not None))
    if args.out:
        write_curve(args.out, protocol, trajectory, comment=comment)
        print(json.dumps({"out": str(args.out), "samples": int(trajectory.mu.size), "mode": args.mode,
                          "law": args.law, "mu_min": float(trajectory.mu.min()), "mu_max": float(trajectory.mu.max()),
                          "duration_s": protocol.total_duration_s}))
    else:
        sys.stdout.write(format_curve(protocol, trajectory, comment=comment))
    return 0


def run_fit(args) -> int:
    from studio.dynamics.files import read_record
    from studio.dynamics.fit import fit

    fix = parse_fix(args.fix)
    record = read_record(args.record, mode=args.mode)
    result = fit(record, law=args.law, mode=args.mode, fix=fix, detrend=args.detrend,
                 two_states=args.two_states, V0_m_s=args.V0, max_iterations=args.max_iterations)
    if args.out:
        _write_fit(args.out, record, result)
    print(json.dumps(result.to_json()))
    if not result.converged:
        print(f"friction-studio rsf fit: {args.record}: {result.message}", file=sys.stderr)
        return 1
    return 0


def _write_fit(path, record, result) -> None:
    import numpy as np

    from studio.files import atomic_write_text

    lines = [f"# RSF fit of {record.source}: " + json.dumps(result.to_json()), "time (s),mu,mu_fit,residual"]
    rows = np.stack([record.times_s, record.mu, result.mu_fit, record.mu - result.mu_fit], axis=1)
    lines += [",".join(f"{v:.12g}" for v in row) for row in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")
