"""An emotion curve: a path drawn across the pad, mapped onto the bars of a piece (no Qt).

The path is taken as time running from its first point to its last at constant speed along its
length, so bar ``i`` of ``n`` gets the point at arc-length fraction ``(i + 0.5) / n``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emostudio.emotion import Emotion


def curve_to_bars(points: Sequence[tuple[float, float]], n_bars: int) -> list[Emotion]:
    """(valence, arousal) points in drawing order -> one Emotion per bar (clamped to the pad)."""
    if n_bars <= 0:
        raise ValueError(f"n_bars must be positive, got {n_bars}")
    if not points:
        raise ValueError("an emotion curve needs at least one point")
    xy = np.clip(np.asarray(points, dtype=np.float64).reshape(-1, 2), -1.0, 1.0)
    steps = np.linalg.norm(np.diff(xy, axis=0), axis=1)
    length = np.concatenate([[0.0], np.cumsum(steps)])
    if length[-1] == 0.0:
        return [Emotion(float(xy[0, 0]), float(xy[0, 1]))] * n_bars
    at = (np.arange(n_bars) + 0.5) / n_bars * length[-1]
    valence = np.interp(at, length, xy[:, 0])
    arousal = np.interp(at, length, xy[:, 1])
    return [Emotion(float(v), float(a)) for v, a in zip(valence, arousal)]
