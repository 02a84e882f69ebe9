"""Song -> a fixed vector of musical descriptors, the input of the reference emotion judge.

Every descriptor is computed on the tokenizer's grid (onsets and durations in sub-beats, velocity
bins), so a real piece and a generated one are measured the same way. Tempo is left out on
purpose: every EMOPIA clip is stored at 120 BPM, so in the judge's training data tempo carries no
information and a generated tempo would only push the judge out of its domain.

Groups (names in :data:`DESCRIPTOR_NAMES`): note density and onsets per bar, polyphony per
sub-beat (``features.polyphony``), velocity, pitch, duration, inter-onset intervals, melodic
motion of the top voice, key strength and mode (``features.key_scores`` on the duration-weighted
profile), the pitch-class histogram relative to the estimated tonic, and pitch-class entropy.
"""

from __future__ import annotations

import numpy as np

from emostudio.midi.families import Family
from emostudio.midi.song import Song
from emostudio.tokens.config import TokenizerConfig
from emostudio.tokens.features import bar_chroma, key_scores, polyphony
from emostudio.tokens.tokenizer import QuantisedNotes, Tokenizer

_SCALAR_NAMES = (
    "notes_per_bar",
    "onsets_per_bar",
    "silent_subbeat_fraction",
    "polyphony_mean",
    "polyphony_std",
    "polyphony_p90",
    "velocity_mean",
    "velocity_std",
    "pitch_mean",
    "pitch_std",
    "pitch_range",
    "pitch_low",
    "pitch_high",
    "duration_mean",
    "duration_std",
    "ioi_mean",
    "ioi_std",
    "top_voice_step_mean",
    "top_voice_step_std",
    "key_strength",
    "mode_major_minus_minor",
    "pitch_class_entropy",
)
#: names of the entries of :func:`describe`'s vector, in order
DESCRIPTOR_NAMES: tuple[str, ...] = _SCALAR_NAMES + tuple(f"pc_rel_tonic_{i}" for i in range(12))


class EmptySongError(ValueError):
    """A song without pitched notes: nothing to describe."""


def pitched_notes(song: Song, tokenizer: Tokenizer | None = None) -> QuantisedNotes:
    """The song's non-drum notes on the grid (sorted by onset, family, pitch)."""
    q = (tokenizer or Tokenizer()).quantise(song)
    keep = q.family != int(Family.DRUMS)
    return QuantisedNotes(
        q.family[keep], q.pitch[keep], q.onset[keep], q.duration[keep], q.velocity[keep]
    )


def describe(song: Song, config: TokenizerConfig | None = None) -> np.ndarray:
    """float64[len(DESCRIPTOR_NAMES)] for one song; :class:`EmptySongError` if it has no pitched notes."""
    config = config or TokenizerConfig()
    q = pitched_notes(song, Tokenizer(config))
    if len(q) == 0:
        raise EmptySongError(f"{song.name or 'song'}: no pitched notes to describe")
    spb = config.subbeats_per_bar
    n_bars = int(q.onset.max()) // spb + 1
    active_bars = max(1, len(np.unique(q.onset // spb)))  # bars with at least one onset
    onsets = np.unique(q.onset)

    poly = polyphony(song, n_bars, config).astype(np.float64).ravel()
    velocity = (q.velocity.astype(np.float64) + 0.5) * (128.0 / config.velocity_bins)
    pitch = q.pitch.astype(np.float64)
    duration = q.duration.astype(np.float64)
    ioi = np.diff(onsets).astype(np.float64) if len(onsets) > 1 else np.zeros(1)

    # top voice: the highest pitch at each onset, and the size of its steps
    last_of_onset = np.r_[np.flatnonzero(np.diff(q.onset)), len(q) - 1]
    top = np.maximum.reduceat(q.pitch, np.r_[0, last_of_onset[:-1] + 1]).astype(np.float64)
    steps = np.abs(np.diff(top)) if len(top) > 1 else np.zeros(1)

    chroma = bar_chroma(song, n_bars, spb).sum(axis=0)
    scores = key_scores(chroma)  # [24]: 0-11 major, 12-23 minor
    best = int(np.argmax(scores))
    tonic = best % 12
    total = chroma.sum()
    profile = chroma / total if total > 0 else np.full(12, 1 / 12)
    nonzero = profile[profile > 0]
    entropy = float(-(nonzero * np.log2(nonzero)).sum())

    scalars = [
        len(q) / active_bars,
        len(onsets) / active_bars,
        float(np.mean(poly == 0)),
        float(poly.mean()),
        float(poly.std()),
        float(np.percentile(poly, 90)),
        float(velocity.mean()),
        float(velocity.std()),
        float(pitch.mean()),
        float(pitch.std()),
        float(np.percentile(pitch, 95) - np.percentile(pitch, 5)),
        float(np.percentile(pitch, 5)),
        float(np.percentile(pitch, 95)),
        float(duration.mean()),
        float(duration.std()),
        float(ioi.mean()),
        float(ioi.std()),
        float(steps.mean()),
        float(steps.std()),
        float(scores[best]),
        float(scores[:12].max() - scores[12:].max()),
        entropy,
    ]
    return np.concatenate([np.asarray(scalars), np.roll(profile, -tonic)])


def describe_many(songs, config: TokenizerConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(float64[n_ok, D], indices of the songs described); songs without pitched notes are skipped."""
    rows, kept = [], []
    for i, song in enumerate(songs):
        try:
            rows.append(describe(song, config))
        except EmptySongError:
            continue
        kept.append(i)
    if not rows:
        return np.zeros((0, len(DESCRIPTOR_NAMES))), np.zeros(0, dtype=np.int64)
    return np.stack(rows), np.asarray(kept, dtype=np.int64)
