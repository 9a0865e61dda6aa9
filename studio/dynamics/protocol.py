"""Protocols as data: what velocity is imposed when, and when it is sampled.

A protocol is a list of segments, each a duration (or a slip, turned into a duration by its
velocity) at a constant velocity; a hold is a segment at velocity 0 (in imposed mode it is
computed at the protocol's hold velocity, default studio.dynamics.law.HOLD_VELOCITY_M_S).
The velocity is the slider's in imposed mode and the load point's in spring mode. The
interface starts at steady state for `initial_velocity_m_s` (default: the first segment's).

For batches (the GRU's 15 000 training protocols) `stack(protocols, samples=100)` pads every
protocol to the same segment count (zero-length segments at the end, which change nothing)
and gives a ProtocolBatch of plain arrays; a batch can also be built directly from arrays.
CSV reading and writing of protocols are in studio.dynamics.files.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

from studio.dynamics.law import HOLD_VELOCITY_M_S
from studio.errors import StudioError


class ProtocolError(StudioError, ValueError):
    """A protocol that cannot be simulated; the message names the segment (or file line) and the problem."""


@dataclass(frozen=True)
class Segment:
    """duration_s [s] at velocity_m_s [m/s] (0: a hold). `line` is the CSV line it came from (0: none)."""

    duration_s: float
    velocity_m_s: float
    line: int = 0

    @property
    def slip_m(self) -> float:
        return self.duration_s * self.velocity_m_s


def slide(velocity_m_s: float, *, slip_m: float | None = None, duration_s: float | None = None) -> Segment:
    """A sliding segment given by its slip or its duration."""
    if (slip_m is None) == (duration_s is None):
        raise ProtocolError("a slide needs exactly one of slip_m and duration_s")
    if not (math.isfinite(velocity_m_s) and velocity_m_s > 0):
        raise ProtocolError(f"a slide needs a positive finite velocity, got {velocity_m_s!r} m/s")
    if duration_s is None:
        duration_s = slip_m / velocity_m_s
    return Segment(float(duration_s), float(velocity_m_s))


def hold(duration_s: float) -> Segment:
    return Segment(float(duration_s), 0.0)


@dataclass(frozen=True)
class Protocol:
    """Segments of constant velocity; the interface starts at steady state at initial_velocity_m_s."""

    segments: tuple[Segment, ...]
    initial_velocity_m_s: float | None = None
    hold_velocity_m_s: float = HOLD_VELOCITY_M_S
    name: str = ""
    notes: list = field(default_factory=list, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "segments", tuple(self.segments))
        if not self.segments:
            raise ProtocolError(f"{self._where()}: no segments")
        for i, s in enumerate(self.segments, start=1):
            where = f"{self._where()}, line {s.line}" if s.line else f"{self._where()}, segment {i}"
            if not (math.isfinite(s.duration_s) and s.duration_s >= 0):
                raise ProtocolError(f"{where}: duration {s.duration_s!r} s must be finite and ≥ 0")
            if not math.isfinite(s.velocity_m_s):
                raise ProtocolError(f"{where}: velocity {s.velocity_m_s!r} m/s is not finite")
            if s.velocity_m_s < 0:
                raise ProtocolError(f"{where}: negative velocity {s.velocity_m_s:g} m/s; velocities are "
                                    "magnitudes (≥ 0, 0 for a hold)")
        if self.total_duration_s <= 0:
            raise ProtocolError(f"{self._where()}: total duration is 0 s")
        if not (math.isfinite(self.hold_velocity_m_s) and self.hold_velocity_m_s > 0):
            raise ProtocolError(f"{self._where()}: hold velocity must be > 0 m/s, got {self.hold_velocity_m_s!r}")
        v0 = self.start_velocity_m_s
        if not (math.isfinite(v0) and v0 > 0):
            raise ProtocolError(f"{self._where()}: the start needs a sliding velocity (steady state at V > 0); "
                                "begin with a slide or give an initial velocity")

    def _where(self) -> str:
        return self.name or "protocol"

    @property
    def total_duration_s(self) -> float:
        return float(sum(s.duration_s for s in self.segments))

    @property
    def start_velocity_m_s(self) -> float:
        if self.initial_velocity_m_s is not None:
            return float(self.initial_velocity_m_s)
        return float(self.segments[0].velocity_m_s)

    @property
    def durations_s(self) -> np.ndarray:
        return np.array([s.duration_s for s in self.segments], dtype=np.float64)

    @property
    def velocities_m_s(self) -> np.ndarray:
        return np.array([s.velocity_m_s for s in self.segments], dtype=np.float64)

    @property
    def boundaries_s(self) -> np.ndarray:
        """Start times of segments 2.. (where the velocity may jump), s."""
        return np.cumsum(self.durations_s)[:-1]

    def sample_times(self, samples: int = 100, *, boundaries: bool = False) -> np.ndarray:
        """`samples` equally spaced instants from 0 to the end (the GRU paper's sampling), s; with
        `boundaries`, also every segment start (so a record of them holds each step exactly)."""
        if samples < 2:
            raise ProtocolError(f"{self._where()}: need at least 2 samples, got {samples}")
        times = np.linspace(0.0, self.total_duration_s, int(samples))
        return np.union1d(times, self.boundaries_s) if boundaries else times

    def velocity_at(self, times_s) -> np.ndarray:
        """The protocol's velocity at each time (right-continuous: the new velocity at a step), m/s."""
        ends = np.cumsum(self.durations_s)
        index = np.clip(np.searchsorted(ends, np.asarray(times_s), side="right"), 0, len(self.segments) - 1)
        return self.velocities_m_s[index]

    def displacement_at(self, times_s) -> np.ndarray:
        """Displacement imposed by the protocol since t = 0 (load point or slider), m; holds at 0 velocity."""
        t = np.asarray(times_s, dtype=np.float64)
        d, v = self.durations_s, self.velocities_m_s
        ends = np.cumsum(d)
        index = np.clip(np.searchsorted(ends, t, side="right"), 0, len(d) - 1)
        at_start = np.cumsum(v * d) - v * d
        return at_start[index] + v[index] * (t - (ends - d)[index])


class ProtocolBatch(NamedTuple):
    """Protocols as padded arrays, the input of the batched simulators.

    durations_s (B, S), velocities_m_s (B, S), times_s (B, T) sample times (non-decreasing, ≥ 0),
    initial_velocity_m_s (B,), hold_velocity_m_s (B,). Padding segments have duration 0.
    """

    durations_s: np.ndarray
    velocities_m_s: np.ndarray
    times_s: np.ndarray
    initial_velocity_m_s: np.ndarray
    hold_velocity_m_s: np.ndarray

    @property
    def size(self) -> int:
        return int(self.durations_s.shape[0])


def stack(protocols: Sequence[Protocol] | Protocol, *, samples: int = 100, times_s=None) -> ProtocolBatch:
    """Pad protocols into one ProtocolBatch; each is sampled at `samples` equally spaced instants
    over its own duration, or at `times_s` ((T,) shared or (B, T) one row each)."""
    if isinstance(protocols, Protocol):
        protocols = [protocols]
    protocols = list(protocols)
    if not protocols:
        raise ProtocolError("no protocols to stack")
    width = max(len(p.segments) for p in protocols)
    B = len(protocols)
    durations = np.zeros((B, width))
    velocities = np.zeros((B, width))
    for i, p in enumerate(protocols):
        n = len(p.segments)
        durations[i, :n] = p.durations_s
        velocities[i, :n] = p.velocities_m_s
        velocities[i, n:] = p.velocities_m_s[-1]  # samples past the end continue the last segment
    if times_s is None:
        times = np.stack([p.sample_times(samples) for p in protocols])
    else:
        times = np.broadcast_to(np.asarray(times_s, dtype=np.float64), (B, np.shape(times_s)[-1])).copy()
    check_times(times)
    return ProtocolBatch(durations, velocities, times,
                         np.array([p.start_velocity_m_s for p in protocols]),
                         np.array([p.hold_velocity_m_s for p in protocols]))


def check_times(times_s) -> None:
    t = np.asarray(times_s)
    if not np.all(np.isfinite(t)):
        raise ProtocolError("sample times must be finite")
    if np.any(t < 0):
        raise ProtocolError("sample times must be ≥ 0 (0 is the start of the protocol)")
    if t.shape[-1] > 1 and np.any(np.diff(t, axis=-1) < 0):
        raise ProtocolError("sample times must be non-decreasing")


# ---- presets ---------------------------------------------------------------------------------

def velocity_steps(velocities_m_s: Sequence[float] = (1e-6, 1e-5, 1e-6, 1e-5, 1e-6), *,
                   slip_per_step_m: float = 5e-4) -> Protocol:
    """A velocity-step series: each velocity held for `slip_per_step_m` of displacement
    (defaults: 1 ↔ 10 µm/s, 500 µm each, starting at steady state at the first)."""
    segments = [slide(v, slip_m=slip_per_step_m) for v in velocities_m_s]
    names = "/".join(f"{v * 1e6:g}" for v in velocities_m_s)
    return Protocol(tuple(segments), name=f"velocity steps {names} µm/s")


def slide_hold_slide(hold_times_s: Sequence[float] = (1, 3, 10, 30, 100, 300, 1000), *,
                     velocity_m_s: float = 1e-5, slide_m: float = 2e-4, first_slide_m: float | None = None) -> Protocol:
    """Slide-hold-slide: a run-in slide, then for each hold time a hold and a slide of `slide_m`
    at `velocity_m_s` (defaults: holds 1–1000 s, 10 µm/s, 200 µm reslides)."""
    segments = [slide(velocity_m_s, slip_m=slide_m if first_slide_m is None else first_slide_m)]
    for t in hold_times_s:
        segments += [hold(t), slide(velocity_m_s, slip_m=slide_m)]
    return Protocol(tuple(segments), name=f"slide-hold-slide {', '.join(f'{t:g}' for t in hold_times_s)} s")


PRESETS = {"velocity-steps": velocity_steps, "slide-hold-slide": slide_hold_slide}

__all__ = ["ProtocolError", "Segment", "Protocol", "ProtocolBatch", "slide", "hold", "stack", "check_times",
           "velocity_steps", "slide_hold_slide", "PRESETS"]
