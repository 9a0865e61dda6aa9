"""A GRU that learns friction dynamics (Garcia-Suarez, "Slide, hold, learn", refs/rsf-gru-slide-hold-learn.md).

    velocity samples V (B, 100) ──features──▶ GRU (one layer) ──Linear──▶ δμ̂/δμ_ch (B, 100)

No state variable: the network's hidden vector is its only memory. Targets are the change of μ from
its first value, scaled by δμ_ch = 0.01; the paper's features are V / V_ch with V_ch = 0.3 m/s.
Beyond the paper: log-velocity features (ln(V/V_ch) / 5, which carry the direct effect a·ln V
linearly) and a conditioned model for any interface of the parameter box: its velocity input is the
slip per sample in units of Dc, ln(V·Δt/Dc) / 5 (Δt the sample spacing), and (a, b) / δμ_ch are
inputs at every step. RSF at imposed velocity depends on V, t and Dc only through V·t/Dc (and the ratio
to the hold velocity, which that feature also carries), so this input needs no time or length scale.
Beyond the paper, "interval" features: besides the paper's V_k/V_ch, what the protocol did between
samples k-1 and k, which point samples lose (a jump between two samples, an interval no sample falls
in): the mean velocity over (t_{k-1}, t_k] (slip increment / Δt) over V_ch, and the fraction of that
interval spent in a hold; at k = 0, V_0/V_ch and 0 (the start is steady sliding). Both come exactly from
the protocol's segments (`protocol_integrals`), so a protocol (rsf predict, the Dynamics tab) gives them.

Loss (paper eq. 9–14), per protocol, averaged over the batch, in scaled units:
    MSE   ‖δμ̂ − δμ‖² / N
    IC    (δμ̂_1 − δμ_1)²                                   (α = 1)
    DE    Σ_jumps ((δμ̂_{J+1} − δμ̂_J) − (δμ_{J+1} − δμ_J))²  (β = 0.1)
    H     Σ_n (r_{n+1} − r_n)², r_n = (δμ̂_n − δμ̂_{N_h}) / ln(n / N_h) over each hold  (γ = 5e-3)
    DE-ad (∂δμ̂_{J+1}/∂ln V_{J+1} − a/δμ_ch)² at sliding post-jump samples (beyond the paper: the
          derivative by autograd through the last GRU step, the hidden state before it held, i.e. the
          network's own instantaneous direct effect; a known: synthetic data; a unknown: the spread of
          that derivative over the jumps of a protocol, appendix A's "same at every jump").
Jumps and holds are found from the velocity samples alone (a change between consecutive samples; a
sample at the hold velocity), so the same terms apply to measured records.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

FEATURES = ("linear", "log", "slip", "interval")
INTERVAL_CHANNELS = 2  # "interval" features add: mean velocity over the interval / V_ch, its held fraction
LOG_SCALE = 5.0  # ln(V/V_ch) spans about -19 (holds) to +8: /5 keeps the inputs O(1)
HOLD_MAX_M_S = 1e-8  # a sample at or below this velocity is a hold (holds are simulated at 2e-9 m/s)
LOSS_WEIGHTS = {"ic": 1.0, "de": 0.1, "heal": 5e-3, "de_ad": 0.1}  # α, β, γ of the paper; β for DE-ad
VARIANTS = {"mse": (), "ic": ("ic",), "de": ("ic", "de"), "heal": ("ic", "de", "heal")}
VARIANT_LABELS = {"mse": "MSE", "ic": "MSE+IC", "de": "MSE+IC+DE", "heal": "MSE+IC+DE+H"}
# the paper's incremental order: each variant starts from the weights of this one (None: from scratch)
VARIANT_INIT = {"mse": None, "ic": "mse", "de": "ic", "heal": "ic"}


@dataclass
class GruConfig:
    """The network and the scaling of its inputs and outputs (stored in the model card)."""

    kind: str = "gru"
    name: str = "paper"
    hidden: int = 64
    features: str = "linear"  # "linear": V/V_ch (the paper); "log": ln(V/V_ch)/5; "slip": ln(V·Δt/Dc)/5;
    # "interval" (beyond the paper): V/V_ch, the mean velocity since the previous sample / V_ch, its held fraction
    conditioned: bool = False  # inputs also (a/δμ_ch, b/δμ_ch) at every step (with "slip" features)
    V_ch_m_s: float = 0.3
    dmu_ch: float = 0.01
    law: str = "aging"

    @property
    def input_size(self) -> int:
        return 1 + (INTERVAL_CHANNELS if self.features == "interval" else 0) + (2 if self.conditioned else 0)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GruConfig":
        return cls(**d)


class FrictionGRU(nn.Module):
    """One GRU layer and a linear read-out per step (the paper's Fig. 2)."""

    def __init__(self, config: GruConfig):
        super().__init__()
        if config.features not in FEATURES:
            raise ValueError(f"unknown features {config.features!r}; use one of {', '.join(FEATURES)}")
        self.config = config
        self.gru = nn.GRU(config.input_size, config.hidden, batch_first=True)
        self.readout = nn.Linear(config.hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, T, C) → δμ̂/δμ_ch (B, T)."""
        return self.readout(self.gru(x)[0]).squeeze(-1)

    def forward_with_states(self, x):
        h = self.gru(x)[0]
        return self.readout(h).squeeze(-1), h

    def step(self, x_t: torch.Tensor, h_prev: torch.Tensor) -> torch.Tensor:
        """One GRU step with nn.GRU's own weights (gates r, z, n): read-out of h_t from x_t (S, C), h_{t-1} (S, H)."""
        w_ih, w_hh = self.gru.weight_ih_l0, self.gru.weight_hh_l0
        b_ih, b_hh = self.gru.bias_ih_l0, self.gru.bias_hh_l0
        gi = x_t @ w_ih.T + b_ih
        gh = h_prev @ w_hh.T + b_hh
        i_r, i_z, i_n = gi.chunk(3, -1)
        h_r, h_z, h_n = gh.chunk(3, -1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        h = (1 - z) * n + z * h_prev
        return self.readout(h).squeeze(-1)


def build(config: GruConfig) -> FrictionGRU:
    return FrictionGRU(config)


# ---------------------------------------------------------------- features and targets (numpy)

def velocity_feature(velocity_m_s, config: GruConfig, *, dt_s=None, Dc_m=None) -> np.ndarray:
    """The velocity channel (B, T): V/V_ch ("linear" and "interval"), ln(V/V_ch)/5 or ln(V·Δt/Dc)/5
    (dt_s, Dc_m: (B,) or scalars)."""
    v = np.atleast_2d(np.asarray(velocity_m_s, np.float64))
    if config.features in ("linear", "interval"):
        return v / config.V_ch_m_s
    if config.features == "log":
        return np.log(np.maximum(v, 1e-30) / config.V_ch_m_s) / LOG_SCALE
    if dt_s is None or Dc_m is None:
        raise ValueError("slip-per-sample features need the sample spacing and Dc")
    scale = (np.broadcast_to(np.asarray(dt_s, np.float64), v.shape[:1])
             / np.broadcast_to(np.asarray(Dc_m, np.float64), v.shape[:1]))[:, None]
    return np.log(np.maximum(v * scale, 1e-300)) / LOG_SCALE


def dfeature_dlogv(feature: np.ndarray, config: GruConfig) -> np.ndarray:
    """d(feature)/d(ln V): the chain-rule factor that turns ∂δμ̂/∂feature into ∂δμ̂/∂ln V."""
    return feature if config.features in ("linear", "interval") else np.full_like(feature, 1.0 / LOG_SCALE)


def protocol_integrals(times_s, durations_s, velocities_m_s, hold_velocity_m_s=2e-9) -> tuple[np.ndarray, np.ndarray]:
    """(slip_m, held_s) (B, T): the slip since t = 0 and the time spent in holds since t = 0 at each
    sample time, exactly, from protocols given as segments: durations_s, velocities_m_s (B, S) or (S,)
    (0 is a hold, slid at hold_velocity_m_s as the simulator does); times_s (B, T) or (T,)."""
    d = np.atleast_2d(np.asarray(durations_s, np.float64))
    v = np.atleast_2d(np.asarray(velocities_m_s, np.float64))
    t = np.atleast_2d(np.asarray(times_s, np.float64))
    B = max(d.shape[0], t.shape[0])
    d, v, t = (np.broadcast_to(a, (B, a.shape[1])) for a in (d, v, t))
    starts = np.cumsum(d, axis=1) - d
    inside = np.clip(t[:, :, None] - starts[:, None, :], 0.0, d[:, None, :])  # (B, T, S): time in segment j by t
    held = v <= 0
    speed = np.where(held, hold_velocity_m_s, v)
    return (inside * speed[:, None, :]).sum(-1), (inside * held[:, None, :]).sum(-1)


def interval_feature(velocity_m_s, times_s, slip_m, held_s, config: GruConfig) -> np.ndarray:
    """The "interval" channels (B, T, 2): mean velocity over (t_{k-1}, t_k] / V_ch and the held fraction of
    that interval; at k = 0, V_0/V_ch and 0. slip_m, held_s (B, T): from `protocol_integrals`."""
    v = np.atleast_2d(np.asarray(velocity_m_s, np.float64))
    t = np.broadcast_to(np.atleast_2d(np.asarray(times_s, np.float64)), v.shape)
    slip = np.broadcast_to(np.atleast_2d(np.asarray(slip_m, np.float64)), v.shape)
    held = np.broadcast_to(np.atleast_2d(np.asarray(held_s, np.float64)), v.shape)
    dt = np.diff(t, axis=1)
    if np.any(dt <= 0):
        raise ValueError("interval features need increasing sample times")
    mean_v = np.concatenate([v[:, :1], np.diff(slip, axis=1) / dt], axis=1)
    frac = np.concatenate([np.zeros_like(v[:, :1]), np.clip(np.diff(held, axis=1) / dt, 0.0, 1.0)], axis=1)
    return np.stack([mean_v / config.V_ch_m_s, frac], -1)


def inputs(velocity_m_s, config: GruConfig, *, times_s=None, a=None, b=None, Dc_m=None,
           slip_m=None, held_s=None) -> np.ndarray:
    """Network inputs (B, T, C) float32 for velocity samples (B, T) at equally spaced times_s (B, T) or (T,)
    [and the interface's a, b, Dc_m: (B,) or scalars; for "interval" features the slip and held time
    since t = 0 at each sample, slip_m and held_s (B, T), from `protocol_integrals`]."""
    v = np.atleast_2d(np.asarray(velocity_m_s, np.float64))
    dt = None
    if times_s is not None:
        t = np.atleast_2d(np.asarray(times_s, np.float64))
        dt = np.broadcast_to(t[:, 1] - t[:, 0], v.shape[:1])
    x = velocity_feature(v, config, dt_s=dt, Dc_m=Dc_m)[..., None]
    if config.features == "interval":
        if times_s is None or slip_m is None or held_s is None:
            raise ValueError("interval features need the protocol between samples (its segments): "
                             "sample times, slip and held time")
        x = np.concatenate([x, interval_feature(v, times_s, slip_m, held_s, config)], axis=-1)
    if config.conditioned:
        if a is None or b is None:
            raise ValueError("a conditioned model needs a and b")
        ab = np.stack([np.broadcast_to(np.asarray(a, np.float64), v.shape[:1]),
                       np.broadcast_to(np.asarray(b, np.float64), v.shape[:1])], -1) / config.dmu_ch
        x = np.concatenate([x, np.broadcast_to(ab[:, None, :], (*v.shape, 2))], axis=-1)
    return np.ascontiguousarray(x, dtype=np.float32)


def targets(mu, config: GruConfig) -> np.ndarray:
    """δμ/δμ_ch (B, T) float32: the change of μ from its first sample, scaled."""
    mu = np.atleast_2d(np.asarray(mu, np.float64))
    return ((mu - mu[:, :1]) / config.dmu_ch).astype(np.float32)


@dataclass
class Structure:
    """Where a batch's jumps and holds are, from its velocity samples (numpy, (B, T) unless noted)."""

    jump_before: np.ndarray  # (B, T-1) bool: the velocity changes between sample k and k+1
    hold: np.ndarray  # bool: sample at the hold velocity
    heal_weight: np.ndarray  # 1/ln(n/N_h) at hold samples n = 1..N_h-1 of each hold, else 0
    heal_last: np.ndarray  # int: index of the last sample of the hold a sample belongs to (itself outside holds)
    heal_pair: np.ndarray  # bool: k and k+1 are consecutive samples n, n+1 ≤ N_h-1 of one hold
    after_jump: np.ndarray  # bool: one of the 3 samples after a jump


def structure(velocity_m_s) -> Structure:
    v = np.atleast_2d(np.asarray(velocity_m_s, np.float64))
    B, T = v.shape
    jump = ~np.isclose(v[:, 1:], v[:, :-1], rtol=1e-9, atol=0.0)
    hold = v <= HOLD_MAX_M_S
    weight = np.zeros((B, T))
    last = np.tile(np.arange(T), (B, 1))
    pair = np.zeros((B, T), bool)
    for i in range(B):
        k = 0
        while k < T:
            if not hold[i, k]:
                k += 1
                continue
            start = k
            while k < T and hold[i, k]:
                k += 1
            length = k - start  # N_h
            last[i, start:k] = k - 1
            if length >= 2:
                n = np.arange(1, length)  # n = 1 .. N_h - 1
                weight[i, start:start + length - 1] = 1.0 / np.log(n / length)
                pair[i, start:start + length - 2] = True
    after = np.zeros((B, T), bool)
    for shift in (1, 2, 3):  # jump[:, k] is between samples k and k+1: samples k+1 .. k+3 follow it
        after[:, shift:] |= jump[:, : T - shift]
    return Structure(jump, hold, weight, last, pair, after)


# ---------------------------------------------------------------- losses (torch)

def loss_terms(model: FrictionGRU, x: torch.Tensor, y: torch.Tensor, s: dict, terms=(), *, a_scaled=None):
    """(total, {name: per-batch mean}) for the terms named ("ic", "de", "heal", "de_ad"); MSE always.

    s: the Structure as tensors (jump_before, heal_weight, heal_last, heal_pair, hold, dfeat);
    a_scaled (B,): a/δμ_ch for DE-ad (None or NaN rows: the spread over jumps instead)."""
    need_h = "de_ad" in terms
    if need_h:
        p, h = model.forward_with_states(x)
    else:
        p = model(x)
    parts = {"mse": ((p - y) ** 2).mean(1)}
    if "ic" in terms:
        parts["ic"] = (p[:, 0] - y[:, 0]) ** 2
    if "de" in terms:
        dp, dy = p[:, 1:] - p[:, :-1], y[:, 1:] - y[:, :-1]
        parts["de"] = (s["jump_before"] * (dp - dy) ** 2).sum(1)
    if "heal" in terms:
        p_last = torch.gather(p, 1, s["heal_last"])
        r = (p - p_last) * s["heal_weight"]
        parts["heal"] = (s["heal_pair"][:, :-1] * (r[:, 1:] - r[:, :-1]) ** 2).sum(1)
    if need_h:
        parts["de_ad"] = _direct_effect_loss(model, x, h, s, a_scaled)
    total = parts["mse"].mean()
    for name in terms:
        total = total + LOSS_WEIGHTS[name] * parts[name].mean()
    return total, {k: float(v.detach().mean()) for k, v in parts.items()}


def direct_effect(model: FrictionGRU, x: torch.Tensor, h: torch.Tensor, rows, cols, dfeat, *, create_graph=True):
    """∂δμ̂_k/∂ln V_k at samples (rows, cols), cols ≥ 1: autograd through step k, h_{k-1} held."""
    x_sel = x[rows, cols].detach().clone().requires_grad_(True)
    p = model.step(x_sel, h[rows, cols - 1])
    (g,) = torch.autograd.grad(p.sum(), x_sel, create_graph=create_graph)
    return g[:, 0] * dfeat[rows, cols]


def _direct_effect_loss(model, x, h, s, a_scaled):
    B = x.shape[0]
    post = torch.zeros_like(s["hold"])
    post[:, 1:] = s["jump_before"] & ~s["hold"][:, 1:]  # sliding samples right after a jump
    rows, cols = torch.nonzero(post, as_tuple=True)
    out = torch.zeros(B, device=x.device)
    if rows.numel() == 0:
        return out
    d = direct_effect(model, x, h, rows, cols, s["dfeat"])
    known = a_scaled is not None and torch.isfinite(a_scaled).all()
    if known:
        return out.index_add(0, rows, (d - a_scaled[rows]) ** 2)
    count = torch.zeros(B, device=x.device).index_add(0, rows, torch.ones_like(d))
    mean = torch.zeros(B, device=x.device).index_add(0, rows, d) / count.clamp(min=1)
    return out.index_add(0, rows, (d - mean[rows]) ** 2)


def structure_tensors(st: Structure, x: np.ndarray, config: GruConfig, device="cpu") -> dict:
    dfeat = dfeature_dlogv(x[..., 0].astype(np.float64), config)
    return {"jump_before": torch.as_tensor(st.jump_before, dtype=torch.float32, device=device).bool(),
            "hold": torch.as_tensor(st.hold, device=device),
            "heal_weight": torch.as_tensor(st.heal_weight, dtype=torch.float32, device=device),
            "heal_last": torch.as_tensor(st.heal_last, dtype=torch.int64, device=device),
            "heal_pair": torch.as_tensor(st.heal_pair, dtype=torch.float32, device=device),
            "dfeat": torch.as_tensor(dfeat, dtype=torch.float32, device=device)}


# ---------------------------------------------------------------- error (paper eq. 15)

def percent_error(pred, target, mask=None) -> np.ndarray:
    """100·‖pred − target‖₂/‖target‖₂ per protocol (over the masked samples if a mask is given; NaN where
    the mask is empty or the target is 0 there)."""
    p, t = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    if mask is not None:
        p, t = p * mask, t * mask
    num = np.linalg.norm(p - t, axis=-1)
    den = np.linalg.norm(t, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 100.0 * num / den, np.nan)
