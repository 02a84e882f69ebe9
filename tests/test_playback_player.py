"""The pure timing player, played into a RecordingSink in real time (each test well under 2 s).

Timing bounds are generous for a loaded 2-core machine: a message may come up to LATE_S late,
never more than 1 ms early; benchmarks/render_speed.py measures the real jitter.
"""

import threading
import time

import pytest

from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.playback import PlaybackError, Player, RecordingSink, song_to_events

LATE_S = 0.040
BPM = 480.0  # a quarter = 0.125 s, a bar = 0.5 s, 120 ticks = 31.25 ms
TICK_S = 60.0 / (BPM * 480)


def _bar_song(n_bars: int, pitch0: int = 60) -> Song:
    """Four quarter notes per bar, each 0.1 s long; bar b uses pitches pitch0 + 4b ..."""
    notes = [Note(pitch0 + i, i * 480, i * 480 + 384, 90) for i in range(4 * n_bars)]
    return Song(tracks=(Track(program=0, notes=tuple(notes)),), tempos=(TempoChange(0, BPM),))


def _note_ons(sink):
    return [(t, m) for t, m in sink.notes_on()]


@pytest.fixture
def player_and_sink():
    sink = RecordingSink()
    player = Player(sink)
    yield player, sink
    player.close()


def _wait(event: threading.Event, timeout: float = 5.0) -> None:
    assert event.wait(timeout), "timed out"


def test_plays_every_message_on_time_then_finishes(player_and_sink):
    player, sink = player_and_sink
    song = _bar_song(1)
    finished, positions = threading.Event(), []
    player.on_finished(finished.set)
    player.on_position(positions.append)
    player.set_song(song)
    assert player.duration == pytest.approx(song.duration_seconds)
    started = time.monotonic()
    player.play()
    assert player.is_playing
    _wait(finished)
    assert not player.is_playing
    expected = song_to_events(song)
    assert [m for _, m in sink.messages] == [e.message for e in expected]
    for (arrived, _), event in zip(sink.messages, expected):
        lateness = (arrived - started) - event.seconds
        assert -0.001 <= lateness <= LATE_S, (event, lateness)
    # ~30 position reports a second over 0.47 s, increasing, ending at the duration
    assert 6 <= len(positions) <= 30
    assert positions == sorted(positions)
    assert positions[-1] == pytest.approx(song.duration_seconds)
    assert player.position == pytest.approx(song.duration_seconds)


def test_play_from_a_position_sends_programs_then_later_notes(player_and_sink):
    player, sink = player_and_sink
    song = _bar_song(1)
    finished = threading.Event()
    player.on_finished(finished.set)
    player.set_song(song)
    player.play(start_seconds=0.25)  # the third quarter
    _wait(finished)
    assert sink.messages[0][1].type == "program_change"
    assert [m.note for _, m in _note_ons(sink)] == [62, 63]


def test_stop_sends_panic_and_nothing_after(player_and_sink):
    player, sink = player_and_sink
    player.set_song(_bar_song(4))
    player.play()
    assert sink.wait_for(lambda s: len(s.notes_on()) >= 2, timeout=2.0)
    player.stop()
    stopped_at = time.monotonic()
    assert not player.is_playing
    assert len(sink.panics) == 1 and sink.panics[0] <= stopped_at
    held = player.position
    assert 0.1 < held < 1.0
    count = len(sink.messages)
    time.sleep(0.3)
    assert len(sink.messages) == count  # no message after the stop
    assert player.position == held


