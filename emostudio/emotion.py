"""Emotions on Russell's valence-arousal plane, and the four quadrants the model knows.

Q1 happy (V+A+), Q2 tense (V-A+), Q3 sad (V-A-), Q4 calm (V+A-). A point (valence, arousal) in
[-1, 1]^2 is a target anywhere on the pad; :meth:`Emotion.component_weights` turns it into a soft
choice between the two arousal and the two valence mixture components (the middle of the pad is
really in between).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

QUADRANT_NAMES = {1: "happy", 2: "tense", 3: "sad", 4: "calm"}
_NAME_TO_QUADRANT = {name: q for q, name in QUADRANT_NAMES.items()}
_QUADRANT_SIGNS = {1: (1, 1), 2: (-1, 1), 3: (-1, -1), 4: (1, -1)}  # (valence, arousal)

#: How sharply a pad position commits to a component: weight of "high" = sigmoid(SHARPNESS * x).
#: At |x| = 0.5 the weight is 0.92; at the pad's edge 0.99.
SHARPNESS = 5.0


class EmotionError(ValueError):
    """An impossible emotion target (an unknown name, a value outside [-1, 1])."""


@dataclass(frozen=True)
class Emotion:
    """A point on the valence-arousal plane, both coordinates in [-1, 1]."""

    valence: float
    arousal: float

    def __post_init__(self) -> None:
        for axis in ("valence", "arousal"):
            value = getattr(self, axis)
            if not isinstance(value, (int, float)) or math.isnan(value) or not -1.0 <= value <= 1.0:
                raise EmotionError(f"{axis} must be a number in [-1, 1], got {value!r}")

    @classmethod
    def from_quadrant(cls, quadrant: int) -> Emotion:
        if quadrant not in _QUADRANT_SIGNS:
            raise EmotionError(f"quadrant must be 1-4, got {quadrant!r}")
        v, a = _QUADRANT_SIGNS[quadrant]
        return cls(0.8 * v, 0.8 * a)

    @classmethod
    def parse(cls, text: str) -> Emotion:
        """``happy|tense|sad|calm``, ``Q1``..``Q4`` or ``V,A`` (e.g. ``0.5,-0.3``)."""
        key = text.strip().lower()
        if key in _NAME_TO_QUADRANT:
            return cls.from_quadrant(_NAME_TO_QUADRANT[key])
        if len(key) == 2 and key[0] == "q" and key[1] in "1234":
            return cls.from_quadrant(int(key[1]))
        if "," in key:
            try:
                v, a = (float(part) for part in key.split(","))
            except ValueError:
                pass
            else:
                return cls(v, a)
        raise EmotionError(
            f"unknown emotion {text!r}: use happy, tense, sad, calm, Q1..Q4 or 'valence,arousal'"
        )

    @property
    def quadrant(self) -> int:
        """The quadrant the point lies in (ties at 0 count as positive)."""
        if self.arousal >= 0:
            return 1 if self.valence >= 0 else 2
        return 4 if self.valence >= 0 else 3

    @property
    def name(self) -> str:
        return QUADRANT_NAMES[self.quadrant]

    def component_weights(self) -> tuple[float, float]:
        """(weight of high arousal, weight of high valence), each in (0, 1)."""
        return _sigmoid(SHARPNESS * self.arousal), _sigmoid(SHARPNESS * self.valence)

    def __str__(self) -> str:
        return f"{self.name} (valence {self.valence:+.2f}, arousal {self.arousal:+.2f})"


def quadrant_of(valence_high: bool, arousal_high: bool) -> int:
    """Quadrant number from the two binary dimensions."""
    if arousal_high:
        return 1 if valence_high else 2
    return 4 if valence_high else 3


def dimensions_of(quadrant: int) -> tuple[bool, bool]:
    """(valence_high, arousal_high) of a quadrant 1-4."""
    v, a = _QUADRANT_SIGNS[quadrant]
    return v > 0, a > 0


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
