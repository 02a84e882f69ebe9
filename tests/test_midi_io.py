"""MIDI files in and out: formats, resolutions, tempo and metre, drums, odd content, clear errors."""

from __future__ import annotations

import mido
import pytest
from hypothesis import given, settings
from songs import RawTrack, any_songs, midi_bytes, piece, write_midi_file

from emostudio.midi import (
    TICKS_PER_BEAT,
    Family,
    MidiReadError,
    Song,
    read_midi,
    song_from_bytes,
    song_to_bytes,
    write_midi,
)


def notes_of(song: Song) -> list[tuple[int, int, int, int, bool]]:
    return sorted(
        (n.pitch, n.start, n.end, n.velocity, t.is_drum) for t in song.tracks for n in t.notes
    )


@pytest.mark.parametrize("midi_type", [0, 1])
@pytest.mark.parametrize("tpb", [48, 96, 384, 480, 960, 1024, 15360])
def test_any_resolution_and_type_is_rescaled_to_480(tmp_path, midi_type, tpb):
    path = write_midi_file(
        tmp_path / "x.mid",
        piece(3, bars=2, ticks_per_beat=tpb),
        midi_type=midi_type,
        ticks_per_beat=tpb,
    )
    song = read_midi(path)
    reference = read_midi(
        write_midi_file(tmp_path / "ref.mid", piece(3, bars=2), ticks_per_beat=480)
    )
    assert notes_of(song) == notes_of(reference)
    assert song.end_tick == 2 * 4 * TICKS_PER_BEAT
    assert len(song.tracks) == 2  # two channels stay two tracks even in a type 0 file


def test_tempo_changes_and_time_signatures_are_kept(tmp_path):
    path = write_midi_file(
        tmp_path / "t.mid",
        piece(0, bars=4),
        tempos=[(0, 90.0), (1920, 140.0), (3840, 60.0)],
        time_signatures=[(0, 7, 8), (1920, 5, 4)],
    )
    song = read_midi(path)
    assert [(t.tick, round(t.bpm, 3)) for t in song.tempos] == [
        (0, 90.0),
        (1920, 140.0),
        (3840, 60.0),
    ]
    assert [(s.tick, s.numerator, s.denominator) for s in song.time_signatures] == [
        (0, 7, 8),
        (1920, 5, 4),
    ]
    # seconds follow the tempo map: 4 beats at 90, 4 at 140, the rest at 60
    assert song.tick_to_seconds(1920) == pytest.approx(4 * 60 / 90)
    assert song.tick_to_seconds(3840) == pytest.approx(4 * 60 / 90 + 4 * 60 / 140)


def test_missing_tempo_and_metre_default_to_120_and_4_4(tmp_path):
    song = read_midi(write_midi_file(tmp_path / "d.mid", piece(1), tempos=[], time_signatures=[]))
    assert [(t.tick, t.bpm) for t in song.tempos] == [(0, 120.0)]
    assert [(s.numerator, s.denominator) for s in song.time_signatures] == [(4, 4)]


def test_drums_channel_10_and_pitch_zero(tmp_path):
    tracks = [
        RawTrack([(36, 0, 120, 100), (42, 240, 360, 90)], channel=9, program=None, name="kit"),
        RawTrack([(0, 0, 480, 50), (127, 480, 960, 127)], channel=0, program=40),
    ]
    song = read_midi(write_midi_file(tmp_path / "dr.mid", tracks))
    by_family = {t.family: t for t in song.tracks}
    assert by_family[Family.DRUMS].is_drum and len(by_family[Family.DRUMS].notes) == 2
    assert [n.pitch for n in by_family[Family.STRINGS].notes] == [0, 127]
    again = song_from_bytes(song_to_bytes(song))
    assert notes_of(again) == notes_of(song)


def test_33_tracks(tmp_path):
    tracks = [
        RawTrack([(40 + i, i * 60, i * 60 + 240, 64)], channel=i % 16, program=i * 3 % 128)
        for i in range(33)
    ]
    song = read_midi(write_midi_file(tmp_path / "many.mid", tracks))
    assert song.note_count == 33
    assert len(song.tracks) == 33
    again = song_from_bytes(song_to_bytes(song))  # more tracks than channels: they wrap round
    assert notes_of(again) == notes_of(song)


