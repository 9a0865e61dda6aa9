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
    name = str(getattr(gen, "name", "") or f"{card.get('kind', 'cvae')}-{card.get('config', {}).get('name', '')}")
    env.update(model=model_summary(card, name, str(getattr(gen, "device", "?"))), model_ok=True,
               model_detail=model_detail(card))
    return env


def _device() -> str:
    import jax
    import torch

    device = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU"
    return f"{device} · JAX {jax.devices()[0].platform.upper()}"


def model_summary(card: dict, name: str, device: str) -> str:
    """The status bar's line about the model: its name and size, and its law error on held-out targets
    (what a user needs to know; the parameter sMAPE, which reads as "the model is bad", is only in the
    details: model_detail)."""
    parts = [name]
    if isinstance(card.get("parameters"), int):
        parts.append(f"{card['parameters'] / 1e3:.0f} k parameters")
    held_out = held_out_error(card)
    if held_out is not None:
        parts.append(f"law error on held-out targets {held_out['median']:.1f} % (median sMAPE, best of "
                     f"{held_out['k']})")
    parts.append(f"on {device}")
    return " · ".join(parts)


def held_out_error(card: dict) -> dict | None:
    """The model's functional error on held-out targets, from its card's evaluation (`friction-studio
    evaluate`): the sMAPE between each target law and the law of the best of k candidates the model
    proposed for it, over targets it never saw in training. {"median", "p95", "mean", "targets", "k",
    "data"}, or None when the card has no evaluation of this model."""
    evaluation = card.get("evaluation") if isinstance(card.get("evaluation"), dict) else {}
    results = evaluation.get("results") if isinstance(evaluation.get("results"), dict) else {}
    own = results.get(card.get("kind", "")) or {}
    k = evaluation.get("k", 16)
    figure = own.get(f"functional_smape_best_of_{k}") if isinstance(own, dict) else None
    if not isinstance(figure, dict) or not isinstance(figure.get("median"), (int, float)):
        return None
    return {"median": float(figure["median"]), "p95": float(figure.get("p95", float("nan"))),
            "mean": float(figure.get("mean", float("nan"))), "targets": evaluation.get("targets", figure.get("count")),
            "k": int(k), "data": evaluation.get("data", "?")}


def model_detail(card: dict) -> str:
    """The model card in words (the status bar's tooltip): what the law error means, then the rest."""
    lines = []
    held_out = held_out_error(card)
    if held_out is not None:
        lines.append(f"Law error on held-out targets: for each of {held_out['targets']} target laws from "
                     f"{held_out['data']} that the model never saw in training, the best of {held_out['k']} "
                     f"candidates it proposed is within {held_out['median']:.2f} % sMAPE of the target (median; "
                     f"95th percentile {held_out['p95']:.2f} %). Lower is better.")
    best_val = card.get("training", {}).get("best_val", {}) if isinstance(card.get("training"), dict) else {}
    if isinstance(best_val.get("val_param_smape_median"), (int, float)):
        lines.append(f"Parameter sMAPE (training validation, median) {best_val['val_param_smape_median']:.1f} %: how "
                     "far the proposed design parameters θ are from those that made each validation law. Many "
                     "different designs give the same law, so this is large by nature; the law error above is "
                     "what matters for a design.")
    scalars = {k: v for k, v in card.items() if not isinstance(v, (dict, list))}
    if scalars:
        lines.append(json.dumps(scalars)[:400])
    return "\n".join(lines)
