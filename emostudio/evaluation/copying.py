"""The copy check: the longest run of notes a generated piece shares with any training piece.

A piece becomes a sequence of steps, one per non-drum note in (onset, pitch) order: (pitch
interval to the previous note, onset interval in sub-beats). Intervals make the check blind to
transposition (training augments by pitch shifts). Every run of :data:`NGRAM` consecutive steps
is hashed; the training pieces' n-gram hashes form one sorted index. A generated note is "copied"
when it lies in an n-gram found in the index; the longest stretch of consecutive copied notes is
reported in notes and in bars (``(last onset - first onset) // 16 + 1``: a stretch within one
bar's length counts as 1). Chaining overlapping n-grams may join matches from different training pieces, so the figure
is an upper bound on a single copied passage: a conservative check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emostudio.evaluation.descriptors import pitched_notes
from emostudio.midi.song import Song

#: notes per n-gram (the data README's duplicate check also used 8-note sequences)
NGRAM = 8
_P1, _P2 = np.int64(1_000_003), np.int64(0x9E3779B1)


def note_steps(song: Song) -> tuple[np.ndarray, np.ndarray]:
    """(int64[n] step codes, int64[n] onsets in sub-beats) in (onset, pitch) order.

    The first note's step is (0, 0)."""
    q = pitched_notes(song)
    if len(q) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((q.pitch, q.onset))
    pitch, onset = q.pitch[order].astype(np.int64), q.onset[order].astype(np.int64)
    d_pitch = np.r_[0, np.diff(pitch)]
    d_onset = np.minimum(np.r_[0, np.diff(onset)], 4096)
    return (d_pitch + 128) * 4097 + d_onset, onset


def ngram_hashes(steps: np.ndarray, n: int = NGRAM) -> np.ndarray:
    """int64[len(steps) - n + 1] hashes of every n consecutive steps (from the second step on).

    The first step carries no interval, so n-grams start at index 1."""
    s = steps[1:]
    if len(s) < n:
        return np.zeros(0, dtype=np.int64)
    h = np.zeros(len(s) - n + 1, dtype=np.int64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _P1 + (s[k : len(s) - n + 1 + k] ^ _P2)
    return h


class TrainingIndex:
    """Sorted n-gram hashes of a set of training pieces."""

    def __init__(self, songs, n: int = NGRAM) -> None:
        self.n = n
        parts = [ngram_hashes(note_steps(s)[0], n) for s in songs]
        self.hashes = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        self.n_pieces = len(parts)

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        if len(self.hashes) == 0 or len(hashes) == 0:
            return np.zeros(len(hashes), dtype=bool)
        pos = np.clip(np.searchsorted(self.hashes, hashes), 0, len(self.hashes) - 1)
        return self.hashes[pos] == hashes


@dataclass(frozen=True)
class CopyResult:
    longest_notes: int  # notes in the longest copied stretch (0 when no n-gram matches)
    longest_bars: int  # bars that stretch spans (0 when none)


def longest_copy(song: Song, index: TrainingIndex, subbeats_per_bar: int = 16) -> CopyResult:
    steps, onsets = note_steps(song)
    hashes = ngram_hashes(steps, index.n)
    found = index.contains(hashes)
    if not found.any():
        return CopyResult(0, 0)
    # n-gram j covers steps j+1 .. j+n, i.e. notes j .. j+n (its first note is the interval's origin)
    covered = np.zeros(len(steps) + 1, dtype=np.int64)
    for j in np.flatnonzero(found):
        covered[j] += 1
        covered[j + index.n + 1] -= 1
    mask = np.cumsum(covered)[: len(steps)] > 0
    best_notes, best_bars = 0, 0
    start = None
    for i, m in enumerate(np.r_[mask, False]):
        if m and start is None:
            start = i
        elif not m and start is not None:
            length = i - start
            span = int(onsets[i - 1] - onsets[start])
            bars = span // subbeats_per_bar + 1
            if length > best_notes:
                best_notes = length
            best_bars = max(best_bars, bars)
            start = None
    return CopyResult(best_notes, best_bars)
