"""Torch modules: the CVAE, the unconditional VAE and the MLP regressor, with output heads
that are valid by construction (spec/physics.md §3).

Every model ends in `ThetaHead`, which maps 23 unconstrained numbers to a θ in the unit box
[0, 1]^23 in canonical order (weights on the simplex, components by mean height, highest first):

    weights  w = softmax(r_w)                               (sum 1, each in [0, 1])
    heights  mu_h_1 = σ(r_1),  mu_h_k = mu_h_{k-1} · σ(r_k)  (non-increasing, in [0, 1])
    others   σ(r)                                            (each in [0, 1] of its box)

so a decoded design never needs clamping. `unit_to_theta` maps the unit box to the physical box
with studio.physics.from_unit (the one home of the bounds).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from studio.physics import LOAD_GRID_N, MAX_ASPERITIES, MIN_ASPERITIES, THETA_SIZE
from studio.physics import MU_H_IDX, W_IDX

N_LOADS = len(LOAD_GRID_N)
OTHER_IDX = np.array(sorted(set(range(THETA_SIZE)) - set(W_IDX) - set(MU_H_IDX)))
MODEL_KINDS = ("cvae", "vae", "mlp")


class CardConfig:
    """`to_dict` / `from_dict` of a config dataclass as stored in a model card (JSON): its layer-size
    tuples become lists and back. ModelConfig and Janus's JanusConfig share it."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict):
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass
class ModelConfig(CardConfig):
    """Layer sizes and the condition's normalisation; `paper` and `compact` are the two presets."""

    kind: str = "cvae"
    name: str = "compact"
    latent_dim: int = 56
    encoder_hidden: tuple[int, ...] = (512, 512)
    decoder_hidden: tuple[int, ...] = (512, 512, 512)
    law_features: str = "log"  # "log": standardised log F (128); "shape+scale": F/F_last (128) + log F_last
    activation: str = "silu"

    @property
    def condition_dim(self) -> int:
        """Law features plus the asperity count."""
        return N_LOADS + (1 if self.law_features == "log" else 2)


def preset(kind: str, name: str) -> ModelConfig:
    """The `paper` (published sizes: encoder 152→1915→1723→767→56, decoder 185→347→308→328→23)
    or `compact` (trains on a 2-core CPU in ≤ 30 min) configuration of a model kind."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    if name == "paper":
        cfg = ModelConfig(kind=kind, name=name, latent_dim=56, encoder_hidden=(1915, 1723, 767),
                          decoder_hidden=(347, 308, 328))
    elif name == "compact":
        cfg = ModelConfig(kind=kind, name=name, latent_dim=56, encoder_hidden=(384, 384),
                          decoder_hidden=(512, 512, 512))
    else:
        raise ValueError(f"unknown config {name!r}; choose paper or compact")
    if kind == "vae":
        cfg.latent_dim = 16  # CMA-ES searches this space: keep it small
        cfg.encoder_hidden, cfg.decoder_hidden = (256, 256), (256, 256)
        if name == "paper":
            cfg.encoder_hidden, cfg.decoder_hidden = (1915, 1723, 767), (347, 308, 328)
    if kind == "mlp":
        cfg.latent_dim = 0
    return cfg


def _mlp(sizes, activation: str) -> nn.Sequential:
    act = {"silu": nn.SiLU, "relu": nn.ReLU, "gelu": nn.GELU}[activation]
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), act()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class ThetaHead(nn.Module):
    """23 unconstrained numbers → θ in the unit box, canonical order, valid by construction."""

    def __init__(self):
        super().__init__()
        self.register_buffer("w_idx", torch.as_tensor(W_IDX), persistent=False)
        self.register_buffer("mu_h_idx", torch.as_tensor(MU_H_IDX), persistent=False)
        self.register_buffer("other_idx", torch.as_tensor(OTHER_IDX), persistent=False)

    def forward(self, raw: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(raw)
        out[..., self.w_idx] = torch.softmax(raw[..., self.w_idx], dim=-1)
        # Cumulative product of fractions in (0, 1): each mean height ≤ the one before.
        out[..., self.mu_h_idx] = torch.cumprod(torch.sigmoid(raw[..., self.mu_h_idx]), dim=-1)
        out[..., self.other_idx] = torch.sigmoid(raw[..., self.other_idx])
        return out


class ConditionEncoder(nn.Module):
    """(F on the load grid [N], N) → normalised condition features; statistics are buffers set from data."""

    def __init__(self, law_features: str):
        super().__init__()
        if law_features not in ("log", "shape+scale"):
            raise ValueError(f"law_features must be 'log' or 'shape+scale', got {law_features!r}")
        self.law_features = law_features
        width = N_LOADS + (0 if law_features == "log" else 1)
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))

    def raw(self, friction_N: torch.Tensor) -> torch.Tensor:
        f = torch.clamp(friction_N, min=1e-12)
        if self.law_features == "log":
            return torch.log(f)
        last = f[..., -1:]
        return torch.cat([f / last, torch.log(last)], dim=-1)

    def fit(self, friction_N: torch.Tensor) -> None:
        """Set the standardisation from a sample of training laws."""
        x = self.raw(friction_N.double())
        self.mean.copy_(x.mean(0).float())
        self.std.copy_(x.std(0).clamp(min=1e-6).float())

    def forward(self, friction_N: torch.Tensor, n_asperities: torch.Tensor) -> torch.Tensor:
        x = (self.raw(friction_N) - self.mean) / self.std
        n = (n_asperities.to(x.dtype) - MIN_ASPERITIES) / (MAX_ASPERITIES - MIN_ASPERITIES)
        return torch.cat([x, 2.0 * n[..., None] - 1.0], dim=-1)


class CVAE(nn.Module):
    """q(z | θ, c) and p(θ | z, c) with c = (normalised law, N); prior N(0, I)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config.condition_dim
        self.condition = ConditionEncoder(config.law_features)
        self.encoder = _mlp((THETA_SIZE + c, *config.encoder_hidden, 2 * config.latent_dim), config.activation)
        self.decoder = _mlp((config.latent_dim + c, *config.decoder_hidden, THETA_SIZE), config.activation)
        self.head = ThetaHead()

    def encode(self, theta_unit, cond):
        mu, logvar = self.encoder(torch.cat([theta_unit, cond], -1)).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z, cond):
        return self.head(self.decoder(torch.cat([z, cond], -1)))

    def forward(self, theta_unit, friction_N, n_asperities):
        """Reconstruction (unit box), posterior mean and log-variance."""
        cond = self.condition(friction_N, n_asperities)
        mu, logvar = self.encode(theta_unit, cond)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z, cond), mu, logvar