def test_loop_wraps_at_the_bar_end(player_and_sink):
    player, sink = player_and_sink
    song = _bar_song(1)
    player.set_song(song)
    player.loop = True
    finished = threading.Event()
    player.on_finished(finished.set)
    started = time.monotonic()
    player.play()
    assert sink.wait_for(lambda s: len(s.notes_on()) >= 9, timeout=3.0)
    player.stop()
    assert not finished.is_set()
    ons = _note_ons(sink)
    assert [m.note for _, m in ons[:9]] == [60, 61, 62, 63] * 2 + [60]
    loop_end = player.loop_end
    assert loop_end == pytest.approx(0.5)
    for k, (arrived, _) in enumerate(ons[:9]):
        expected = (k // 4) * loop_end + (k % 4) * 0.125
        assert -0.001 <= (arrived - started) - expected <= LATE_S


def test_set_song_while_playing_extends_playback_seamlessly(player_and_sink):
    player, sink = player_and_sink
    finished = threading.Event()
    player.on_finished(finished.set)
    player.set_song(_bar_song(1), growing=True)
    started = time.monotonic()
    player.play()
    assert sink.wait_for(lambda s: len(s.notes_on()) >= 2, timeout=2.0)
    player.set_song(_bar_song(2), growing=True)  # the next bar arrives while bar 1 plays
    player.set_song(_bar_song(3), growing=False)  # generation finished
    _wait(finished)
    ons = _note_ons(sink)
    assert [m.note for _, m in ons] == list(range(60, 72))  # every note once, none twice
    for k, (arrived, _) in enumerate(ons):
        assert -0.001 <= (arrived - started) - k * 0.125 <= LATE_S  # no gap at the bar lines
    offs = [m for _, m in sink.messages if m.type == "note_off"]
    assert sorted(m.note for m in offs) == list(range(60, 72))


def test_growing_song_waits_for_the_next_bar_when_playback_catches_up(player_and_sink):
    player, sink = player_and_sink
    finished = threading.Event()
    player.on_finished(finished.set)
    # bar 1 ends with a note released exactly where bar 2 strikes the same pitch again
    bar1 = Song(tracks=(Track(notes=(Note(60, 0, 1920, 90),)),), tempos=(TempoChange(0, BPM),))
    both = Song(
        tracks=(Track(notes=(Note(60, 0, 1920, 90), Note(60, 1920, 2400, 90))),),
        tempos=(TempoChange(0, BPM),),
    )
    player.set_song(bar1, growing=True)
    player.play()
    assert sink.wait_for(lambda s: any(m.type == "note_off" for _, m in s.messages), timeout=2.0)
    time.sleep(0.2)  # playback has caught up with "generation": it waits
    assert player.is_playing and not finished.is_set()
    held = player.position
    assert held == pytest.approx(0.5, abs=LATE_S)
    time.sleep(0.05)
    assert player.position == held
    resumed = time.monotonic()
    player.set_song(both, growing=False)
    _wait(finished)
    ons = _note_ons(sink)
    assert [m.note for _, m in ons] == [60, 60]
    assert ons[1][0] - resumed <= LATE_S  # bar 2 starts at once, from where playback waited
    assert [m.type for _, m in sink.messages if m.type != "program_change"] == [
        "note_on",
        "note_off",
        "note_on",
        "note_off",
    ]


def test_replacing_the_song_releases_notes_it_no_longer_ends(player_and_sink):
    player, sink = player_and_sink
    long_note = Song(tracks=(Track(notes=(Note(50, 0, 3840, 90),)),), tempos=(TempoChange(0, BPM),))
    other = _bar_song(2, pitch0=70)
    player.set_song(long_note)
    player.play()
    assert sink.wait_for(lambda s: len(s.notes_on()) == 1, timeout=2.0)
    time.sleep(0.3)
    player.set_song(other)  # A/B switch mid-play
    offs = [m for _, m in sink.messages if m.type == "note_off"]
    assert [m.note for m in offs] == [50]  # released at once, not left hanging
    assert sink.wait_for(lambda s: len(s.notes_on()) >= 2, timeout=2.0)
    second = sink.notes_on()[1][1].note
    assert second in (72, 73)  # the new song goes on from the current position (~0.3 s)
    player.stop()


def test_sink_failure_stops_and_reports(player_and_sink):
    class FailingSink(RecordingSink):
        def send(self, message):
            if message.type == "note_on" and message.note == 62:
                raise OSError("port unplugged")
            super().send(message)

    sink = FailingSink()
    player = Player(sink)
    errors: list[str] = []
    got_error = threading.Event()
    player.on_error(lambda message: (errors.append(message), got_error.set()))
    player.set_song(_bar_song(1))
    player.play()
    _wait(got_error)
    assert errors == ["playback stopped: port unplugged"]
    assert not player.is_playing
    assert sink.panics  # silenced after the failure
    player.close()


def test_a_failing_callback_does_not_stop_playback(player_and_sink):
    player, sink = player_and_sink
    finished = threading.Event()
    player.on_position(lambda seconds: 1 / 0)
    player.on_finished(finished.set)
    player.set_song(_bar_song(1))
    player.play()
    _wait(finished)
    assert len(sink.notes_on()) == 4


def test_close_ends_the_thread_and_refuses_more_work():
    sink = RecordingSink()
    player = Player(sink)
    player.set_song(_bar_song(2))
    player.play()
    player.close()
    assert not player._thread.is_alive()
    assert sink.panics and not sink.closed  # the sink belongs to its owner
    with pytest.raises(PlaybackError, match="closed"):
        player.play()


def test_set_sink_moves_playback_to_the_new_sink(player_and_sink):
    player, first = player_and_sink
    second = RecordingSink()
    finished = threading.Event()
    player.on_finished(finished.set)
    player.set_song(_bar_song(1))
    player.play()
    assert first.wait_for(lambda s: len(s.notes_on()) >= 1, timeout=2.0)
    player.set_sink(second)
    _wait(finished)
    assert first.panics
    assert second.messages[0][1].type == "program_change"  # instruments re-sent
    assert [m.note for _, m in second.notes_on()] == [61, 62, 63][-len(second.notes_on()) :]
    assert len(first.notes_on()) + len(second.notes_on()) == 4


def test_a_loop_range_repeats_those_bars_only(player_and_sink):
    player, sink = player_and_sink
    bars = _bar_song(3)  # bars of 0.5 s: pitches 60-63, 64-67, 68-71
    held = Note(40, 1920, 3 * 1920, 90)  # from the second bar to the end: crosses the loop's end
    song = Song(tracks=(Track(program=0, notes=(*bars.tracks[0].notes, held)),), tempos=bars.tempos)
    player.set_song(song)
    player.loop = True
    player.loop_range = (0.5, 1.0)  # the second bar
    positions = []
    player.on_position(positions.append)
    started = time.monotonic()
    player.play(0.5)
    assert sink.wait_for(lambda s: len(s.notes_on()) >= 11, timeout=3.0)
    player.stop()
    ons = [(t, m) for t, m in _note_ons(sink) if m.note != 40]
    assert [m.note for _, m in ons[:9]] == [64, 65, 66, 67] * 2 + [64]
    for k, (arrived, _) in enumerate(ons[:9]):
        expected = (k // 4) * 0.5 + (k % 4) * 0.125
        assert -0.001 <= (arrived - started) - expected <= LATE_S
    assert positions and all(0.5 <= p < 1.0 for p in positions)
    # the held note is released at the loop's end and struck again at its start
    held_events = [
        (round(t - started, 2), m.type == "note_on" and m.velocity > 0)
        for t, m in sink.messages
        if getattr(m, "note", None) == 40
    ]
    assert held_events[:3] == [
        (pytest.approx(0.0, abs=LATE_S), True),
        (pytest.approx(0.5, abs=LATE_S), False),
        (pytest.approx(0.5, abs=LATE_S), True),
    ]


def test_a_loop_range_past_the_end_stops_at_the_last_bar_and_bad_ranges_are_refused(
    player_and_sink,
):
    player, sink = player_and_sink
    player.set_song(_bar_song(1))
    player.loop = True
    player.loop_range = (0.0, 9.0)
    player.play()
    assert sink.wait_for(lambda s: len(s.notes_on()) >= 5, timeout=3.0)
    player.stop()
    assert [m.note for _, m in _note_ons(sink)[:5]] == [60, 61, 62, 63, 60]
    with pytest.raises(ValueError, match="start < end"):
        player.loop_range = (1.0, 1.0)
    player.loop_range = None
    assert player.loop_range is None
