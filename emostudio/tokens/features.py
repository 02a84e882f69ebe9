"""The two features the model disentangles (MODEL.md section 1): polyphony and key.

- :func:`polyphony` (rhythm feature f_r): for each of the 16 sub-beats of each bar, the number of
  pitched notes sounding in it, i.e. notes starting in it plus notes held from before. Drums are
  excluded. Notes sit on the tokenizer's grid (onset and duration rounded to sub-beats, duration
  1-16 sub-beats, duplicates merged), so the feature of a song equals that of its token round trip.
- :func:`bar_keys` (key feature f_k): one of 24 keys per bar, 0-11 major with tonic C..B, 12-23
  minor with tonic C..B. Duration-weighted pitch-class profiles of a window of bars around each bar
  are correlated with key profiles; a Viterbi pass with a penalty per key change smooths the path,
  so bars without pitched notes take the key of their neighbours.
- :func:`global_key`: the one key of a whole song, from its duration-weighted profile.

The key profiles and the sizes below were tuned on POP909's audio key annotations
(``benchmarks/key_accuracy.py``; results in BENCHMARKS.md).
"""

from __future__ import annotations

import numpy as np

from emostudio.midi.families import Family
from emostudio.midi.song import TICKS_PER_SUBBEAT, Song
from emostudio.tokens.config import TokenizerConfig
from emostudio.tokens.tokenizer import Tokenizer

N_KEYS = 24
TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_SHARP_ALIASES = {
    "C#": "Db",
    "D#": "Eb",
    "F#": "Gb",
    "G#": "Ab",
    "A#": "Bb",
    "Cb": "B",
    "Fb": "E",
    "E#": "F",
    "B#": "C",
}

# Albrecht & Shanahan (2013) profiles, derived from pitch-class durations in a corpus of
# classical pieces; C major and C minor, index = pitch class above the tonic.
MAJOR_PROFILE = np.array(
    [0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081]
)
MINOR_PROFILE = np.array(
    [0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052]
)

#: bars on each side of a bar whose notes decide its key
KEY_WINDOW_BARS = 2
#: cost of a key change in the Viterbi path, in units of correlation
KEY_SWITCH_PENALTY = 3.0


def key_name(key: int) -> str:
    """``0`` -> "C major", ``21`` -> "A minor"."""
    if not 0 <= key < N_KEYS:
        raise ValueError(f"key must be 0-23, got {key}")
    return f"{TONIC_NAMES[key % 12]} {'major' if key < 12 else 'minor'}"


def parse_key(text: str) -> int:
    """A key from "A minor", "Gb:maj", "F#:min", "c major" -> 0-23; ``ValueError`` if unreadable."""
    cleaned = text.strip().replace(":", " ")
    parts = cleaned.split()
    if len(parts) != 2:
        raise ValueError(f"not a key: {text!r}")
    tonic = parts[0][:1].upper() + parts[0][1:]
    tonic = _SHARP_ALIASES.get(tonic, tonic)
    mode = parts[1].lower()
    if tonic not in TONIC_NAMES or mode not in ("maj", "major", "min", "minor"):
        raise ValueError(f"not a key: {text!r}")
    return TONIC_NAMES.index(tonic) + (12 if mode.startswith("min") else 0)


def relation(estimate: int, truth: int) -> str:
    """How an estimated key relates to the true one: "same", "relative", "parallel", "fifth", "other".

    "fifth" means the same mode a fifth above or below."""
    if estimate == truth:
        return "same"
    e_tonic, e_minor = estimate % 12, estimate >= 12
    t_tonic, t_minor = truth % 12, truth >= 12
    if e_minor != t_minor:
        if e_tonic == t_tonic:
            return "parallel"
        relative = (t_tonic + 9) % 12 if not t_minor else (t_tonic + 3) % 12
        return "relative" if e_tonic == relative else "other"
    return "fifth" if (e_tonic - t_tonic) % 12 in (5, 7) else "other"


