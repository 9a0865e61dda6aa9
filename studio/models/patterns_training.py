"""Training and evaluation of the contact-pattern models (studio.models.patterns; docs/patterns.md).

    build_table(folder)                 images (each layout at ROTATIONS angles), metadata, labels
    splits(table, "random" | "held-out") sample indices of train / validation / test
    train_autoencoder(...), train_classifier(...), train_metadata_mlp(...), fit_logistic(...)
    scores(true, predicted)              accuracy, per-class precision / recall / F1, confusion matrix

The two splits: "random" shuffles the labelled (layout, load) pairs (80 / 10 / 10 %), as the
paper's validation split does (the same layout may be in training at another load); "held-out"
keeps out whole designs (design index ≡ 3 mod 7: every layout and load of them) and a whole
spacing range (clearance 0.2–0.4 mm, every design laid out there) — the paper's stricter test,
which left out a whole spatial region. Validation in "held-out" is a further set of whole designs.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from studio.models.patterns import (AREA_CLIP, AREA_SCALE_PERCENT, META_NAMES, PatternAutoencoder, PatternClassifier,
                                    PatternConfig, layout_image, metadata)
from studio.physics.patterns import PATTERNS, classify

ROTATIONS = 4  # renders of each layout: unturned, then at random angles (augmentation; labels do not turn)
HELD_OUT_DESIGNS = (7, 3)  # design index % 7 == 3
HELD_OUT_CLEARANCE_MM = (0.2, 0.4)
SPLITS = ("random", "held-out")
AREA_WEIGHT = 1.0  # the area head's weight in the classifier's loss (0: no area head; chosen on validation, docs)
TABLE_VERSION = 5  # bump when build_table's output changes (it names the cache file)


@dataclass(eq=False)  # holds arrays: compare fields, not objects
class PatternTable:
    images: np.ndarray  # (L, ROTATIONS, C, P, P) float32, rotation 0 unturned
    meta: np.ndarray  # (M, len(META_NAMES)) float32
    label: np.ndarray  # (M,) int64 index into PATTERNS
    layout: np.ndarray  # (M,) row into the layout arrays
    load_N: np.ndarray  # (M,)
    area_change_percent: np.ndarray  # (M,)
    design: np.ndarray  # (L,) design index
    clearance_mm: np.ndarray  # (L,)
    rule: np.ndarray  # (L,)
    source: dict  # folder, shards, samples dropped (unsolved)


def sample_stats(data: dict, rows=None) -> dict:
    """Area change [%], coalesced and largest load shares of the dataset's (layout, load) pairs."""
    rows = slice(None) if rows is None else rows
    load = data["sample_asperity_load_N"][rows].astype(np.float64)
    total = load.sum(axis=1)
    safe = np.where(total > 0, total, 1.0)
    return {"area_change_percent": 100 * (data["sample_area_bem_mm2"][rows] / data["sample_area_independent_mm2"][rows] - 1),
            "coalesced_load_share": np.where(data["sample_coalesced"][rows], load, 0).sum(axis=1) / safe,
            "largest_load_share": load.max(axis=1) / safe}


def _cache_path(manifest: dict, rotations: int) -> str:
    """The rendered table's cache (studio.files.cache_folder, not the dataset's folder: datasets stay as made),
    keyed by the shards' digests, so a grown or changed dataset renders anew."""
    from studio.files import cache_folder

    key = json.dumps([TABLE_VERSION, rotations, sorted(s["sha256"] for s in manifest["shards"])]).encode()
    folder = cache_folder("pattern-tables")
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"table-{hashlib.sha256(key).hexdigest()[:16]}.npz")


