"""Training, evaluation and prediction of the friction-dynamics GRU (studio/models/gru.py).

    examples = prepare(split, config)                       # arrays of studio.data.dynamics → tensors
    for progress in train_steps(config, examples, options, out="models/gru-paper-mse"): ...
    model, history = train_gru(...)                         # the same, run to the end
    metrics = evaluate_gru(model, test_examples)            # paper eq. 15 and restricted errors
    mu = predict_mu(model, velocity_m_s, mu0=0.5)           # μ(t) for velocity samples

Training follows the paper (Adam, constant learning rate 1e-3, batch 32, 50 epochs, no validation split,
the last weights kept; `schedule="cosine"` decays the rate to 1 % instead) and studio/models/training.py's conventions: a checkpoint after every epoch
(NAME.checkpoint.pt, written atomically, read back with torch.load(weights_only=True)), `resume`, the
final weights as NAME.safetensors with a model card NAME.card.json (studio.models.store). Training is
a job (studio.jobs): a generator yielding GruProgress that calls `control.checkpoint()` between steps,
so `studio.jobs.drive` runs it on the command line, in a worker process or in a GUI thread, and a
JobControl pauses or cancels it (Cancelled) within one step.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from studio.jobs import drive
from studio.models import gru as G
from studio.models.errors import ModelError
from studio.models.training import _checkpoint_path, load_checkpoint, save_checkpoint

HISTOGRAM_BINS_PERCENT = np.arange(0.0, 10.25, 0.25)  # the paper's Fig. 8 spans 0–10 %


@dataclass
class GruTrainOptions:
    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    terms: tuple = ()  # loss terms beyond MSE: "ic", "de", "heal", "de_ad"
    seed: int = 0
    clip: float | None = None  # gradient-norm clipping (None: none, as in the paper)
    log_every: int = 100
    noisy_targets: bool = False  # train on the dataset's mu_noisy
    schedule: str = "constant"  # "constant" (the paper) or "cosine": lr → lr/100 over the run


@dataclass
class Examples:
    """One split as tensors: x (N, T, C), y (N, T), the jump/hold structure, a/δμ_ch (N,) (NaN: unknown)."""

    x: torch.Tensor
    y: torch.Tensor
    s: dict
    a_scaled: torch.Tensor
    velocity_m_s: np.ndarray
    y_clean: torch.Tensor | None = None  # noiseless targets when y is noisy (for evaluation)
    duration_s: float = float("nan")  # the protocols' (median) duration: the paper model's implicit time scale

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def rows(self, idx) -> tuple:
        return self.x[idx], self.y[idx], {k: v[idx] for k, v in self.s.items()}, self.a_scaled[idx]


@dataclass
class GruProgress:
    """One logged point of a training run (plain values for a log line or a progress bar)."""

    epoch: int
    step: int
    total_steps: int
    loss: float
    parts: dict
    elapsed_s: float
    done: bool = False

    @property
    def fraction(self) -> float:
        return self.step / max(self.total_steps, 1)


def prepare(split: dict, config: G.GruConfig, *, noisy: bool = False) -> Examples:
    """Tensors for training/evaluation from a split of studio.data.dynamics (or records_dataset)."""
    v = np.asarray(split["velocity_m_s"], np.float64)
    a = np.asarray(split.get("a", np.full(len(v), np.nan)), np.float64)
    if config.conditioned or config.features == "slip":
        known = np.stack([a, split["b"], split["Dc_m"]])
        if not np.all(np.isfinite(known)):
            raise ModelError("a conditioned model needs a, b and Dc for every protocol (measured records have "
                             "none: train an unconditioned model on them)")
    slip, held = _interval_integrals(split, config)
    x = G.inputs(v, config, times_s=split["times_s"], a=a, b=split.get("b"), Dc_m=split.get("Dc_m"),
                 slip_m=slip, held_s=held)
    if noisy and "mu_noisy" not in split:
        raise ModelError("noisy targets asked, but the dataset has no mu_noisy field (generate it with --noise)")
    y = G.targets(split["mu_noisy"] if noisy else split["mu"], config)
    st = G.structure(v)
    return Examples(torch.from_numpy(x), torch.from_numpy(y), G.structure_tensors(st, x, config),
                    torch.as_tensor(a / config.dmu_ch, dtype=torch.float32), v,
                    torch.from_numpy(G.targets(split["mu"], config)) if noisy else None,
                    float(np.median(np.asarray(split["times_s"])[:, -1])))


def _interval_integrals(split: dict, config: G.GruConfig):
    """(slip_m, held_s) at the samples for "interval" features: stored (records) or from the segments."""
    if config.features != "interval":
        return None, None
    if "slip_m" in split and "held_s" in split:
        return split["slip_m"], split["held_s"]
    if "durations_s" not in split or "segment_velocity_m_s" not in split:
        raise ModelError("interval features need the protocols' segments (durations_s, segment_velocity_m_s) "
                         "or their slip and held time at the samples")
    from studio.data.dynamics import HOLD_VELOCITY_M_S

    return G.protocol_integrals(split["times_s"], split["durations_s"], split["segment_velocity_m_s"],
                                HOLD_VELOCITY_M_S)


def train_steps(config: G.GruConfig, data: Examples, opts: GruTrainOptions, *, out=None, resume: bool = False,
                init_from=None, card: dict | None = None, control=None, log=None):
    """Train: a job (studio.jobs) yielding GruProgress and returning (model, history). `init_from`: a
    saved GRU or a module with the same config whose weights start this run (the paper's incremental
    order). `control` (a JobControl) pauses it or cancels it (Cancelled) between steps; a cancelled run
    saves nothing beyond the last epoch's checkpoint, from which `resume` continues."""
    say = log or (lambda *a: None)
    if "de_ad" in opts.terms and config.features == "interval":
        raise ModelError("the autograd direct-effect term is defined for one velocity channel; "
                         "it is not available with interval features")
    torch.manual_seed(opts.seed)
    model = G.build(config)
    if init_from is not None:
        start = init_from if isinstance(init_from, torch.nn.Module) else load_gru(init_from)[0]
        theirs, ours = ({k: v for k, v in c.to_dict().items() if k != "name"} for c in (start.config, config))
        if theirs != ours:
            raise ModelError(f"{init_from}: its configuration {theirs} differs from this run's {ours}")
        model.load_state_dict(start.state_dict())
    optimiser = torch.optim.Adam(model.parameters(), lr=opts.lr)
    n = len(data)
    steps_per_epoch = math.ceil(n / opts.batch_size)
    total = opts.epochs * steps_per_epoch
    if opts.schedule not in ("constant", "cosine"):
        raise ModelError(f"unknown learning-rate schedule {opts.schedule!r}; use constant or cosine")
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, (lambda step: 1.0) if opts.schedule == "constant" else
        (lambda step: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(step / total, 1.0)))))
    state = {"epoch": 0, "step": 0, "elapsed_s": 0.0, "history": []}
    out = Path(out) if out is not None else None
    ckpt = _checkpoint_path(out) if out is not None else None
    if resume:
        if ckpt is None or not ckpt.is_file():
            raise ModelError(f"{ckpt}: no checkpoint to resume from")
        saved = load_checkpoint(ckpt)
        if saved.get("config") != config.to_dict():
            raise ModelError(f"{ckpt}: checkpoint config {saved.get('config')} differs from this run's")
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
        say(f"resumed from {ckpt} at epoch {state['epoch']}")
    say(f"training gru/{config.name} ({sum(p.numel() for p in model.parameters()):,} parameters), loss MSE"
        + "".join(f"+{t}" for t in opts.terms) + f": {n:,} protocols, batch {opts.batch_size}, "
        f"{steps_per_epoch} steps/epoch, {opts.epochs} epochs")
    t0 = time.time() - state["elapsed_s"]
    model.train()
    while state["epoch"] < opts.epochs:
        epoch = state["epoch"]
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(opts.seed * 1000 + epoch))
        sums, count = {}, 0
        for b in range(steps_per_epoch):
            if control is not None:
                control.checkpoint()  # the job contract: blocks while paused, raises Cancelled
            x, y, s, a = data.rows(perm[b * opts.batch_size:(b + 1) * opts.batch_size])
            loss, parts = G.loss_terms(model, x, y, s, opts.terms, a_scaled=a)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if opts.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip)
            optimiser.step()
            scheduler.step()
            state["step"] += 1
            parts["loss"] = float(loss.detach())
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            if state["step"] % opts.log_every == 0:
                yield GruProgress(epoch, state["step"], total, parts["loss"], parts, time.time() - t0)
        state["epoch"] = epoch + 1
        state["elapsed_s"] = time.time() - t0
        means = {k: v / max(count, 1) for k, v in sums.items()}
        state["history"].append({"epoch": state["epoch"], "step": state["step"], **means,
                                 "elapsed_s": round(state["elapsed_s"], 1)})
        say(f"epoch {state['epoch']}/{opts.epochs}: mean loss {means.get('loss', float('nan')):.5f} "
            + " ".join(f"{k} {v:.5f}" for k, v in means.items() if k != "loss") + f" [{state['elapsed_s']:.0f}s]")
        if ckpt is not None:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(ckpt, model, optimiser, scheduler, state, config)
        yield GruProgress(state["epoch"], state["step"], total, means.get("loss", float("nan")), means,
                          state["elapsed_s"], done=state["epoch"] == opts.epochs)
    model.eval()
    if out is not None:
        card = dict(card or {})
        card.setdefault("protocol", {"samples": int(data.x.shape[1]), "duration_s": data.duration_s})
        card.setdefault("input_range", input_range(data))
        training = dict(card.get("training", {}))
        training.update(epochs=state["epoch"], steps=state["step"], wall_time_s=round(state["elapsed_s"], 1),
                        options={**asdict(opts), "terms": list(opts.terms)}, final=state["history"][-1],
                        loss_weights={t: G.LOSS_WEIGHTS[t] for t in opts.terms})
        card["training"] = training
        save_gru(model, out, card)
    return model, state["history"]