def test_program_changes_split_a_channel_and_pop909_roles_stay_apart(tmp_path):
    tracks = [
        RawTrack([(72, 0, 480, 80)], channel=0, name="MELODY"),
        RawTrack([(64, 0, 480, 80)], channel=1, name="BRIDGE"),
        RawTrack([(48, 0, 480, 80)], channel=2, name="PIANO"),
    ]
    song = read_midi(write_midi_file(tmp_path / "pop.mid", tracks))
    assert sorted(t.family for t in song.tracks) == [Family.PIANO, Family.GUITAR, Family.STRINGS]


def test_overlapping_and_unclosed_notes(tmp_path):
    midi = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack(
        [
            mido.Message("note_on", note=60, velocity=80, time=0),
            mido.Message(
                "note_on", note=60, velocity=90, time=100
            ),  # same pitch again before the off
            mido.Message("note_off", note=60, time=100),  # closes the first (FIFO)
            mido.Message("note_off", note=60, time=100),  # closes the second
            mido.Message("note_on", note=64, velocity=70, time=0),  # never closed
            mido.Message("note_on", note=67, velocity=70, time=0),
            mido.Message("note_on", note=67, velocity=0, time=0),  # zero length: still a note
            mido.MetaMessage("end_of_track", time=500),
        ]
    )
    midi.tracks.append(track)
    path = tmp_path / "o.mid"
    midi.save(path)
    song = read_midi(path)
    assert notes_of(song) == [
        (60, 0, 200, 80, False),
        (60, 100, 300, 90, False),
        (64, 300, 800, 70, False),
        (67, 300, 301, 70, False),
    ]


@settings(max_examples=60)
@given(any_songs(max_tracks=4, max_notes=15))
def test_write_then_read_gives_the_same_song(song):
    again = song_from_bytes(song_to_bytes(song))

    # overlapping notes of one pitch on one channel are ambiguous in MIDI (offs pair first-in-first-
    # out), so what is kept is every onset with its velocity and every release
    def onsets(s: Song) -> list:
        return sorted((n.pitch, n.start, n.velocity, t.is_drum) for t in s.tracks for n in t.notes)

    def releases(s: Song) -> list:
        return sorted((n.pitch, n.end, t.is_drum) for t in s.tracks for n in t.notes)

    assert onsets(again) == onsets(song)
    assert releases(again) == releases(song)
    assert [t.tick for t in again.tempos] == [t.tick for t in song.tempos]
    # tempo is stored as whole microseconds per quarter note
    assert [t.bpm for t in again.tempos] == pytest.approx([t.bpm for t in song.tempos], rel=1e-5)


def test_write_midi_is_atomic_and_readable(tmp_path):
    song = read_midi(write_midi_file(tmp_path / "a.mid", piece(2)))
    out = tmp_path / "out.mid"
    write_midi(song, out)
    assert notes_of(read_midi(out)) == notes_of(song)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "not a MIDI file"),
        (b"RIFF....WAVEfmt ", "not a MIDI file"),
        (midi_bytes(piece(1))[:30], "file ends early (truncated)"),
        (midi_bytes(piece(1), midi_type=2), "type 2"),
    ],
)
def test_unreadable_files_raise_one_line_errors_naming_the_file(tmp_path, data, reason):
    path = tmp_path / "bad.mid"
    path.write_bytes(data)
    with pytest.raises(MidiReadError) as info:
        read_midi(path)
    message = str(info.value)
    assert message.startswith(str(path)) and reason in message and "\n" not in message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MidiReadError, match="cannot open"):
        read_midi(tmp_path / "nope.mid")
    with pytest.raises(MidiReadError):
        read_midi(tmp_path)


def test_absurdly_long_file_is_refused(tmp_path):
    # one note lasting 3 hours at 120 BPM
    tracks = [RawTrack([(60, 0, 480 * 2 * 3 * 3600, 80)])]
    with pytest.raises(MidiReadError, match="too long"):
        read_midi(write_midi_file(tmp_path / "long.mid", tracks))


def test_zero_note_file_reads_as_an_empty_song(tmp_path):
    song = read_midi(write_midi_file(tmp_path / "empty.mid", [RawTrack([])]))
    assert song.note_count == 0 and song.n_bars == 0
