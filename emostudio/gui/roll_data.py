"""What the piano roll draws, as arrays: a pure function of a :class:`~emostudio.midi.Song` (no Qt).

Notes are grouped into layers of one instrument family and one velocity level, so the roll draws a
song with a handful of single-colour ``BarGraphItem`` s (fast ``drawRects``) however many notes it
has; velocity is shown as opacity. The x axis is in quarter-note beats, the y axis in MIDI pitch.
Where the sustain pedal is down (on any track) is drawn as a strip under the notes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from emostudio.midi import TICKS_PER_BAR, TICKS_PER_BEAT, Family, Song
from emostudio.midi.pedal import sustain_spans

#: Number of opacity steps velocity is drawn with.
VELOCITY_LEVELS = 4
BEATS_PER_BAR = TICKS_PER_BAR // TICKS_PER_BEAT  # the model's 4/4 grid


@dataclass(frozen=True)
class NoteLayer:
    """The notes of one family at one velocity level; ``x0``/``width`` in beats, ``pitch`` MIDI."""

    family: Family
    level: int
    alpha: float
    x0: np.ndarray
    width: np.ndarray
    pitch: np.ndarray

    def __len__(self) -> int:
        return len(self.pitch)


@dataclass(frozen=True)
class RollData:
    layers: tuple[NoteLayer, ...]
    n_notes: int
    end_beat: float
    pitch_low: int  # lowest pitch played (60 for an empty song)
    pitch_high: int
    # where the sustain pedal is down: spans' starts and widths in beats
    pedal_x0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pedal_width: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_bars(self) -> int:
        return int(np.ceil(self.end_beat / BEATS_PER_BAR))


def velocity_level(velocity: np.ndarray) -> np.ndarray:
    """Velocity 1-127 -> level 0..VELOCITY_LEVELS-1."""
    v = np.clip(np.asarray(velocity, dtype=np.int64), 1, 127)
    return np.minimum((v - 1) * VELOCITY_LEVELS // 127, VELOCITY_LEVELS - 1)


def level_alpha(level: int) -> float:
    """Opacity of a velocity level: soft notes stay visible, loud ones are solid."""
    return 0.3 + 0.7 * (level + 1) / VELOCITY_LEVELS


def changed_notes(source: Song | None, result: Song | None) -> Song | None:
    """``result`` with only the notes that are not in ``source``: what a transfer changed.

    A result note is kept (left out here) when the source has a note of the same pitch, start and
    end, in any track (counted: two equal result notes need two in the source). Velocity is not
    compared: the roll draws it as opacity, so a note only made louder or softer looks kept. Drawn
    over the source in grey, the rest is the overlay's "changed notes in colour, kept notes grey"."""
    if result is None or source is None:
        return result
    left = Counter((n.pitch, n.start, n.end) for t in source.tracks for n in t.notes)
    tracks = []
    for track in result.tracks:
        notes = []
        for n in track.notes:
            key = (n.pitch, n.start, n.end)
            if left[key] > 0:
                left[key] -= 1
            else:
                notes.append(n)
        tracks.append(track if len(notes) == len(track.notes) else track.with_notes(notes))
    return replace(result, tracks=tuple(tracks))


def roll_data(song: Song | None) -> RollData:
    if song is None or song.note_count == 0:
        return RollData((), 0, 0.0, 60, 72)
    families, starts, ends, pitches, velocities = [], [], [], [], []
    for track in song.tracks:
        n = len(track.notes)
        if n == 0:
            continue
        families.append(np.full(n, int(track.family), dtype=np.int64))
        fields = np.array(
            [(x.start, x.end, x.pitch, x.velocity) for x in track.notes], dtype=np.int64
        )
        starts.append(fields[:, 0])
        ends.append(fields[:, 1])
        pitches.append(fields[:, 2])
        velocities.append(fields[:, 3])
    family = np.concatenate(families)
    start = np.concatenate(starts) / TICKS_PER_BEAT
    width = (np.concatenate(ends) - np.concatenate(starts)) / TICKS_PER_BEAT
    pitch = np.concatenate(pitches)
    level = velocity_level(np.concatenate(velocities))
    key = family * VELOCITY_LEVELS + level
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    bounds = np.flatnonzero(np.diff(key_sorted)) + 1
    layers = []
    for chunk in np.split(order, bounds):
        k = int(key[chunk[0]])
        fam, lev = Family(k // VELOCITY_LEVELS), k % VELOCITY_LEVELS
        layers.append(
            NoteLayer(
                fam,
                lev,
                level_alpha(lev),
                start[chunk],
                width[chunk],
                pitch[chunk].astype(np.float64),
            )
        )
    end_beat = float(np.max(start + width))
    pedal = pedal_spans(song, round(end_beat * TICKS_PER_BEAT))
    return RollData(
        layers=tuple(layers),
        n_notes=len(pitch),
        end_beat=end_beat,
        pitch_low=int(pitch.min()),
        pitch_high=int(pitch.max()),
        pedal_x0=pedal[:, 0] / TICKS_PER_BEAT,
        pedal_width=(pedal[:, 1] - pedal[:, 0]) / TICKS_PER_BEAT,
    )


def pedal_spans(song: Song, end: int) -> np.ndarray:
    """int[n, 2]: the (start, end) ticks, in order and not overlapping, where the sustain pedal
    of any track is down; a pedal never lifted is down until ``end``."""
    spans = sorted(s for t in song.tracks for s in sustain_spans(t.controls, end) if s[1] > s[0])
    merged: list[list[int]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return np.array(merged, dtype=np.int64).reshape(-1, 2)


def grid_lines(end_beat: float) -> tuple[np.ndarray, np.ndarray]:
    """(bar line x, beat line x) in beats up to ``end_beat`` (at least one bar); beats exclude bars."""
    n_beats = max(BEATS_PER_BAR, int(np.ceil(end_beat / BEATS_PER_BAR)) * BEATS_PER_BAR)
    x = np.arange(n_beats + 1, dtype=np.float64)
    on_bar = (np.arange(n_beats + 1) % BEATS_PER_BAR) == 0
    return x[on_bar], x[~on_bar]


def seconds_to_beat(song: Song, seconds: float) -> float:
    """The beat (quarter note) sounding ``seconds`` after the start (0 before it), following the
    song's tempo map: the inverse of :meth:`Song.tick_to_seconds`."""
    return song.tempo_map.tick(max(0.0, seconds)) / TICKS_PER_BEAT


PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> scientific name (60 -> C4)."""
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"
