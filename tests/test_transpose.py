"""Song.transposed: pitched notes move, drums stay, MIDI's range holds, key signatures follow."""

import pytest

from emostudio.midi import Note, Song, Track, read_midi, write_midi
from emostudio.midi.song import ControlChange, KeySignature


def song() -> Song:
    piano = Track(
        program=0,
        notes=(Note(60, 0, 480, 90), Note(64, 480, 960, 80), Note(125, 0, 480, 70)),
        controls=(ControlChange(0, 64, 127),),
    )
    drums = Track(is_drum=True, notes=(Note(36, 0, 240, 100), Note(42, 240, 480, 60)))
    keys = (KeySignature(0, -3, True), KeySignature(1920, 0, False))  # C minor, then C major
    return Song(tracks=(piano, drums), key_signatures=keys)


def test_pitched_notes_move_and_drums_stay():
    up = song().transposed(5)
    piano, drums = up.tracks
    assert [n.pitch for n in piano.notes] == [65, 118, 69]  # 125 + 5 leaves the range: 118
    assert [(n.start, n.end, n.velocity) for n in piano.notes] == [
        (0, 480, 90),
        (0, 480, 70),
        (480, 960, 80),
    ]
    assert drums == song().tracks[1] and piano.controls == song().tracks[0].controls
    assert [k.label for k in up.key_signatures] == ["F minor", "F major"]
    down = song().transposed(-61)
    assert min(n.pitch for n in down.tracks[0].notes) >= 0


@pytest.mark.parametrize("semitones", [1, 6, -7])
def test_there_and_back_is_the_piece_and_a_file_keeps_the_key(tmp_path, semitones):
    s = song()
    back = s.transposed(semitones).transposed(-semitones)
    in_range = [n for n in s.tracks[0].notes if n.pitch < 100]  # no octave folded on the way
    assert [n for n in back.tracks[0].notes if n.pitch < 100] == in_range
    assert [k.key for k in back.key_signatures] == [k.key for k in s.key_signatures]
    there = s.transposed(semitones)
    assert [k.key % 12 for k in there.key_signatures] == [
        (k.key + semitones) % 12 for k in s.key_signatures
    ]
    path = tmp_path / "t.mid"
    write_midi(there, path)
    assert [k.key for k in read_midi(path).key_signatures] == [k.key for k in there.key_signatures]
