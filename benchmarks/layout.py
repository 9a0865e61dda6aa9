"""Fabrication layout, before and after issue 21, on the hybrid designs of the benchmark set, in one run.

    python benchmarks/layout.py [--budget 5] [--designs FILE.json] [--pixel 0.02] [--json OUT.json]

For each simulated target's hybrid design: touching caps that meet above the flat's lowest
position at 10 N ("overlaps", goal 0), summits inside a neighbour's solid ("buried", goal 0),
summits visible in the exported height map (goal N), the footprint of the caps at the plate
[mm × mm] and the layout time. "Before" is the layout studio/physics/layout.py had until issue 21
(contact discs of radius sqrt(R·d) at 10 N, 0.05 mm apart, never-touching asperities as points),
kept below (before_layout) so this file measures it in the same run; its plate was the export's
default then, 0.1 mm below the lowest summit. "After" is studio.physics.layout.plan_layout.
Prints one JSON line and a table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402

from benchmarks.hybrid_designs import hybrid_designs, realised  # noqa: E402
from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point (module level: its spawned workers import this file too)

# ------------------------------------------------------------------ the layout before issue 21 (baseline only)
BEFORE_CLEARANCE_MM = 0.05


def before_layout(contact_radius_mm, clearance_mm=BEFORE_CLEARANCE_MM):
    """The pre-issue-21 layout: Hertz contact discs sqrt(R·d) at 10 N, each padded by half the clearance,
    packed largest first, never-touching asperities as points, centred on the centres' centroid.

    studio.physics.layout.pack_contact_discs keeps the rule (older files and the contact-pattern dataset
    use it); the greedy packing is the one the new layout uses, so this is the old algorithm step for step.
    """
    from studio.physics.layout import pack_contact_discs

    return pack_contact_discs(contact_radius_mm, clearance_mm)


# ------------------------------------------------------------------------------------------- measures

def visible_summits(geometry, pixel_mm: float) -> int:
    """Local maxima of the exported height map standing above the plate (what a user sees as domes)."""
    from scipy import ndimage

    from studio.io.export import height_map

    z, _, _ = height_map(geometry, pixel_mm=pixel_mm)
    peaks = (ndimage.maximum_filter(z, size=3, mode="nearest") == z) & (z > geometry.base_level_mm + 1e-9)
    return int(ndimage.label(peaks, structure=np.ones((3, 3)))[1])


def main(argv=None) -> int:
    from studio.io.export import DEFAULT_MARGIN_MM, Geometry
    from studio.physics import contact_radius_mm
    from studio.physics.layout import flat_lowest_mm, layout_faults, plan_layout

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=5.0, help="hybrid engine seconds per target")
    ap.add_argument("--designs", default=None, help="read/write the hybrid designs here (JSON) to reuse them")
    ap.add_argument("--pixel", type=float, default=0.02, help="height map pixel [mm] for the summit count")
    ap.add_argument("--json", default=None, help="also write every row here")
    args = ap.parse_args(argv)
    designs = hybrid_designs(args.budget, cache=args.designs, log=lambda s: print(s, file=sys.stderr, flush=True))
    load_before = os.getloadavg()[0]
    rows = []
    for d in designs:
        a, E, _, _ = realised(d)
        h, R = a.height_mm, a.radius_mm
        g_low = flat_lowest_mm(h, R, E)
        radii = contact_radius_mm(h, R, E, 10.0)
        t0 = time.perf_counter()
        x0, y0 = before_layout(radii)
        t_before = time.perf_counter() - t0
        t0 = time.perf_counter()
        layout = plan_layout(h, R, E)
        t_after = time.perf_counter() - t0
        old = Geometry.of(h, R, x0, y0)  # the export's plate then: 0.1 mm below the lowest summit
        ex = old.extent_mm(0.0)
        row = {"target": d["name"], "N": int(d["N"]), "touching": int(layout.touching.sum())}
        for key, x, y, geom, footprint, t in (
                ("before", x0, y0, old, (ex[1] - ex[0], ex[3] - ex[2]), t_before),
                ("after", layout.x_mm, layout.y_mm, Geometry.from_layout(h, R, layout), layout.footprint_mm, t_after)):
            faults = layout_faults(h, R, x, y, g_low)
            row[key] = {"overlaps": faults["overlapping_caps"], "buried": faults["buried_summits"],
                        "summits_visible": visible_summits(geom, args.pixel),
                        "footprint_mm": [round(float(v), 3) for v in footprint], "ms": 1e3 * t}
        row["after"]["plate_mm"] = [round(float(v), 3) for v in layout.plate_mm]
        rows.append(row)
        b, f = row["before"], row["after"]
        print(f"{d['name']} N={d['N']}: before {b['overlaps']} overlaps, {b['buried']} buried, "
              f"{b['summits_visible']} summits; after {f['overlaps']}, {f['buried']}, {f['summits_visible']}",
              file=sys.stderr, flush=True)
    summary = {}
    for key in ("before", "after"):
        area = [r[key]["footprint_mm"][0] * r[key]["footprint_mm"][1] for r in rows]
        summary[key] = {"overlaps_total": sum(r[key]["overlaps"] for r in rows),
                        "buried_total": sum(r[key]["buried"] for r in rows),
                        "designs_with_every_summit_visible": sum(r[key]["summits_visible"] == r["N"] for r in rows),
                        "footprint_side_mm_median": float(np.median(np.sqrt(area))),
                        "ms_median": float(np.median([r[key]["ms"] for r in rows])),
                        "ms_max": float(np.max([r[key]["ms"] for r in rows]))}
    result = {"benchmark": "layout", "designs": len(rows), "pixel_mm": args.pixel, "plate_margin_mm": DEFAULT_MARGIN_MM,
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)], "machine": platform.machine(),
              "summary": summary}
    if args.json:
        from studio.files import atomic_write_text
        atomic_write_text(args.json, json.dumps({**result, "rows": rows}, indent=1))
    print(json.dumps(result))
    head = (f"{'target':<8}{'N':>5}{'touch':>6} | {'overlaps':>8}{'buried':>7}{'summits':>8}{'footprint mm':>15}{'ms':>6}"
            f" | {'overlaps':>8}{'buried':>7}{'summits':>8}{'footprint mm':>15}{'ms':>6}")
    print(f"{'':<19} | {'before (contact discs at 10 N)':<44} | after (caps on a plate)")
    print(head)
    for r in rows:
        cells = []
        for key in ("before", "after"):
            v = r[key]
            cells.append(f"{v['overlaps']:>8}{v['buried']:>7}{v['summits_visible']:>8}"
                         f"{v['footprint_mm'][0]:>7.1f} x{v['footprint_mm'][1]:>6.1f}{v['ms']:>6.0f}")
        print(f"{r['target']:<8}{r['N']:>5}{r['touching']:>6} | " + " | ".join(cells))
    for key in ("before", "after"):
        s = summary[key]
        print(f"{key}: {s['overlaps_total']} overlapping pairs, {s['buried_total']} buried summits, "
              f"{s['designs_with_every_summit_visible']}/{len(rows)} designs show every summit, median footprint "
              f"side {s['footprint_side_mm_median']:.1f} mm, median {s['ms_median']:.0f} ms (max {s['ms_max']:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