def build_table(folder: str, rotations: int = ROTATIONS, seed: int = 0, log=print, shards: int | None = None
                ) -> PatternTable:
    """Images, metadata and labels of every solved (layout, load) pair of a pattern dataset (cached in the folder)."""
    from studio.data.patterns import load_patterns

    data = load_patterns(folder, shards=shards)
    cache = _cache_path(data["manifest"], rotations)
    ok = data["sample_status"] == 0
    stats = sample_stats(data)
    if os.path.exists(cache):
        with np.load(cache) as z:
            images = z["images"]
            meta = z["meta"]
    else:
        t0 = time.perf_counter()
        L = data["layout_N"].size
        images = np.zeros((L, rotations, 4, 64, 64), dtype=np.float32)
        meta = np.zeros((data["sample_status"].size, len(META_NAMES)), dtype=np.float32)
        rng = np.random.default_rng(seed)
        for row in range(L):
            n = int(data["layout_N"][row])
            geometry = [data[f"layout_{k}"][row, :n] for k in ("height_mm", "radius_mm", "x_mm", "y_mm", "component")]
            theta = data["layout_theta"][row].astype(np.float64)
            g_low = float(data["layout_flat_lowest_mm"][row])
            angles = np.concatenate([[0.0], rng.uniform(0, 2 * np.pi, rotations - 1)])
            renders = [layout_image(*geometry, theta, g_low, angle_rad=a) for a in angles]
            images[row] = np.stack([r.pixels for r in renders])
            mine = np.flatnonzero(data["sample_layout_row"] == row)
            meta[mine] = metadata(renders[0], theta, *geometry[:4], float(data["layout_clearance_mm"][row]),
                                  int(data["layout_rule"][row]), data["sample_load_N"][mine],
                                  data["sample_flat_independent_mm"][mine],
                                  data["sample_independent_load_N"][mine, :n])
        log(f"rendered {L} layouts x {rotations} in {time.perf_counter() - t0:.0f} s")
        from studio.files import atomic_write

        with atomic_write(cache) as tmp:
            np.savez(tmp, images=images, meta=meta)
    label = classify(stats["area_change_percent"], stats["coalesced_load_share"], stats["largest_load_share"])
    keep = np.flatnonzero(ok)
    return PatternTable(images=images, meta=meta[keep], label=label[keep].astype(np.int64),
                        layout=data["sample_layout_row"][keep], load_N=data["sample_load_N"][keep],
                        area_change_percent=stats["area_change_percent"][keep], design=data["layout_design_index"],
                        clearance_mm=data["layout_clearance_mm"], rule=data["layout_rule"],
                        source={"folder": folder, "shards": len(data["manifest"]["shards"]),
                                "designs": int(np.unique(data["layout_design_index"]).size),
                                "layouts": int(data["layout_N"].size), "pairs": int(ok.size),
                                "unsolved": {"grid budget": int(np.sum(data["sample_status"] == 1)),
                                             "solver": int(np.sum(data["sample_status"] == 2))}})


def splits(table: PatternTable, kind: str, seed: int = 0) -> dict:
    """{"train", "validation", "test"}: sample indices (module docstring)."""
    m = table.label.size
    if kind == "random":
        order = np.random.default_rng(seed).permutation(m)
        a, b = int(0.8 * m), int(0.9 * m)
        return {"train": np.sort(order[:a]), "validation": np.sort(order[a:b]), "test": np.sort(order[b:])}
    if kind != "held-out":
        raise ValueError(f"split {kind!r} is not one of {', '.join(SPLITS)}")
    design = table.design[table.layout]
    clearance = table.clearance_mm[table.layout]
    held_design = design % HELD_OUT_DESIGNS[0] == HELD_OUT_DESIGNS[1]
    held_spacing = (clearance >= HELD_OUT_CLEARANCE_MM[0]) & (clearance < HELD_OUT_CLEARANCE_MM[1])
    test = held_design | held_spacing
    validation = ~test & (design % 11 == 5)
    return {"train": np.flatnonzero(~test & ~validation), "validation": np.flatnonzero(validation),
            "test": np.flatnonzero(test), "test_designs": np.flatnonzero(held_design),
            "test_spacings": np.flatnonzero(held_spacing & ~held_design)}


# ------------------------------------------------------------------------------------------ batching

def _groups(table: PatternTable, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(layouts (G,), sample ids (G, K) padded with −1): the given samples grouped by layout."""
    samples = np.asarray(samples)
    order = samples[np.argsort(table.layout[samples], kind="stable")]
    layouts, start, count = np.unique(table.layout[order], return_index=True, return_counts=True)
    ids = np.full((layouts.size, int(count.max())), -1, dtype=np.int64)
    for g, (s, c) in enumerate(zip(start, count)):
        ids[g, :c] = order[s:s + c]
    return layouts, ids


def _turn(images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One random symmetry of the square (a quarter turn and a mirror) for the whole batch."""
    k = int(torch.randint(4, (1,), generator=gen))
    images = torch.rot90(images, k, dims=(-2, -1))
    return torch.flip(images, dims=(-1,)) if int(torch.randint(2, (1,), generator=gen)) else images


def _batch(table, layouts, ids, gen, augment: bool):
    rot = torch.randint(table.images.shape[1], (len(layouts),), generator=gen).numpy() if augment else 0
    images = torch.from_numpy(table.images[layouts, rot])
    if augment:
        images = _turn(images, gen)
    valid = ids >= 0
    safe = np.where(valid, ids, 0)
    return images, torch.from_numpy(table.meta[safe]), torch.from_numpy(table.label[safe]), torch.from_numpy(valid)


def _schedule(optimiser, epochs, steps_per_epoch, lr):
    return torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch),
                                               pct_start=0.15)


# ------------------------------------------------------------------------------------------ training

