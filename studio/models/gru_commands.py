"""The learned friction-dynamics model from the command line (docs/gru.md), under `friction-studio rsf`:

    rsf gru-data --out DIR [--box paper|box] [--law aging|slip] [--noise SIGMA] [--samples 15000] [--seed S]
    rsf train-gru --data DIR --variant mse|ic|de|heal [--init MODEL] [--de-autograd] --out models/NAME
    rsf train-gru --data DIR --all-variants --out models/PREFIX      (the paper's incremental order)
    rsf train-gru --records FOLDER_OF_CSV --out models/NAME           (learn a measured interface)
    rsf evaluate-gru --model M [--data DIR]                            (paper eq. 15 on the test split)
    rsf predict PROTOCOL.csv [--model M] [--mu0 MU0] [--a A --b B --Dc DC] --out CURVE.csv
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_GRU = MODELS_DIR / "gru-paper-ic.safetensors"  # the paper's best variant (Table II)


def _rsf_subparsers(subparsers):
    """The `rsf` command's sub-command action (registered by studio.dynamics.commands)."""
    rsf = subparsers.choices.get("rsf")
    if rsf is None:
        return None
    for action in rsf._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def register(subparsers) -> None:
    sub = _rsf_subparsers(subparsers)
    if sub is None:
        return
    sub.metavar = "{simulate,fit,gru-data,train-gru,evaluate-gru,predict}"

    g = sub.add_parser("gru-data", help="generate a GRU training set: random slide-hold protocols and RSF μ(t)")
    g.add_argument("--out", required=True, help="dataset folder (created; re-run to resume)")
    g.add_argument("--samples", type=int, default=15_000, help="protocols (default 15000: 12000 train, 3000 test)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--box", choices=("paper", "box"), default="paper", help="the paper's a, b, Dc, or drawn per "
                   "protocol from a∈[0.002,0.02], b∈[0.002,0.03], Dc∈[1,100] µm")
    g.add_argument("--law", choices=("aging", "slip"), default="aging")
    g.add_argument("--noise", type=float, default=0.0, help="σ of Gaussian noise added to μ (field mu_noisy)")
    g.add_argument("--jump-times", choices=("continuous", "grid"), default="continuous",
                   help="jumps at uniform times (default) or on uniform sample instants (docs/gru.md)")
    g.add_argument("--shard-size", type=int, default=5000)
    g.set_defaults(run=run_data)

    t = sub.add_parser("train-gru", help="train the friction-dynamics GRU (paper losses, checkpoints, model card)")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="dataset folder from `rsf gru-data`")
    src.add_argument("--records", help="a folder of measured record CSVs (time, velocity, mu) to learn from")
    t.add_argument("--variant", choices=("mse", "ic", "de", "heal"), default="ic",
                   help="loss: mse; +IC (α=1); +IC+DE (β=0.1); +IC+DE+H (γ=5e-3) (default ic)")
    t.add_argument("--all-variants", action="store_true", help="train mse, then ic from mse, then de and heal "
                   "from ic (the paper's order), as PREFIX-mse … PREFIX-heal")
    t.add_argument("--de-autograd", action="store_true", help="add the autograd direct-effect term "
                   "(∂δμ̂/∂ln V at jumps = a, or equal across a protocol's jumps when a is unknown)")
    t.add_argument("--init", default=None, help="start from this saved GRU's weights (same configuration)")
    t.add_argument("--hidden", type=int, default=64, help="GRU width (the paper does not give it; default 64)")
    t.add_argument("--features", choices=("linear", "log", "slip", "interval"), default=None,
                   help="velocity input: V/0.3 m/s (paper), ln(V/0.3)/5, ln(V·Δt/Dc)/5, or interval (beyond the "
                        "paper: V/0.3 m/s plus the mean velocity since the previous sample /0.3 m/s and the "
                        "fraction of that interval held) (default: slip when conditioned, else linear)")
    t.add_argument("--conditioned", action="store_true", help="(a, b) as inputs, slip-per-sample features: one "
                   "network for the whole parameter box (needs a box dataset)")
    t.add_argument("--noisy", action="store_true", help="train on the dataset's noisy targets (mu_noisy)")
    t.add_argument("--epochs", type=int, default=50)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                   help="learning rate: constant (the paper) or cosine decay to 1 %%")
    t.add_argument("--max-samples", type=int, default=None, help="use at most this many training protocols")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    t.add_argument("--resume", action="store_true", help="continue from NAME.checkpoint.pt")
    t.add_argument("--out", required=True, help="models/NAME: NAME.safetensors + NAME.card.json (+ checkpoint)")
    t.set_defaults(run=run_train)

    e = sub.add_parser("evaluate-gru", help="test error of a GRU (paper eq. 15), holds, after jumps, histogram")
    e.add_argument("--model", default=str(DEFAULT_GRU))
    e.add_argument("--data", default=None, help="dataset folder (default: the one in the model card)")
    e.add_argument("--update-card", action="store_true", help="store the figures in the model card")
    e.set_defaults(run=run_evaluate)

    p = sub.add_parser("predict", help="μ(t) of a velocity protocol from a learned GRU → curve CSV")
    p.add_argument("protocol", metavar="PROTOCOL.csv", help="segments: duration (s), slip (m), velocity (m/s)")
    p.add_argument("--model", default=str(DEFAULT_GRU))
    p.add_argument("--mu0", type=float, default=0.5, help="μ at the start (steady sliding; default 0.5)")
    p.add_argument("--a", type=float, default=None, help="a (conditioned models)")
    p.add_argument("--b", type=float, default=None, help="b (conditioned models)")
    p.add_argument("--Dc", type=float, default=None, help="Dc [m] (conditioned models)")
    p.add_argument("--out", metavar="CURVE.csv", default=None, help="write the curve here (default: print it)")
    p.set_defaults(run=run_predict)


