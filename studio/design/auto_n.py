"""Choosing N: candidates for one target at several asperity counts at once, and the N to propose (no Qt).

The CVAE is conditioned on N, so asking it for designs at nine counts is nine batches of
decodes, each ranked by re-simulation exactly as the studio's candidates are (the `candidates`
engine, or any engine given by name or EngineSpec). The job is a studio.jobs generator: it
yields `AutoNProgress` after each engine report and returns an `AutoN`, so it runs on the
command line (`friction-studio design --asperities auto`), in the studio's N: auto dialog (a
worker thread of the jobs table) and in tests with a stand-in engine, driven by studio.jobs.drive.

The proposal rule (documented in docs/gui.md, "Choosing N"):
    best N            the count whose best candidate has the lowest sMAPE
    smallest good N   the smallest count whose best sMAPE is within GOOD_ENOUGH_POINTS percentage
                      points of the best, or within GOOD_ENOUGH_RATIO × the best (whichever is looser)
With small-strain validity required (the default), only counts whose best design is valid are
proposed, as the board ranks valid designs first (when no count has one, every count may be).
Fewer asperities are quicker to mould and to check, so the smallest good-enough N is the one the
command line designs for; the best-of-K error is a sample statistic, so two counts a few tenths
of a point apart are not told apart by this search (hence a tolerance, not the strict minimum).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from studio.design.core import Design, JobControl, Target
from studio.errors import StudioError
from studio.physics import MAX_ASPERITIES, MIN_ASPERITIES, validate_asperity_count

GOOD_ENOUGH_POINTS = 0.5  # percentage points of sMAPE above the best that still count as good enough
GOOD_ENOUGH_RATIO = 1.2   # or this many times the best sMAPE (the looser of the two applies)
DEFAULT_COUNTS = 9        # log-spaced counts over the model's range: 16, 23, 32, 45, 64, 91, 128, 181, 256


def asperity_counts(count: int = DEFAULT_COUNTS, low: int = MIN_ASPERITIES, high: int = MAX_ASPERITIES) -> list[int]:
    """`count` log-spaced asperity counts from `low` to `high` (both included, rounded, distinct)."""
    low, high = validate_asperity_count(low), validate_asperity_count(high)
    if count < 2 or high <= low:
        raise StudioError(f"N: auto needs at least two counts between {low} and {high}")
    values = np.unique(np.rint(np.geomspace(low, high, int(count))).astype(int))
    return [int(v) for v in values]


def good_enough_limit(best_error_percent: float) -> float:
    """The largest sMAPE [%] that is good enough beside the best one (the rule above)."""
    return max(best_error_percent + GOOD_ENOUGH_POINTS, best_error_percent * GOOD_ENOUGH_RATIO)


RULE_TEXT = (f"smallest good-enough N: the fewest asperities whose best sMAPE is within {GOOD_ENOUGH_POINTS:g} "
             f"percentage points or {GOOD_ENOUGH_RATIO:g}× of the best N's (the looser)")


@dataclass
class AutoNRow:
    """The candidates at one asperity count."""

    N: int
    designs: list[Design]  # best first, scored against the target at this N

    @property
    def best(self) -> Design:
        return self.designs[0]

    @property
    def error_percent(self) -> float:
        return float(self.best.error_percent)


@dataclass
class AutoN:
    """Candidates over several N, and the two counts proposed."""

    rows: list[AutoNRow]  # by N, ascending
    rule: str = RULE_TEXT
    require_valid: bool = False  # small-strain validity required (the target's default): see `eligible`

    @property
    def counts(self) -> list[int]:
        return [r.N for r in self.rows]

    @property
    def errors_percent(self) -> list[float]:
        return [r.error_percent for r in self.rows]

    @property
    def eligible(self) -> list[AutoNRow]:
        """The counts that may be proposed: with validity required, those whose best design is
        small-strain valid (every count when none is: the proposal then says so through its designs)."""
        if self.require_valid:
            valid = [r for r in self.rows if r.best.hertz_valid]
            if valid:
                return valid
        return list(self.rows)

    @property
    def best_row(self) -> AutoNRow:
        return min(self.eligible, key=lambda r: (r.error_percent, r.N))

    @property
    def best_N(self) -> int:
        return self.best_row.N

    @property
    def limit_percent(self) -> float:
        return good_enough_limit(self.best_row.error_percent)

    @property
    def smallest_good_row(self) -> AutoNRow:
        limit = self.limit_percent
        return min((r for r in self.eligible if r.error_percent <= limit), key=lambda r: r.N)

    @property
    def smallest_good_N(self) -> int:
        return self.smallest_good_row.N

    def row(self, N: int) -> AutoNRow:
        for r in self.rows:
            if r.N == N:
                return r
        raise KeyError(N)

    def summary(self) -> dict:
        """Plain numbers for JSON: the counts, each count's best sMAPE, the two proposals and the rule."""
        return {"counts": self.counts, "best_smape_percent": [round(e, 6) for e in self.errors_percent],
                "best_N": self.best_N, "smallest_good_N": self.smallest_good_N,
                "good_enough_percent": round(self.limit_percent, 6), "rule": self.rule,
                "best_hertz_valid": [bool(r.best.hertz_valid) for r in self.rows],
                "validity_required": self.require_valid}