def train_autoencoder(table: PatternTable, layouts_train, layouts_val, *, epochs: int = 40, lr: float = 2e-3,
                      batch: int = 16, seed: int = 0, log=print) -> tuple[PatternAutoencoder, dict]:
    """The autoencoder on the images of `layouts_train` (all their renders, turned); reconstruction MSE on
    the unturned images of `layouts_val`."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = PatternAutoencoder(PatternConfig(kind="patterns-autoencoder"))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    train = np.asarray(layouts_train)
    steps = -(-train.size // batch)
    sched = _schedule(opt, epochs, steps, lr)
    best, best_state, t0 = np.inf, None, time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = train[torch.randperm(train.size, generator=gen).numpy()]
        for s in range(steps):
            rows = perm[s * batch:(s + 1) * batch]
            rot = torch.randint(table.images.shape[1], (rows.size,), generator=gen).numpy()
            x = _turn(torch.from_numpy(table.images[rows, rot]), gen)
            loss = nn.functional.mse_loss(model(x)[0], x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        val = reconstruction_error(model, table.images[np.asarray(layouts_val), 0])
        if val["mse"] < best:
            best, best_state = val["mse"], {k: v.clone() for k, v in model.state_dict().items()}
        log(f"autoencoder epoch {epoch + 1}/{epochs}: train {float(loss):.5f}, validation MSE {val['mse']:.5f} "
            f"({100 * val['unexplained']:.1f} % of the pixel variance), {time.perf_counter() - t0:.0f} s")
    model.load_state_dict(best_state)
    return model.eval(), {"epochs": epochs, **reconstruction_error(model, table.images[np.asarray(layouts_val), 0])}


@torch.no_grad()
def reconstruction_error(model: PatternAutoencoder, images: np.ndarray) -> dict:
    """Per-pixel MSE, its share of the pixel variance, and the MSE on pixels that show a cap."""
    model.eval()
    x = torch.from_numpy(np.asarray(images, dtype=np.float32))
    y = torch.cat([model(x[i:i + 256])[0] for i in range(0, len(x), 256)])
    err = (y - x) ** 2
    cap = x.sum(dim=1, keepdim=True).expand_as(x) > 0
    return {"mse": float(err.mean()), "unexplained": float(err.mean() / x.var()),
            "mse_on_caps": float(err[cap].mean()), "images": int(len(x))}


@torch.no_grad()
def latents(encoder, images: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.asarray(images, dtype=np.float32))
    return torch.cat([encoder(x[i:i + 256]) for i in range(0, len(x), 256)]).numpy()


def train_classifier(table: PatternTable, split: dict, *, encoder_state=None, freeze_encoder: bool = False,
                     epochs: int = 40, lr: float = 2e-3, area_weight: float = AREA_WEIGHT,
                     batch_layouts: int = 8, seed: int = 0, log=print) -> tuple[PatternClassifier, dict]:
    """The CNN-MLP on split["train"], its encoder started from `encoder_state` (the autoencoder's); the
    epoch with the best validation accuracy is kept.

    area_weight > 0: the network has an area head too, trained to the BEM's area change (in units of the
    2 % tolerance, clipped at ±AREA_CLIP) with that weight beside the cross-entropy: the label only says
    which side of ±2 % a pair lies, the area change says how far (docs/patterns.md measures the gain).
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = PatternClassifier(PatternConfig(kind="patterns", area_head=area_weight > 0))
    area_target = torch.from_numpy(np.clip(table.area_change_percent / AREA_SCALE_PERCENT, -AREA_CLIP, AREA_CLIP)
                                   .astype(np.float32))
    if encoder_state is not None:
        model.encoder.load_state_dict(encoder_state)
    if freeze_encoder:  # the autoencoder's features as they are: a few hundred layouts overfit a trained CNN
        model.encoder.requires_grad_(False)
    train_meta = table.meta[split["train"]]
    model.meta_mean.copy_(torch.from_numpy(train_meta.mean(axis=0)))
    model.meta_scale.copy_(torch.from_numpy(np.maximum(train_meta.std(axis=0), 1e-3)))
    layouts, ids = _groups(table, split["train"])
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    steps = -(-layouts.size // batch_layouts)
    sched = _schedule(opt, epochs, steps, lr)
    best, best_state, t0 = -1.0, None, time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(layouts.size, generator=gen).numpy()
        for s in range(steps):
            pick = perm[s * batch_layouts:(s + 1) * batch_layouts]
            images, meta, label, valid = _batch(table, layouts[pick], ids[pick], gen, augment=True)
            logits, area = model.logits_and_area(images, meta)
            loss = nn.functional.cross_entropy(logits[valid], label[valid])
            if area is not None:
                target = area_target[torch.from_numpy(np.where(ids[pick] >= 0, ids[pick], 0))]
                loss = loss + area_weight * nn.functional.smooth_l1_loss(area[valid], target[valid])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        acc = float(np.mean(predict(model, table, split["validation"]) == table.label[split["validation"]]))
        if acc >= best:  # ties: the later epoch (further down the schedule)
            best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
        log(f"classifier epoch {epoch + 1}/{epochs}: loss {loss.item():.4f}, validation accuracy {100 * acc:.2f} %, "
            f"{time.perf_counter() - t0:.0f} s")
    model.load_state_dict(best_state)
    return model.eval(), {"epochs": epochs, "validation_accuracy": best, "train_pairs": int(split["train"].size),
                          "area_weight": float(area_weight)}


@torch.no_grad()
def predict(model: PatternClassifier, table: PatternTable, samples, rotation: int = 0) -> np.ndarray:
    """Predicted pattern of each sample, its layout's image at `rotation` (0: unturned)."""
    model.eval()
    samples = np.asarray(samples)
    out = np.empty(samples.size, dtype=np.int64)
    layouts, ids = _groups(table, samples)
    position = {int(s): i for i, s in enumerate(samples)}
    for start in range(0, layouts.size, 256):
        lay, sid = layouts[start:start + 256], ids[start:start + 256]
        valid = sid >= 0
        safe = np.where(valid, sid, 0)
        logits = model(torch.from_numpy(table.images[lay, rotation]), torch.from_numpy(table.meta[safe]))
        pred = logits.argmax(-1).numpy()
        for s, p in zip(sid[valid], pred[valid]):
            out[position[int(s)]] = p
    return out


class MetadataMLP(nn.Module):
    """Baseline: the classifier's metadata branch and head alone (no image)."""

    def __init__(self, mean, scale, hidden: int = 128):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean))
        self.register_buffer("scale", torch.as_tensor(scale))
        self.net = nn.Sequential(nn.Linear(len(mean), hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, len(PATTERNS)))

    def forward(self, meta):
        return self.net((meta - self.mean) / self.scale)


