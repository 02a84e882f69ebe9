"""The Qt player re-emits the pure player's callbacks as signals on the GUI thread."""

import itertools

import pytest
from gui_songs import make_song

from emostudio.gui.qt_player import QtPlayer
from emostudio.playback import PlaybackError, RecordingSink


def test_plays_a_song_into_a_sink_with_its_timing(qtbot):
    player = QtPlayer()
    sink = RecordingSink()
    song = make_song(1, bpm=240.0)  # four quarter notes of 0.25 s
    player.set_song(song)
    player.set_sink(sink)
    positions = []
    player.position_changed.connect(positions.append)
    with qtbot.waitSignal(player.finished, timeout=5000):
        player.play()
    notes = [(t, m.note) for t, m in sink.notes_on()]
    assert sorted(n for _, n in notes) == sorted([36, 60, 64, 67, 72])
    piano = [t for t, n in notes if n in (60, 64, 67, 72)]
    gaps = [b - a for a, b in itertools.pairwise(piano)]
    assert all(abs(gap - 0.25) < 0.05 for gap in gaps), gaps
    assert positions and positions[-1] == pytest.approx(song.duration_seconds, abs=0.01)
    assert not player.is_playing
    player.close()
    assert sink.closed


def test_no_output_is_a_clear_error(qtbot):
    player = QtPlayer()
    player.set_song(make_song(1))
    with pytest.raises(PlaybackError, match="no sound output"):
        player.play()


def test_replacing_the_sink_closes_the_old_one(qtbot):
    player = QtPlayer()
    first, second = RecordingSink(), RecordingSink()
    player.set_sink(first)
    player.set_sink(second)
    assert first.closed and not second.closed
    player.close()
