"""How much of a source piece a transformed piece keeps: four measures per bar, and their means.

All four are computed per 16-sub-beat bar on the pitched (non-drum) notes, with onsets on the
tokenizer's grid (a note's onset sub-beat is ``round(start / 120)``), between the source's bar and
the result's bar of the same index (bars up to the longer piece's end):

- **top-voice contour correlation**: for each sub-beat of the bar, the highest pitch sounding in it
  (notes starting there plus notes held from before); over the sub-beats where both pieces sound,
  the Pearson correlation of the two top-voice sequences. Where that is undefined (fewer than two
  such sub-beats, or a flat sequence) it is 1.0 if the two sequences differ by a constant
  transposition and 0.0 otherwise; a bar where only one piece sounds counts 0.0. Transposing the
  line or moving it by octaves keeps it (a contour, not pitches).
- **pitch-class profile cosine**: the cosine of the two bars' duration-weighted pitch-class
  profiles (sub-beats each pitch class sounds, ``features.bar_chroma``); 0.0 when only one sounds.
- **onset-pattern similarity**: the share of the bar's 16 sub-beats on which both pieces agree
  about whether a pitched note starts there (1 − normalised Hamming distance of the two binary
  onset patterns).
- **note F1 (pitch + onset)**: the F1 score of the result's set of (pitch, onset sub-beat) pairs
  against the source's: 2|S ∩ R| / (|S| + |R|).

A bar where neither piece has a pitched note is left out of every mean (it is not evidence of
anything). Per piece, each measure is the mean over the remaining bars (:func:`fidelity`).
Reference values (issue 12, 15 held-out pieces): unrelated pieces 0.01 / 0.29 / 0.50 (contour / pc
cosine / onsets); a piece against itself 1.0 on all four.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emostudio.midi.song import TICKS_PER_SUBBEAT, Song
from emostudio.tokens.features import bar_chroma

SUBBEATS = 16
MEASURES = ("contour", "pc_cosine", "onset_similarity", "note_f1")


@dataclass(frozen=True)
class BarFidelity:
    """Per bar, each measure (NaN where neither piece sounds)."""

    contour: np.ndarray  # [n_bars]
    pc_cosine: np.ndarray  # [n_bars]
    onset_similarity: np.ndarray  # [n_bars]
    note_f1: np.ndarray  # [n_bars]


@dataclass(frozen=True)
class Fidelity:
    """Per piece, each measure's mean over the bars where either piece sounds (NaN if none)."""

    contour: float
    pc_cosine: float
    onset_similarity: float
    note_f1: float

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in MEASURES}


def _grid_notes(song: Song) -> np.ndarray:
    """int[N, 3]: (pitch, onset sub-beat, end sub-beat > onset) of the pitched notes."""
    rows = [
        (
            n.pitch,
            round(n.start / TICKS_PER_SUBBEAT),
            max(round(n.start / TICKS_PER_SUBBEAT) + 1, round(n.end / TICKS_PER_SUBBEAT)),
        )
        for t in song.tracks
        if not t.is_drum
        for n in t.notes
    ]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def _top_voice(notes: np.ndarray, length: int) -> np.ndarray:
    """int[length]: highest pitch sounding in each sub-beat, -1 where silent."""
    top = np.full(length, -1, dtype=np.int64)
    for pitch, on, off in notes.tolist():
        if on < length:
            seg = top[on : min(off, length)]
            np.maximum(seg, pitch, out=seg)
    return top


def _onsets(notes: np.ndarray, length: int) -> np.ndarray:
    pattern = np.zeros(length, dtype=bool)
    on = notes[:, 1]
    pattern[on[on < length]] = True
    return pattern


def _contour(a: np.ndarray, b: np.ndarray) -> float:
    both = (a >= 0) & (b >= 0)
    x, y = a[both].astype(np.float64), b[both].astype(np.float64)
    if len(x) == 0:
        return 0.0
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 1.0 if np.ptp(x - y) == 0 else 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def _f1(a: set, b: set) -> float:
    return 2.0 * len(a & b) / (len(a) + len(b)) if (a or b) else float("nan")


def bar_fidelity(source: Song, result: Song) -> BarFidelity:
    """Each measure per bar between ``source`` and ``result`` (see the module docstring)."""
    n_bars = max(source.n_bars, result.n_bars, 1)
    length = n_bars * SUBBEATS
    src, res = _grid_notes(source), _grid_notes(result)
    top_s, top_r = _top_voice(src, length), _top_voice(res, length)
    on_s, on_r = _onsets(src, length), _onsets(res, length)
    chroma_s, chroma_r = bar_chroma(source, n_bars), bar_chroma(result, n_bars)
    pairs_s: list[set[tuple[int, int]]] = [set() for _ in range(n_bars)]
    pairs_r: list[set[tuple[int, int]]] = [set() for _ in range(n_bars)]
    for notes, pairs in ((src, pairs_s), (res, pairs_r)):
        for pitch, on, _ in notes.tolist():
            if on < length:
                pairs[on // SUBBEATS].add((pitch, on))
    out = {name: np.full(n_bars, np.nan) for name in MEASURES}
    for bar in range(n_bars):
        window = slice(bar * SUBBEATS, (bar + 1) * SUBBEATS)
        sounds_s, sounds_r = (top_s[window] >= 0).any(), (top_r[window] >= 0).any()
        if not sounds_s and not sounds_r:
            continue
        out["contour"][bar] = _contour(top_s[window], top_r[window])
        out["pc_cosine"][bar] = _cosine(chroma_s[bar], chroma_r[bar])
        out["onset_similarity"][bar] = float(np.mean(on_s[window] == on_r[window]))
        out["note_f1"][bar] = _f1(pairs_s[bar], pairs_r[bar])
    return BarFidelity(**out)


def fidelity(source: Song, result: Song) -> Fidelity:
    """Each measure's mean over the bars where either piece sounds."""
    per_bar = bar_fidelity(source, result)
    means = {}
    for name in MEASURES:
        values = getattr(per_bar, name)
        values = values[~np.isnan(values)]
        means[name] = float(values.mean()) if len(values) else float("nan")
    return Fidelity(**means)


__all__ = ["MEASURES", "BarFidelity", "Fidelity", "bar_fidelity", "fidelity"]
