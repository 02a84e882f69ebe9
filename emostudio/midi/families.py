"""Five instrument families, LPD-5 style: drums, piano, guitar, bass, strings.

Every track of a song is assigned one family; the tokenizer has one set of Pitch/Velocity/Duration
tokens per family, so a family is a *voice slot* of the model.

How tracks map (documented in docs/ARCHITECTURE.md):

1. Drum tracks (MIDI channel 10) -> DRUMS.
2. A track *role* given by its name wins over its program, so that POP909's three piano tracks do
   not collapse into one note soup: ``MELODY``/``VOCAL``/``LEAD`` -> STRINGS (the lead-line slot),
   ``BRIDGE``/``COUNTER`` -> GUITAR (the secondary-line slot), anything else by program.
3. By General MIDI program (0-127), to the nearest family:
   0-23 pianos, chromatic percussion, organs -> PIANO; 24-31 guitars -> GUITAR; 32-39 basses -> BASS;
   40-55 strings and ensembles -> STRINGS; 56-79 brass, reeds, pipes (sustained leads) -> STRINGS;
   80-87 synth leads -> GUITAR; 88-103 synth pads and effects -> STRINGS; 104-111 ethnic plucked ->
   GUITAR; 112-127 percussive and sound effects -> PIANO.

On the way back, a family without a source track uses :attr:`Family.default_program`.
"""

from __future__ import annotations

import enum


class Family(enum.IntEnum):
    DRUMS = 0
    PIANO = 1
    GUITAR = 2
    BASS = 3
    STRINGS = 4

    @property
    def default_program(self) -> int:
        return _DEFAULT_PROGRAM[self]

    @property
    def label(self) -> str:
        return self.name.lower()


_DEFAULT_PROGRAM = {
    Family.DRUMS: 0,
    Family.PIANO: 0,  # acoustic grand
    Family.GUITAR: 25,  # acoustic guitar (steel)
    Family.BASS: 33,  # electric bass (finger)
    Family.STRINGS: 48,  # string ensemble 1
}

_LEAD_ROLES = ("melody", "vocal", "lead")
_SECOND_ROLES = ("bridge", "counter")


def family_for_program(program: int) -> Family:
    """Nearest family of a General MIDI program number (0-127)."""
    if program < 24:
        return Family.PIANO
    if program < 32:
        return Family.GUITAR
    if program < 40:
        return Family.BASS
    if program < 80:
        return Family.STRINGS
    if program < 88:
        return Family.GUITAR
    if program < 104:
        return Family.STRINGS
    if program < 112:
        return Family.GUITAR
    return Family.PIANO


def family_for_track(program: int, is_drum: bool, name: str = "") -> Family:
    """The family (voice slot) of a track: drums, then a role named by the track, then its program."""
    if is_drum:
        return Family.DRUMS
    lowered = name.strip().lower()
    if any(lowered.startswith(role) for role in _LEAD_ROLES):
        return Family.STRINGS
    if any(lowered.startswith(role) for role in _SECOND_ROLES):
        return Family.GUITAR
    return family_for_program(program)
