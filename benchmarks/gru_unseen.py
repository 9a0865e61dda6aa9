"""Where a GRU's test error sits: protocols with an interval that no sample falls in, and the rest.

    python benchmarks/gru_unseen.py [--data data/gru/paper-aging-s0] [--split test] MODEL [MODEL ...]

An interval is unseen when it lies between two jumps (neither the first nor the last: those hold the
samples t = 0 and t = T) and no sample instant t_k falls in [start, end). For each model (models/NAME,
without the suffix) it prints the mean eq. 15 error over all protocols, over those with every interval
seen, over those with an unseen interval and over those whose unseen interval is the hold; the share
of the summed error those with an unseen interval carry; and the largest error. One JSON line per model.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from studio.data.dynamics import load_dynamics_split  # noqa: E402
from studio.models.gru_training import evaluate_gru, load_gru, prepare  # noqa: E402


def unseen_intervals(split: dict) -> tuple[np.ndarray, np.ndarray]:
    """(any interval unseen, the unseen interval is the hold) per protocol."""
    t = split["times_s"]
    unseen = np.zeros(len(t), bool)
    hold = np.zeros(len(t), bool)
    for i, (d, v, jumps) in enumerate(zip(split["durations_s"], split["segment_velocity_m_s"], split["jumps"])):
        n = int(jumps) + 1
        ends = np.cumsum(d[:n])
        starts = ends - d[:n]
        for j in range(1, n - 1):
            if not np.any((t[i] >= starts[j]) & (t[i] < ends[j])):
                unseen[i] = True
                hold[i] |= bool(v[j] == 0)
    return unseen, hold


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", default="data/gru/paper-aging-s0")
    parser.add_argument("--split", default="test")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    split = load_dynamics_split(args.data, args.split)
    split.pop("manifest")
    unseen, hold = unseen_intervals(split)
    print(f"{args.data} {args.split}: {unseen.sum()} of {len(unseen)} protocols have an unseen interval "
          f"({hold.sum()} of them the hold)")
    print("| model | mean (%) | every interval seen (%) | an unseen interval (%) | unseen hold (%) | "
          "share of summed error | max (%) |\n|---|---|---|---|---|---|---|")
    rows = []
    for path in args.models:
        model, _ = load_gru(path)
        e = evaluate_gru(model, prepare(split, model.config))["_errors"]
        row = {"model": os.path.basename(path), "mean": e.mean(), "seen": e[~unseen].mean(),
               "unseen": e[unseen].mean(), "unseen_hold": e[hold].mean(), "share_unseen": e[unseen].sum() / e.sum(),
               "max": e.max()}
        rows.append(row)
        print(f"| {row['model']} | {row['mean']:.3f} | {row['seen']:.3f} | {row['unseen']:.3f} | "
              f"{row['unseen_hold']:.3f} | {row['share_unseen']:.2f} | {row['max']:.1f} |")
    print(json.dumps({"data": args.data, "split": args.split, "protocols": int(len(unseen)),
                      "unseen": int(unseen.sum()), "unseen_hold": int(hold.sum()),
                      "rows": [{k: (float(v) if k != "model" else v) for k, v in r.items()} for r in rows]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
