"""MIDI files in and out through one small domain type.

Modules, in the order data passes through them:

- ``families``  General MIDI program / track role -> one of five instrument families (LPD-5 style)
- ``song``      :class:`Song`, :class:`Track`, :class:`Note`, :class:`ControlChange`,
                :class:`PitchBend`, :class:`KeySignature`, :class:`TextEvent`: the one in-memory
                music type
- ``io``        :func:`read_midi` (any type 0/1 file, any resolution) and :func:`write_midi`
- ``pedal``     the sustain pedal for piano parts written without one (generation, continue)
"""

from emostudio.midi.families import Family, family_for_track
from emostudio.midi.io import MidiReadError, read_midi, song_from_bytes, song_to_bytes, write_midi
from emostudio.midi.song import (
    SUBBEATS_PER_BAR,
    TICKS_PER_BAR,
    TICKS_PER_BEAT,
    TICKS_PER_SUBBEAT,
    ControlChange,
    KeySignature,
    Note,
    PitchBend,
    Song,
    TempoChange,
    TextEvent,
    TimeSignature,
    Track,
)

__all__ = [
    "SUBBEATS_PER_BAR",
    "TICKS_PER_BAR",
    "TICKS_PER_BEAT",
    "TICKS_PER_SUBBEAT",
    "ControlChange",
    "Family",
    "KeySignature",
    "MidiReadError",
    "Note",
    "PitchBend",
    "Song",
    "TempoChange",
    "TextEvent",
    "TimeSignature",
    "Track",
    "family_for_track",
    "read_midi",
    "song_from_bytes",
    "song_to_bytes",
    "write_midi",
]
