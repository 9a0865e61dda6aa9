"""Files: design-file write/read, CSV read (the fabrication layout has its own: benchmarks/layout.py).

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
from studio.physics import THETA_SIZE, enable_float64, from_unit  # noqa: E402

enable_float64()  # an entry point
from studio.design.core import Design
from studio.io.design_file import write_design_file, read_design_file
from studio.io.csv_target import read_target_csv
rng = np.random.default_rng(0)
result = {"benchmark": "io"}
h5 = os.path.join(tempfile.mkdtemp(), "b.h5")
csv = os.path.join(os.path.dirname(__file__), "..", "resources", "examples", "tribometer_semicolon_decimal_comma_mN.csv")
ds = [Design.evaluate(from_unit(rng.random(THETA_SIZE)), 256, s) for s in range(5)]
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
