"""What the studio runs on: the device, the shipped models (loaded once) and their card (no Qt).

`load_environment()` takes ~0.1–1 s (torch, the model files): the GUI calls it in a worker at
start and keeps `models` in StudioState.models, which every engine call receives. A missing or
corrupt model never stops the studio: candidates then come from θ-space search, and
`model_ok` is False with the reason in `model_detail`.
"""
from __future__ import annotations

import json
import logging

log = logging.getLogger("studio.state")


def load_environment() -> dict:
    """{"device", "models": {"generator", "vae", "janus"}, "model" (one line), "model_detail", "model_ok"}."""
    from studio.models import DEFAULT_CVAE, ModelError, load_generator, load_janus, load_vae

    card_path = DEFAULT_CVAE.with_name(DEFAULT_CVAE.name.replace(".safetensors", ".card.json"))
    env = {"device": _device(), "models": {}}
    model_error = ""
    try:
        env["models"]["generator"] = load_generator()
    except (ModelError, OSError) as exc:  # the studio works without a model, more slowly
        model_error = str(exc)
    try:
        env["models"]["vae"] = load_vae()
    except (ModelError, OSError) as exc:  # the VAE is optional: vae_cmaes falls back to θ-space CMA-ES
        log.info("VAE not loaded: %s", exc)
    try:
        env["models"]["janus"] = load_janus()
    except (ModelError, OSError) as exc:  # optional: the janus engines fall back; the Map loads it or says why
        log.info("Janus model not loaded: %s", exc)
    card = {}
    if card_path.is_file():
        try:
            card = json.loads(card_path.read_text())
        except (OSError, ValueError) as exc:
            model_error = model_error or f"{card_path}: unreadable card ({exc})"
    gen = env["models"].get("generator")
    if gen is None:
        env.update(model="none (θ-space search)", model_detail=model_error or f"{card_path} not found",
                   model_ok=False)
        return env
    parts = [str(getattr(gen, "name", "") or f"{card.get('kind', 'cvae')}-{card.get('config', {}).get('name', '')}")]
    if isinstance(card.get("parameters"), int):
        parts.append(f"{card['parameters'] / 1e3:.0f} k parameters")
    smape = first_smape(card)
    if smape is not None:
        parts.append(f"{smape[0].replace('_', ' ')} {smape[1]:.1f} %")
    parts.append(f"on {getattr(gen, 'device', '?')}")
    env.update(model=" · ".join(parts), model_ok=True,
               model_detail=json.dumps({k: v for k, v in card.items() if not isinstance(v, (dict, list))})[:600])
    return env


def _device() -> str:
    import jax
    import torch

    device = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU"
    return f"{device} · JAX {jax.devices()[0].platform.upper()}"


def first_smape(card: dict, prefix: str = ""):
    """The first sMAPE figure found in a model card (its headline metric), as (key, value)."""
    for key, value in card.items():
        if isinstance(value, dict):
            found = first_smape(value, f"{key}.")
            if found is not None:
                return found
        elif "smape" in key.lower() and isinstance(value, (int, float)):
            return key, float(value)
    return None
