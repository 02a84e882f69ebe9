"""The one tempo map (midi.tempo.TempoMap): ticks <-> seconds, and song, playback and piano roll agree."""

from __future__ import annotations

import numpy as np
import pytest

from emostudio.gui.roll_data import seconds_to_beat
from emostudio.midi import Note, Song, TempoChange, Track, song_from_bytes, song_to_bytes
from emostudio.midi.tempo import TempoMap
from emostudio.playback.events import NOTE_ON, song_schedule

TICKS = [0, 1, 479, 480, 959, 960, 961, 2399, 2400, 2401, 5000, 123456]


def _song(tempos: tuple[TempoChange, ...]) -> Song:
    piano = Track(
        program=0, notes=tuple(Note(60 + i, i * 480, i * 480 + 240, 80) for i in range(8))
    )
    return Song(tracks=(piano,), tempos=tempos)


def test_seconds_follow_each_tempo_from_its_tick():
    tempo_map = TempoMap([TempoChange(0, 120.0), TempoChange(960, 60.0), TempoChange(2400, 240.0)])
    # 2 beats at 120 (1 s), 3 beats at 60 (3 s), then a beat every 0.25 s
    assert tempo_map.seconds(960) == pytest.approx(1.0)
    assert tempo_map.seconds(2400) == pytest.approx(4.0)
    assert tempo_map.seconds(2400 + 4 * 480) == pytest.approx(5.0)
    assert tempo_map.seconds(480) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "tempos",
    [
        (TempoChange(0, 120.0), TempoChange(960, 60.0), TempoChange(2400, 240.0)),
        (TempoChange(960, 90.0), TempoChange(1920, 150.0)),  # the first tempo set late
        (TempoChange(0, 100.0), TempoChange(960, 70.0), TempoChange(960, 180.0)),  # two at one tick
        (),
    ],
)
def test_ticks_and_seconds_invert_each_other(tempos):
    tempo_map = TempoMap(tempos)
    seconds = [tempo_map.seconds(t) for t in TICKS]
    assert np.all(np.diff(seconds) > 0)
    assert tempo_map.seconds_of(np.array(TICKS)) == pytest.approx(seconds, abs=1e-12)
    assert [tempo_map.tick(s) for s in seconds] == pytest.approx(TICKS)


def test_the_first_tempo_holds_from_the_start_and_no_tempo_is_120():
    assert TempoMap([TempoChange(960, 60.0)]).seconds(960) == pytest.approx(2.0)
    assert TempoMap([]).seconds(960) == pytest.approx(1.0)
    assert TempoMap([TempoChange(960, 60.0)]).changes == ((0, 60.0), (960, 60.0))


@pytest.mark.parametrize(
    "tempos", [(TempoChange(960, 90.0), TempoChange(1920, 150.0)), (), (TempoChange(0, 75.0),)]
)
def test_song_playback_piano_roll_and_midi_files_agree(tempos):
    song = _song(tempos)
    assert song.bpm_at(0) == (tempos[0].bpm if tempos else 120.0)
    starts = [n.start for n in song.tracks[0].notes]
    expected = [song.tick_to_seconds(t) for t in starts]
    assert expected[1] == pytest.approx(60.0 / song.bpm_at(0))  # a beat at the first tempo
    schedule = song_schedule(song)
    note_ons = schedule.seconds[schedule.kind == NOTE_ON]
    assert note_ons == pytest.approx(expected)
    assert [seconds_to_beat(song, s) for s in expected] == pytest.approx([t / 480 for t in starts])
    reread = song_from_bytes(song_to_bytes(song))
    assert reread.duration_seconds == pytest.approx(song.duration_seconds, rel=1e-5)
