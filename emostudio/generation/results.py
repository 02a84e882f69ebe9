"""What the engine hands back: streamed bars, a piece's recognised emotion, its latent code."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emostudio.emotion import Emotion
from emostudio.midi.song import Song


@dataclass(frozen=True)
class BarEvent:
    """Bar ``index`` (0-based) of ``total`` is finished; ``song`` holds bars 0..index (index + 1 bars)."""

    index: int
    total: int
    song: Song


@dataclass(frozen=True)
class Recognition:
    """A piece's emotion: P(high arousal) and P(high valence) per bar and for the whole piece."""

    arousal: np.ndarray  # float[n_bars]
    valence: np.ndarray  # float[n_bars]
    overall_arousal: float
    overall_valence: float

    @property
    def emotion(self) -> Emotion:
        """The overall probabilities as a pad point: 2p - 1 on each axis."""
        return Emotion(
            valence=2.0 * self.overall_valence - 1.0, arousal=2.0 * self.overall_arousal - 1.0
        )

    @property
    def quadrant(self) -> int:
        return self.emotion.quadrant


@dataclass(frozen=True)
class Encoding:
    """A piece's latent code: posterior means per bar, and q(y|x) of the whole piece."""

    z_r: np.ndarray  # float32[n_bars, l_r]
    z_k: np.ndarray  # float32[n_bars, l_k]
    q_arousal: np.ndarray  # float[K]: low, high
    q_valence: np.ndarray  # float[K]
