"""Fill on a selection of the piano roll, and variations as takes, through the window's widgets."""

import test_main_window
from PySide6.QtCore import QPointF, Qt
from songs import TRIADS, bar_pitch_classes, notes_in
from test_main_window import WAIT_MS, open_by_drop, wait_idle

from emostudio.decoding import DEFAULT_FORM
from emostudio.midi import Family

window = test_main_window.window
ready_window = test_main_window.ready_window


def double_click_bar(qtbot, roll, bar: int) -> None:
    """Double-click the main view in the middle of ``bar`` (0-based), at middle C."""
    scene = roll.main.view.mapViewToScene(QPointF(bar * 4 + 2.0, 60.0))
    qtbot.mouseDClick(roll.main.viewport(), Qt.LeftButton, pos=roll.main.mapFromScene(scene))


def click_for_takes(qtbot, window, button, count: int):
    """Click ``button`` and wait until ``count`` takes are done and the window is idle; -> them."""
    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(
        lambda: (
            len(window.document.takes) == count and all(t.complete for t in window.document.takes)
        ),
        timeout=WAIT_MS,
    )
    wait_idle(qtbot, window)
    return window.document.takes


def test_fill_a_selection_on_the_piano_roll(qtbot, ready_window, midi_file):
    window = ready_window
    window.listen_box.setChecked(False)
    open_by_drop(qtbot, window, midi_file)
    wait_idle(qtbot, window)
    song = window.document.input_song
    assert song.n_bars >= 4
    roll = window.roll
    assert not roll.fill_button.isEnabled()  # nothing selected yet
    roll.main.view.setRange(xRange=(0, 16), yRange=(40, 80), padding=0)
    double_click_bar(qtbot, roll, 1)
    assert roll.selected_bars == (1, 1) and roll.clear_button.isEnabled()
    double_click_bar(qtbot, roll, 1)  # the one selected bar again: none
    assert roll.selected_bars is None and not roll.clear_button.isEnabled()
    double_click_bar(qtbot, roll, 2)
    qtbot.mouseClick(roll.clear_button, Qt.LeftButton)
    assert roll.selected_bars is None and not roll.selection.isVisible()
    double_click_bar(qtbot, roll, 0)
    window.menus.select_none_action.trigger()
    assert roll.selected_bars is None
    double_click_bar(qtbot, roll, 1)
    assert roll.selected_bars == (1, 1)
    roll.select_bars(1, 2)  # as dragging the selection's right edge one bar on does
    assert roll.selection.getRegion() == (4.0, 12.0)
    window.transform.variations_spin.setValue(2)
    qtbot.waitUntil(roll.fill_button.isEnabled, timeout=WAIT_MS)
    takes = click_for_takes(qtbot, window, roll.fill_button, 2)
    assert [t.kind for t in takes] == ["fill", "fill"]
    assert "fill bars 2-3" in takes[0].name and "variation 2 of 2" in takes[1].details
    last = song.n_bars - 1
    for take in takes:
        assert notes_in(take.song, 0, 0) == notes_in(song, 0, 0)
        assert notes_in(take.song, 3, last) == notes_in(song, 3, last)
    assert notes_in(takes[0].song, 1, 2) != notes_in(takes[1].song, 1, 2)
    qtbot.waitUntil(lambda: all(t.recognition is not None for t in takes), timeout=WAIT_MS)
    assert [t.new_bars for t in takes] == [(1, 3), (1, 3)]
    assert [len(t.recognition.arousal) for t in takes] == [2, 2]  # the filled bars heard
    tip = window.takes.list.item(0).toolTip()
    assert "fill between its neighbours" in tip and "toward" not in tip  # no target: seamless
    assert window.takes.list.count() == 2
    assert window.document.current is takes[0]
    undo = window.menus.undo_action  # the fill is one step: both takes leave, the input stays
    assert undo.text() == "&Undo fill (2 takes)"
    undo.trigger()
    assert window.document.takes == [] and window.takes.list.count() == 0
    assert window.document.working_piece() is song