def input_range(data: Examples) -> dict:
    """[min, max] of the velocity input over sliding and over hold samples: what the model has seen."""
    v = data.x[..., 0].numpy()
    hold = data.s["hold"].numpy()
    out = {}
    for name, mask in (("sliding", ~hold), ("hold", hold)):
        if mask.any():
            out[name] = [float(v[mask].min()), float(v[mask].max())]
    return out


def train_gru(*args, on_progress=None, **kwargs):
    """train_steps run to the end by studio.jobs.drive: (model, history)."""
    return drive(train_steps(*args, **kwargs), kwargs.get("control"), on_progress)


def save_gru(model, out, card: dict) -> dict:
    from studio.models.store import save_model

    return save_model(model, out, card)


def load_gru(path, device: str = "cpu"):
    """(model, card) of a saved GRU (weights checked against the card's SHA-256)."""
    from studio.models.store import load_model

    model, card = load_model(path, device=device)
    if card.get("kind") != "gru":
        raise ModelError(f"{path}: is a {card.get('kind')} model, not a friction-dynamics GRU")
    return model, card


# ---------------------------------------------------------------- evaluation

@torch.no_grad()
def predict_scaled(model, x: torch.Tensor, batch: int = 4096) -> np.ndarray:
    model.eval()
    return np.concatenate([model(x[i:i + batch]).numpy() for i in range(0, len(x), batch)]).astype(np.float64)


