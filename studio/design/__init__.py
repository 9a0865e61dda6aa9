"""studio.design — inverse-design engines yielding Progress (no Qt, no torch at import).

    from studio.design import run, Target
    designs = run("hybrid", Target(friction_N, N=64), time_budget_s=5.0)

Engines are declared in studio.design.engines (ENGINES, call, run); their code is in
studio.design.search; Target, Design, Progress in studio.design.core; the job protocol in studio.jobs.
"""
from studio.design.core import Cancelled, Design, JobControl, Progress, Target, TargetError  # noqa: F401


def run(engine_name: str, target, **kw):
    """Drive engine `engine_name` to completion and return its designs, best first (see engines.run)."""
    from studio.design.engines import run as _run
    return _run(engine_name, target, **kw)
