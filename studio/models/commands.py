"""`friction-studio train` and `friction-studio evaluate`."""
from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a CVAE, VAE, MLP, Janus or contact-pattern model on a dataset",
                              description="Train a design model on a dataset made by `friction-studio data "
                                          "generate` and write NAME.safetensors, its model card NAME.card.json "
                                          "(data, command, measured metrics) and a resumable checkpoint. The loss "
                                          "is printed per epoch; training stops early when the validation loss has "
                                          "not improved for --patience epochs (docs/models.md).")
    p.add_argument("--model", choices=("cvae", "vae", "mlp", "janus", "patterns", "patterns-autoencoder"),
                   default="cvae",
                   help="cvae: conditional generator of designs for a law; vae: unconditional latent of designs "
                        "(vae_cmaes); mlp: law → one design baseline; janus: docs/janus.md; patterns, "
                        "patterns-autoencoder: the contact-pattern models, docs/patterns.md (default cvae)")
    p.add_argument("--split", choices=("random", "held-out"), default="random",
                   help="contact-pattern classifier only: the split it trains on (default random)")
    p.add_argument("--shards", type=int, default=None,
                   help="contact-pattern models only: use shards 0 … SHARDS − 1 of the dataset (one still being "
                        "made) (default: all)")
    p.add_argument("--area-weight", type=float, default=None,
                   help="contact-pattern classifier only: weight of its area head (the BEM's area change, trained "
                        "beside the classes; 0: no area head) (default 1)")
    p.add_argument("--config", choices=("paper", "compact"), default="compact",
                   help="network size: the paper's or a compact one for CPUs (default compact)")
    p.add_argument("--data", required=True, help="dataset directory (studio/data format, with manifest.json; required)")
    p.add_argument("--epochs", type=int, default=20, help="passes over the training split, at most (default 20)")
    p.add_argument("--minutes", type=float, default=None,
                   help="wall-clock budget; the LR schedule fits it (default: none, --epochs decides)")
    p.add_argument("--out", default=None, help="models/NAME: writes NAME.safetensors, NAME.card.json, "
                                               "NAME.checkpoint.pt (default models/<model>-<config>)")
    p.add_argument("--resume", action="store_true", help="continue from NAME.checkpoint.pt (default: start anew)")
    p.add_argument("--init", default=None, help="start from the weights of this saved model (same config), "
                                                "with a fresh schedule (default: random initial weights)")
    p.add_argument("--batch-size", type=int, default=512, help="samples per step, per process (default 512)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule (default 2e-3)")
    p.add_argument("--kl-weight", type=float, default=0.01,
                   help="weight β of the KL term of the (C)VAE loss, after its warm-up (default 0.01)")
    p.add_argument("--law-features", choices=("log", "shape+scale"), default="log",
                   help="how the friction law conditions the model: standardised log F per load, or shape F/F(10 N) "
                        "plus log scale (default log)")
    p.add_argument("--max-samples", type=int, default=None,
                   help="use at most this many training samples (default: the whole train split)")
    p.add_argument("--patience", type=int, default=4,
                   help="epochs without a better validation loss before training stops (default 4)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores / processes)")
    p.add_argument("--seed", type=int, default=0, help="seed of initial weights and batch order (default 0)")
    j = p.add_argument_group("janus (docs/janus.md)")
    j.add_argument("--head", choices=("khronos", "mlp"), default="khronos",
                   help="janus: the law head (mlp: about the KHRONOS head's parameter count) (default khronos)")
    j.add_argument("--latent-dim", type=int, default=None, help="janus: latent dimension (default 16)")
    j.add_argument("--khronos-rank", type=int, default=None,
                   help="janus: CP rank R of the KHRONOS head (default: the --config preset's)")
    j.add_argument("--khronos-grid", type=int, default=None,
                   help="janus: B-splines per coordinate (default: the --config preset's)")
    j.add_argument("--w-pred", type=float, default=None,
                   help="janus: weight of the law prediction term (default: the --config preset's)")
    j.add_argument("--w-cycle", type=float, default=None,
                   help="janus: weight of the cycle-consistency term (default: the --config preset's)")
    p.set_defaults(run=run_train)

    e = subparsers.add_parser("evaluate", help="evaluate a model on the held-out test split beside baselines",
                              description="Evaluate trained models on held-out targets beside baselines (the MLP, "
                                          "nearest neighbour in the training set, the true θ): each design is "
                                          "re-simulated with the exact physics and scored by sMAPE [%] against its "
                                          "target (lower is better), best of K candidates per target. Prints a "
                                          "table, writes JSON and a figure of example targets (docs/models.md).")
    e.add_argument("--model", required=True, nargs="+",
                   help="NAME.safetensors (with NAME.card.json beside it); several models are evaluated in one run "
                        "on the same targets, one row each (named by file: cvae-paper, cvae-compact, ...); "
                        "`patterns`: the contact-pattern classifier on both of its splits (docs/patterns.md)")
    e.add_argument("--data", required=True, help="dataset directory (required)")
    e.add_argument("--shards", type=int, default=None,
                   help="contact-pattern models only: evaluate on shards 0 … SHARDS − 1, as trained (default: all)")
    e.add_argument("--targets", type=int, default=500,
                   help="held-out targets evaluated, the first of the split (default 500)")
    e.add_argument("--split", choices=("test", "validation"), default="test",
                   help="targets from this split (validation: for choosing a sampling temperature) (default test)")
    e.add_argument("--temperature", type=float, default=None,
                   help="prior scale of every CVAE evaluated (default: each card's sampling temperature)")
    e.add_argument("--k", type=int, default=16,
                   help="candidates sampled per target; the best of K by re-simulated sMAPE counts (default 16)")
    e.add_argument("--mlp", default="models/mlp-compact.safetensors",
                   help="MLP baseline ('' to skip; skipped when it is one of --model) "
                        "(default models/mlp-compact.safetensors)")
    e.add_argument("--neighbours-from", type=int, default=200_000, help="training samples searched by the "
                                                                       "nearest-neighbour baseline (default 200000)")
    e.add_argument("--neighbours-data", default=None, help="dataset whose train split the nearest-neighbour "
                                                           "baseline searches (default: --data), e.g. the one the "
                                                           "models were trained on")
    e.add_argument("--json", default=None, help="write the results here (default NAME.eval.json of the first "
                                                "model)")
    e.add_argument("--figure", default=None, help="PNG of example targets (default NAME.eval.png of the first model)")
    e.add_argument("--update-card", action="store_true",
                   help="store the figures in each evaluated model's card (default: cards unchanged)")
    e.add_argument("--realisations", type=int, default=128,
                   help="janus models: realisation seeds averaged into each design's expected law (default 128)")
    e.set_defaults(run=run_evaluate)