def evaluate_gru(model, data: Examples) -> dict:
    """Paper eq. 15 per test protocol, its mean / median / p90, the same restricted to hold samples and
    to the 3 samples after each jump, RMS error in μ, and the Fig. 8 histogram (share of protocols per
    0.25 % bin). Against noiseless targets when the examples carry them."""
    pred = predict_scaled(model, data.x)
    y = (data.y_clean if data.y_clean is not None else data.y).numpy().astype(np.float64)
    hold = data.s["hold"].numpy()
    after = np.zeros_like(hold)
    jump = data.s["jump_before"].numpy()
    for shift in (1, 2, 3):
        after[:, shift:] |= jump[:, : jump.shape[1] + 1 - shift]
    err = G.percent_error(pred, y)
    err_hold = G.percent_error(pred, y, hold)
    err_after = G.percent_error(pred, y, after)
    counts, _ = np.histogram(np.clip(err, 0, HISTOGRAM_BINS_PERCENT[-1] - 1e-9), HISTOGRAM_BINS_PERCENT)
    dmu = model.config.dmu_ch
    return {
        "protocols": int(len(err)),
        "mean_error_percent": float(np.mean(err)), "median_error_percent": float(np.median(err)),
        "p90_error_percent": float(np.percentile(err, 90)), "max_error_percent": float(np.max(err)),
        "hold_mean_error_percent": float(np.nanmean(err_hold)),
        "after_jump_mean_error_percent": float(np.nanmean(err_after)),
        "rms_error_mu": float(dmu * np.sqrt(np.mean((pred - y) ** 2))),
        "hold_rms_error_mu": float(dmu * np.sqrt(np.mean(((pred - y) ** 2)[hold]))),
        "after_jump_rms_error_mu": float(dmu * np.sqrt(np.mean(((pred - y) ** 2)[after]))),
        "histogram": {"bin_edges_percent": HISTOGRAM_BINS_PERCENT.tolist(),
                      "share_percent": (100.0 * counts / len(err)).tolist(),
                      "above_last_edge_percent": float(100.0 * np.mean(err >= HISTOGRAM_BINS_PERCENT[-1]))},
        "_errors": err,
    }