def train_metadata_mlp(table: PatternTable, split: dict, *, epochs: int = 150, lr: float = 2e-3, batch: int = 64,
                       seed: int = 0, log=print) -> MetadataMLP:
    """The metadata-only baseline, trained like the classifier (best validation epoch kept)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(table.meta)
    y = torch.from_numpy(table.label)
    train = split["train"]
    model = MetadataMLP(x[train].mean(0), x[train].std(0).clamp_min(1e-3))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = -(-train.size // batch)
    sched = _schedule(opt, epochs, steps, lr)
    best, best_state = -1.0, None
    for epoch in range(epochs):
        model.train()
        perm = train[torch.randperm(train.size, generator=gen).numpy()]
        for s in range(steps):
            rows = perm[s * batch:(s + 1) * batch]
            loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(x[split["validation"]]).argmax(-1) == y[split["validation"]]).float().mean())
        if acc > best:
            best, best_state = acc, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    log(f"metadata MLP: validation accuracy {100 * best:.2f} %")
    return model.eval()


def fit_logistic(features: np.ndarray, labels: np.ndarray, *, l2: float = 1e-3, iterations: int = 500):
    """Multinomial logistic regression (standardised features, L2, L-BFGS); returns predict(features) -> classes."""
    x = torch.from_numpy(np.asarray(features, dtype=np.float64))
    mean, scale = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / scale
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    w = torch.zeros((x.shape[1], len(PATTERNS)), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(len(PATTERNS), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(x @ w + b, y) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    w, b = w.detach(), b.detach()

    def predict_classes(f):
        f = (torch.from_numpy(np.asarray(f, dtype=np.float64)) - mean) / scale
        return (f @ w + b).argmax(-1).numpy()

    return predict_classes


# ------------------------------------------------------------------------------------------ scores

def scores(true, predicted, classes=PATTERNS) -> dict:
    """Accuracy, per-class precision / recall / F1 / support, macro F1, confusion matrix (rows: true)."""
    true, predicted = np.asarray(true), np.asarray(predicted)
    k = len(classes)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (true, predicted), 1)
    per = {}
    for i, name in enumerate(classes):
        tp = confusion[i, i]
        precision = tp / confusion[:, i].sum() if confusion[:, i].sum() else 0.0
        recall = tp / confusion[i].sum() if confusion[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[name] = {"precision": float(precision), "recall": float(recall), "f1": float(f1),
                     "support": int(confusion[i].sum())}
    present = [p["f1"] for p in per.values() if p["support"]]
    return {"accuracy": float(np.mean(true == predicted)) if true.size else float("nan"), "pairs": int(true.size),
            "per_class": per, "macro_f1": float(np.mean(present)) if present else float("nan"),
            "confusion": confusion.tolist()}
