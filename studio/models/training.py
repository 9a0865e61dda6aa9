"""Training loop: Smooth L1 reconstruction of θ (unit box, canonical) + KL with warm-up, AdamW +
OneCycleLR, a checkpoint every epoch (resumable), early stopping on the validation loss, and
data-parallel runs under `torchrun --nproc_per_node=K` (DDP; gloo on CPU, nccl on CUDA).
"""
from __future__ import annotations

import io
import math
import os
import pickle
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from studio.files import atomic_write_bytes
from studio.models.dataset import Examples
from studio.models.errors import ModelError
from studio.models.networks import ModelConfig, build, unit_to_theta
from studio.models.store import default_device, save_model
from studio.physics import parameter_error


PROGRESS_TICKS = 10_000


@dataclass
class TrainOptions:
    epochs: int = 20
    minutes: float | None = None  # wall-clock budget; the one-cycle schedule spans it
    batch_size: int = 512
    lr: float = 2e-3
    weight_decay: float = 1e-4
    kl_weight: float = 0.01  # β on the KL term after warm-up (recon is a sum over 23 unit-box entries)
    kl_warmup_fraction: float = 0.3  # share of the steps over which β rises linearly from 0
    smooth_l1_beta: float = 0.02  # unit-box distance below which the loss is quadratic
    patience: int = 4  # epochs without a better validation loss before stopping
    seed: int = 0
    log_every: int = 200  # steps between progress lines


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if world > 1:
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _broadcast_float(value: float, device) -> float:
    if dist.is_available() and dist.is_initialized():
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.broadcast(t, 0)
        return float(t.item())
    return value


def losses(model, batch, opts: TrainOptions, kl_scale: float):
    """(total, reconstruction, KL) of one batch; KL is 0 for the MLP.

    A model whose forward returns a dict of loss terms (Janus: recon, pred, cycle, kl, and `total`
    without the KL) gets β·KL added to its total; its other terms are logged (`_extra_terms`)."""
    theta_unit, friction, n = batch
    out = model(theta_unit, friction, n)
    if isinstance(out, dict):
        return out["total"] + kl_scale * opts.kl_weight * out["kl"], out["recon"], out["kl"], out
    recon, mu, logvar = out
    rec = F.smooth_l1_loss(recon, theta_unit, beta=opts.smooth_l1_beta, reduction="none").sum(-1).mean()
    if mu is None:
        kl = torch.zeros((), device=rec.device)
    else:
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1).mean()
    return rec + kl_scale * opts.kl_weight * kl, rec, kl, {}


def _extra_terms(terms: dict) -> dict:
    """Loss terms beyond total / recon / kl (Janus: pred, cycle) as floats."""
    return {k: float(v.detach()) for k, v in terms.items() if k not in ("total", "recon", "kl")}


@torch.no_grad()
def validate(model, data: Examples, opts: TrainOptions, device, batch_size: int = 4096) -> dict:
    """Validation loss (β at its final value), and the median parameter sMAPE of one decoded sample."""
    model.eval()
    tot = rec = kl = 0.0
    extra: dict[str, float] = {}
    preds = []
    gen = torch.Generator().manual_seed(1234)
    for i in range(0, len(data), batch_size):
        sl = slice(i, i + batch_size)
        batch = (data.theta_unit[sl].to(device), data.friction_N[sl].to(device), data.n_asperities[sl].to(device))
        t, r, k, terms = losses(model, batch, opts, 1.0)
        m = len(batch[0])
        tot, rec, kl = tot + float(t) * m, rec + float(r) * m, kl + float(k) * m
        for name, value in _extra_terms(terms).items():
            extra[name] = extra.get(name, 0.0) + value * m
        if len(preds) * batch_size < 2048:
            preds.append(_decode_one(model, batch, gen))
    model.train()
    n = len(data)
    pred = np.concatenate(preds)
    perr = parameter_error(pred, data.theta[: len(pred)])
    metrics = {"val_loss": tot / n, "val_recon": rec / n, "val_kl": kl / n,
               "val_param_smape_median": float(np.median(perr))}
    metrics.update({f"val_{name}": value / n for name, value in extra.items()})
    if _inner(model).config.kind == "janus":
        metrics["val_law_smape_median"] = _janus_law_error(_inner(model), data, device)
    return metrics


def _inner(model):
    return model.module if hasattr(model, "module") else model


def _janus_law_error(model, data: Examples, device, count: int = 2048) -> float:
    """Median sMAPE [%] of the head's law (at the posterior mean) against the first `count` laws."""
    from studio.physics import smape

    theta_unit, friction, n = (data.theta_unit[:count].to(device), data.friction_N[:count].to(device),
                               data.n_asperities[:count].to(device))
    law = torch.exp(model.predict_log_law(model.encode(theta_unit, n)[0], n))
    return float(np.median(smape(law.double().cpu().numpy(), friction.double().cpu().numpy())))