@torch.no_grad()
def predict_mu(model, velocity_m_s, times_s, *, mu0: float, a=None, b=None, Dc_m=None,
               slip_m=None, held_s=None) -> np.ndarray:
    """μ(t) = μ0 + δμ_ch·δμ̂ for velocity samples (T,) or (B, T) at equally spaced times_s (holds at the
    hold velocity); a, b, Dc_m for a conditioned model; slip_m, held_s (G.protocol_integrals) for
    "interval" features."""
    v = np.asarray(velocity_m_s, np.float64)
    try:
        x = G.inputs(v, model.config, times_s=times_s, a=a, b=b, Dc_m=Dc_m, slip_m=slip_m, held_s=held_s)
    except ValueError as e:
        raise ModelError(f"{model.config.name}: {e}") from None
    x = torch.from_numpy(x)
    out = mu0 + model.config.dmu_ch * predict_scaled(model, x)
    return out[0] if v.ndim == 1 else out


@dataclass
class ProtocolPrediction:
    """A GRU's μ(t) for one protocol: times_s, velocity_m_s (holds at the hold velocity), mu; notes on
    inputs outside what the model was trained on."""

    times_s: np.ndarray
    velocity_m_s: np.ndarray
    mu: np.ndarray
    notes: list = field(default_factory=list)


def predict_protocol(model, card: dict, protocol, *, mu0: float, a=None, b=None, Dc_m=None) -> ProtocolPrediction:
    """Sample a studio.dynamics Protocol at the model's equally spaced instants and predict μ(t)
    (what `rsf predict` writes and the Dynamics workspace draws)."""
    cfg = model.config
    if cfg.conditioned or cfg.features == "slip":
        missing = [n for n, v in (("a", a), ("b", b), ("Dc", Dc_m)) if v is None]
        if missing:
            raise ModelError(f"{card.get('config', {}).get('name', 'the model')} is conditioned on the interface: "
                             f"give {', '.join(missing)}")
    samples = int(card.get("protocol", {}).get("samples", 100))
    times = protocol.sample_times(samples)
    velocity = protocol.velocity_at(times)
    velocity = np.where(velocity > 0, velocity, protocol.hold_velocity_m_s)
    slip, held = G.protocol_integrals(times, protocol.durations_s, protocol.velocities_m_s,
                                      protocol.hold_velocity_m_s)  # what "interval" features need
    mu = predict_mu(model, velocity, times, mu0=mu0, a=a, b=b, Dc_m=Dc_m, slip_m=slip, held_s=held)
    notes = []
    x = G.inputs(velocity, cfg, times_s=times, a=a, b=b, Dc_m=Dc_m, slip_m=slip, held_s=held)[0, :, 0]
    hold = velocity <= G.HOLD_MAX_M_S
    # compared in natural-log units of velocity (a factor 1.5 beyond what was seen is an extrapolation)
    to_log = ((lambda f: np.log(np.maximum(f, 1e-300))) if cfg.features in ("linear", "interval")
              else (lambda f: f * G.LOG_SCALE))
    for name, mask in (("sliding", ~hold), ("hold", hold)):
        seen = card.get("input_range", {}).get(name)
        if seen and mask.any():
            lo, hi = to_log(np.asarray(seen, np.float64))
            q = to_log(x[mask].astype(np.float64))
            if q.min() < lo - np.log(1.5) or q.max() > hi + np.log(1.5):
                notes.append(f"{name} inputs {x[mask].min():.3g}…{x[mask].max():.3g} lie outside what the model "
                             f"was trained on ({seen[0]:.3g}…{seen[1]:.3g}): an extrapolation")
    trained_s = card.get("protocol", {}).get("duration_s")
    if trained_s and cfg.features != "slip" and not np.isclose(protocol.total_duration_s, trained_s, rtol=0.05):
        notes.append(f"the protocol lasts {protocol.total_duration_s:g} s; the model was trained on {trained_s:g} s "
                     f"protocols sampled {samples} times (its inputs carry no time scale)")
    return ProtocolPrediction(times, velocity, mu, notes)