def _hardware() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads " \
           f"{torch.get_num_threads()}"


def _janus_config(args):
    from studio.models.janus import janus_preset

    config = janus_preset(args.config, args.head)
    for arg, field in (("latent_dim", "latent_dim"), ("khronos_rank", "khronos_rank"),
                       ("khronos_grid", "khronos_grid"), ("w_pred", "w_pred"), ("w_cycle", "w_cycle")):
        value = getattr(args, arg, None)
        if value is not None:
            setattr(config, field, value)
    if args.law_features != "log":
        raise ValueError("janus predicts standardised log F; --law-features must be log")
    return config


def run_train(args) -> int:
    if args.model.startswith("patterns"):
        from studio.models.patterns_commands import run_train_patterns
        return run_train_patterns(args)
    import torch

    from studio.models.dataset import manifest_hash, read_split
    from studio.models.errors import ModelError
    from studio.models.networks import preset
    from studio.models.store import read_card
    from studio.models.training import TrainOptions, train

    world = int(os.environ.get("WORLD_SIZE", "1"))
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 1) // world))
    try:
        config = _janus_config(args) if args.model == "janus" else preset(args.model, args.config)
    except ValueError as exc:
        raise ModelError(str(exc)) from None
    config.law_features = args.law_features
    out = Path(args.out or f"models/{args.model}-{args.config}")
    t0 = time.time()
    train_data = read_split(args.data, "train", max_samples=args.max_samples)
    val_data = read_split(args.data, "validation", max_samples=20_000)
    card = {
        "data": {"dir": str(args.data), "manifest_sha256": manifest_hash(args.data), "train_samples": len(train_data),
                 "val_samples": len(val_data)},
        "training": {"command": "friction-studio " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
                     "hardware": _hardware(), "processes": world, "torch": torch.__version__},
        "normalisation": {
            "theta": "canonical order (mu_h descending, weights normalised), scaled to [0, 1] of the box "
                     "(studio.physics.to_unit)",
            "condition": ("standardised log F per load point" if config.law_features == "log" else
                          "F / F(10 N) per load point plus log F(10 N), standardised") +
                         "; N mapped to [-1, 1] over [16, 256]",
        },
        "design_seed": 0,
    }
    if args.model == "janus":
        card["normalisation"]["condition"] = "N mapped to [-1, 1] over [16, 256] (encoder, decoder, MLP head); " \
                                             "to [0, 1] as a KHRONOS coordinate; latent squashed by a sigmoid"
        card["normalisation"]["law"] = "the head predicts standardised log F per load point (training-set " \
                                       "mean/std, buffers condition.mean/std)"
        card["loss"] = {"w_recon": config.w_recon, "w_pred": config.w_pred, "w_cycle": config.w_cycle,
                        "kl_weight": args.kl_weight,
                        "terms": "w_recon*SmoothL1 sum over 23 + w_pred*MSE standardised log F + "
                                 "w_cycle*MSE(encode(decode(z')), z') z'~N(0,I) + beta*KL (warm-up)"}
    opts = TrainOptions(epochs=args.epochs, minutes=args.minutes, batch_size=args.batch_size, lr=args.lr,
                        kl_weight=args.kl_weight, patience=args.patience, seed=args.seed)
    print(f"data loaded in {time.time() - t0:.0f}s", flush=True)
    if args.init:
        start_card = read_card(args.init)
        card["training"]["initialised_from"] = {"model": args.init, "card": start_card}
        if "sampling" in start_card:  # the sampling temperature was tuned for the starting weights
            card["sampling"] = dict(start_card["sampling"],
                                    note=f"carried over from {args.init}; re-tune on validation targets")
    train(config, train_data, val_data, opts, out=out, resume=args.resume, card=card,
          log=lambda *a: print(*a, flush=True), init_from=args.init)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"wrote {out}.safetensors and {out}.card.json", flush=True)
    return 0


