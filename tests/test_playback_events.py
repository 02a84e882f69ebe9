"""song_to_events: ordering, timing on the tempo map, channels shared with MIDI files."""

import mido
import pytest

from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.midi.io import song_to_midifile, track_channels
from emostudio.playback.events import loop_end_seconds, panic_messages, song_to_events


def _song_with_tempo_changes() -> Song:
    piano = Track(
        program=0,
        name="piano",
        notes=tuple(Note(60 + i, i * 480, i * 480 + 240, 80) for i in range(8)),
    )
    bass = Track(program=33, name="bass", notes=(Note(36, 0, 1920, 90), Note(38, 1920, 3840, 90)))
    drums = Track(
        is_drum=True, name="drums", notes=(Note(36, 0, 120, 100), Note(38, 960, 1080, 100))
    )
    tempos = (TempoChange(0, 120.0), TempoChange(960, 60.0), TempoChange(2400, 240.0))
    return Song(tracks=(piano, bass, drums), tempos=tempos)


def test_events_are_sorted_and_follow_the_tempo_map():
    song = _song_with_tempo_changes()
    events = song_to_events(song)
    times = [e.seconds for e in events]
    assert times == sorted(times)
    ons = [e for e in events if e.message.type == "note_on"]
    assert len(ons) == song.note_count
    # 120 bpm: a quarter = 0.5 s; from tick 960 at 60 bpm: a quarter = 1 s; from 2400 at 240 bpm
    piano_on = {e.message.note: e.seconds for e in ons if e.message.channel == 0}
    assert piano_on[61] == pytest.approx(0.5)
    assert piano_on[62] == pytest.approx(1.0)
    assert piano_on[63] == pytest.approx(2.0)
    assert piano_on[65] == pytest.approx(1.0 + 1440 / 480 * 1.0)  # tick 2400, where 240 bpm starts
    assert piano_on[66] == pytest.approx(4.0 + 0.25)  # one quarter at 240 bpm later
    for track in song.tracks:
        for note in track.notes:
            assert any(e.seconds == pytest.approx(song.tick_to_seconds(note.start)) for e in ons)


def test_program_changes_first_drums_on_channel_ten_offs_before_ons():
    song = _song_with_tempo_changes()
    events = song_to_events(song)
    programs = [e for e in events if e.message.type == "program_change"]
    assert [(e.seconds, e.message.channel, e.message.program) for e in programs] == [
        (0.0, 0, 0),
        (0.0, 1, 33),
    ]
    assert events[: len(programs)] == programs  # before any note at 0 s
    drum_channels = {
        e.message.channel
        for e in events
        if e.message.type == "note_on"
        and e.message.note in (36, 38)
        and e.seconds in (0.0, song.tick_to_seconds(960))
    }
    assert 9 in drum_channels
    assert not any(e.message.type == "program_change" and e.message.channel == 9 for e in events)
    # a repeated note: its release comes before its new strike at the same instant
    bass_at_bar = [
        e.message.type
        for e in events
        if e.message.channel == 1 and e.seconds == pytest.approx(song.tick_to_seconds(1920))
    ]
    assert bass_at_bar == ["note_off", "note_on"]


def test_channels_are_the_ones_midi_files_use():
    tracks = [Track(program=p, notes=(Note(60, 0, 480, 64),)) for p in range(17)]
    tracks.insert(3, Track(is_drum=True, notes=(Note(36, 0, 480, 64),)))
    song = Song(tracks=tuple(tracks))
    channels = track_channels(song)
    assert channels[3] == 9 and 9 not in channels[:3] + channels[4:]
    assert channels[:3] == (0, 1, 2) and channels[4:10] == (3, 4, 5, 6, 7, 8) and channels[10] == 10
    assert channels[-2:] == (0, 1)  # the 16th and 17th melodic tracks wrap round
    midi = song_to_midifile(song)
    file_channels = []
    for mtrack in midi.tracks[1:]:
        file_channels.append(next(m.channel for m in mtrack if m.type == "note_on"))
    assert tuple(file_channels) == channels
    event_channels = {
        e.message.channel for e in song_to_events(song) if e.message.type == "note_on"
    }
    assert event_channels == set(channels)


def test_empty_song_and_loop_end():
    assert song_to_events(Song()) == []
    song = Song(tracks=(Track(notes=(Note(60, 0, 500, 64),)),))  # ends inside bar 1
    assert loop_end_seconds(song) == pytest.approx(2.0)  # one 4/4 bar at 120 bpm


def test_panic_covers_every_channel():
    messages = panic_messages()
    assert all(isinstance(m, mido.Message) for m in messages)
    for control in (64, 120, 123):
        assert {m.channel for m in messages if m.control == control} == set(range(16))


def test_schedule_arrays_match_the_events_and_scale_to_long_songs():
    from emostudio.playback.events import NOTE_OFF, NOTE_ON, PROGRAM, song_schedule

    song = _song_with_tempo_changes()
    schedule = song_schedule(song)
    assert [(e.seconds, e.message) for e in song_to_events(song)] == [
        (float(schedule.seconds[i]), schedule.message(i)) for i in range(len(schedule))
    ]
    # a long piece: 3 tracks x 4,000 notes, sorted by (time, kind) with every note once
    long_song = Song(
        tracks=tuple(
            Track(
                program=p,
                notes=tuple(Note(40 + p + i % 24, i * 120, i * 120 + 200, 70) for i in range(4000)),
            )
            for p in (0, 1, 2)
        )
    )
    schedule = song_schedule(long_song)
    assert len(schedule) == 3 + 2 * 12000
    order = list(zip(schedule.seconds.tolist(), schedule.kind.tolist()))
    assert order == sorted(order)
    assert (schedule.kind == PROGRAM).sum() == 3 and (schedule.kind == NOTE_ON).sum() == (
        schedule.kind == NOTE_OFF
    ).sum() == 12000
    assert schedule.seconds[-1] == pytest.approx(long_song.duration_seconds)