def test_variations_of_a_generation_are_takes(qtbot, ready_window):
    window = ready_window
    window.listen_box.setChecked(False)
    assert window.transform.options().form == DEFAULT_FORM
    window.transform.bars_spin.setValue(4)
    window.transform.seed_spin.setValue(5)
    window.transform.variations_spin.setValue(3)
    songs = [t.song for t in click_for_takes(qtbot, window, window.transform.generate_button, 3)]
    assert all(s.n_bars <= 4 and s.note_count > 0 for s in songs)
    assert len({tuple(notes_in(s, 0, 3)) for s in songs}) == 3
    assert window.takes.list.count() == 3


def test_a_generation_with_a_cadence_closes_on_a_triad(qtbot, ready_window):
    """The panel's Cadence reaches the engine: the last bar's pitched notes are one triad's."""
    window = ready_window
    window.listen_box.setChecked(False)
    window.transform.bars_spin.setValue(4)
    window.transform.seed_spin.setValue(5)
    window.transform.cadence_spin.setValue(1.0)
    (take,) = click_for_takes(qtbot, window, window.transform.generate_button, 1)
    assert "cadence 1" in take.details
    last = bar_pitch_classes(take.song, 3)
    assert last and any(last & ~triad == 0 for triad in TRIADS)


def test_the_bass_setting_reaches_the_engine(qtbot, ready_window):
    """The panel's Bass changes what the same seed writes, and the take says it was used."""
    window = ready_window
    window.listen_box.setChecked(False)
    window.transform.bars_spin.setValue(4)
    window.transform.seed_spin.setValue(5)
    window.transform.bass_spin.setValue(0.0)
    (plain,) = click_for_takes(qtbot, window, window.transform.generate_button, 1)
    window.transform.bass_spin.setValue(4.0)
    bass = click_for_takes(qtbot, window, window.transform.generate_button, 2)[-1]
    assert "bass" not in plain.details and "bass 4" in bass.details
    assert notes_in(plain.song, 0, 4) != notes_in(bass.song, 0, 4)


def test_the_pedal_box_reaches_the_engine(qtbot, ready_window):
    """New piano is pedalled unless Pedal is unchecked; the notes are the same either way."""
    window = ready_window
    window.listen_box.setChecked(False)
    window.transform.bars_spin.setValue(4)
    window.transform.seed_spin.setValue(5)
    assert window.transform.pedal_box.isChecked()
    (pedalled,) = click_for_takes(qtbot, window, window.transform.generate_button, 1)
    window.transform.pedal_box.setChecked(False)
    plain = click_for_takes(qtbot, window, window.transform.generate_button, 2)[-1]
    assert notes_in(pedalled.song, 0, 4) == notes_in(plain.song, 0, 4)
    piano = [t for t in pedalled.song.tracks if t.family is Family.PIANO]
    assert piano and all(any(c.control == 64 for c in t.controls) for t in piano)
    assert all(t.controls == () for t in plain.song.tracks)


def test_continue_the_piece_with_the_continue_button(qtbot, ready_window, midi_file):
    """Continue adds the panel's bar count after the input, as takes (variations), keeping every
    bar of the piece; before any piece there is nothing to continue."""
    window = ready_window
    window.listen_box.setChecked(False)
    assert not window.transform.continue_button.isEnabled()
    open_by_drop(qtbot, window, midi_file)
    wait_idle(qtbot, window)
    song = window.document.input_song
    n = song.n_bars
    window.transform.bars_spin.setValue(4)
    window.transform.variations_spin.setValue(2)
    qtbot.waitUntil(window.transform.continue_button.isEnabled, timeout=WAIT_MS)
    assert window.menus.continue_action.isEnabled()
    takes = click_for_takes(qtbot, window, window.transform.continue_button, 2)
    assert [t.kind for t in takes] == ["continue", "continue"]
    assert "continued +4 bars" in takes[0].name and "variation 2 of 2" in takes[1].details
    for take in takes:
        assert take.song.n_bars == n + 4
        assert notes_in(take.song, 0, n - 1) == notes_in(song, 0, n - 1)
    assert notes_in(takes[0].song, n, n + 3) != notes_in(takes[1].song, n, n + 3)
    # the pad marks where the new bars went, not the piece they follow
    qtbot.waitUntil(lambda: all(t.recognition is not None for t in takes), timeout=WAIT_MS)
    for take in takes:
        assert take.new_bars == (n, n + 4)
        assert len(take.recognition.arousal) == 4  # heard: the four new bars
    assert "its new bars heard as" in window.takes.list.item(0).toolTip()
