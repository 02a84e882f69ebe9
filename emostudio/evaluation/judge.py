"""The reference emotion judge: a classifier of a piece's emotion, independent of the model.

Trained only on the labelled training split of EMOPIA (like EMOPIA's own MIDI classifier), it
judges generated and transferred music in the evaluation. Three standardised logistic regressions
on :mod:`~emostudio.evaluation.descriptors`: arousal (high/low), valence (high/low) and the four
quadrants. A logistic regression was chosen over gradient boosting, random forests and an MLP
after a 5-fold song-grouped cross-validation on the training split, where all were within about
one point of each other; it is the simplest and is stored as plain JSON (no pickle).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emostudio.atomic import atomic_write
from emostudio.emotion import dimensions_of
from emostudio.evaluation.descriptors import DESCRIPTOR_NAMES, describe_many

JUDGE_FORMAT_VERSION = 1
#: inverse regularisation strength of the logistic regressions (chosen by the cross-validation)
JUDGE_C = 0.1

#: EMOPIA's best published MIDI-domain classifier on its own test clips (Hung et al., ISMIR 2021)
EMOPIA_PUBLISHED = {"quadrant": 0.684, "arousal": 0.89, "valence": 0.83}


class JudgeError(ValueError):
    """A judge file that cannot be used, or training data that cannot make one."""


@dataclass(frozen=True)
class LinearHead:
    """A standardised multinomial/binary logistic regression: ``softmax(((x - mean) / scale) @ coef.T + b)``."""

    classes: tuple[int, ...]
    mean: np.ndarray  # [D]
    scale: np.ndarray  # [D]
    coef: np.ndarray  # [C, D] (C = 1 for a binary head: the logit of classes[1])
    intercept: np.ndarray  # [C]

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """float[N, len(classes)]."""
        z = (np.atleast_2d(features) - self.mean) / self.scale
        logits = z @ self.coef.T + self.intercept  # [N, C]
        if logits.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - p, p], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict:
        return {
            "classes": list(self.classes),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LinearHead:
        head = cls(
            classes=tuple(int(c) for c in data["classes"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            coef=np.asarray(data["coef"], dtype=np.float64),
            intercept=np.asarray(data["intercept"], dtype=np.float64),
        )
        d = len(DESCRIPTOR_NAMES)
        if head.mean.shape != (d,) or head.scale.shape != (d,) or head.coef.shape[1:] != (d,):
            raise JudgeError(f"judge head has the wrong shape for {d} descriptors")
        return head


def _fit_head(features: np.ndarray, labels: np.ndarray, c: float) -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale = np.where(scale > 1e-9, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((features - mean) / scale, labels)
    return LinearHead(
        classes=tuple(int(k) for k in model.classes_),
        mean=mean,
        scale=scale,
        coef=np.asarray(model.coef_, dtype=np.float64),
        intercept=np.asarray(model.intercept_, dtype=np.float64),
    )


@dataclass(frozen=True)
class Verdicts:
    """The judge's verdicts on N pieces."""

    p_arousal_high: np.ndarray  # [N]
    p_valence_high: np.ndarray  # [N]
    p_quadrant: np.ndarray  # [N, 4]: Q1..Q4

    @property
    def quadrant(self) -> np.ndarray:
        """int[N]: the most probable quadrant 1-4 (from the four-way head)."""
        return np.argmax(self.p_quadrant, axis=1) + 1

    @property
    def arousal_high(self) -> np.ndarray:
        return self.p_arousal_high >= 0.5

    @property
    def valence_high(self) -> np.ndarray:
        return self.p_valence_high >= 0.5


@dataclass(frozen=True)
class EmotionJudge:
    arousal: LinearHead
    valence: LinearHead
    quadrant: LinearHead
    n_train: int

    @classmethod
    def train(cls, features: np.ndarray, quadrants: np.ndarray, c: float = JUDGE_C) -> EmotionJudge:
        """Fit on descriptor rows and their quadrant labels 1-4."""
        quadrants = np.asarray(quadrants, dtype=np.int64)
        if len(features) != len(quadrants) or len(features) == 0:
            raise JudgeError("need one quadrant label per descriptor row, and at least one row")
        if set(np.unique(quadrants)) != {1, 2, 3, 4}:
            raise JudgeError(
                f"training labels must cover Q1..Q4, got {sorted(set(quadrants.tolist()))}"
            )
        valence_high = np.array([dimensions_of(int(q))[0] for q in quadrants], dtype=np.int64)
        arousal_high = np.array([dimensions_of(int(q))[1] for q in quadrants], dtype=np.int64)
        return cls(
            arousal=_fit_head(features, arousal_high, c),
            valence=_fit_head(features, valence_high, c),
            quadrant=_fit_head(features, quadrants, c),
            n_train=len(features),
        )

    def judge_features(self, features: np.ndarray) -> Verdicts:
        features = np.atleast_2d(features)
        return Verdicts(
            p_arousal_high=self.arousal.predict_proba(features)[:, 1],
            p_valence_high=self.valence.predict_proba(features)[:, 1],
            p_quadrant=self.quadrant.predict_proba(features),
        )

    def judge(self, songs) -> tuple[Verdicts, np.ndarray]:
        """Verdicts on the songs that have pitched notes, and the indices of those songs."""
        features, kept = describe_many(songs)
        if len(kept) == 0:
            empty = np.zeros(0)
            return Verdicts(empty, empty, np.zeros((0, 4))), kept
        return self.judge_features(features), kept

    # ---- JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format_version": JUDGE_FORMAT_VERSION,
            "descriptors": list(DESCRIPTOR_NAMES),
            "n_train": self.n_train,
            "arousal": self.arousal.to_dict(),
            "valence": self.valence.to_dict(),
            "quadrant": self.quadrant.to_dict(),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (a temporary file, then a rename)."""
        atomic_write(path, json.dumps(self.to_dict()) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> EmotionJudge:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise JudgeError(f"{path}: cannot read judge ({exc})") from exc
        if not isinstance(data, dict) or data.get("format_version") != JUDGE_FORMAT_VERSION:
            raise JudgeError(f"{path}: not an emostudio judge of format {JUDGE_FORMAT_VERSION}")
        if data.get("descriptors") != list(DESCRIPTOR_NAMES):
            raise JudgeError(f"{path}: judge was trained on other descriptors; train it again")
        try:
            return cls(
                arousal=LinearHead.from_dict(data["arousal"]),
                valence=LinearHead.from_dict(data["valence"]),
                quadrant=LinearHead.from_dict(data["quadrant"]),
                n_train=int(data["n_train"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise JudgeError(f"{path}: malformed judge ({exc})") from exc


@dataclass(frozen=True)
class JudgeScores:
    """Accuracies of verdicts against true quadrants."""

    quadrant: float
    arousal: float
    valence: float
    n: int


def score(verdicts: Verdicts, quadrants: np.ndarray) -> JudgeScores:
    quadrants = np.asarray(quadrants, dtype=np.int64)
    valence_true = np.isin(quadrants, (1, 4))
    arousal_true = np.isin(quadrants, (1, 2))
    return JudgeScores(
        quadrant=float(np.mean(verdicts.quadrant == quadrants)),
        arousal=float(np.mean(verdicts.arousal_high == arousal_true)),
        valence=float(np.mean(verdicts.valence_high == valence_true)),
        n=len(quadrants),
    )
