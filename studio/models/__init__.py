"""studio.models: torch CVAE / VAE / MLP, training, evaluation, shipped weights with model cards.

    load_generator(path=None) -> ConditionalGenerator (cvae, mlp) | ThetaDecoder (vae)
    load_vae(path=None) -> ThetaDecoder
    ModelError (a StudioError) for a missing, corrupt or mismatched model file
"""
from studio.models.errors import ModelError  # noqa: F401
from studio.models.store import (  # noqa: F401
    DEFAULT_CVAE,
    DEFAULT_VAE,
    ConditionalGenerator,
    ThetaDecoder,
    load_generator,
    load_vae,
)
