"""Does generated music sound composed? Structure descriptors, realism and seams.

Per piece, on the tokenizer's grid with drums excluded (:func:`structure_descriptors`):

- ``bar_repetition``: share of bars that repeat an earlier bar (the cosine of their chroma +
  onset vectors >= :data:`REPEAT_COSINE`);
- ``groove_consistency``: 1 - the mean Hamming distance of neighbouring bars' onset patterns / 16
  (Wu & Yang 2020);
- ``empty_beat_rate``: share of beats (4 sub-beats) in which nothing sounds;
- ``scale_consistency``: the largest share of notes that fit one diatonic scale (Wu & Yang 2020);
- ``bass_presence``: share of sounding sub-beats with a note below G3 (MIDI 55);
- ``consonance``: share of consonant pitch-class intervals among the notes sounding together;
- ``top_voice_leap``: mean size (semitones) of the changes of the highest sounding pitch;
- ``pc_transition_entropy``: entropy (bits) of the top voice's pitch-class transitions.

Two sets of pieces are compared over these and the judge's scalar descriptors
(:mod:`emostudio.evaluation.descriptors`) by the overlapping area of each descriptor's
distributions (Yang & Lerch 2020), estimated by Gaussian kernel densities on a common grid
(:func:`overlapping_area_kde`: histograms of ~50 pieces are too noisy; real against real would
look far apart), and by a classifier two-sample test (:func:`two_sample_auc`: the cross-validated
AUC of a random forest telling the sets apart; 0.5 = indistinguishable). Seams
(:func:`bar_jumps`) measure how far a bar is from the one before it, to compare the joins of
continue and fill with neighbouring bars of real pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emostudio.evaluation.descriptors import DESCRIPTOR_NAMES, pitched_notes
from emostudio.midi.song import Song

SUBBEATS = 16
REPEAT_COSINE = 0.9
BASS_BELOW = 55  # G3
#: interval classes (0-6 semitones, inversions folded) heard as consonant: thirds and sixths
#: (3, 4), fourths and fifths (5); seconds/sevenths (1, 2) and the tritone (6) are not
CONSONANT_INTERVAL_CLASSES = frozenset({3, 4, 5})
_DIATONIC = np.array([0, 2, 4, 5, 7, 9, 11])

STRUCTURE_NAMES: tuple[str, ...] = (
    "bar_repetition",
    "groove_consistency",
    "empty_beat_rate",
    "scale_consistency",
    "bass_presence",
    "consonance",
    "top_voice_leap",
    "pc_transition_entropy",
)
#: the judge's scalar descriptors (its pitch-class profile left out) and the structure ones
REALISM_NAMES: tuple[str, ...] = (
    tuple(n for n in DESCRIPTOR_NAMES if not n.startswith("pc_rel_tonic")) + STRUCTURE_NAMES
)


@dataclass(frozen=True)
class PianoRoll:
    """A piece on the grid: what sounds in each sub-beat and where notes start."""

    sounding: np.ndarray  # bool[n_bars * 16, 128]
    onsets: np.ndarray  # bool[n_bars * 16]: a pitched onset in this sub-beat
    chroma: np.ndarray  # float[n_bars, 12]: sub-beats each pitch class sounds per bar
    pitches: np.ndarray  # int[n_notes]: pitch of every note

    @property
    def n_bars(self) -> int:
        return len(self.chroma)


def piano_roll(song: Song) -> PianoRoll | None:
    """The song's pitched notes on the grid, or ``None`` if it has none."""
    q = pitched_notes(song)
    if len(q) == 0:
        return None
    n_bars = int(q.onset.max()) // SUBBEATS + 1
    length = n_bars * SUBBEATS
    sounding = np.zeros((length, 128), dtype=bool)
    for p, on, d in zip(q.pitch.tolist(), q.onset.tolist(), q.duration.tolist()):
        sounding[on : min(on + d, length), p] = True
    onsets = np.zeros(length, dtype=bool)
    onsets[q.onset] = True
    pc = np.zeros((length, 12))
    for c in range(12):
        pc[:, c] = sounding[:, c::12].any(axis=1)
    chroma = pc.reshape(n_bars, SUBBEATS, 12).sum(axis=1)
    return PianoRoll(sounding, onsets, chroma, q.pitch.astype(np.int64))


