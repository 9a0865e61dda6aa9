"""Test set-up: offscreen Qt, few threads (2-core machines), torch and JAX imported before Qt."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402,F401
import torch  # noqa: E402

torch.set_num_threads(1)

from studio.physics import enable_float64  # noqa: E402

enable_float64()  # as every entry point does, before any test builds an array


import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def janus_model():
    """A small untrained Janus model (latent 4; its law standardisation fitted to 64 designs of N = 32):
    engine, sweep and map contracts do not depend on how good the model is."""
    from studio.models.janus import Janus, JanusConfig, JanusModel
    from studio.physics import THETA_SIZE, from_unit, simulate_batch

    torch.manual_seed(0)
    config = JanusConfig(name="tiny", latent_dim=4, encoder_hidden=(16,), decoder_hidden=(16,), khronos_grid=5,
                         khronos_rank=8)
    model = Janus(config)
    theta = from_unit(np.random.default_rng(0).random((64, THETA_SIZE)))
    model.condition.fit(torch.as_tensor(np.array(simulate_batch(theta, np.full(64, 32), np.arange(64), width=32))))
    model.eval()
    return JanusModel(model, {"kind": "janus", "config": config.to_dict()})
