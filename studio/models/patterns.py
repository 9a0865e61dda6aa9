"""Contact patterns at a glance (issue 19): a convolutional autoencoder and a dual-branch CNN-MLP.

The method of Ehrich, May & Eder (arXiv 2512.05818, "Machine-learning-enabled interpretation of
tribological deformation patterns"): structural images are compressed by a convolutional
autoencoder to a 32-d feature vector; a CNN-MLP reads the image (its CNN branch starts from the
autoencoder's encoder) beside the simulation metadata (an MLP branch) and predicts the dominant
pattern. Here the image is the laid-out surface before contact, one channel per mixture component
(studio.physics.patterns.structural_image, the analogue of their grain-orientation colouring), the
metadata are the load, E*, N, the spacing and θ (META_NAMES), and the patterns are the BEM's
(studio.physics.patterns.PATTERNS). docs/patterns.md has the data, the training and the figures.

    load_pattern_model(path=None) -> PatternPredictor      (ModelError on a missing or corrupt file)
    PatternPredictor.predict(layout geometry, θ, N, clearance, rule, loads) -> PatternPrediction

One image per layout, one metadata row per load: predicting 128 loads runs the CNN once and the MLP
head on 128 rows.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from studio.models.errors import ModelError
from studio.physics import LOAD_GRID_N, THETA_NAMES, canonical, to_unit
from studio.physics.patterns import (AREA_TOLERANCE_PERCENT, DOMINATED_LOAD_SHARE, IMAGE_CHANNELS, IMAGE_PIXELS, PATTERNS, StructuralImage,
                                     interaction_estimate, largest_share, structural_image)
from studio.physics.theta import COMPONENT_SIZE, E_STAR_IDX, MU_H_IDX

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_PATTERNS = MODELS_DIR / "patterns.safetensors"
# Steps of the estimate near the 2 % tolerance: an MLP learns a sharp class boundary slowly from a smooth input
# (gradient-boosted trees on the same rows did better than the first MLPs), so the steps are given.
ESTIMATE_STEPS_PERCENT = (1.0, 1.5, AREA_TOLERANCE_PERCENT, 3.0)
LOG_CLEARANCE_RANGE = (np.log(0.025), np.log(3.2))  # the dataset's clearances (studio.data.patterns)
META_NAMES = ("log10_load_N", "E_star_MPa/10", "N/256", "log_clearance (0..1 over 0.025..3.2 mm)", "discs_rule",
              *(f"{n} (unit box, canonical)" for n in THETA_NAMES[:COMPONENT_SIZE]), "log_view_mm", "log_depth_mm",
              "flat_level (image height of the independent flat at the load)",
              "contacts (independent model, log)", "largest load share (independent model)",
              "largest load share (after the interaction steps)",
              "asinh(area change estimate %) (interaction steps and contact shape)", "|area change estimate| %",
              *(f"|estimate| > {t:g} %" for t in ESTIMATE_STEPS_PERCENT), "largest share > 1/2 (independent)",
              "largest share > 1/2 (after the interaction steps)")
KINDS = ("patterns-autoencoder", "patterns")
AREA_SCALE_PERCENT = AREA_TOLERANCE_PERCENT  # the area head's unit: the class boundary sits at ±1
AREA_CLIP = 5.0  # area changes beyond ±5 tolerances are one target (the class is certain there)


# ------------------------------------------------------------------------------------------- features

def channels_of(theta, component) -> np.ndarray:
    """Image channel of each asperity: its component's rank by mean height, highest first (θ's canonical
    order), so designs that differ only by the order of their components give the same picture."""
    mu_h = np.asarray(theta, dtype=np.float64)[MU_H_IDX]
    rank = np.empty(mu_h.size, dtype=np.int64)
    rank[np.argsort(-mu_h, kind="stable")] = np.arange(mu_h.size)
    return rank[np.asarray(component, dtype=np.int64)]


def layout_image(height_mm, radius_mm, x_mm, y_mm, component, theta, flat_lowest_mm: float,
                 angle_rad: float = 0.0, pixels: int = IMAGE_PIXELS) -> StructuralImage:
    """The structural image of a laid-out design, optionally turned by `angle_rad` (augmentation, checks)."""
    x, y = np.asarray(x_mm, dtype=np.float64), np.asarray(y_mm, dtype=np.float64)
    if angle_rad:
        c, s = np.cos(angle_rad), np.sin(angle_rad)
        x, y = c * x - s * y, s * x + c * y
    return structural_image(height_mm, radius_mm, x, y, channels_of(theta, component), flat_lowest_mm, pixels)


def metadata(image: StructuralImage, theta, height_mm, radius_mm, x_mm, y_mm, clearance_mm: float, rule: int,
             loads_N, flat_independent_mm, independent_load_N) -> np.ndarray:
    """(K, len(META_NAMES)) float32 metadata rows of one layout at K loads: what the user sees (load, E*, N,
    spacing, θ) and what the independent model says at each load (studio.physics.contact.independent_contacts:
    the flat's position [mm] and each asperity's load [N], (K,) and (K, N)), with the one-step interaction
    estimate (studio.physics.patterns.interaction_estimate): the hints the BEM's verdict depends on."""
    loads = np.asarray(loads_N, dtype=np.float64).reshape(-1)
    h = np.asarray(height_mm, dtype=np.float64)
    flat = np.asarray(flat_independent_mm, dtype=np.float64).reshape(-1)
    load = np.asarray(independent_load_N, dtype=np.float64).reshape(loads.size, h.size)
    E = float(theta[E_STAR_IDX])
    unit = np.clip(to_unit(canonical(np.asarray(theta, dtype=np.float64))), 0, 1)[:COMPONENT_SIZE]
    lo, hi = LOG_CLEARANCE_RANGE
    fixed = np.concatenate([[E / 10, h.size / 256, (np.log(clearance_mm) - lo) / (hi - lo), float(rule)], unit,
                            [np.log(image.view_mm), np.log(image.depth_mm)]])
    estimate, share = interaction_estimate(x_mm, y_mm, radius_mm, E, h[None, :] - flat[:, None], load)
    rows = np.empty((loads.size, len(META_NAMES)), dtype=np.float32)
    rows[:, 0] = np.log10(loads)
    rows[:, 1:1 + fixed.size] = fixed[None, :]
    hints = [image.level(flat, float(h.max())), np.log1p(np.count_nonzero(load > 0, axis=1)), largest_share(load),
             share, np.arcsinh(estimate), np.abs(estimate),  # arcsinh: the 2 % neighbourhood wide, the tails tame
             *(np.abs(estimate) > t for t in ESTIMATE_STEPS_PERCENT), largest_share(load) > DOMINATED_LOAD_SHARE,
             share > DOMINATED_LOAD_SHARE]
    rows[:, -len(hints):] = np.stack(hints, axis=1)
    return rows


