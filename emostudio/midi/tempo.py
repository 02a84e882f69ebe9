"""The one tempo map: ticks <-> seconds, both ways, for a song's tempo changes.

The first tempo holds from the start, whatever tick it is set at (as :meth:`Song.bpm_at` and
:func:`~emostudio.midi.io.read_midi` have it); with no tempo at all, 120 bpm. Each change holds
from its tick to the next. Every lookup is a binary search over the changes (O(log n)), and
:meth:`TempoMap.seconds_of` does a whole array at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Protocol

import numpy as np

TICKS_PER_BEAT = 480
DEFAULT_BPM = 120.0


class HasTempo(Protocol):
    """A tempo change (:class:`~emostudio.midi.song.TempoChange`): ``bpm`` from ``tick`` on."""

    @property
    def tick(self) -> int: ...

    @property
    def bpm(self) -> float: ...


class TempoMap:
    """Seconds of a tick and tick of a second for one list of tempo changes (sorted by tick)."""

    def __init__(self, changes: Sequence[HasTempo]) -> None:
        knots = [(int(c.tick), float(c.bpm)) for c in changes] or [(0, DEFAULT_BPM)]
        if knots[0][0] > 0:
            knots.insert(0, (0, knots[0][1]))  # the first tempo holds from the start
        self.changes: tuple[tuple[int, float], ...] = tuple(knots)  # (tick, bpm), the first at 0
        self._ticks = [t for t, _ in knots]
        self._seconds_per_tick = [60.0 / (bpm * TICKS_PER_BEAT) for _, bpm in knots]
        self._seconds = [0.0]
        for k in range(1, len(knots)):
            span = self._ticks[k] - self._ticks[k - 1]
            self._seconds.append(self._seconds[-1] + span * self._seconds_per_tick[k - 1])

    def seconds(self, tick: float) -> float:
        """Seconds from the start at ``tick``."""
        k = max(0, bisect.bisect_right(self._ticks, tick) - 1)
        return self._seconds[k] + (tick - self._ticks[k]) * self._seconds_per_tick[k]

    def seconds_of(self, ticks: np.ndarray) -> np.ndarray:
        """:meth:`seconds` of every tick in an array (float64[n])."""
        ticks = np.asarray(ticks, dtype=np.float64)
        k = np.maximum(0, np.searchsorted(self._ticks, ticks, side="right") - 1)
        knot_ticks = np.asarray(self._ticks, dtype=np.float64)[k]
        spt = np.asarray(self._seconds_per_tick, dtype=np.float64)[k]
        return np.asarray(self._seconds, dtype=np.float64)[k] + (ticks - knot_ticks) * spt

    def tick(self, seconds: float) -> float:
        """The (fractional) tick sounding ``seconds`` after the start: the inverse of :meth:`seconds`."""
        k = max(0, bisect.bisect_right(self._seconds, seconds) - 1)
        return self._ticks[k] + (seconds - self._seconds[k]) / self._seconds_per_tick[k]
