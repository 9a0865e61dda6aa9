"""Writes the real-world record shapes of this folder (run from the repository root):

    python tests/data/records/make_records.py

Each file is what a tribometer writes for a sphere-on-flat friction law F = 0.3·P^0.8 [N] (a power law
the design box reaches), swept 0.25–10 N, with one real-world complication each; the expected notes are
asserted in tests/test_io_records.py. Fixed seeds: the files are reproducible byte for byte.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LOADS_N = np.linspace(0.25, 10.0, 40)
SPIKES = (8, 21, 33)  # rows (of the loading sweep) that spike: 2.25, 5.5 and 8.5 N
SPIKE_FACTORS = (2.5, 3.18, 0.4)


def law(load_N):
    return 0.3 * load_N ** 0.8


def write(name: str, header: str, rows, delimiter=",", decimal=".", preamble=()):
    lines = [*preamble, header]
    for row in rows:
        lines.append(delimiter.join(f"{v:.5g}".replace(".", decimal) for v in row))
    (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    rng = np.random.default_rng(22)
    up, down = LOADS_N, LOADS_N[::-1][1:]
    # loading then unloading (the unloading branch 12 % lower: hysteresis), time column first
    load = np.r_[up, down]
    friction = np.r_[law(up), 0.88 * law(down)]
    write("two_branches.csv", "time (s);Fn (N);Ft (N)", zip(np.arange(load.size) * 0.5, load, friction),
          delimiter=";", decimal=",", preamble=("# UMT tribometer export, sphere on flat, 0.5 mm/s",))
    # the load column repeats: three loading sweeps, each from 0.25 N
    load = np.tile(up, 3)
    friction = law(load) * (1 + 0.004 * rng.standard_normal(load.size))
    write("repeated_sweeps.csv", "load (mN),friction (mN)", zip(1e3 * load, 1e3 * friction))
    # each load measured three times, one after the other (interleaved repeats)
    load = np.repeat(up, 3)
    friction = law(load) * (1 + 0.004 * rng.standard_normal(load.size))
    write("interleaved_repeats.csv", "Fn [N]\tFt [N]", zip(load, friction), delimiter="\t")
    # three spikes in a clean sweep
    friction = law(up)
    friction[list(SPIKES)] *= SPIKE_FACTORS
    write("spikes.csv", "load (N),friction (N)", zip(up, friction))
    # 3 % noise on 100 rows
    load = np.linspace(0.1, 10.0, 100)
    friction = law(load) * (1 + 0.03 * rng.standard_normal(load.size))
    write("noise_3pct.csv", "load (N),friction (N)", zip(load, friction))
    # combined: two load cycles (up, down, up, down), 3 % noise, two spikes, load-cell noise on the load
    cycle = np.r_[up, down[:-1]]
    load = np.tile(cycle, 2)
    load = load * (1 + 0.002 * rng.standard_normal(load.size))
    rising = np.tile(np.r_[np.ones(up.size), np.zeros(down.size - 1)], 2).astype(bool)
    friction = law(load) * np.where(rising, 1.0, 0.88) * (1 + 0.03 * rng.standard_normal(load.size))
    friction[[20, 100]] *= (2.8, 2.4)  # spikes near 5.25 N (first loading sweep) and 5.75 N (second)
    write("noisy_two_branches.csv", "time (s),normal load (N),friction force (N)",
          zip(np.arange(load.size) * 0.2, load, friction),
          preamble=("# reciprocating tribometer, PDMS metainterface B2, two load cycles",))


if __name__ == "__main__":
    main()
