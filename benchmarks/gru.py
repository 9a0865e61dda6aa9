"""The friction-dynamics GRU against Garcia-Suarez's Table II and against the RSF simulator, in one run.

    QT_QPA_PLATFORM=offscreen python benchmarks/gru.py [--set LABEL=PREFIX@DATA ...] [--extra LABEL=MODEL@DATA ...]

Defaults read the datasets of docs/gru.md from --data-dir (data/gru) and the models from models/.
(1) Test error (paper eq. 15: 100·‖δμ̂ − δμ‖/‖δμ‖ per test protocol, scaled quantities) of the four paper
    variants PREFIX-{mse,ic,de,heal} on the test split of DATA (3 000 protocols), for each set (default:
    jump times as written, and on the sample grid), mean and median beside the paper's Table II (4.2,
    3.4, 3.655, 4.1 % mean), the same error restricted to hold samples and to the 3 samples after each
    velocity jump, and RMS error in μ. `--extra` rows evaluate other models on their own test sets
    (conditioned model over the box, noisy targets — against the noiseless ones —, slip law, autograd
    direct effect).
(2) The error histogram (the paper's Fig. 8: share of test protocols per 0.25 % bin) of every paper
    variant of each set, as a PNG (pyqtgraph, offscreen), and a figure of two test protocols of the first
    set with a hold (Figs. 9–10).
(3) Inference time per 1 000 protocols: the GRU (torch, 1 thread, one batch) against the RSF simulator
    (studio.dynamics.simulate, imposed velocity, exact closed forms, float64 and float32; one batched
    call, compile excluded), median of 5 repeats, on the same 1 000 test protocols.
Prints a table and one JSON line.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from studio.physics import enable_float64  # noqa: E402

enable_float64()  # an entry point: the RSF simulator's float64 reference row

from studio.data.dynamics import HOLD_VELOCITY_M_S, PAPER_PARAMS, load_dynamics_split  # noqa: E402
from studio.files import atomic_write  # noqa: E402
from studio.models.gru import VARIANT_LABELS  # noqa: E402
from studio.models.gru_training import evaluate_gru, load_gru, predict_scaled, prepare  # noqa: E402

PAPER_TABLE_II = {"mse": 4.2, "ic": 3.4, "de": 3.655, "heal": 4.1}
ROOT = os.path.join(os.path.dirname(__file__), "..")


def timed(fn, repeats=5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def inference_times(model, test: dict, count: int = 1000) -> dict:
    from studio.dynamics import ProtocolBatch, RsfParams, simulate

    count = min(count, len(test["mu"]))
    ex = prepare({k: v[:count] for k, v in test.items()}, model.config)
    gru_s = timed(lambda: predict_scaled(model, ex.x, batch=count))
    batch = ProtocolBatch(test["durations_s"][:count], test["segment_velocity_m_s"][:count], test["times_s"][:count],
                          test["segment_velocity_m_s"][:count, 0], np.full(count, HOLD_VELOCITY_M_S))
    params = RsfParams(mu0=PAPER_PARAMS["mu0"], a=test["a"][:count], b=test["b"][:count], Dc_m=test["Dc_m"][:count],
                       V0_m_s=PAPER_PARAMS["V0_m_s"])
    out = {"protocols": count, "gru_s": gru_s}
    for name, dtype in (("rsf_float64_s", np.float64), ("rsf_float32_s", np.float32)):
        t0 = time.perf_counter()
        simulate(batch, params, dtype=dtype)
        out[name.replace("_s", "_first_call_s")] = time.perf_counter() - t0
        out[name] = timed(lambda: simulate(batch, params, dtype=dtype))
    return out


def histogram_figure(path, sets: dict) -> None:
    """The paper's Fig. 8 for each set of variants: share of test protocols per 0.25 % error bin."""
    import pyqtgraph as pg
    import pyqtgraph.exporters  # noqa: F401

    app = pg.mkQApp()
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    win = pg.GraphicsLayoutWidget(size=(1200, 430 * len(sets)))
    colours = [(90, 90, 90), (30, 90, 200), (230, 140, 20), (200, 50, 40)]
    for label, results in sets.items():
        count = next(iter(results.values()))["protocols"]
        plot = win.addPlot(title=f"{label}: error per test protocol (eq. 15), {count} protocols, 0.25 % bins "
                                 "(last bin: all ≥ 9.75 %)")
        plot.setXRange(0, 10, padding=0.01)
        plot.addLegend(offset=(-10, 10))
        names = [n for n in ("mse", "ic", "de", "heal") if n in results]
        width = 0.25 / (len(names) + 1)
        for k, name in enumerate(names):
            h = results[name]["histogram"]
            edges = np.asarray(h["bin_edges_percent"])
            share = np.asarray(h["share_percent"])
            x = edges[:-1] + width * (k + 0.5)
            plot.addItem(pg.BarGraphItem(x=x, height=share, width=width, brush=colours[k], pen=None))
            plot.legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=0, brush=colours[k]),
                                f"{VARIANT_LABELS[name]}: mean {results[name]['mean_error_percent']:.2f} %, median "
                                f"{results[name]['median_error_percent']:.2f} % (paper {PAPER_TABLE_II[name]} %)")
        plot.setLabel("bottom", "error (%)")
        plot.setLabel("left", "share of test protocols (%)")
        win.nextRow()
    win.show()
    app.processEvents()
    with atomic_write(path) as tmp:  # the temporary name keeps the .png the exporter goes by
        pg.exporters.ImageExporter(win.scene()).export(str(tmp))