@dataclass
class AutoNProgress:
    """One report of the N: auto job (plain data; studio.state.jobs shows fraction, best_error, message)."""

    fraction: float
    N: int
    message: str
    best_error: float = float("nan")  # the best sMAPE so far over every count tried
    done: list[tuple[int, float]] = field(default_factory=list)  # (N, best sMAPE) of the counts finished
    iteration: int = 0


def at_count(target: Target, N: int) -> Target:
    """The same target (law, load range, material and validity settings) for another asperity count."""
    return dataclasses.replace(target, N=N)


def auto_n(target: Target, *, engine="candidates", counts: list[int] | None = None, seed: int = 0,
           count: int = 16, time_budget_s: float = 2.0, control: JobControl | None = None,
           **models) -> Iterator[AutoNProgress]:
    """The job: `engine` (a name or a studio.design.engines.EngineSpec) for `target` at each of `counts`
    (default `asperity_counts()`), `count` designs kept per N, the same job seed at every N.
    `time_budget_s` is per count. `models` (generator=, vae=, janus=) are handed to the engine.
    Returns an `AutoN`."""
    from studio.design.engines import call
    from studio.design.search import ordered

    counts = sorted({validate_asperity_count(int(n)) for n in (counts or asperity_counts())})
    if len(counts) < 2:
        raise StudioError("N: auto needs at least two asperity counts to compare")
    rows: list[AutoNRow] = []
    best = float("nan")
    for i, n in enumerate(counts):
        if control is not None:
            control.checkpoint()
        yield AutoNProgress(i / len(counts), n, f"N = {n}: proposing candidates", best,
                            [(r.N, r.error_percent) for r in rows], i)
        done = [(r.N, r.error_percent) for r in rows]
        designs = yield from _reports(call(engine, at_count(target, n), seed=seed, time_budget_s=time_budget_s,
                                           control=control, count=count, **models),
                                      lambda f, n=n, i=i, done=done: AutoNProgress(
                                          (i + min(max(f, 0.0), 1.0)) / len(counts), n,
                                          f"N = {n}: ranking candidates", best, done, i))
        if not designs:
            raise StudioError(f"N: auto: the {getattr(engine, 'name', engine)} engine returned no design at N = {n}")
        designs = ordered(designs, at_count(target, n))  # best first, valid first when validity is required
        for k, d in enumerate(designs):  # names that say where they come from (they may join the board)
            d.name = f"N{n}-{d.method or 'design'}-{k + 1}"
        rows.append(AutoNRow(n, designs))
        best = min(r.error_percent for r in rows)
        yield AutoNProgress((i + 1) / len(counts), n, f"N = {n}: best sMAPE {designs[0].error_percent:.2f} %",
                            best, [(r.N, r.error_percent) for r in rows], i + 1)
    return AutoN(rows, require_valid=target.strain_limit is not None)


def _reports(engine_job, report) -> Iterator[AutoNProgress]:
    """Run one engine inside the N: auto job: each of its Progress reports becomes `report(fraction)`
    (the jobs table shows the N: auto job's progress; the driver checks the control after each)."""
    try:
        while True:
            try:
                p = next(engine_job)
            except StopIteration as stop:
                return stop.value
            yield report(float(getattr(p, "fraction", 0.0) or 0.0))
    finally:
        engine_job.close()