def bar_vectors(roll: PianoRoll) -> np.ndarray:
    """float[n_bars, 28]: each bar's chroma and onset pattern, each part of unit length."""
    onset = roll.onsets.reshape(roll.n_bars, SUBBEATS).astype(np.float64)
    return np.concatenate([_unit(roll.chroma), _unit(onset)], axis=1)


def structure_descriptors(song: Song) -> dict[str, float] | None:
    """The :data:`STRUCTURE_NAMES` of one piece, or ``None`` if it has no pitched notes."""
    roll = piano_roll(song)
    if roll is None:
        return None
    n = roll.n_bars
    vectors = bar_vectors(roll)
    nonempty = np.linalg.norm(vectors, axis=1) > 0
    # bar repetition: cosine of the two unit-length halves, averaged
    cos = vectors @ vectors.T / 2.0
    earlier = np.tril(cos, k=-1) >= REPEAT_COSINE
    repeats = earlier.any(axis=1) & nonempty
    onset = roll.onsets.reshape(n, SUBBEATS)
    groove = 1.0 - float(np.mean(onset[1:] != onset[:-1])) if n > 1 else 1.0  # mean Hamming / 16
    any_sound = roll.sounding.any(axis=1)
    beats = any_sound.reshape(n * 4, SUBBEATS // 4).any(axis=1)
    pcs = np.bincount(roll.pitches % 12, minlength=12)
    in_scale = max(pcs[(_DIATONIC + k) % 12].sum() for k in range(12)) / pcs.sum()
    bass = np.asarray(roll.sounding[:, :BASS_BELOW].any(axis=1))

    top = np.where(any_sound, 127 - np.argmax(roll.sounding[:, ::-1], axis=1), -1)[any_sound]
    changes = top[np.flatnonzero(np.diff(top)) + 1] if len(top) > 1 else top[:0]
    path = np.r_[top[:1], changes]  # the top voice's successive pitches
    leaps = np.abs(np.diff(path))
    trans = np.zeros((12, 12))
    np.add.at(trans, (path[:-1] % 12, path[1:] % 12), 1.0)
    return {
        "bar_repetition": float(repeats.sum() / max(1, nonempty.sum())),
        "groove_consistency": groove,
        "empty_beat_rate": float(1.0 - beats.mean()),
        "scale_consistency": float(in_scale),
        "bass_presence": float(bass[any_sound].mean()) if any_sound.any() else 0.0,
        "consonance": _consonance(roll.sounding),
        "top_voice_leap": float(leaps.mean()) if len(leaps) else 0.0,
        "pc_transition_entropy": _entropy(trans.ravel()),
    }


def realism_table(songs) -> np.ndarray:
    """float[n, len(REALISM_NAMES)] over the songs that have pitched notes."""
    from emostudio.evaluation.descriptors import describe_many

    songs = list(songs)
    judge_features, kept = describe_many(songs)
    scalars = judge_features[
        :, [DESCRIPTOR_NAMES.index(n) for n in REALISM_NAMES[: -len(STRUCTURE_NAMES)]]
    ]
    rows = []
    for i, row in zip(kept.tolist(), scalars):
        s = structure_descriptors(songs[i])
        assert s is not None  # describe_many kept it: it has pitched notes
        rows.append(np.r_[row, [s[n] for n in STRUCTURE_NAMES]])
    return np.asarray(rows, dtype=np.float64).reshape(-1, len(REALISM_NAMES))


def overlapping_area_kde(a: np.ndarray, b: np.ndarray, grid: int = 512) -> float:
    """Overlapping area (0..1) of the two samples' Gaussian kernel density estimates.

    Each sample's bandwidth is Scott's (std * n^(-1/5)), at least 1% of the pooled range so a
    constant sample is a narrow bump rather than a spike; the area under the smaller density is
    integrated on a common grid reaching three bandwidths past the data."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        return 0.0
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    if hi <= lo:
        return 1.0  # every value the same
    floor = 0.01 * (hi - lo)
    h = [max(x.std() * len(x) ** -0.2, floor) for x in (a, b)]
    xs = np.linspace(lo - 3 * max(h), hi + 3 * max(h), grid)
    pa, pb = (_kde(x, bw, xs) for x, bw in zip((a, b), h))
    return float(np.clip(np.trapezoid(np.minimum(pa, pb), xs), 0.0, 1.0))


def _kde(sample: np.ndarray, bandwidth: float, xs: np.ndarray) -> np.ndarray:
    u = (xs[:, None] - sample[None, :]) / bandwidth
    return np.exp(-0.5 * u**2).sum(axis=1) / (len(sample) * bandwidth * np.sqrt(2 * np.pi))


def overlaps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """float[D]: :func:`overlapping_area_kde` of each column of two descriptor tables."""
    return np.array([overlapping_area_kde(a[:, j], b[:, j]) for j in range(a.shape[1])])


def two_sample_auc(a: np.ndarray, b: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a random forest telling rows of ``a`` from rows of ``b``."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.concatenate([a, b])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    folds = max(2, min(folds, len(a), len(b)))
    forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=2, random_state=seed)
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    p = cross_val_predict(forest, x, y, cv=split, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, p))


def real_vs_real(table: np.ndarray, seed: int = 0) -> tuple[np.ndarray, float]:
    """(per-descriptor overlap, AUC) between two random halves of one set of real pieces."""
    order = np.random.default_rng(seed).permutation(len(table))
    half = len(table) // 2
    a, b = table[order[:half]], table[order[half : 2 * half]]
    return overlaps(a, b), two_sample_auc(a, b, seed=seed)


# ---- seams ---------------------------------------------------------------------------------------
JUMP_NAMES = ("bar_distance", "pitch_jump", "polyphony_jump")


def bar_jumps(song: Song) -> np.ndarray | None:
    """float[n_bars - 1, 3]: how far each bar is from the one before it (``None``: no notes).

    Columns (:data:`JUMP_NAMES`): 1 - cosine of the bars' chroma + onset vectors, the change of
    the mean sounding pitch (semitones) and of the mean number of notes sounding. Row ``j`` is
    the join between bars ``j`` and ``j + 1``; a bar without sound counts as pitch 0 notes."""
    roll = piano_roll(song)
    if roll is None or roll.n_bars < 2:
        return None
    vectors = bar_vectors(roll)
    distance = 1.0 - (vectors[1:] * vectors[:-1]).sum(axis=1) / 2.0
    per_bar = roll.sounding.reshape(roll.n_bars, SUBBEATS, 128)
    count = per_bar.sum(axis=(1, 2)).astype(np.float64)  # note-sub-beats per bar
    mean_pitch = np.divide(
        (per_bar * np.arange(128)).sum(axis=(1, 2)),
        count,
        out=np.zeros_like(count),
        where=count > 0,
    )
    poly = count / SUBBEATS
    return np.stack([distance, np.abs(np.diff(mean_pitch)), np.abs(np.diff(poly))], axis=1)


def seam_percentiles(jumps_at_seams: np.ndarray, real_jumps: np.ndarray) -> np.ndarray:
    """float[n, 3]: the percentile (0..100) of each seam's jumps among real neighbouring bars'."""
    real = np.sort(np.asarray(real_jumps), axis=0)
    out = np.empty(np.shape(jumps_at_seams), dtype=np.float64)
    for j in range(real.shape[1]):
        out[:, j] = 100.0 * np.searchsorted(real[:, j], jumps_at_seams[:, j]) / len(real)
    return out


# ---- helpers ---------------------------------------------------------------------------------------
def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x, dtype=np.float64), where=norm > 0)


def _entropy(counts: np.ndarray) -> float:
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


def _consonance(sounding: np.ndarray) -> float:
    """Share of consonant interval classes over all pairs of distinct pitch classes sounding together."""
    pcs = np.zeros((len(sounding), 12), dtype=bool)
    for c in range(12):
        pcs[:, c] = sounding[:, c::12].any(axis=1)
    consonant = total = 0
    for row in np.unique(pcs[pcs.sum(axis=1) >= 2], axis=0):
        weight = int((pcs == row).all(axis=1).sum())
        present = np.flatnonzero(row)
        for i, p in enumerate(present):
            for q in present[i + 1 :]:
                ic = min((q - p) % 12, (p - q) % 12)
                total += weight
                consonant += weight * (ic in CONSONANT_INTERVAL_CLASSES)
    return consonant / total if total else 1.0