class VAE(nn.Module):
    """Unconditional VAE over θ with the same valid-by-construction head."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder = _mlp((THETA_SIZE, *config.encoder_hidden, 2 * config.latent_dim), config.activation)
        self.decoder = _mlp((config.latent_dim, *config.decoder_hidden, THETA_SIZE), config.activation)
        self.head = ThetaHead()

    def encode(self, theta_unit):
        mu, logvar = self.encoder(theta_unit).chunk(2, dim=-1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z):
        return self.head(self.decoder(z))

    def forward(self, theta_unit, friction_N=None, n_asperities=None):
        mu, logvar = self.encode(theta_unit)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z), mu, logvar


class MLPRegressor(nn.Module):
    """Deterministic baseline: condition → one θ, same head."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.condition = ConditionEncoder(config.law_features)
        self.net = _mlp((config.condition_dim, *config.decoder_hidden, THETA_SIZE), config.activation)
        self.head = ThetaHead()

    def forward(self, theta_unit, friction_N, n_asperities):
        return self.head(self.net(self.condition(friction_N, n_asperities))), None, None


def build(config) -> nn.Module:
    """The module of a ModelConfig (cvae, vae, mlp) or a JanusConfig (janus)."""
    if config.kind == "janus":
        from studio.models.janus import Janus
        return Janus(config)
    return {"cvae": CVAE, "vae": VAE, "mlp": MLPRegressor}[config.kind](config)


def config_from_dict(d: dict):
    """A card's `config` back to its dataclass (JanusConfig for kind janus, else ModelConfig)."""
    if d.get("kind") == "janus":
        from studio.models.janus import JanusConfig
        return JanusConfig.from_dict(d)
    return ModelConfig.from_dict(d)


def unit_to_theta(unit) -> np.ndarray:
    """Unit-box output of a head → θ float64 in the physical box (studio.physics.from_unit)."""
    from studio.physics import from_unit

    if isinstance(unit, torch.Tensor):
        unit = unit.detach().cpu().double().numpy()
    return from_unit(np.asarray(unit, dtype=np.float64))


__all__ = ["CardConfig", "ModelConfig", "config_from_dict", "preset", "ThetaHead", "CVAE", "VAE", "MLPRegressor",
           "build", "unit_to_theta", "MODEL_KINDS"]
