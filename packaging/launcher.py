"""Entry point of the frozen (PyInstaller) Friction Studio: the same `studio.cli.main` as the
`friction-studio` console script.

In the one-folder bundle the data travel beside the code: dist/friction-studio/_internal/models
and _internal/resources. The studio finds them through paths relative to its own modules
(Path(__file__).parents[2] / "models"), and a frozen module's __file__ is
sys._MEIPASS/studio/..., so the same lookup works from source and frozen.
"""
from __future__ import annotations

import multiprocessing
import sys
import warnings

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen program re-executes itself for child processes
    # matplotlib is left out of the bundle (the studio does not plot with it); cma warns about that
    # on import although the studio never calls cma.plot().
    warnings.filterwarnings("ignore", message="Could not import matplotlib", category=UserWarning,
                            module=r"cma(\.|$)")
    from studio.cli import main

    sys.exit(main())
