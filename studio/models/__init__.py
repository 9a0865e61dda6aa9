"""studio.models: torch CVAE / VAE / MLP, training, evaluation, shipped weights with model cards.

    load_generator(path=None) -> ConditionalGenerator (cvae, mlp) | ThetaDecoder (vae)
    load_vae(path=None) -> ThetaDecoder
    load_janus(path=None) -> JanusModel (encode, decode, predict_law, invert; studio/models/janus.py)
    ModelError (a StudioError) for a missing, corrupt or mismatched model file

Names other than ModelError load lazily, so importing the package (the CLI does, for
`--help`) does not import torch.
"""
from studio.models.errors import ModelError  # noqa: F401

_FROM_STORE = ("DEFAULT_CVAE", "DEFAULT_VAE", "DEFAULT_JANUS", "ConditionalGenerator", "ThetaDecoder", "load_generator",
               "load_vae", "load_janus")


def __getattr__(name):
    if name in _FROM_STORE:
        from studio.models import store
        return getattr(store, name)
    raise AttributeError(f"module 'studio.models' has no attribute {name!r}")