def _row_names(model_paths) -> list[str]:
    """One row name per evaluated model: its kind when it is alone (cvae, mlp: the single-model
    report as before), else its file stem (cvae-paper, cvae-compact), made unique with a suffix."""
    if len(model_paths) == 1:
        return [None]
    names = []
    for path in model_paths:
        stem = Path(str(path)).name
        for suffix in (".safetensors", ".card.json"):
            stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
        name, i = stem, 2
        while name in names:
            name, i = f"{stem}-{i}", i + 1
        names.append(name)
    return names


def run_evaluate(args) -> int:
    from studio.models.patterns_commands import is_patterns_model
    if is_patterns_model(args.model[0] if isinstance(args.model, (list, tuple)) else args.model):
        from studio.models.patterns_commands import run_evaluate_patterns
        return run_evaluate_patterns(args)
    import torch

    from studio.models.dataset import read_split
    from studio.models.errors import ModelError
    from studio.models.evaluate import (NearestNeighbour, TrueTheta, WithExactTau0B, evaluate_generators, figure,
                                        model_facts, table, write_json)
    from studio.models.store import load_generator, paths, read_card, write_card

    if args.update_card and args.split != "test":
        raise ModelError(f"--update-card stores held-out figures: evaluate on the test split, not {args.split}")
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model_paths = list(args.model) if isinstance(args.model, (list, tuple)) else [args.model]
    if read_card(model_paths[0]).get("kind") == "janus":
        return _evaluate_janus(args, model_paths)
    generators, facts, rows_of = {}, {}, {}
    for path, name in zip(model_paths, _row_names(model_paths)):
        gen = load_generator(path)
        if not hasattr(gen, "sample") or getattr(gen, "kind", "") == "vae":
            raise ModelError(f"{path}: evaluate needs a conditional model (cvae or mlp), not {gen.kind}")
        name = name or gen.kind
        if args.temperature is not None and gen.kind == "cvae":
            gen.temperature = float(args.temperature)
        generators[name], facts[name], rows_of[str(path)] = gen, model_facts(gen.card, path), [name]
        if gen.kind == "cvae":
            fitted = f"{name}+fit"  # τ0, B solved for the realisation
            generators[fitted], facts[fitted] = WithExactTau0B(gen), facts[name]
            rows_of[str(path)].append(fitted)
    test = read_split(args.data, args.split, max_samples=args.targets)
    evaluated = {Path(str(p)).resolve() for p in model_paths}
    if args.mlp and Path(args.mlp).resolve() not in evaluated:
        if Path(args.mlp).is_file():
            name = "mlp" if len(model_paths) == 1 else _row_names(model_paths + [args.mlp])[-1]
            generators[name] = load_generator(args.mlp)
            facts[name] = model_facts(generators[name].card, args.mlp)
        else:
            print(f"note: no MLP baseline at {args.mlp}; skipped", flush=True)
    pool = args.neighbours_data or args.data
    train = read_split(pool, "train", max_samples=args.neighbours_from)
    generators["nearest"] = NearestNeighbour(train, args.neighbours_from)
    facts["nearest"] = {"parameters": 0, "training_wall_s": 0.0, "train_samples": min(len(train), args.neighbours_from),
                        "data": str(pool)}
    generators["true-theta"] = TrueTheta(test)  # the realisation floor, for scale
    print(f"evaluating on {len(test)} {args.split} targets of {args.data}, best of {args.k}, design seed 0",
          flush=True)
    results = evaluate_generators(generators, test, k=args.k, log=lambda *a: print(*a, flush=True))
    for name, f in facts.items():
        results[name]["model"] = f
    print(table(results, args.k))
    weights, _ = paths(model_paths[0])
    stem = str(weights)[: -len(".safetensors")]
    json_path = Path(args.json or stem + ".eval.json")
    payload = {"model": model_paths[0] if len(model_paths) == 1 else model_paths, "data": str(args.data),
               "split": args.split, "targets": len(test), "k": args.k, "design_seed": 0,
               "temperature": {n: getattr(g, "temperature", None) for n, g in generators.items()
                               if getattr(g, "kind", "") == "cvae"},
               "command": "friction-studio " + " ".join(sys.argv[1:]), "results": results}
    write_json(json_path, payload)
    fig_path = Path(args.figure or stem + ".eval.png")
    if figure(fig_path, results, test):
        print(f"wrote {json_path} and {fig_path}")
    else:
        print(f"wrote {json_path} (no figure: matplotlib is not installed)")
    if args.update_card:
        for path in model_paths:
            card = read_card(path)
            card["evaluation"] = {"data": str(args.data), "split": args.split, "targets": len(test), "k": args.k,
                                  "design_seed": 0, "temperature": payload["temperature"],
                                  "command": payload["command"], "rows_of_this_model": rows_of[str(path)],
                                  "results": {m: {kk: vv for kk, vv in r.items() if not kk.startswith("_")}
                                              for m, r in results.items()}}
            write_card(path, card)
            print(f"updated {paths(path)[1]}")
    return 0


