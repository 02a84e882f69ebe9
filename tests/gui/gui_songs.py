"""Songs the GUI tests write themselves (imported by the tests as ``gui_songs``)."""

from emostudio.midi import Note, Song, TempoChange, Track


def make_song(n_bars: int = 4, bpm: float = 120.0) -> Song:
    """A small two-track piece: a C-major arpeggio on piano and a bass note per bar."""
    piano, bass = [], []
    for bar in range(n_bars):
        base = bar * 1920
        for i, pitch in enumerate((60, 64, 67, 72)):
            piano.append(Note(pitch, base + i * 480, base + (i + 1) * 480, 70 + 10 * i))
        bass.append(Note(36 + bar % 3, base, base + 1920, 90))
    return Song(
        tracks=(
            Track(program=0, name="Piano", notes=tuple(piano)),
            Track(program=33, name="Bass", notes=tuple(bass)),
        ),
        tempos=(TempoChange(0, bpm),),
        name="arpeggio",
    )
