"""A piece's musical elements, and which of its notes are melody and which accompaniment.

The five :class:`Element` s are what a transformation may change or must keep (the caller passes
the free ones; the others are locked and stay exactly):

- ``MELODY``: the pitches of the melody notes;
- ``RHYTHM``: when notes start and end (every pitched note's start and end tick; no onset added or
  removed: the set of (start, end) pairs of each track's pitched notes stays);
- ``ACCOMPANIMENT``: the accompaniment/harmony notes (pitch, times, velocity), none added or removed;
- ``DYNAMICS``: every note's velocity;
- ``TEMPO``: the tempo map.

:func:`split_voices` decides the melody: tracks whose name gives them the lead role (``MELODY``,
``VOCAL``, ``LEAD``, as POP909 has) when present; otherwise, in a piece of several pitched
families, its tracks of the strings family (the model's lead-line slot,
:mod:`emostudio.midi.families`); otherwise the top voice by skyline on the tokenizer's grid: at each
onset sub-beat the highest note starting there, unless a melody note chosen before still sounds
above it. Every other pitched note is accompaniment; drum notes are neither.

:func:`beat_phase` finds where the piece's own beats lie against the grid, so that a rule that
needs metrical strength (the density rule's weak sub-beats) reads it on the piece's beats.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from emostudio.midi.families import Family
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_BEAT, TICKS_PER_SUBBEAT, Song

_LEAD_ROLES = ("melody", "vocal", "lead")
_PHASE_BIN = 30  # ticks


class Element(enum.Enum):
    MELODY = "melody"
    RHYTHM = "rhythm"
    ACCOMPANIMENT = "accompaniment"
    DYNAMICS = "dynamics"
    TEMPO = "tempo"

    @classmethod
    def parse(cls, text: str) -> Element:
        """``"melody"`` / ``"Rhythm"`` ... -> the element; ``ValueError`` naming the choices."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(e.value for e in cls)
            raise ValueError(f"unknown element {text!r}: use one of {names}") from None


ALL_ELEMENTS: frozenset[Element] = frozenset(Element)

#: a note's place in a song: (track index, note index in the track's ``notes``)
NoteRef = tuple[int, int]


@dataclass(frozen=True)
class VoiceSplit:
    """Which notes of a song are melody and which accompaniment (drum notes are in neither)."""

    melody: frozenset[NoteRef]
    accompaniment: frozenset[NoteRef]
    method: str  # "named track", "strings family" or "skyline"

    def is_melody(self, track: int, note: int) -> bool:
        return (track, note) in self.melody


def beat_phase(song: Song) -> int:
    """Ticks from the grid's beats to the piece's own (0-479): where most pitched notes start.

    A file whose first downbeat is not at tick 0 (a pickup, an offset recording) has its beats off
    the grid; metrical strength (downbeat, beat, off-beat) is taken on the piece's own beats. Onsets
    are summed in 30-tick (1/64-note) bins of their position within the quarter note, each weighted
    by its length up to a bar (long notes, bass and chords, start on beats more often than short
    ones: an even eighth-note stream alone does not tell the beat from the off-beat); the heaviest
    bin wins (ties: the earliest), 0 for a piece without pitched notes."""
    counts = [0] * (TICKS_PER_BEAT // _PHASE_BIN)
    for track in song.tracks:
        if track.is_drum:
            continue
        for n in track.notes:
            weight = min(n.end - n.start, TICKS_PER_BAR)
            counts[round((n.start % TICKS_PER_BEAT) / _PHASE_BIN) % len(counts)] += weight
    return counts.index(max(counts)) * _PHASE_BIN


def _onset(tick: int) -> int:
    return round(tick / TICKS_PER_SUBBEAT)


def split_voices(song: Song) -> VoiceSplit:
    """The melody and accompaniment notes of ``song`` (see the module docstring for the rule)."""
    pitched = [i for i, t in enumerate(song.tracks) if not t.is_drum and t.notes]
    every = {(i, j) for i in pitched for j in range(len(song.tracks[i].notes))}

    named = [i for i in pitched if song.tracks[i].name.strip().lower().startswith(_LEAD_ROLES)]
    families = {song.tracks[i].family for i in pitched}
    if named:
        lead, method = named, "named track"
    elif Family.STRINGS in families and len(families) > 1:
        lead = [i for i in pitched if song.tracks[i].family is Family.STRINGS]
        method = "strings family"
    else:
        melody = _skyline(song, pitched)
        return VoiceSplit(frozenset(melody), frozenset(every - melody), "skyline")
    melody = {(i, j) for i in lead for j in range(len(song.tracks[i].notes))}
    return VoiceSplit(frozenset(melody), frozenset(every - melody), method)


def _skyline(song: Song, tracks: list[int]) -> set[NoteRef]:
    """Top voice: per onset sub-beat the highest starting note, unless a held melody note is higher."""
    by_onset: dict[int, tuple[int, int, NoteRef]] = {}  # onset -> (pitch, end tick, ref)
    for i in tracks:
        for j, n in enumerate(song.tracks[i].notes):
            onset = _onset(n.start)
            best = by_onset.get(onset)
            if best is None or n.pitch > best[0]:
                by_onset[onset] = (n.pitch, n.end, (i, j))
    melody: set[NoteRef] = set()
    held_pitch, held_until = -1, -1  # the last melody note: pitch and end sub-beat
    for onset in sorted(by_onset):
        pitch, end, ref = by_onset[onset]
        if onset < held_until and held_pitch > pitch:
            continue
        melody.add(ref)
        held_pitch, held_until = pitch, _onset(end)
    return melody


__all__ = ["ALL_ELEMENTS", "Element", "NoteRef", "VoiceSplit", "beat_phase", "split_voices"]