def _evaluate_janus(args, model_paths) -> int:
    """`evaluate` for Janus models (one row each, e.g. the KHRONOS head beside the MLP head of equal size):
    the law head against the physics and the reconstruction of θ (studio/models/janus_eval.py)."""
    from studio.files import atomic_write_bytes
    from studio.models.dataset import read_split
    from studio.models.errors import ModelError
    from studio.models.janus_eval import evaluate_janus, table
    from studio.models.store import load_generator, paths, read_card, write_card

    models = {}
    for path in model_paths:
        model = load_generator(path)
        if model.kind != "janus":
            raise ModelError(f"{path}: a Janus evaluation compares Janus models only, not a {model.kind}")
        models[Path(path).name.removesuffix(".safetensors")] = model
    test = read_split(args.data, args.split, max_samples=args.targets)
    print(f"evaluating {', '.join(models)} on {len(test)} {args.split} targets of {args.data}", flush=True)
    results = evaluate_janus(models, test, realisations=args.realisations, log=lambda *a: print(*a, flush=True))
    print(table(results))
    weights, _ = paths(model_paths[0])
    json_path = Path(args.json or str(weights)[: -len(".safetensors")] + ".eval.json")
    payload = {"model": model_paths[0] if len(model_paths) == 1 else model_paths, "data": str(args.data),
               "split": args.split, "targets": len(test), "realisations": args.realisations,
               "command": "friction-studio " + " ".join(sys.argv[1:]), "results": results}
    # written whole (evaluate.write_json drops "_" keys: here "_reference" is the realisation floor row)
    atomic_write_bytes(json_path, (json.dumps(payload, indent=2) + "\n").encode())
    print(f"wrote {json_path}")
    if args.update_card:
        for path in model_paths:
            card = read_card(path)
            card["evaluation"] = {k: v for k, v in payload.items() if k != "model"}
            write_card(path, card)
            print(f"updated {paths(path)[1]}")
    return 0
