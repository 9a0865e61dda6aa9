"""Shipped weights (safetensors) with a model card (JSON), and the loaded generators the design engines use.

A model NAME is two files side by side: NAME.safetensors (weights) and NAME.card.json (config,
normalisation, data, training, evaluation and the SHA-256 of the weights file). Loading checks
the card and the hash before building the model; any mismatch raises ModelError.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from studio.files import atomic_write_bytes, sha256_file
from studio.models.errors import ModelError
from studio.models.networks import build, config_from_dict, unit_to_theta
from studio.physics import LOAD_GRID_N, validate_asperity_count

CARD_FORMAT = 1
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
DEFAULT_CVAE = MODELS_DIR / "cvae-compact.safetensors"
DEFAULT_VAE = MODELS_DIR / "vae-compact.safetensors"
DEFAULT_JANUS = MODELS_DIR / "janus-compact.safetensors"


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def paths(path) -> tuple[Path, Path]:
    """(weights, card) paths of a model given either file or the common stem."""
    path = Path(path)
    name = path.name
    for suffix in (".safetensors", ".card.json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(name + ".safetensors"), path.with_name(name + ".card.json")


def save_model(model: torch.nn.Module, path, card: dict) -> dict:
    """Write NAME.safetensors then NAME.card.json (both atomically); returns the card as written."""
    from safetensors.torch import save

    weights_path, card_path = paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(weights_path, save(state, metadata={"kind": model.config.kind}))
    card = dict(card)
    card.update(format=CARD_FORMAT, kind=model.config.kind, config=model.config.to_dict(),
                weights_file=weights_path.name, weights_sha256=sha256_file(weights_path),
                weights_bytes=weights_path.stat().st_size,
                parameters=int(sum(p.numel() for p in model.parameters())))
    write_card(card_path, card)
    return card


def write_card(path, card: dict) -> Path:
    """Write a model's card (NAME.card.json; `path` either file or the stem) atomically, as JSON."""
    _, card_path = paths(path)
    atomic_write_bytes(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card_path


def read_card(path) -> dict:
    _, card_path = paths(path)
    if not card_path.is_file():
        raise ModelError(f"{card_path}: model card not found (train a model with `friction-studio train`)")
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{card_path}: not a readable model card ({exc})") from None
    for key in ("format", "kind", "config", "weights_sha256"):
        if key not in card:
            raise ModelError(f"{card_path}: model card lacks field {key!r}")
    if card["format"] != CARD_FORMAT:
        raise ModelError(f"{card_path}: card format {card['format']!r} is not {CARD_FORMAT}")
    return card


def load_model(path, device: str | None = None) -> tuple[torch.nn.Module, dict]:
    """The torch module and card of a saved model, after checking the weights' SHA-256."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_path, card_path = paths(path)
    card = read_card(path)
    if not weights_path.is_file():
        raise ModelError(f"{weights_path}: weights file not found (card {card_path.name} names it)")
    digest = sha256_file(weights_path)
    if digest != card["weights_sha256"]:
        raise ModelError(f"{weights_path}: SHA-256 {digest[:12]}… does not match its card "
                         f"({card['weights_sha256'][:12]}…); the file is corrupt or was replaced")
    try:
        if card["kind"] == "gru":  # the friction-dynamics GRU (studio/models/gru.py)
            from studio.models import gru

            model = gru.build(gru.GruConfig.from_dict(card["config"]))
        elif card["kind"].startswith("patterns"):  # the contact-pattern models (studio/models/patterns.py)
            from studio.models import patterns

            model = patterns.build(patterns.PatternConfig.from_dict(card["config"]))
        else:
            model = build(config_from_dict(card["config"]))  # cvae, vae, mlp, janus
        state = load_file(str(weights_path))
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"{weights_path}: weights do not fit the card's {card['kind']} config ({exc})") from None
    device = device or default_device()
    model.to(device).eval()
    return model, card


def _law_tensor(law_N, device) -> torch.Tensor:
    law = np.asarray(law_N, dtype=np.float32)
    if law.shape[-1] != len(LOAD_GRID_N) or law.ndim not in (1, 2):
        raise ModelError(f"friction law must have {len(LOAD_GRID_N)} points on the load grid "
                         f"(shape (128,) or (B, 128)), got shape {law.shape}")
    if not np.all(np.isfinite(law)):
        raise ModelError("friction law contains a value that is not a finite number")
    return torch.as_tensor(law, device=device)


class ConditionalGenerator:
    """A loaded CVAE: law (and N) → candidate designs θ, valid by construction."""

    def __init__(self, model, card: dict):
        self.model, self.card = model, card
        self.device = str(next(model.parameters()).device)
        self.latent_dim = model.config.latent_dim
        self.kind = card["kind"]
        # Prior draws are scaled by this temperature (chosen on validation targets, stored in the card).
        self.temperature = float(card.get("sampling", {}).get("temperature", 1.0))

    @torch.no_grad()
    def sample(self, law_N, N, k: int = 16, seed: int = 0, temperature: float | None = None) -> np.ndarray:
        """k designs θ float64 for a law (128,) → (k, 23), or for laws (B, 128) → (B, k, 23).

        N is the asperity count (int, or (B,) for a batch). The seed fixes the latent draws;
        z ~ N(0, temperature² I) (default: the card's temperature).
        """
        tau = self.temperature if temperature is None else float(temperature)
        law = _law_tensor(law_N, self.device)
        single = law.ndim == 1
        law = law.reshape(-1, law.shape[-1])
        counts = np.broadcast_to(np.asarray(N), (law.shape[0],))
        for n in counts:
            validate_asperity_count(n)
        n_t = torch.as_tensor(counts.astype(np.int64), device=self.device)
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        z = tau * torch.randn((law.shape[0], int(k), self.latent_dim), generator=gen).to(self.device)
        if self.kind == "cvae":
            cond = self.model.condition(law, n_t)
            cond = cond[:, None, :].expand(-1, int(k), -1)
            unit = self.model.decode(z, cond)
        else:  # mlp: one deterministic answer, repeated
            unit = self.model(None, law, n_t)[0][:, None, :].expand(-1, int(k), -1)
        theta = unit_to_theta(unit)
        return theta[0] if single else theta


class ThetaDecoder:
    """A loaded unconditional VAE: latent z (B, latent_dim) → θ (B, 23) float64, valid by construction."""

    def __init__(self, model, card: dict):
        self.model, self.card = model, card
        self.device = str(next(model.parameters()).device)
        self.latent_dim = model.config.latent_dim
        self.kind = card["kind"]

    @torch.no_grad()
    def decode(self, z) -> np.ndarray:
        z = torch.as_tensor(np.asarray(z, dtype=np.float32), device=self.device)
        single = z.ndim == 1
        if z.shape[-1] != self.latent_dim:
            raise ModelError(f"latent vector must have {self.latent_dim} entries, got shape {tuple(z.shape)}")
        theta = unit_to_theta(self.model.decode(z.reshape(-1, self.latent_dim)))
        return theta[0] if single else theta

    @torch.no_grad()
    def encode(self, theta) -> np.ndarray:
        """Posterior mean z of designs θ (B, 23) (e.g. to start a latent search from a known design)."""
        from studio.physics import canonical, to_unit

        unit = np.clip(to_unit(canonical(np.atleast_2d(theta))), 0, 1).astype(np.float32)
        mu, _ = self.model.encode(torch.as_tensor(unit, device=self.device))
        return mu.cpu().double().numpy()

    def sample(self, k: int, seed: int = 0) -> np.ndarray:
        """k designs from the prior."""
        z = np.random.default_rng(seed).standard_normal((k, self.latent_dim))
        return self.decode(z)


def load_generator(path=None, device: str | None = None):
    """The shipped CVAE (default models/cvae-compact.safetensors) or any saved model by path.

    Returns a ConditionalGenerator (cvae, mlp) or a ThetaDecoder (vae); raises ModelError when
    the file is missing, corrupt or does not match its card.
    """
    model, card = load_model(DEFAULT_CVAE if path is None else path, device)
    if card["kind"] == "janus":
        from studio.models.janus import JanusModel
        return JanusModel(model, card)
    return ThetaDecoder(model, card) if card["kind"] == "vae" else ConditionalGenerator(model, card)


def load_vae(path=None, device: str | None = None) -> ThetaDecoder:
    """The shipped unconditional VAE (default models/vae-compact.safetensors)."""
    gen = load_generator(DEFAULT_VAE if path is None else path, device)
    if not isinstance(gen, ThetaDecoder):
        raise ModelError(f"{path}: is a {gen.kind} model, not an unconditional VAE")
    return gen


def load_janus(path=None, device: str | None = None):
    """The shipped Janus model (default models/janus-compact.safetensors) as a JanusModel."""
    from studio.models.janus import JanusModel

    gen = load_generator(DEFAULT_JANUS if path is None else path, device)
    if not isinstance(gen, JanusModel):
        raise ModelError(f"{path}: is a {gen.kind} model, not a Janus model")
    return gen
