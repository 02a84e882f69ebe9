"""The piano roll draws the songs' notes from arrays in a few reused items."""

import time

import numpy as np
import pytest
from gui_songs import make_song

from emostudio.gui.piano_roll import PianoRoll
from emostudio.gui.roll_data import changed_notes
from emostudio.midi import Note, Song, Track


@pytest.fixture
def roll(qtbot):
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(1000, 600)
    roll.show()
    qtbot.waitExposed(roll)
    return roll


def _expected(song):
    rows = [(n.start / 480, (n.end - n.start) / 480, n.pitch) for t in song.tracks for n in t.notes]
    rows = np.array(rows, dtype=float)
    return rows[np.lexsort((rows[:, 1], rows[:, 2], rows[:, 0]))]


def test_input_notes_are_drawn_where_they_are(roll):
    song = make_song(2)
    roll.set_input(song)
    np.testing.assert_allclose(roll.drawn_notes("input"), _expected(song))
    assert roll.drawn_notes("take").shape == (0, 3)
    assert len(roll.layer_items("input")) <= 2 * 4  # two families, four velocity levels at most


def test_modes_show_input_and_take_for_ab(roll):
    song, take = make_song(2), make_song(3)
    roll.set_input(song)
    roll.set_take(take)
    assert roll.mode == "overlay"
    # the take's third bar is new: in colour over the grey input, its first two lie under it
    assert (
        len(roll.drawn_notes("input")) == song.note_count
        and len(roll.drawn_notes("take"))
        == changed_notes(song, take).note_count
        == take.note_count - song.note_count
        > 0
    )
    roll.set_mode("split")
    assert roll.lower.isVisible()
    assert (
        roll.lower.layers["take"].visible_items() and not roll.main.layers["take"].visible_items()
    )
    roll.set_mode("input")
    assert len(roll.drawn_notes("take")) == 0 and len(roll.drawn_notes("input")) == song.note_count
    roll.set_mode("take")
    assert len(roll.drawn_notes("input")) == 0 and len(roll.drawn_notes("take")) == take.note_count


def test_the_overlay_draws_only_the_changed_notes_in_colour(roll):
    song = make_song(2)
    track = song.tracks[0]
    moved = track.notes[0]
    take = Song(
        tracks=(
            track.with_notes(
                [
                    Note(moved.pitch - 1, moved.start, moved.end, moved.velocity),
                    *list(track.notes[1:]),
                ]
            ),
            *song.tracks[1:],
        )
    )
    roll.set_input(song)
    roll.set_take(take)
    np.testing.assert_allclose(
        roll.drawn_notes("take"),
        [[moved.start / 480, (moved.end - moved.start) / 480, moved.pitch - 1]],
    )
    assert "1 changed" in roll.summary.text()
    roll.set_take(song)  # strength 0: nothing in colour
    assert roll.drawn_notes("take").shape == (0, 3)
    roll.set_mode("take")  # the take alone is drawn whole
    assert len(roll.drawn_notes("take")) == song.note_count


def test_a_growing_take_reuses_its_items(roll):
    roll.set_take(make_song(1))
    items = set(map(id, roll.layer_items("take")))
    roll.set_take(make_song(4))
    assert set(map(id, roll.layer_items("take"))) == items
    assert len(roll.drawn_notes("take")) == make_song(4).note_count


def test_view_is_fenced_and_playhead_moves(roll):
    roll.set_input(make_song(40))
    roll.main.view.setXRange(0, 16, padding=0)
    limits = roll.main.view.state["limits"]
    assert limits["xLimits"][0] == -0.5 and limits["yLimits"] == [-0.5, 127.5]
    roll.set_playhead(6.0)
    assert roll.playhead_beat == 6.0
    roll.set_playhead(100.0)  # beyond the view: the view pages to it
    (x0, x1), _ = roll.main.view.viewRange()
    assert x0 <= 100.0 <= x1
    roll.set_playhead(None)
    assert roll.playhead_beat is None


def test_ten_thousand_notes_draw_quickly(roll):
    rng = np.random.default_rng(0)
    starts = np.sort(rng.integers(0, 400 * 1920, 10_000))
    notes = tuple(
        Note(int(p), int(s), int(s) + 240, int(v))
        for p, s, v in zip(rng.integers(30, 90, 10_000), starts, rng.integers(1, 128, 10_000))
    )
    song = Song(tracks=(Track(program=0, notes=notes),))
    t0 = time.perf_counter()
    roll.set_input(song)
    roll.main.view.setXRange(0, 400 * 4, padding=0)  # everything in view
    roll.grab()
    elapsed = time.perf_counter() - t0
    assert len(roll.drawn_notes("input")) == 10_000
    assert len(roll.layer_items("input")) <= 4
    assert elapsed < 1.0, f"10,000 notes took {elapsed:.2f} s"


def test_the_pedal_is_drawn_along_the_bottom_of_the_view_for_each_song(roll):
    from dataclasses import replace

    from emostudio.midi import ControlChange

    song = make_song(2)
    pedal = (ControlChange(0, 64, 127), ControlChange(1800, 64, 0))
    pedalled = song.with_tracks([replace(song.tracks[0], controls=pedal), *song.tracks[1:]])
    roll.set_input(pedalled)
    strip = roll.main.layers["input"].pedal
    assert strip.isVisible()
    bottom = roll.main.view.viewRange()[1][0]
    x0, width, y0 = (strip.opts[k] for k in ("x0", "width", "y0"))
    assert list(x0) == [0.0] and list(width) == [1800 / 480]
    assert bottom <= y0[0] <= bottom + 1  # along the bottom edge, wherever the view is
    roll.main.view.setYRange(70, 90, padding=0)
    assert (
        roll.main.view.viewRange()[1][0]
        <= strip.opts["y0"][0]
        <= roll.main.view.viewRange()[1][0] + 1
    )
    roll.set_take(song)  # the take has no pedal: no strip for it
    assert not roll.main.layers["take"].pedal.isVisible()
    roll.set_input(song)
    assert not roll.main.layers["input"].pedal.isVisible()
