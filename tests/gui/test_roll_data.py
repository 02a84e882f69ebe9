"""The piano roll's arrays and the emotion curve: pure functions of a Song / a path (no Qt)."""

import numpy as np
import pytest

from emostudio.emotion import Emotion
from emostudio.gui.curve import curve_to_bars
from emostudio.gui.roll_data import (
    VELOCITY_LEVELS,
    changed_notes,
    grid_lines,
    pitch_name,
    roll_data,
    seconds_to_beat,
    velocity_level,
)
from emostudio.midi import Note, Song, TempoChange, Track


def _song():
    piano = Track(
        program=0, notes=(Note(60, 0, 480, 100), Note(64, 480, 960, 20), Note(67, 960, 1920, 127))
    )
    bass = Track(program=33, notes=(Note(36, 0, 1920, 90),))
    return Song(tracks=(piano, bass), tempos=(TempoChange(0, 120.0), TempoChange(1920, 60.0)))


def test_roll_data_keeps_every_note_in_layers_of_one_family_and_level():
    data = roll_data(_song())
    assert data.n_notes == 4
    assert sum(len(layer) for layer in data.layers) == 4
    assert data.end_beat == 4.0
    assert (data.pitch_low, data.pitch_high) == (36, 67)
    keys = [(layer.family, layer.level) for layer in data.layers]
    assert len(keys) == len(set(keys))
    soft = [layer for layer in data.layers if 64 in layer.pitch]
    assert soft[0].level == 0 and soft[0].x0.tolist() == [1.0] and soft[0].width.tolist() == [1.0]
    loud = next(layer for layer in data.layers if 67 in layer.pitch)
    assert loud.level == VELOCITY_LEVELS - 1 and loud.alpha > soft[0].alpha


def test_roll_data_of_nothing_is_empty():
    assert roll_data(None).n_notes == 0
    assert roll_data(Song()).layers == ()


def test_velocity_levels_cover_the_range():
    assert velocity_level(np.array([1, 127])).tolist() == [0, VELOCITY_LEVELS - 1]


def test_grid_lines_split_bars_and_beats():
    bars, beats = grid_lines(5.0)
    assert bars.tolist() == [0.0, 4.0, 8.0]
    assert beats.tolist() == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]


@pytest.mark.parametrize("tick", [0, 240, 1920, 2400, 5000])
def test_seconds_to_beat_inverts_tick_to_seconds(tick):
    song = _song()
    assert seconds_to_beat(song, song.tick_to_seconds(tick)) == pytest.approx(tick / 480)


def test_pitch_names():
    assert pitch_name(60) == "C4" and pitch_name(21) == "A0"


def test_curve_maps_a_path_onto_bars_by_arc_length():
    bars = curve_to_bars([(-1.0, -1.0), (1.0, -1.0)], 4)
    assert [round(e.valence, 3) for e in bars] == [-0.75, -0.25, 0.25, 0.75]
    assert all(e.arousal == -1.0 for e in bars)
    assert curve_to_bars([(0.2, 0.3)], 3) == [Emotion(0.2, 0.3)] * 3


def test_curve_rejects_nothing_to_map():
    with pytest.raises(ValueError):
        curve_to_bars([], 4)


def test_pure_helpers_do_not_import_qt():
    # Another test may have imported Qt into this process already, so read the modules' imports.
    import ast
    from pathlib import Path

    import emostudio.gui.roll_data as rd
    from emostudio.gui import curve

    for module in (curve, rd):
        tree = ast.parse(Path(module.__file__).read_text())
        names = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        names |= {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
        }
        assert not names & {"PySide6", "pyqtgraph"}, module.__name__


def test_changed_notes_are_the_results_notes_not_in_the_source():
    source = Song(
        tracks=(
            Track(0, False, "melody").with_notes([Note(60, 0, 240, 80), Note(64, 240, 480, 80)]),
            Track(33, False, "bass").with_notes([Note(36, 0, 960, 70), Note(36, 960, 1920, 70)]),
        )
    )
    result = Song(
        tracks=(
            # 64 -> 63 (a mode change), the first note kept
            Track(0, False, "melody").with_notes([Note(60, 0, 240, 80), Note(63, 240, 480, 80)]),
            # the second bass note louder (kept: velocity is opacity) and shorter, a doubling
            # an octave below added
            Track(33, False, "bass").with_notes(
                [Note(36, 0, 960, 90), Note(36, 960, 1800, 70), Note(24, 0, 960, 70)]
            ),
        )
    )
    changed = changed_notes(source, result)
    assert [list(t.notes) for t in changed.tracks] == [
        [Note(63, 240, 480, 80)],
        [Note(24, 0, 960, 70), Note(36, 960, 1800, 70)],
    ]
    assert changed_notes(source, source).note_count == 0
    assert changed_notes(None, result) is result and changed_notes(source, None) is None


def test_changed_notes_count_equal_notes():
    one = Song(tracks=(Track(0).with_notes([Note(60, 0, 240, 80)]),))
    two = Song(tracks=(Track(0).with_notes([Note(60, 0, 240, 80)] * 2),))
    assert changed_notes(one, two).note_count == 1
    assert changed_notes(two, one).note_count == 0


def test_the_pedal_spans_join_every_tracks_sustain_and_run_to_the_end_when_never_lifted():
    from dataclasses import replace

    from emostudio.gui.roll_data import pedal_spans
    from emostudio.midi import ControlChange

    a = replace(
        Track(program=0).with_notes([Note(60, 0, 4 * 480, 80)]),
        controls=(
            ControlChange(0, 64, 127),
            ControlChange(100, 64, 90),  # still down: no new span
            ControlChange(480, 64, 0),
            ControlChange(960, 7, 100),  # not the pedal
            ControlChange(1440, 64, 127),
        ),
    )
    b = replace(
        Track(program=33), controls=(ControlChange(300, 64, 127), ControlChange(600, 64, 0))
    )
    song = Song(tracks=(a, b))
    assert pedal_spans(song, 1920).tolist() == [[0, 600], [1440, 1920]]
    data = roll_data(song)
    assert data.pedal_x0.tolist() == [0.0, 3.0] and data.pedal_width.tolist() == [1.25, 1.0]
    assert (
        len(roll_data(Song(tracks=(Track(program=0).with_notes([Note(60, 0, 480, 80)]),))).pedal_x0)
        == 0
    )
