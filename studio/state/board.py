"""The board of designs: candidates, results and live jobs' best designs, with pins and the selection (no Qt).

Entries are kept best first, live ones on top. Candidates are replaced wholesale when new
ones arrive, except the pinned ones; results (finished jobs, opened files, a restored
session) stay until removed. A design job's best design shows as a live entry while the
job runs (`follow_job`) and stays as a result when it ends (`job_ended`). Every design on
the board is scored against the current target (`rescore`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from studio.design import load_range
from studio.design.core import Design, Target
from studio.design.details import details_at_load_range, facts_at_load_range
from studio.physics import HERTZ_LIMIT
from studio.physics.ranking import preferred_order
from studio.state.events import Event
from studio.state.jobs import Job

CANDIDATE, RESULT, LIVE = "candidate", "result", "live"


@dataclass(eq=False)
class Entry:
    """One design on the board."""

    design: Design
    kind: str = CANDIDATE  # candidate, result or live (a running job's best so far)
    pinned: bool = False
    job: Job | None = None  # live: the job whose best design this is
    details: object | None = None  # studio.design.details.DesignDetails of `design`, once computed
    facts: object | None = None  # studio.design.details.CardFacts of `design` (E*, largest d/R, size), once computed
    number: int = field(default_factory=itertools.count(1).__next__)  # creation order: ties sort stably

    @property
    def live(self) -> bool:
        return self.kind == LIVE


class Board:
    """The designs the user is comparing."""

    def __init__(self):
        self.entries: list[Entry] = []
        self.selected: Entry | None = None
        # The entry the user clicked, until the studio selects another one itself: new candidates keep the
        # user's choice when it is still on the board (a pinned card, a result) and select the best otherwise,
        # so ▶ refines the best design of the new set, not whatever design now fills the clicked row.
        self.chosen: Entry | None = None
        self._names = itertools.count(1)
        self.changed = Event("entries were added, removed, reordered or re-scored; callbacks get this Board")
        self.entry_changed = Event("one entry's design or kind changed in place; callbacks get the Entry")
        self.selection_changed = Event("another entry (or None) is selected, or the selected one's design "
                                       "changed; callbacks get the Entry or None")
        self.pins_changed = Event("the pinned designs changed; callbacks get list[Design]")
        self.details_changed = Event("an entry's details (band, layout) arrived; callbacks get the Entry")
        self.facts_changed = Event("an entry's card facts (E*, largest d/R, layout size) arrived; callbacks get "
                                   "the Entry")

    # --- reading -----------------------------------------------------------------------------
    def pinned(self) -> list[Design]:
        return [e.design for e in self.entries if e.pinned]

    def designs(self) -> list[Design]:
        """The designs a session or an export keeps: all but the live ones."""
        return [e.design for e in self.entries if not e.live]

    def entry_of(self, design: Design) -> Entry | None:
        return next((e for e in self.entries if e.design is design), None)

    def best(self) -> Entry | None:
        """The entry with the lowest error that is not a running job's (entries are kept best first)."""
        return next((e for e in self.entries if not e.live), self.entries[0] if self.entries else None)

    # --- changing ----------------------------------------------------------------------------
    def replace_candidates(self, designs: list[Design]) -> None:
        """New candidates replace the unpinned old ones (results, pins and live entries stay)."""
        old = [e for e in self.entries if e.kind == CANDIDATE and not e.pinned]
        reuse = old[:len(designs)]  # entries keep their identity: the selection stays on the same row
        for entry, design in zip(reuse, designs):
            self._set_design(entry, self._named(design))
        gone = old[len(designs):]
        self.entries = [e for e in self.entries if e not in gone]
        self.entries += [Entry(self._named(d)) for d in designs[len(reuse):]]
        self._sort()
        kept = self.chosen is not None and self.chosen is self.selected and self.chosen in self.entries \
            and self.chosen not in reuse  # the user's pick survived: a pinned card or a result
        if not kept:
            self.select(self.best())  # also when the selected row now holds another design

    def add(self, design: Design, kind: str = RESULT, *, select: bool = False, job: Job | None = None) -> Entry:
        entry = Entry(self._named(design), kind, job=job)
        self.entries.append(entry)
        self._sort()
        if select or self.selected is None:
            self.select(entry)
        return entry

    def update(self, entry: Entry, design: Design, kind: str | None = None) -> None:
        """Give an entry a new design (a live job's new best) or kind (a live entry becoming a result)."""
        if kind is not None:
            entry.kind = kind
        if design is not entry.design:
            self._set_design(entry, design)
        self.entry_changed.emit(entry)
        self._sort()
        if entry is self.selected:
            self.selection_changed.emit(entry)

    def remove(self, entry: Entry) -> None:
        if entry not in self.entries:
            return
        self.entries.remove(entry)
        self.changed.emit(self)
        if entry.pinned:
            self.pins_changed.emit(self.pinned())
        if entry is self.selected:
            self.selected = None
            self.select(self.entries[0] if self.entries else None)

    def clear(self) -> None:
        pins = any(e.pinned for e in self.entries)
        self.entries = []
        self.changed.emit(self)
        if pins:
            self.pins_changed.emit([])
        self.select(None)

    def select(self, entry: Entry | None) -> None:
        """The studio selects an entry (a new result, the best of new candidates)."""
        self.selected, self.chosen = entry, None
        self.selection_changed.emit(entry)

    def choose(self, entry: Entry | None) -> None:
        """The user selects an entry (a click on its card): kept when new candidates arrive, if still shown."""
        self.select(entry)
        self.chosen = entry

    def set_pinned(self, entry: Entry, on: bool) -> None:
        if entry.pinned != bool(on):
            entry.pinned = bool(on)
            self.entry_changed.emit(entry)
            self.pins_changed.emit(self.pinned())

    def set_details(self, design: Design, details) -> Entry | None:
        """Attach computed details to the entry still showing `design` (stale details are dropped)."""
        return self._attach(design, "details", details, self.details_changed)

    def set_facts(self, design: Design, facts) -> Entry | None:
        """Attach card facts to the entry still showing `design` (stale facts are dropped)."""
        return self._attach(design, "facts", facts, self.facts_changed)

    def _attach(self, design: Design, name: str, value, event: Event) -> Entry | None:
        """Something computed in a worker for `design`, put on its entry if it still shows it; `event` told."""
        entry = self.entry_of(design)
        if entry is not None:
            setattr(entry, name, value)
            event.emit(entry)
        return entry

    def rescore(self, target: Target | None) -> None:
        """Score every design against a new target (sMAPE of its own law; cheap). A target on another load
        range takes the designs with it, scaled exactly (studio.design.load_range), with their details."""
        if target is None:
            return
        for e in self.entries:
            if e.design.max_load_N != target.max_load_N and not e.live:
                old = e.design.max_load_N
                e.design = load_range.at_load_range(e.design, target.max_load_N)
                e.details = details_at_load_range(e.details, old, target.max_load_N)
                e.facts = facts_at_load_range(e.facts, old, target.max_load_N)
            if e.design.friction_N is not None and e.design.max_load_N == target.max_load_N:
                e.design.error_percent = target.error(e.design.friction_N)
        self._sort()

    # --- design jobs --------------------------------------------------------------------------
    def follow_job(self, job: Job) -> None:
        """Show a running job's best design as a live entry (jobs without designs are ignored)."""
        best = job.best
        if best is None or best.friction_N is None or not job.active:
            return
        entry = next((e for e in self.entries if e.job is job), None)
        if entry is None:
            best.name = best.name or job.name
            self.add(best, LIVE, job=job)
        elif entry.design is not best:
            best.name = best.name or job.name
            self.update(entry, best)

    def job_ended(self, job: Job) -> None:
        """A finished job's best design becomes a selected result; a stopped one keeps its best so far."""
        entry = next((e for e in self.entries if e.job is job), None)
        if job.state == "finished":
            if entry is not None:
                self.remove(entry)
            designs = job.result if isinstance(job.result, list) else []
            if designs and isinstance(designs[0], Design):
                self.add(designs[0], RESULT, select=True)
        elif entry is not None:
            entry.job = None
            self.update(entry, job.best or entry.design, kind=RESULT)

    # --- helpers ------------------------------------------------------------------------------
    def _named(self, design: Design) -> Design:
        """Give a design a name no other entry has (files and sessions refer to designs by name)."""
        taken = {e.design.name for e in self.entries if e.design is not design}
        while not design.name or design.name in taken:
            design.name = f"{design.method or 'design'}-{next(self._names)}"
        return design

    def _set_design(self, entry: Entry, design: Design) -> None:
        entry.design, entry.details, entry.facts = design, None, None

    def _sort(self) -> None:
        # Live entries first; then the one ranking (studio.physics.ranking.preferred_order): by error, and
        # an invalid design never ahead of a valid one within 0.1 % (validity as the engines computed it;
        # a design whose strain nobody computed yet counts as valid: the board computes no physics).
        entries = sorted(self.entries, key=lambda e: (not e.live, e.number))
        live = [e for e in entries if e.live]
        rest = [e for e in entries if not e.live]
        errors = [np.inf if e.design.error_percent is None else e.design.error_percent for e in rest]
        valid = [_valid(e) for e in rest]
        self.entries[:] = live + [rest[i] for i in preferred_order(errors, valid)] if rest else live
        self.changed.emit(self)


def _valid(e: Entry) -> bool:
    """Small-strain validity as already known (the engines' value, else the card facts'); unknown: valid."""
    strain = e.design.known_strain
    if strain is None and e.facts is not None:
        strain = e.facts.max_d_over_R
    return strain is None or strain <= HERTZ_LIMIT