# ------------------------------------------------------------------------------------------- networks

@dataclass
class PatternConfig:
    """Layer sizes of the autoencoder and the classifier (one config class for both kinds)."""

    kind: str = "patterns"
    pixels: int = IMAGE_PIXELS
    channels: int = IMAGE_CHANNELS
    widths: tuple = (16, 32, 64, 64)  # conv layers, each stride 2: 64 → 4 pixels
    latent_dim: int = 32
    meta_dim: int = len(META_NAMES)
    meta_hidden: int = 64
    head_hidden: int = 128
    classes: tuple = PATTERNS
    # A second output beside the classes, used in training only: the BEM's area change (the number the
    # isolated / interacting boundary is drawn on), so the network learns how far a pair is from it.
    # False in files written before it (they load as they were).
    area_head: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"], d["classes"] = list(self.widths), list(self.classes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "PatternConfig":
        d = dict(d)
        d["widths"], d["classes"] = tuple(d["widths"]), tuple(d["classes"])
        return cls(**d)


class Encoder(nn.Module):
    """Image (B, C, P, P) → latent (B, latent_dim): stride-2 convolutions, then one linear layer."""

    def __init__(self, cfg: PatternConfig):
        super().__init__()
        layers, c = [], cfg.channels
        for w in cfg.widths:
            layers += [nn.Conv2d(c, w, 3, stride=2, padding=1), nn.GELU()]
            c = w
        self.convs = nn.Sequential(*layers)
        self.side = cfg.pixels // 2 ** len(cfg.widths)
        self.fc = nn.Linear(c * self.side ** 2, cfg.latent_dim)

    def forward(self, x):
        return self.fc(self.convs(x).flatten(1))


class Decoder(nn.Module):
    def __init__(self, cfg: PatternConfig):
        super().__init__()
        widths = list(cfg.widths)[::-1]
        self.side, self.first = cfg.pixels // 2 ** len(widths), widths[0]
        self.fc = nn.Linear(cfg.latent_dim, widths[0] * self.side ** 2)
        layers = []
        for w_in, w_out in zip(widths, widths[1:] + [cfg.channels]):
            layers += [nn.GELU(), nn.ConvTranspose2d(w_in, w_out, 4, stride=2, padding=1)]
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z):
        # Linear output: a sigmoid saturated at the mostly empty background and stopped learning (measured)
        return self.deconvs(self.fc(z).view(-1, self.first, self.side, self.side))


class PatternAutoencoder(nn.Module):
    """The unsupervised stage: image → 32-d latent → image."""

    def __init__(self, cfg: PatternConfig):
        super().__init__()
        self.config = cfg
        self.encoder, self.decoder = Encoder(cfg), Decoder(cfg)

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z), z


