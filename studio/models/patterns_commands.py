"""`friction-studio train --model patterns…` and `friction-studio evaluate --model patterns` (docs/patterns.md).

    train --model patterns-autoencoder --data DIR [--out models/patterns-autoencoder]
    train --model patterns --data DIR --split random|held-out [--init models/patterns-autoencoder] [--out …]
    evaluate --model patterns --data DIR      both splits, the CNN-MLP beside two baselines, one run

The autoencoder learns from the layouts of the held-out split's training part only, so neither
classifier's test images were seen by any stage of the model evaluated on them... except that the
random split's test pairs share layouts with its training pairs by design (the paper's weak test).
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from studio.models.errors import ModelError

HELD_OUT_SUFFIX = "-heldout"


def is_patterns_model(name) -> bool:
    """True for `patterns` (the shipped model) or a saved contact-pattern model's path."""
    if str(name) in ("patterns", "patterns-autoencoder"):
        return True
    from studio.models.store import paths

    card = paths(name)[1]
    try:
        return json.loads(card.read_text()).get("kind", "").startswith("patterns")
    except (OSError, ValueError):
        return False


def _model_path(name: str) -> Path:
    from studio.models.patterns import MODELS_DIR

    return MODELS_DIR / f"{name}.safetensors" if name in ("patterns", "patterns-autoencoder") else Path(name)


def _data_card(table) -> dict:
    from studio.data.patterns import read_manifest
    from studio.data.store import MANIFEST_NAME, sha256_file
    from studio.physics.patterns import PATTERNS

    folder = table.source["folder"]
    counts = np.bincount(table.label, minlength=len(PATTERNS))
    return {"dir": str(folder), "manifest_sha256": sha256_file(os.path.join(folder, MANIFEST_NAME)),
            "parameters": read_manifest(folder)["parameters"], **{k: v for k, v in table.source.items() if k != "folder"},
            "labelled_pairs": int(table.label.size),
            "pattern_counts": {p: int(c) for p, c in zip(PATTERNS, counts)}}


def _command() -> str:
    return "friction-studio " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _definitions() -> dict:
    from studio.physics import patterns as P

    return {"classes": list(P.PATTERNS), "order": "coalesced, dominated, interacting, isolated: the first that applies",
            "area_tolerance_percent": P.AREA_TOLERANCE_PERCENT, "coalesced_load_share": P.COALESCED_LOAD_SHARE,
            "dominated_load_share": P.DOMINATED_LOAD_SHARE, "image": {"pixels": P.IMAGE_PIXELS,
                                                                     "channels": "mixture component by mean-height rank",
                                                                     "depths": P.IMAGE_DEPTHS}}


def run_train_patterns(args) -> int:
    import torch

    from studio.models.commands import _hardware
    from studio.models.patterns import META_NAMES, load_pattern_network
    from studio.models.patterns_training import (AREA_WEIGHT, build_table, reconstruction_error, scores, splits,
                                                 train_autoencoder, train_classifier, predict)
    from studio.models.store import save_model

    area_weight = AREA_WEIGHT if getattr(args, "area_weight", None) is None else float(args.area_weight)
    if not (np.isfinite(area_weight) and area_weight >= 0):
        raise ModelError(f"--area-weight: {args.area_weight!r} is not a finite weight ≥ 0")
    torch.set_num_threads(args.threads or 2)
    t0 = time.time()
    table = build_table(args.data, log=lambda s: print(s, flush=True), shards=getattr(args, "shards", None))
    print(f"{table.label.size} labelled pairs of {table.source['layouts']} layouts loaded in {time.time() - t0:.0f} s",
          flush=True)
    card = {"data": _data_card(table), "definitions": _definitions(),
            "training": {"command": _command(), "hardware": _hardware(), "torch": torch.__version__,
                         "seed": args.seed}}
    if args.model == "patterns-autoencoder":
        held = splits(table, "held-out")
        train_layouts = np.unique(table.layout[held["train"]])
        val_layouts = np.unique(table.layout[held["validation"]])
        test_layouts = np.unique(table.layout[held["test"]])
        model, info = train_autoencoder(table, train_layouts, val_layouts, epochs=args.epochs, lr=args.lr,
                                        seed=args.seed, log=lambda s: print(s, flush=True))
        card["training"].update(split="held-out (training layouts only)", layouts=int(train_layouts.size), **info)
        card["evaluation"] = {"reconstruction_held_out_test": reconstruction_error(model, table.images[test_layouts, 0])}
        out = Path(args.out or "models/patterns-autoencoder")
    else:
        split = splits(table, args.split)
        encoder = None
        if args.init:
            ae, ae_card = load_pattern_network(args.init, kind="patterns-autoencoder")
            encoder = ae.encoder.state_dict()
            card["training"]["encoder_from"] = {"model": str(args.init), "sha256": ae_card["weights_sha256"]}
        # The autoencoder's encoder is kept frozen (the paper's features): fine-tuning it gave the same random-split
        # accuracy and a lower validation accuracy on held-out designs (docs/patterns.md).
        model, info = train_classifier(table, split, encoder_state=encoder, freeze_encoder=encoder is not None,
                                       epochs=args.epochs, lr=args.lr, seed=args.seed, area_weight=area_weight,
                                       log=lambda s: print(s, flush=True))
        info["encoder"] = "frozen (autoencoder's)" if encoder is not None else "trained from scratch"
        card["training"].update(split=args.split, **info)
        card["metadata"] = list(META_NAMES)
        card["evaluation"] = {f"{args.split}_test": scores(table.label[split["test"]],
                                                           predict(model, table, split["test"]))}
        print(f"test accuracy ({args.split} split): {100 * card['evaluation'][f'{args.split}_test']['accuracy']:.2f} %",
              flush=True)
        out = Path(args.out or ("models/patterns" + ("" if args.split == "random" else HELD_OUT_SUFFIX)))
    card["training"]["minutes"] = round((time.time() - t0) / 60, 1)
    save_model(model, out, card)
    print(f"wrote {out}.safetensors and {out}.card.json", flush=True)
    return 0