# ---- note arrays ---------------------------------------------------------------------------------
def _pitched_notes(song: Song) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pitch, start tick, end tick) of every non-drum note."""
    rows = [(n.pitch, n.start, n.end) for t in song.tracks if not t.is_drum for n in t.notes]
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    arr = np.asarray(rows, dtype=np.int64)
    return arr[:, 0], arr[:, 1], arr[:, 2]


# ---- polyphony -----------------------------------------------------------------------------------
def polyphony(song: Song, n_bars: int, config: TokenizerConfig | None = None) -> np.ndarray:
    """uint8[n_bars, S]: pitched notes sounding in each sub-beat (onsets plus held notes), clipped at 255.

    Notes are taken on the tokenizer's grid (see the module docstring); S is the config's
    sub-beats per bar (16)."""
    config = config or TokenizerConfig()
    spb = config.subbeats_per_bar
    n_bars = max(0, int(n_bars))
    length = n_bars * spb
    out = np.zeros(length + 1, dtype=np.int64)
    if length:
        q = Tokenizer(config).quantise(song)
        pitched = q.family != int(Family.DRUMS)
        onset = q.onset[pitched]
        end = onset + q.duration[pitched]
        inside = onset < length
        np.add.at(out, onset[inside], 1)
        np.add.at(out, np.minimum(end[inside], length), -1)
    counts = np.cumsum(out[:length])
    return np.minimum(counts, 255).astype(np.uint8).reshape(n_bars, spb)


# ---- key -----------------------------------------------------------------------------------------
def bar_chroma(song: Song, n_bars: int, subbeats_per_bar: int = 16) -> np.ndarray:
    """float[n_bars, 12]: sub-beats each pitch class sounds in each bar (a duration-weighted profile).

    Uses the notes' real lengths (not clipped to a bar), so held chords count where they sound."""
    n_bars = max(0, int(n_bars))
    length = n_bars * subbeats_per_bar
    pitch, start, end = _pitched_notes(song)
    diff = np.zeros((length + 1, 12), dtype=np.float64)
    if len(pitch) and length:
        on = np.rint(start / TICKS_PER_SUBBEAT).astype(np.int64)
        off = np.maximum(np.rint(end / TICKS_PER_SUBBEAT).astype(np.int64), on + 1)
        keep = on < length
        pc = pitch[keep] % 12
        np.add.at(diff, (on[keep], pc), 1.0)
        np.add.at(diff, (np.minimum(off[keep], length), pc), -1.0)
    sounding = np.cumsum(diff[:length], axis=0)
    return sounding.reshape(n_bars, subbeats_per_bar, 12).sum(axis=1)


def _key_templates() -> np.ndarray:
    """float[24, 12]: the major and minor profiles rotated to every tonic, centred and normalised."""
    rows = [np.roll(MAJOR_PROFILE, k) for k in range(12)] + [
        np.roll(MINOR_PROFILE, k) for k in range(12)
    ]
    t = np.asarray(rows)
    t = t - t.mean(axis=1, keepdims=True)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


_TEMPLATES = _key_templates()


def key_scores(chroma: np.ndarray) -> np.ndarray:
    """float[..., 24]: Pearson correlation of each 12-bin profile with each key profile (0 if silent)."""
    x = np.asarray(chroma, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    x = np.divide(x, norm, out=np.zeros_like(x), where=norm > 1e-12)
    return x @ _TEMPLATES.T


def global_key(song: Song) -> int:
    """The song's key (0-23) from the duration-weighted profile of all its pitched notes (0 if none)."""
    chroma = bar_chroma(song, max(1, song.n_bars)).sum(axis=0)
    return int(np.argmax(key_scores(chroma)))


def bar_keys(
    song: Song,
    n_bars: int,
    window: int = KEY_WINDOW_BARS,
    switch_penalty: float = KEY_SWITCH_PENALTY,
) -> np.ndarray:
    """int8[n_bars]: the key of each bar (0-11 major C..B, 12-23 minor C..B).

    Each bar is scored on the profile of the bars within ``window`` of it; the Viterbi path
    maximises the summed scores minus ``switch_penalty`` per key change. A song without pitched
    notes gets its (default) global key everywhere."""
    n_bars = max(0, int(n_bars))
    if n_bars == 0:
        return np.zeros(0, dtype=np.int8)
    chroma = bar_chroma(song, n_bars)
    if not chroma.any():
        return np.full(n_bars, global_key(song), dtype=np.int8)
    # window sums by a cumulative sum: bars [b - window, b + window]
    csum = np.concatenate([np.zeros((1, 12)), np.cumsum(chroma, axis=0)])
    idx = np.arange(n_bars)
    lo = np.clip(idx - window, 0, n_bars)
    hi = np.clip(idx + window + 1, 0, n_bars)
    scores = key_scores(csum[hi] - csum[lo])  # [n_bars, 24]
    # a mild pull towards the song's global key keeps short ambiguous passages in place
    song_scores = key_scores(chroma.sum(axis=0))
    return _viterbi(scores + 0.1 * song_scores, switch_penalty).astype(np.int8)


def _viterbi(scores: np.ndarray, switch_penalty: float) -> np.ndarray:
    """int[T]: the key path maximising sum(scores[t, key_t]) - switch_penalty * (#changes)."""
    n, k = scores.shape
    best = scores[0].copy()
    back = np.zeros((n, k), dtype=np.int64)
    for t in range(1, n):
        leader = int(np.argmax(best))
        stay = best
        switch = best[leader] - switch_penalty
        take_switch = switch > stay
        back[t] = np.where(take_switch, leader, np.arange(k))
        best = np.where(take_switch, switch, stay) + scores[t]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(np.argmax(best))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


__all__ = [
    "N_KEYS",
    "TONIC_NAMES",
    "bar_chroma",
    "bar_keys",
    "global_key",
    "key_name",
    "key_scores",
    "parse_key",
    "polyphony",
    "relation",
]
