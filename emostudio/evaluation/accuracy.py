"""Measures the stages share: emotion accuracy of judge verdicts against target quadrants
(:class:`~emostudio.evaluation.results.EmotionAccuracy`'s fields) and the feature vectors and
cosine the swap stage compares pieces by."""

from __future__ import annotations

import numpy as np

from emostudio.evaluation.judge import Verdicts
from emostudio.evaluation.results import EmotionAccuracy, PrecisionRecall, QuadrantAccuracy
from emostudio.midi.song import Song
from emostudio.tokens.features import bar_chroma, polyphony

QUADRANTS = (1, 2, 3, 4)


def emotion_fields(verdicts: Verdicts, targets: np.ndarray) -> dict:
    """The fields of :class:`EmotionAccuracy` for verdicts against target quadrants."""
    from sklearn.metrics import precision_recall_fscore_support

    targets = np.asarray(targets)
    a_true = np.isin(targets, (1, 2))
    v_true = np.isin(targets, (1, 4))
    confusion = np.zeros((4, 4), dtype=np.int64)
    for t, j in zip(targets, verdicts.quadrant, strict=True):
        confusion[t - 1, j - 1] += 1
    per_quadrant = {}
    for q in QUADRANTS:
        m = targets == q
        if m.any():
            per_quadrant[q] = QuadrantAccuracy(
                quadrant=float(np.mean(verdicts.quadrant[m] == q)),
                arousal=float(np.mean(verdicts.arousal_high[m] == a_true[m])),
                valence=float(np.mean(verdicts.valence_high[m] == v_true[m])),
                n=int(m.sum()),
            )
    prf = {}
    for name, truth, guess in (
        ("arousal", a_true, verdicts.arousal_high),
        ("valence", v_true, verdicts.valence_high),
    ):
        p, r, f, _ = precision_recall_fscore_support(
            truth, guess, average="binary", zero_division=0
        )
        prf[f"{name}_prf"] = PrecisionRecall(float(p), float(r), float(f))
    fields = EmotionAccuracy(
        n=len(targets),
        quadrant=float(np.mean(verdicts.quadrant == targets)),
        arousal=float(np.mean(verdicts.arousal_high == a_true)),
        valence=float(np.mean(verdicts.valence_high == v_true)),
        per_quadrant=per_quadrant,
        confusion=confusion.tolist(),
        **prf,
    )
    return {name: getattr(fields, name) for name in fields.__dataclass_fields__}


def feature_vectors(song: Song, n_bars: int) -> tuple[np.ndarray, np.ndarray]:
    """(polyphony per sub-beat [16 n_bars], duration-weighted pitch-class profile per bar [12 n_bars])."""
    return polyphony(song, n_bars).astype(np.float64).ravel(), bar_chroma(song, n_bars).ravel()


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0