def evaluate_patterns(data: str, model_path, log=print, shards: int | None = None) -> dict:
    """The one-run evaluation: for each split, the CNN-MLP trained on it beside the two baselines."""
    from studio.models.patterns import load_pattern_network
    from studio.models.patterns_training import (build_table, fit_logistic, latents, predict, scores, splits,
                                                 train_metadata_mlp)
    import torch

    model_path = Path(model_path)
    stem = str(model_path)[: -len(".safetensors")] if str(model_path).endswith(".safetensors") else str(model_path)
    table = build_table(data, log=log, shards=shards)
    ae_path = Path(stem).with_name("patterns-autoencoder.safetensors")
    ae, _ = load_pattern_network(ae_path, kind="patterns-autoencoder")
    z = latents(ae.encoder, table.images[:, 0])
    results = {"data": _data_card(table), "definitions": _definitions(), "splits": {}}
    for kind, path in (("random", stem + ".safetensors"), ("held-out", stem + HELD_OUT_SUFFIX + ".safetensors")):
        split = splits(table, kind)
        test = split["test"]
        truth = table.label[test]
        row = {"train_pairs": int(split["train"].size), "test_pairs": int(test.size)}
        if Path(path).is_file():
            model, _ = load_pattern_network(path)
            row["cnn-mlp"] = scores(truth, predict(model, table, test))
            if kind == "held-out":
                for part in ("test_designs", "test_spacings"):
                    row[f"cnn-mlp {part}"] = scores(table.label[split[part]], predict(model, table, split[part]))
        else:
            log(f"note: no {kind} classifier at {path}; its row is left out")
        mlp = train_metadata_mlp(table, split, log=log)
        with torch.no_grad():
            row["metadata alone (MLP)"] = scores(truth, mlp(torch.from_numpy(table.meta[test])).argmax(-1).numpy())
        lat = fit_logistic(z[table.layout[split["train"]]], table.label[split["train"]])
        row["latent alone (logistic regression)"] = scores(truth, lat(z[table.layout[test]]))
        both = fit_logistic(np.hstack([z[table.layout[split["train"]]], table.meta[split["train"]]]),
                            table.label[split["train"]])
        row["latent + metadata (logistic regression)"] = scores(truth, both(np.hstack([z[table.layout[test]],
                                                                                      table.meta[test]])))
        results["splits"][kind] = row
    return results


def table_text(results: dict) -> str:
    """The evaluation as text tables: accuracy and per-class F1 per model and split, confusion matrices."""
    from studio.physics.patterns import PATTERNS

    lines = []
    for kind, row in results["splits"].items():
        lines.append(f"\n{kind} split: {row['train_pairs']} training pairs, {row['test_pairs']} test pairs")
        lines.append(f"{'model':<42}{'accuracy':>9}{'macro F1':>9}" + "".join(f"{p:>13}" for p in PATTERNS))
        for name, s in row.items():
            if isinstance(s, dict):
                lines.append(f"{name:<42}{100 * s['accuracy']:>8.2f}%{s['macro_f1']:>9.3f}" +
                             "".join(f"{s['per_class'][p]['f1']:>8.3f} ({s['per_class'][p]['support']:>3})"
                                     for p in PATTERNS))
        if "cnn-mlp" in row:
            lines.append("confusion (rows: BEM pattern, columns: predicted) of the CNN-MLP:")
            lines.append(f"{'':<14}" + "".join(f"{p:>13}" for p in PATTERNS))
            for p, counts in zip(PATTERNS, row["cnn-mlp"]["confusion"]):
                lines.append(f"{p:<14}" + "".join(f"{c:>13}" for c in counts))
    return "\n".join(lines)


def run_evaluate_patterns(args) -> int:
    import torch

    from studio.files import atomic_write_bytes
    from studio.models.store import read_card, write_card

    # One thread: small networks on a loaded 2-core machine; two OpenMP threads waited on each other for
    # most of each step (an evaluation took 14 min of wall clock for 3.6 CPU-min and did not finish).
    torch.set_num_threads(1)
    models = list(args.model) if isinstance(args.model, (list, tuple)) else [args.model]
    if len(models) != 1:
        raise ModelError("evaluate --model patterns: give one contact-pattern model (its held-out twin and the "
                         "autoencoder are found beside it)")
    path = _model_path(models[0])
    read_card(path)  # a missing or unreadable card is a ModelError before the long part
    t0 = time.time()
    results = evaluate_patterns(args.data, path, log=lambda s: print(s, flush=True), shards=args.shards)
    results.update(command=_command(), seconds=round(time.time() - t0, 1), load_average=list(os.getloadavg()))
    print(table_text(results))
    stem = str(path)[: -len(".safetensors")]
    json_path = Path(args.json or stem + ".eval.json")
    atomic_write_bytes(json_path, (json.dumps(results, indent=1) + "\n").encode())
    print(f"wrote {json_path}")
    if args.update_card:
        for suffix, kind in (("", "random"), (HELD_OUT_SUFFIX, "held-out")):
            weights = Path(stem + suffix + ".safetensors")
            if not weights.is_file():
                continue
            card = read_card(weights)
            card["evaluation_run"] = {"command": results["command"], "split": kind,
                                      "results": results["splits"][kind]}
            write_card(weights, card)
            print(f"updated {stem + suffix}.card.json")
    return 0
