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