def run_data(args) -> int:
    from studio.data.dynamics import generate_dynamics_dataset

    manifest = generate_dynamics_dataset(args.out, samples=args.samples, seed=args.seed, box=args.box,
                                         law=args.law, noise_sigma=args.noise, shard_size=args.shard_size,
                                         jump_times=args.jump_times)
    print(json.dumps({"out": args.out, "samples": manifest["samples"], "shards": len(manifest["shards"]),
                      "split": manifest["split"], "box": manifest["box"], "law": manifest["law"],
                      "noise_sigma": manifest["noise_sigma"],
                      "jump_times": manifest["generator"]["protocol"]["jump_times"]}))
    return 0


def _command() -> str:
    return "friction-studio " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def run_train(args) -> int:
    import torch

    from studio.models.errors import ModelError
    from studio.models.gru import VARIANT_INIT, VARIANTS, GruConfig
    from studio.models.gru_training import GruTrainOptions, evaluate_gru, prepare, train_gru

    torch.set_num_threads(max(1, args.threads))
    if args.records:
        from studio.data.dynamics import records_dataset

        splits = records_dataset(args.records)
        train_split, test_split = splits["train"], splits["test"]
        law = "measured"
        data_card = {"records": str(args.records), "train_records": list(train_split.pop("source")),
                     "test_records": list(test_split.pop("source"))}
    else:
        from studio.data.dynamics import load_dynamics_split
        from studio.models.dataset import manifest_hash

        train_split = load_dynamics_split(args.data, "train", args.max_samples)
        test_split = load_dynamics_split(args.data, "test")
        manifest = train_split.pop("manifest")
        test_split.pop("manifest")
        law = manifest["law"]
        data_card = {"dir": str(args.data), "manifest_sha256": manifest_hash(args.data), "box": manifest["box"],
                     "law": law, "noise_sigma": manifest["noise_sigma"], "seed": manifest["seed"],
                     "jump_times": manifest["generator"]["protocol"].get("jump_times", "continuous")}
        if args.conditioned and manifest["box"] != "box":
            raise ModelError(f"{args.data}: a conditioned model needs a box dataset (rsf gru-data --box box)")
    features = args.features or ("slip" if args.conditioned else "linear")
    out = Path(args.out)
    variants = ["mse", "ic", "de", "heal"] if args.all_variants else [args.variant]
    trained = {}
    for variant in variants:
        name = f"{out.name}-{variant}" if args.all_variants else out.name
        path = out.with_name(name)
        config = GruConfig(name=name, hidden=args.hidden, features=features, conditioned=args.conditioned,
                           law=law)
        train_ex = prepare(train_split, config, noisy=args.noisy)
        test_ex = prepare(test_split, config, noisy=args.noisy)
        terms = VARIANTS[variant] + (("de_ad",) if args.de_autograd else ())
        init = args.init
        if args.all_variants and VARIANT_INIT[variant] is not None:
            init = trained[VARIANT_INIT[variant]]
        card = {"data": {**data_card, "train_protocols": len(train_ex), "test_protocols": len(test_ex)},
                "training": {"command": _command(), "variant": variant, "terms": list(terms),
                             "initialised_from": str(init) if init is not None else None,
                             "hardware": f"CPU, torch threads {torch.get_num_threads()}", "torch": torch.__version__},
                "scaling": {"V_ch_m_s": config.V_ch_m_s, "dmu_ch": config.dmu_ch, "features": features,
                            "targets": "(mu - mu[0]) / dmu_ch at 100 equally spaced samples",
                            **({"inputs": "beyond the paper: V_k/V_ch; mean velocity over (t_{k-1}, t_k] (slip "
                                          "increment / dt, exact from the segments) / V_ch (k = 0: V_0/V_ch); "
                                          "fraction of (t_{k-1}, t_k] held (k = 0: 0)"}
                               if features == "interval" else {})}}
        opts = GruTrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, terms=terms,
                               seed=args.seed, noisy_targets=args.noisy, schedule=args.schedule)
        model, _ = train_gru(config, train_ex, opts, out=path, resume=args.resume, init_from=init, card=card,
                             log=lambda *a: print(*a, flush=True))
        metrics = evaluate_gru(model, test_ex)
        _store_evaluation(path, metrics, str(args.data or args.records), "test split")
        print(json.dumps({"model": str(path), "variant": variant,
                          **{k: v for k, v in metrics.items() if not k.startswith("_") and k != "histogram"}}),
              flush=True)
        trained[variant] = str(path)
    return 0


