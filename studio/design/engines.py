"""The design engines' registry: what each engine is called, takes and uses, and the one way to call it.

    from studio.design import engines
    gen = engines.call("hybrid", target, seed=0, time_budget_s=5.0, control=control, start=design, count=4)
    designs = engines.run("hybrid", target, time_budget_s=5.0)       # drive to the end (studio.jobs.drive)

Every engine is declared here by an `EngineSpec`: its name, its generator function (in
studio.design.search; janus's in studio.design.janus), whether it accepts a design to refine
(`start`), how many designs it keeps by default (`count`, the one keyword for it), which models it
loads, and a label and a line of help for the studio's menus and `--help`. Callers read the spec
instead of inspecting signatures, and `call` passes each engine only what it takes. An unknown name
is a StudioError, written once (`spec`). Each engine is a job in the sense of studio.jobs: the
command line, worker processes (studio.design.processes) and the studio all drive it with
`studio.jobs.drive`.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Callable, Iterator

from studio.design import janus, search
from studio.design.core import Design, JobControl, Progress, Target
from studio.design.load_range import scaled_engine
from studio.errors import StudioError
from studio.jobs import drive

# Names the studio and tests use from here (defined with the search code).
from studio.design.search import compile_refinement, reach_report  # noqa: F401


MODEL_KEYWORDS = ("generator", "vae", "janus")  # the CVAE, the unconditional VAE, the Janus model


@dataclass(frozen=True)
class EngineSpec:
    """What one design engine is and takes."""

    name: str
    run: Callable[..., Iterator[Progress]]  # the generator function: run(target, *, seed, time_budget_s, control, ...)
    label: str                              # a few words for menus
    description: str                        # one line for help texts
    takes_start: bool = False               # accepts `start=Design` (refines that design) — else searches anew
    default_count: int = 4                  # designs it returns unless `count=` says otherwise
    models: tuple[str, ...] = ()            # model keywords it uses, if given: one of MODEL_KEYWORDS

    def __call__(self, target: Target, **options) -> Iterator[Progress]:
        """The engine's generator with exactly these options (no translation; see `call`)."""
        return self.run(target, **options)


# Every engine designs on the canonical 10 N problem: load_range.scaled_engine maps a target on any load
# range to it and the designs back (physics.md §2), so no engine knows about load ranges.
ENGINES: dict[str, EngineSpec] = {spec.name: spec for spec in (
    EngineSpec("candidates", scaled_engine(search.candidates), "Candidates",
               "CVAE proposals, τ0 and B fitted, ranked by re-simulated error (seconds; a Sobol screen "
               "without the model)", default_count=16, models=("generator",)),
    EngineSpec("vae_cmaes", scaled_engine(search.vae_cmaes), "VAE + CMA-ES",
               "CMA-ES over the VAE's latent space, the published baseline (CMA-ES in θ without the model)",
               models=("vae",)),
    EngineSpec("cmaes", scaled_engine(search.cmaes), "CMA-ES",
               "CMA-ES in the normalised θ box; refines a given design from its neighbourhood", takes_start=True),
    EngineSpec("hybrid", scaled_engine(search.hybrid), "Hybrid",
               "model proposals, gradient polish, CMA-ES and polish under other realisation seeds (best)",
               takes_start=True, models=("generator",)),
    EngineSpec("janus", scaled_engine(janus.janus), "Janus inversion",
               "latent descent through the Janus model's law head from 16 starts, decoded, ranked under many "
               "realisation seeds (seconds; a Sobol screen without the model)", models=("janus",)),
    EngineSpec("hybrid_janus", scaled_engine(functools.partial(search.hybrid, proposer="janus")), "Hybrid from Janus",
               "hybrid whose proposals are the janus search's designs and seeds", takes_start=True,
               models=("janus",)),
)}


def spec(engine) -> EngineSpec:
    """The EngineSpec of `engine` (a name or a spec); an unknown name is a StudioError naming the choices."""
    if isinstance(engine, EngineSpec):
        return engine
    try:
        return ENGINES[engine]
    except (KeyError, TypeError):
        raise StudioError(f"unknown design method {engine!r}; choose one of {', '.join(ENGINES)}") from None


def call(engine, target: Target, *, seed: int = 0, time_budget_s: float = 5.0, control: JobControl | None = None,
         start: Design | None = None, count: int | None = None, max_evaluations: int | None = None,
         report_start: bool = True, **options) -> Iterator[Progress]:
    """The generator of `engine` (a name or an EngineSpec) for `target`, given only what it takes.

    `start` (a design to refine) goes to engines that take one and is ignored by the others (they
    search anew; `spec(engine).takes_start` tells a caller which); the first Progress of such a
    refinement is then `start_report` (unless `report_start` is False: a caller that reported it
    already). `count` is the number of designs to return (default: the spec's). Model keywords in
    `options` (MODEL_KEYWORDS) reach only engines that use them, and None values are dropped
    (the engine then loads the shipped model); any other option is passed through (e.g. `sigma0`).
    """
    s = spec(engine)
    kw = {k: v for k, v in options.items() if k not in MODEL_KEYWORDS}
    kw.update({k: options[k] for k in s.models if options.get(k) is not None})
    if start is not None and s.takes_start:
        kw["start"] = start
    if count is not None:
        kw["count"] = int(count)
    gen = s.run(target, seed=seed, time_budget_s=time_budget_s, control=control, max_evaluations=max_evaluations,
                **kw)
    first = start_report(target, start) if report_start and "start" in kw else None
    return gen if first is None else _after(first, gen)


def start_report(target: Target, start: Design | None) -> Progress | None:
    """The first Progress of a job refining `start`, before anything loads, starts or compiles.

    Its best is the start design scored exactly against `target` from the design's stored float64
    law (NumPy only), which the job then improves on: a refinement says at once what it starts
    from. None when the design carries no law for the target's N."""
    if start is None or start.friction_N is None or start.N != target.N:
        return None
    best = dataclasses.replace(start, error_percent=target.error(start.friction_N))
    return Progress(iteration=0, evaluations=0, best_error=best.error_percent, best=best, elapsed_s=0.0,
                    fraction=0.0, message=f"starting from {start.name or 'the design'} (loading, compiling on first use)")


def _after(first: Progress, engine: Iterator[Progress]) -> Iterator[Progress]:
    yield first
    return (yield from engine)


def run(engine, target: Target, *, on_progress: Callable[[Progress], None] | None = None,
        control: JobControl | None = None, **kw) -> list[Design]:
    """Drive engine `engine` (name or spec) to completion with `call`'s options; `on_progress` sees
    every Progress. Returns the designs, best first."""
    return drive(call(engine, target, control=control, **kw), control, on_progress)


def help_text() -> str:
    """One line per engine, for `--help` and the studio's help."""
    return "; ".join(f"{s.name}: {s.description}" for s in ENGINES.values())