def _decode_one(model, batch, gen) -> np.ndarray:
    """One θ per example: a prior draw for the CVAE, the posterior mean of a reconstruction for the VAE."""
    theta_unit, friction, n = batch
    inner = _inner(model)
    kind = inner.config.kind
    if kind == "janus":  # the reconstruction through the posterior mean
        out = inner.decode(inner.encode(theta_unit, n)[0], n)
    elif kind == "cvae":
        cond = inner.condition(friction, n)
        z = torch.randn((len(n), inner.config.latent_dim), generator=gen).to(friction.device)
        out = inner.decode(z, cond)
    elif kind == "vae":
        out = inner.decode(inner.encode(theta_unit)[0])
    else:
        out = inner(theta_unit, friction, n)[0]
    return unit_to_theta(out)


def _checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".checkpoint.pt")


CHECKPOINT_KEYS = ("model", "optimiser", "scheduler", "state", "config")


def _plain(value):
    """`value` as tensors and plain Python values only (what torch.load(weights_only=True) reads)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    raise TypeError(f"a checkpoint holds tensors and plain values only, not {type(value).__name__}")


def save_checkpoint(path: Path, model, optimiser, scheduler, state: dict, config: ModelConfig) -> None:
    """Write a resumable checkpoint (atomically): state dicts of tensors and plain values, nothing a
    loader would have to unpickle as code, so `load_checkpoint` reads it with weights_only=True."""
    payload = {"model": model.state_dict(), "optimiser": _plain(optimiser.state_dict()),
               "scheduler": _plain(scheduler.state_dict()), "state": _plain(state), "config": _plain(config.to_dict())}
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_checkpoint(path: Path, device="cpu") -> dict:
    """A checkpoint written by `save_checkpoint`, read with torch.load(weights_only=True).

    A file that holds other Python objects (which unpickling could run as code) is refused with a
    one-line ModelError, as is a file that is not a checkpoint at all."""
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; torch's refusals look alike
        raise ModelError(f"{path}: not a readable training checkpoint (not a torch checkpoint archive)")
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:  # the weights-only unpickler met a global it does not allow
        raise ModelError(f"{path}: refused to load: it holds Python objects besides tensors and plain "
                         "values, which could run code; resume only from checkpoints friction-studio wrote") from None
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable training checkpoint ({_first_line(exc)})") from None
    missing = [k for k in CHECKPOINT_KEYS if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise ModelError(f"{path}: not a friction-studio training checkpoint (missing {', '.join(missing)})")
    return saved


def train(config: ModelConfig, train_data: Examples, val_data: Examples, opts: TrainOptions,
          out=None, resume: bool = False, card: dict | None = None, log=print, more_data=None, init_from=None):
    """Train a model; with `out` (models/NAME) write a checkpoint each epoch and the best weights + card.

    `more_data`, if given, is called before each epoch and may return a larger Examples to train on
    (a data set still being generated); the normalisation stays the one fitted at the start.
    `init_from` (a saved model of the same config) starts from its weights with a fresh schedule.

    Returns (model, history) on every rank; only rank 0 writes files and logs.
    """
    rank, world = _distributed()
    device = torch.device(default_device() if world == 1 or not torch.cuda.is_available()
                          else f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}")
    say = log if rank == 0 else (lambda *a, **k: None)
    torch.manual_seed(opts.seed)
    model = build(config)
    if hasattr(model, "condition"):
        model.condition.fit(train_data.friction_N[:100_000])
    if init_from is not None:
        from studio.models.store import load_model

        start_model, start_card = load_model(init_from, device="cpu")
        if start_model.config.to_dict() != config.to_dict():
            raise ModelError(f"{init_from}: its config {start_model.config.to_dict()} differs from this run's")
        model.load_state_dict(start_model.state_dict())
    model.to(device)
    ddp = model
    if world > 1:
        ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=None if device.type == "cpu" else [device])

    steps_per_epoch = max(1, len(train_data) // (opts.batch_size * world))
    optimiser = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    state = {"epoch": 0, "step": 0, "progress": 0.0, "best": math.inf, "bad_epochs": 0, "history": [],
             "elapsed_s": 0.0}
    out = Path(out) if out is not None else None
    ckpt = _checkpoint_path(out) if out is not None else None
    sched_state = None
    if resume:
        if ckpt is None or not ckpt.is_file():
            raise ModelError(f"{ckpt}: no checkpoint to resume from")
        saved = load_checkpoint(ckpt, device)
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        sched_state = saved["scheduler"]
        state = saved["state"]
        say(f"resumed from {ckpt} at epoch {state['epoch']}, step {state['step']}")

    total_steps = opts.epochs * steps_per_epoch
    budget_s = None if opts.minutes is None else 60.0 * opts.minutes
    # One cycle over the run's progress p = max(steps done / planned, time used / budget):
    # OneCycleLR runs on PROGRESS_TICKS ticks and is advanced to tick ⌊p·ticks⌋, so a wall-clock
    # budget gets the whole schedule however fast the (shared) machine happens to be.
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=opts.lr, total_steps=PROGRESS_TICKS + 1,
                                                    pct_start=0.15)
    if sched_state is not None:
        scheduler.load_state_dict(sched_state)
    say(f"training {config.kind}/{config.name} ({sum(p.numel() for p in model.parameters()):,} parameters) on "
        f"{device} x{world}: {len(train_data):,} train, {len(val_data):,} val, batch {opts.batch_size}/rank, "
        f"{steps_per_epoch} steps/epoch, at most {total_steps} steps"
        + (f" or {opts.minutes:g} min" if budget_s else ""))

    start = time.time() - state["elapsed_s"]

    def progress() -> float:
        p = state["step"] / total_steps
        if budget_s is not None:
            p = max(p, _broadcast_float((time.time() - start) / budget_s, device))
        return min(p, 1.0)

    stop = progress() >= 1.0
    best_state = None
    while not stop:
        epoch = state["epoch"]
        if more_data is not None and epoch > 0:
            grown = more_data()
            if grown is not None and len(grown) > len(train_data):
                train_data = grown
                steps_per_epoch = max(1, len(train_data) // (opts.batch_size * world))
                say(f"training set grew to {len(train_data):,} samples")
        perm = torch.randperm(len(train_data), generator=torch.Generator().manual_seed(opts.seed * 1000 + epoch))
        perm = perm[rank::world]
        ddp.train()
        run_rec = run_kl = 0.0
        run_extra: dict[str, float] = {}
        run_n = 0
        for b in range(steps_per_epoch):
            idx = perm[b * opts.batch_size:(b + 1) * opts.batch_size]
            batch = (train_data.theta_unit[idx].to(device), train_data.friction_N[idx].to(device),
                     train_data.n_asperities[idx].to(device))
            kl_scale = min(1.0, state["progress"] / max(opts.kl_warmup_fraction, 1e-9))
            loss, rec, kl, terms = losses(ddp, batch, opts, kl_scale)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            state["step"] += 1
            state["progress"] = progress()
            while scheduler.last_epoch < int(state["progress"] * PROGRESS_TICKS):
                scheduler.step()
            run_rec, run_kl, run_n = run_rec + rec.item(), run_kl + kl.item(), run_n + 1
            for name, value in _extra_terms(terms).items():
                run_extra[name] = run_extra.get(name, 0.0) + value
            if state["step"] % opts.log_every == 0:
                more = "".join(f" {name} {value / run_n:.4f}" for name, value in run_extra.items())
                say(f"epoch {epoch + 1} step {state['step']} ({100 * state['progress']:.0f} %) recon {run_rec / run_n:.4f} "
                    f"kl {run_kl / run_n:.3f}{more} beta {kl_scale * opts.kl_weight:.4f} "
                    f"lr {scheduler.get_last_lr()[0]:.2e} {time.time() - start:.0f}s")
                run_rec = run_kl = 0.0
                run_extra = {}
                run_n = 0
            if state["progress"] >= 1.0:
                stop = True
                break
        state["epoch"] = epoch + 1
        metrics = validate(model, val_data, opts, device)
        state["elapsed_s"] = time.time() - start
        metrics.update(epoch=state["epoch"], step=state["step"], elapsed_s=round(state["elapsed_s"], 1))
        state["history"].append(metrics)
        improved = metrics["val_loss"] < state["best"]
        if improved:
            state["best"], state["bad_epochs"] = metrics["val_loss"], 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            state["bad_epochs"] += 1
        law = (f", pred {metrics['val_pred']:.5f}, cycle {metrics['val_cycle']:.4f}, law sMAPE median "
               f"{metrics['val_law_smape_median']:.2f} %") if "val_law_smape_median" in metrics else ""
        say(f"epoch {state['epoch']} done: val loss {metrics['val_loss']:.4f} (recon {metrics['val_recon']:.4f}, "
            f"kl {metrics['val_kl']:.2f}{law}), one-sample parameter sMAPE median "
            f"{metrics['val_param_smape_median']:.2f} %{' *' if improved else ''} [{state['elapsed_s']:.0f}s]")
        if state["bad_epochs"] >= opts.patience:
            say(f"early stop: no better validation loss for {opts.patience} epochs")
            stop = True
        if rank == 0 and ckpt is not None:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(ckpt, model, optimiser, scheduler, state, config)
            if improved:
                _write_best(model, out, card, state, opts)
    if best_state is not None:
        model.load_state_dict(best_state)
    if world > 1:
        dist.barrier()
    return model, state["history"]


def _write_best(model, out: Path, card: dict | None, state: dict, opts: TrainOptions) -> None:
    card = dict(card or {})
    training = dict(card.get("training", {}))
    training.update(epochs=state["epoch"], steps=state["step"], wall_time_s=round(state["elapsed_s"], 1),
                    options=vars(opts).copy(), best_val=state["history"][-1])
    card["training"] = training
    save_model(model, out, card)
