"""Files and layout: fabrication-layout time and packing density, design-file write/read, CSV read.

    python benchmarks/io.py

Prints one JSON line and a short table.
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from studio.physics import from_unit, realize, contact_radius_mm
from studio.physics.layout import fabrication_layout, packing_density, smallest_gap_mm
from studio.design.core import Design
from studio.io.design_file import write_design_file, read_design_file
from studio.io.csv_target import read_target_csv
rng = np.random.default_rng(0)
result = {"benchmark": "io", "layout": {}}
h5 = os.path.join(tempfile.mkdtemp(), "b.h5")
csv = os.path.join(os.path.dirname(__file__), "..", "resources", "examples", "tribometer_semicolon_decimal_comma_mN.csv")
for n in (16, 64, 256):
    dens, times = [], []
    for k in range(5):
        th = from_unit(rng.random(23)); a = realize(th, n, k)
        r = contact_radius_mm(a.height_mm, a.radius_mm, th[20], 10.0)
        t = time.perf_counter(); x, y = fabrication_layout(r); times.append(time.perf_counter() - t)
        assert smallest_gap_mm(r, x, y) >= 0.05 - 1e-9
        dens.append(packing_density(r, x, y))
    result["layout"][n] = {"median_ms": 1e3 * float(np.median(times)), "density_min": min(dens), "density_max": max(dens)}
    print(f"layout N={n}: median {1e3*np.median(times):.0f} ms, max {1e3*max(times):.0f} ms; density {min(dens):.2f}-{max(dens):.2f}")
ds = [Design.evaluate(from_unit(rng.random(23)), 256, s) for s in range(5)]
write_design_file(h5, ds)  # warm-up (compiles)
t = time.perf_counter(); write_design_file(h5, ds); w = time.perf_counter() - t
t = time.perf_counter(); read_design_file(h5); r = time.perf_counter() - t
result["design_file_write_s"], result["design_file_read_ms"] = w, 1e3 * r
print(f"design file, 5 designs N=256: write {w:.2f} s, read {1e3*r:.0f} ms")
read_target_csv(csv)
t = time.perf_counter(); [read_target_csv(csv) for _ in range(100)]
result["csv_read_ms"] = 1e3 * (time.perf_counter() - t) / 100
print(f"csv read 40 rows: {1e3*(time.perf_counter()-t)/100:.2f} ms")
print(json.dumps(result))