def _store_evaluation(path, metrics: dict, data: str, split: str) -> None:
    from studio.models.store import read_card, write_card

    card = read_card(path)
    card["evaluation"] = {"data": data, "split": split, "command": _command(),
                          **{k: v for k, v in metrics.items() if not k.startswith("_")}}
    write_card(path, card)


def _complete_card(path, data: str) -> None:
    """Add the training inputs' range and protocol sampling to a card written before cards had them."""
    from studio.data.dynamics import load_dynamics_split
    from studio.models.gru_training import input_range, load_gru, prepare
    from studio.models.store import read_card, write_card

    card = read_card(path)
    if "input_range" in card and "protocol" in card:
        return
    model, _ = load_gru(path)
    train = load_dynamics_split(data, "train")
    train.pop("manifest")
    examples = prepare(train, model.config)
    card.setdefault("protocol", {"samples": int(examples.x.shape[1]), "duration_s": examples.duration_s})
    card.setdefault("input_range", input_range(examples))
    write_card(path, card)


def run_evaluate(args) -> int:
    import torch

    from studio.data.dynamics import load_dynamics_split
    from studio.models.errors import ModelError
    from studio.models.gru_training import evaluate_gru, load_gru, prepare

    torch.set_num_threads(1)
    model, card = load_gru(args.model)
    data = args.data or card.get("data", {}).get("dir")
    if not data:
        raise ModelError(f"{args.model}: its card names no dataset; give --data")
    test = load_dynamics_split(data, "test")
    test.pop("manifest")
    metrics = evaluate_gru(model, prepare(test, model.config, noisy="mu_noisy" in test))
    if args.update_card:
        _store_evaluation(args.model, metrics, data, "test split")
        _complete_card(args.model, data)
    print(json.dumps({"model": str(args.model), "data": data,
                      **{k: v for k, v in metrics.items() if not k.startswith("_")}}))
    return 0


def run_predict(args) -> int:
    import numpy as np
    import torch

    from studio.dynamics.files import format_curve, read_protocol, write_curve
    from studio.dynamics.simulate import Trajectory
    from studio.models.gru_training import load_gru, predict_protocol

    torch.set_num_threads(1)
    model, card = load_gru(args.model)
    protocol = read_protocol(args.protocol)
    pred = predict_protocol(model, card, protocol, mu0=args.mu0, a=args.a, b=args.b, Dc_m=args.Dc)
    slip = protocol.displacement_at(pred.times_s)
    trajectory = Trajectory(pred.times_s, pred.mu, pred.velocity_m_s, None, slip, slip, np.array(True))
    comment = f"friction-studio rsf predict: {protocol.name or 'protocol'} with {Path(args.model).name}, mu0={args.mu0:g}"
    for note in pred.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.out:
        write_curve(args.out, protocol, trajectory, comment=comment)
        print(json.dumps({"out": str(args.out), "samples": len(pred.times_s), "model": str(args.model),
                          "mu_min": float(pred.mu.min()), "mu_max": float(pred.mu.max()), "notes": pred.notes}))
    else:
        sys.stdout.write(format_curve(protocol, trajectory, comment=comment))
    return 0


__all__ = ["register", "DEFAULT_GRU"]
