"""Contact patterns: what a boundary-element solution of a laid-out interface looks like, in one word.

The independent-asperity law (physics.md §1) holds when every contact behaves as if alone. The
BEM solution (studio.physics.contact) says whether it does, and if not, why. Per (layout, load)
`contact_stats` reduces a ContactSolution to a few numbers, and `classify` names the dominant
pattern (definitions and the data behind them: docs/patterns.md):

    isolated     separate patches, total contact area within AREA_TOLERANCE_PERCENT of the
                 independent-asperity prediction: the promised law holds at this load
    interacting  separate patches, area off by more than that: the neighbours' push (through the
                 shared elastic body) changes the law
    coalesced    patches of neighbouring asperities merged, carrying at least COALESCED_LOAD_SHARE of
                 the load: the contact is no longer a set of Hertz contacts
    dominated    one asperity carries at least DOMINATED_LOAD_SHARE of the load: the law at this
                 load is that of a single cap (and of its fabrication)

Checked in this order (coalesced, dominated, interacting, isolated): the first that applies names
the pattern. Numpy only; the solve itself is studio.physics.contact's.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

PATTERNS = ("isolated", "interacting", "coalesced", "dominated")
ISOLATED, INTERACTING, COALESCED, DOMINATED = range(4)
AREA_TOLERANCE_PERCENT = 2.0  # |A_BEM / A_independent − 1| within this: the independent law holds
COALESCED_LOAD_SHARE = 0.10  # merged patches carrying at least this share of the load
DOMINATED_LOAD_SHARE = 0.5  # the largest contact carrying at least this share of the load


@dataclass
class ContactStats:
    """The numbers a pattern is read from, for one (layout, load)."""

    load_N: float
    area_bem_mm2: float
    area_independent_mm2: float
    contacts_bem: int  # asperities carrying load in the BEM solution
    contacts_independent: int  # asperities touching in the independent model
    coalesced_load_share: float  # share of the load carried by asperities whose patch merged with a neighbour's
    largest_load_share: float  # share of the load carried by the most loaded asperity

    @property
    def area_change_percent(self) -> float:
        return 100.0 * (self.area_bem_mm2 / self.area_independent_mm2 - 1.0)

    def as_dict(self) -> dict:
        return {**asdict(self), "area_change_percent": self.area_change_percent}


def contact_stats(solution, independent_area_mm2, independent_load_N) -> ContactStats:
    """ContactStats of a studio.physics.contact.ContactSolution beside the independent prediction
    (per-asperity areas [mm²] and loads [N] at the same load, from independent_contacts)."""
    load = np.asarray(solution.asperity_load_N, dtype=np.float64)
    total = float(load.sum())
    share = load / total if total > 0 else np.zeros_like(load)
    return ContactStats(
        load_N=float(solution.load_N), area_bem_mm2=float(solution.contact_area_mm2),
        area_independent_mm2=float(np.sum(independent_area_mm2)), contacts_bem=int(np.count_nonzero(load > 0)),
        contacts_independent=int(np.count_nonzero(np.asarray(independent_load_N) > 0)),
        coalesced_load_share=float(share[np.asarray(solution.coalesced, dtype=bool)].sum()),
        largest_load_share=float(share.max()) if share.size else 0.0)


def classify(area_change_percent, coalesced_load_share, largest_load_share) -> np.ndarray:
    """Pattern indices (into PATTERNS) from the stats' three numbers (scalars or arrays of one shape)."""
    change = np.abs(np.asarray(area_change_percent, dtype=np.float64))
    merged = np.asarray(coalesced_load_share, dtype=np.float64) >= COALESCED_LOAD_SHARE
    single = np.asarray(largest_load_share, dtype=np.float64) >= DOMINATED_LOAD_SHARE
    return np.where(merged, COALESCED, np.where(single, DOMINATED, np.where(change > AREA_TOLERANCE_PERCENT,
                                                                              INTERACTING, ISOLATED))).astype(np.int8)


def pattern_of(stats: ContactStats) -> str:
    """The pattern's name for one ContactStats."""
    return PATTERNS[int(classify(stats.area_change_percent, stats.coalesced_load_share, stats.largest_load_share))]


def solve_pattern(interface, load_N: float, **grid_options) -> tuple[str, ContactStats]:
    """Solve one (layout, load) with the BEM and name its pattern (hand-built layouts, spot checks)."""
    from studio.physics.contact import independent_contacts, solve_at

    _, load, area = independent_contacts(interface, [load_N])
    stats = contact_stats(solve_at(interface, load_N, **grid_options), area[0], load[0])
    return pattern_of(stats), stats