@dataclass
class Comparison:
    """The RSF response of a protocol beside a GRU's prediction (the Dynamics workspace's curves).

    times_s, mu_rsf, mu_gru at the model's samples; dense_times_s, dense_mu_rsf for drawing the RSF curve
    (every segment start included); error_percent: paper eq. 15 on δμ = μ − μ(0); notes from the model."""

    times_s: np.ndarray
    mu_rsf: np.ndarray
    mu_gru: np.ndarray | None
    dense_times_s: np.ndarray
    dense_mu_rsf: np.ndarray
    error_percent: float | None
    notes: list = field(default_factory=list)


def compare_with_rsf(protocol, params, *, law: str = "aging", model=None, card: dict | None = None,
                     dense_samples: int = 1000) -> Comparison:
    """Simulate `protocol` with RSF (studio.dynamics.simulate, imposed velocity, exact) and predict it with
    `model` (None: RSF only); μ0 of the prediction is the simulated μ(0), a, b, Dc are `params`'."""
    from studio.dynamics import simulate

    dense_t = protocol.sample_times(dense_samples, boundaries=True)
    dense = simulate(protocol, params, law=law, times_s=dense_t)
    samples = int((card or {}).get("protocol", {}).get("samples", 100))
    times = protocol.sample_times(samples)
    rsf = simulate(protocol, params, law=law, times_s=times)
    if model is None:
        return Comparison(times, rsf.mu, None, dense_t, dense.mu, None)
    pred = predict_protocol(model, card or {}, protocol, mu0=float(rsf.mu[0]), a=params.a, b=params.b,
                            Dc_m=params.Dc_m)
    change = rsf.mu - rsf.mu[0]  # eq. 15: the prediction's change from μ0 against the simulated change
    error = float(G.percent_error(pred.mu - rsf.mu[0], change)) if np.ptp(rsf.mu) > 0 else None
    return Comparison(times, rsf.mu, pred.mu, dense_t, dense.mu, error, pred.notes)


def train_on_records(folder, out, *, variant: str = "ic", hidden: int = 64, epochs: int = 50,
                     batch_size: int = 32, control=None, log=None):
    """Learn a measured interface: the records of `folder` (studio.data.dynamics.records_dataset) →
    a GRU saved as `out` with its card. A job (studio.jobs) yielding GruProgress; returns `out`."""
    from studio.data.dynamics import records_dataset

    splits = records_dataset(str(folder))
    sources = {name: list(part.pop("source")) for name, part in splits.items()}
    config = G.GruConfig(name=Path(out).name, hidden=hidden, law="measured")
    train = prepare(splits["train"], config)
    opts = GruTrainOptions(epochs=epochs, batch_size=batch_size, terms=G.VARIANTS[variant], log_every=5)
    card = {"data": {"records": str(folder), "train_records": sources["train"], "test_records": sources["test"]},
            "training": {"variant": variant, "terms": list(opts.terms), "command": "studio: learn from records"}}
    yield from train_steps(config, train, opts, out=out, card=card, control=control, log=log)
    return Path(out)


__all__ = ["Comparison", "compare_with_rsf", "train_on_records", "input_range", "ProtocolPrediction", "predict_protocol", "GruTrainOptions", "GruProgress", "Examples", "prepare", "train_steps", "train_gru", "save_gru",
           "load_gru", "evaluate_gru", "predict_mu", "predict_scaled"]