def examples_figure(path, models: dict, test: dict) -> None:
    """Two test protocols with the longest holds: velocity and δμ (target, each variant)."""
    import pyqtgraph as pg
    import pyqtgraph.exporters  # noqa: F401

    hold = test["velocity_m_s"] <= 1e-8
    order = np.argsort(hold.sum(1))
    picks = [int(order[len(order) // 2]), int(order[-1])]  # a typical hold and the longest
    app = pg.mkQApp()
    pg.setConfigOptions(antialias=True, background="w", foreground="k")
    win = pg.GraphicsLayoutWidget(size=(1000, 820))
    colours = {"mse": (90, 90, 90), "ic": (30, 90, 200), "de": (230, 140, 20), "heal": (200, 50, 40)}
    for row, i in enumerate(picks):
        one = {k: v[i:i + 1] for k, v in test.items()}
        t_ms = test["times_s"][i] * 1e3
        vel = win.addPlot(title=f"test protocol {i}: {int(test['jumps'][i])} jumps")
        vel.plot(t_ms, test["velocity_m_s"][i], pen=pg.mkPen((160, 160, 160), width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                 stepMode=None)
        vel.setLabel("left", "V (m/s)")
        vel.setLogMode(y=True)
        vel.getAxis("left").enableAutoSIPrefix(False)
        win.nextRow()
        mu = win.addPlot()
        mu.setXLink(vel)
        mu.addLegend(offset=(10, 10))
        target = (test["mu"][i] - test["mu"][i, 0])
        mu.plot(t_ms, target, pen=None, symbol="o", symbolSize=5, symbolBrush=(0, 0, 0), name="RSF (target)")
        for name, model in models.items():
            ex = prepare(one, model.config)
            pred = predict_scaled(model, ex.x)[0] * model.config.dmu_ch
            err = 100 * np.linalg.norm(pred - target) / np.linalg.norm(target)
            mu.plot(t_ms, pred, pen=pg.mkPen(colours.get(name, (0, 150, 0)), width=2),
                    name=f"{VARIANT_LABELS.get(name, name)} ({err:.2f} %)")
        mu.setLabel("left", "μ − μ(0)")
        mu.setLabel("bottom", "time (ms)")
        mu.getAxis("left").enableAutoSIPrefix(False)
        win.nextRow()
    win.show()
    app.processEvents()
    with atomic_write(path) as tmp:  # the temporary name keeps the .png the exporter goes by
        pg.exporters.ImageExporter(win.scene()).export(str(tmp))


def _row(label: str, second, r: dict) -> str:
    """One table row: label | mean | `second` (the paper's mean, or the protocol count) | the rest."""
    return (f"| {label} | {r['mean_error_percent']:.3f} | {second} | {r['median_error_percent']:.3f} | "
            f"{r['p90_error_percent']:.3f} | {r['hold_mean_error_percent']:.3f} | "
            f"{r['after_jump_mean_error_percent']:.3f} | {r['rms_error_mu']:.2e} |")


def _strip(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_") and k != "histogram"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "data", "gru"),
                        help="folder of the datasets of docs/gru.md (default data/gru of this checkout)")
    parser.add_argument("--set", action="append", default=None, metavar="LABEL=PREFIX@DATA",
                        help="four variants PREFIX-{mse,ic,de,heal} on DATA's test split (repeatable)")
    parser.add_argument("--extra", action="append", default=None, metavar="LABEL=MODEL@DATA")
    parser.add_argument("--figure", default=os.path.join(ROOT, "docs", "figures", "gru-error-histogram.png"))
    parser.add_argument("--examples", default=os.path.join(ROOT, "docs", "figures", "gru-examples.png"))
    args = parser.parse_args(argv)
    data = args.data_dir
    models_dir = os.path.join(ROOT, "models")
    sets_spec = args.set or [f"jump times as written (continuous)={models_dir}/gru-paper@{data}/paper-aging-s0",
                             f"jump times on the sample grid={models_dir}/gru-grid@{data}/paper-grid-s10"]
    extra_spec = args.extra if args.extra is not None else [
        f"conditioned on (a, b, Dc), box, grid={models_dir}/gru-box@{data}/box-grid-s14-37k",
        f"conditioned, box, continuous jump times={models_dir}/gru-box@{data}/box-aging-s1",
        f"noisy targets σ = 1e-4 (vs noiseless), grid={models_dir}/gru-noisy@{data}/noisy-grid-s13",
        f"slip law, grid={models_dir}/gru-slip@{data}/slip-grid-s12",
        f"MSE+IC+DE + autograd direct effect, grid={models_dir}/gru-grid-dead@{data}/paper-grid-s10"]
    torch.set_num_threads(1)
    load = os.getloadavg()
    sets, first_models, first_test = {}, {}, None
    for spec in sets_spec:
        label, _, rest = spec.rpartition("=")  # labels may hold "="
        prefix, _, folder = rest.partition("@")
        test = load_dynamics_split(folder, "test")
        test.pop("manifest")
        results = {}
        for name in ("mse", "ic", "de", "heal"):
            path = f"{prefix}-{name}.safetensors"
            if not os.path.exists(path):
                print(f"note: {path} missing; skipped", file=sys.stderr)
                continue
            model, _ = load_gru(path)
            results[name] = evaluate_gru(model, prepare(test, model.config))
            if first_test is None or first_test is test:
                first_models[name], first_test = model, test
        if results:
            sets[label] = results
    extra = {}
    for item in extra_spec:
        label, _, rest = item.rpartition("=")  # labels may hold "="
        path, _, folder = rest.partition("@")
        if not os.path.exists(path + ".safetensors"):
            print(f"note: {path} missing; skipped", file=sys.stderr)
            continue
        model, _ = load_gru(path)
        split = load_dynamics_split(folder, "test")
        split.pop("manifest")
        extra[label] = evaluate_gru(model, prepare(split, model.config, noisy="mu_noisy" in split))
        extra[label]["model"], extra[label]["data"] = os.path.basename(path), os.path.basename(folder)
    timing = inference_times(next(iter(first_models.values())), first_test) if first_models else {}

    print(f"load average at start: {load[0]:.1f}")
    head = ("| variant | mean error (%) | paper mean (%) | median (%) | p90 (%) | holds (%) | 3 after jumps (%) | RMS μ |\n"
            "|---|---|---|---|---|---|---|---|")
    for label, results in sets.items():
        print(f"\n{label} ({next(iter(results.values()))['protocols']} test protocols)\n{head}")
        for name, r in results.items():
            print(_row(VARIANT_LABELS[name], PAPER_TABLE_II[name], r))
    if extra:
        print(f"\nbeyond the paper\n{head.replace('paper mean (%)', 'test protocols')}")
        for label, r in extra.items():
            print(_row(label, r["protocols"], r))
    if timing:
        n = timing["protocols"]
        print(f"\ninference, {n} protocols × 100 samples (median of 5, one batch, 1 thread): GRU "
              f"{timing['gru_s'] * 1e3:.1f} ms; RSF simulator float64 {timing['rsf_float64_s'] * 1e3:.1f} ms, float32 "
              f"{timing['rsf_float32_s'] * 1e3:.1f} ms (first calls, compiling: {timing['rsf_float64_first_call_s']:.1f} s, "
              f"{timing['rsf_float32_first_call_s']:.1f} s)")
    if sets and args.figure:
        histogram_figure(args.figure, sets)
        print(f"wrote {args.figure}")
    if first_models and args.examples:
        examples_figure(args.examples, first_models, first_test)
        print(f"wrote {args.examples}")
    print(json.dumps({"load_average": load[0], "paper_table_ii": PAPER_TABLE_II,
                      "sets": {label: {k: _strip(v) for k, v in results.items()} for label, results in sets.items()},
                      "histograms": {label: {k: v["histogram"]["share_percent"] for k, v in results.items()}
                                     for label, results in sets.items()},
                      "extra": {k: _strip(v) for k, v in extra.items()}, "inference": timing}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
