"""What the user is choosing between: N: auto's proposal and the designs in the compare view (no Qt).

    AutoNState   the latest N: auto result (studio.design.auto_n.AutoN) for the target it was made for;
                 `apply(N)` sets the target's N (one undo step, through TargetState.set_N)
    Comparison   the two or three designs compared side by side and their facts
                 (studio.design.compare.DesignFacts) once the compare job has made them

Both emit `changed`; the GUI's N: auto dialog and compare view (studio/gui/auto_n.py,
studio/gui/compare.py) show them and run their jobs in the shared jobs table.
"""
from __future__ import annotations

import numpy as np

from studio.design.compare import MAX_COMPARED, DesignFacts
from studio.design.core import Design
from studio.state.events import Event
from studio.state.target import TargetState


class AutoNState:
    """The latest N: auto proposal."""

    def __init__(self, target: TargetState):
        self.target = target
        self.result = None  # studio.design.auto_n.AutoN, or None
        self.for_target = None  # the studio.design.core.Target it was computed for
        self.changed = Event("an N: auto result arrived or was cleared; callbacks get this AutoNState")

    @property
    def current(self) -> bool:
        """Whether the result was made for the target law now edited (any N: the law is what matters)."""
        t, r = self.target.target, self.for_target
        return (self.result is not None and t is not None and r is not None and t.max_load_N == r.max_load_N
                and np.array_equal(t.friction_N, r.friction_N) and np.array_equal(t.mask, r.mask))

    def set_result(self, result, target) -> None:
        self.result, self.for_target = result, target
        self.changed.emit(self)

    def apply(self, N: int) -> None:
        """Design for N asperities from now on (the candidates follow the target's N)."""
        self.target.set_N(int(N))


class Comparison:
    """Designs side by side (at most MAX_COMPARED) and, once computed, their facts."""

    def __init__(self):
        self.designs: list[Design] = []
        self.facts: list[DesignFacts] = []
        self.changed = Event("other designs were chosen or their facts arrived; callbacks get this Comparison")

    def choose(self, designs: list[Design]) -> None:
        """Compare these designs (the first MAX_COMPARED, duplicates dropped); facts follow with `set_facts`."""
        chosen: list[Design] = []
        for d in designs:
            if d is not None and all(d is not c for c in chosen):
                chosen.append(d)
        self.designs, self.facts = chosen[:MAX_COMPARED], []
        self.changed.emit(self)

    def set_facts(self, designs: list[Design], facts: list[DesignFacts]) -> bool:
        """Facts computed for `designs`; dropped (False) when other designs were chosen meanwhile."""
        if len(designs) != len(self.designs) or any(a is not b for a, b in zip(designs, self.designs)):
            return False
        self.facts = list(facts)
        self.changed.emit(self)
        return True