class PatternClassifier(nn.Module):
    """The dual-branch CNN-MLP: CNN(image) ⊕ MLP(metadata) → pattern logits, for K loads of each image.

    forward(images (B, C, P, P), meta (B, K, meta_dim)) → logits (B, K, classes). The metadata are
    standardised with the training set's mean and spread, stored with the weights.
    """

    def __init__(self, cfg: PatternConfig):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg)
        self.meta = nn.Sequential(nn.Linear(cfg.meta_dim, cfg.meta_hidden), nn.GELU(),
                                  nn.Linear(cfg.meta_hidden, cfg.meta_hidden), nn.GELU())
        self.head = nn.Sequential(nn.Linear(cfg.latent_dim + cfg.meta_hidden, cfg.head_hidden), nn.GELU(),
                                  nn.Linear(cfg.head_hidden, cfg.head_hidden), nn.GELU(),
                                  nn.Linear(cfg.head_hidden, len(cfg.classes)))
        if cfg.area_head:
            self.area = nn.Linear(cfg.head_hidden, 1)
        self.register_buffer("meta_mean", torch.zeros(cfg.meta_dim))
        self.register_buffer("meta_scale", torch.ones(cfg.meta_dim))

    def forward(self, images, meta, image_features=None):
        return self.logits_and_area(images, meta, image_features)[0]

    def logits_and_area(self, images, meta, image_features=None):
        """(logits (B, K, classes), area change / AREA_SCALE_PERCENT (B, K), or None without the area head)."""
        z = self.encoder(images) if image_features is None else image_features
        m = self.meta((meta - self.meta_mean) / self.meta_scale)
        z = z[:, None, :].expand(-1, m.shape[1], -1)
        features = self.head[:-1](torch.cat([z, m], dim=-1))
        area = self.area(features)[..., 0] if self.config.area_head else None
        return self.head[-1](features), area


def build(cfg: PatternConfig) -> nn.Module:
    if cfg.kind == "patterns-autoencoder":
        return PatternAutoencoder(cfg)
    if cfg.kind == "patterns":
        return PatternClassifier(cfg)
    raise ModelError(f"model kind {cfg.kind!r} is not one of {', '.join(KINDS)}")


def load_pattern_network(path, kind: str = "patterns") -> tuple[nn.Module, dict]:
    """The network and card of a saved pattern model (SHA-256 checked; ModelError otherwise), on the CPU."""
    from studio.models.store import load_model

    model, card = load_model(path, device="cpu")
    if card["kind"] != kind:
        raise ModelError(f"{path}: is a {card['kind']} model, not {kind}")
    return model, card


# ------------------------------------------------------------------------------------------ predictor

@dataclass(eq=False)  # holds arrays: compare fields, not objects
class PatternPrediction:
    """Predicted pattern at each load: index into PATTERNS (K,), probabilities (K, classes), loads [N]."""

    loads_N: np.ndarray
    pattern: np.ndarray
    probability: np.ndarray
    names: tuple = field(default=PATTERNS)

    def name_at(self, k: int) -> str:
        return self.names[int(self.pattern[k])]


class PatternPredictor:
    """A loaded CNN-MLP: a laid-out design → its contact pattern at any loads, in milliseconds."""

    def __init__(self, model: PatternClassifier, card: dict):
        self.model, self.card = model, card

    @torch.no_grad()
    def predict(self, height_mm, radius_mm, x_mm, y_mm, component, theta, clearance_mm: float, rule: int = 0,
                loads_N=LOAD_GRID_N, max_load_N: float = 10.0) -> PatternPrediction:
        """Patterns of one layout at `loads_N` (default the 128-load grid). rule: 0 the studio's caps
        layout, 1 contact discs (older files)."""
        from studio.physics.contact import Interface, independent_contacts
        from studio.physics.layout import flat_lowest_mm

        h = np.asarray(height_mm, dtype=np.float64)
        loads = np.atleast_1d(np.asarray(loads_N, dtype=np.float64))
        E = float(theta[E_STAR_IDX])
        d, load, _ = independent_contacts(Interface.of(h, radius_mm, x_mm, y_mm, E), loads)
        flat = np.max(np.where(d > 0, h[None, :] - d, -np.inf), axis=1)
        at_max = np.flatnonzero(loads == float(max_load_N))  # the grid ends at the largest load: g_low is known
        g_low = float(flat[at_max[0]]) if at_max.size else flat_lowest_mm(h, radius_mm, E, max_load_N)
        image = layout_image(h, radius_mm, x_mm, y_mm, component, theta, g_low)
        meta = metadata(image, theta, h, radius_mm, x_mm, y_mm, clearance_mm, rule, loads, flat, load)
        logits = self.model(torch.from_numpy(image.pixels[None]), torch.from_numpy(meta[None]))[0]
        p = torch.softmax(logits, dim=-1).numpy().astype(np.float64)
        return PatternPrediction(loads, p.argmax(axis=1), p, tuple(self.model.config.classes))

    def predict_design(self, design, x_mm, y_mm, clearance_mm: float, rule: int = 0, loads_N=LOAD_GRID_N):
        """predict() for a studio.design.Design laid out at (x_mm, y_mm)."""
        from studio.physics import realize

        a = design.asperities if design.asperities is not None else realize(design.theta, design.N, design.seed)
        return self.predict(a.height_mm, a.radius_mm, x_mm, y_mm, a.component, design.theta, clearance_mm, rule,
                            loads_N)


def load_pattern_model(path=None) -> PatternPredictor:
    """The shipped contact-pattern classifier (models/patterns.safetensors) or a saved one by path."""
    model, card = load_pattern_network(DEFAULT_PATTERNS if path is None else path)
    return PatternPredictor(model, card)
