"""The whole window, driven through its real widgets: files in, a model, takes out, playback."""

import json
import time

import numpy as np
import pytest
from gui_songs import make_song
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox
from tiny_models import gpu_that_cannot_take_models

from emostudio.emotion import Emotion
from emostudio.gui.files import safe_file_name
from emostudio.gui.main_window import MainWindow
from emostudio.gui.roll_data import changed_notes
from emostudio.midi import Note, Song, TempoChange, Track, read_midi, write_midi
from emostudio.playback import RecordingSink, find_soundfonts
from emostudio.settings import Settings, load_settings
from emostudio.transform import Element

WAIT_MS = 20_000


@pytest.fixture
def window(qtbot, monkeypatch):
    window = MainWindow(settings=Settings())
    window.show()
    qtbot.waitExposed(window)
    yield window
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    window.close()
    window.deleteLater()


@pytest.fixture
def ready_window(qtbot, window, tiny_model_dir):
    """The window with the tiny model loaded."""
    window.model.load(tiny_model_dir)
    qtbot.waitUntil(lambda: window.model.engine is not None, timeout=WAIT_MS)
    assert window.transform.generate_button.isEnabled()
    return window


def shown(label) -> str:
    """A label's text without the zero-width spaces where a long file name may wrap."""
    return label.text().replace("\u200b", "")


def drop(window, *paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    event = QDropEvent(QPointF(centre), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, event)
    return enter.isAccepted()


def notes_of(song):
    rows = np.array(
        [(n.start / 480, (n.end - n.start) / 480, n.pitch) for t in song.tracks for n in t.notes],
        float,
    )
    return rows[np.lexsort((rows[:, 1], rows[:, 2], rows[:, 0]))]


def open_by_drop(qtbot, window, path):
    assert drop(window, path)
    qtbot.waitUntil(lambda: window.document.input_path == path, timeout=WAIT_MS)


def wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: not window.workers.active, timeout=WAIT_MS)


# ---- files -------------------------------------------------------------------------------------


def test_a_piece_in_three_four_says_its_bars_are_read_as_four_beats(qtbot, window, tmp_path, song):
    from dataclasses import replace

    from emostudio.midi import write_midi
    from emostudio.midi.song import TimeSignature

    path = tmp_path / "waltz.mid"
    write_midi(replace(song, time_signatures=(TimeSignature(0, 3, 4),)), path)
    open_by_drop(qtbot, window, path)
    text = shown(window.input_panel.label)
    assert "waltz.mid" in text and "in 3/4" in text and "new bars come out in 4/4" in text
    write_midi(song, tmp_path / "four.mid")
    open_by_drop(qtbot, window, tmp_path / "four.mid")
    assert "4/4" not in window.input_panel.label.text()  # no note for a piece in 4/4


def test_the_window_opens_without_a_model(window):
    assert window.isVisible()
    assert not window.transform.generate_button.isEnabled()
    assert "model" in window.transform.hint.text()


def test_dropping_a_midi_file_opens_it_and_draws_it(qtbot, window, midi_file, song):
    open_by_drop(qtbot, window, midi_file)
    assert window.document.input_song.note_count == song.note_count
    np.testing.assert_allclose(window.roll.drawn_notes("input"), notes_of(song))
    assert "arpeggio.mid" in shown(window.input_panel.label)
    assert "4 bars" in window.status.message()
    assert load_settings().recent_files[0] == str(midi_file)
    assert next(a.text() for a in window.files.recent_menu.actions()).endswith("arpeggio.mid")


def test_a_corrupt_file_gives_a_message_and_keeps_the_work(qtbot, window, midi_file, tmp_path):
    open_by_drop(qtbot, window, midi_file)
    before = window.document.input_song
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x05\x01\xe0MTrk\x00\x00\xff\xffgarbage")
    assert drop(window, bad)
    qtbot.waitUntil(lambda: "cannot open broken.mid" in window.status.message(), timeout=WAIT_MS)
    text = tmp_path / "notes.txt"
    text.write_text("not music")
    drop(window, text)
    assert "notes.txt: not a MIDI file" in window.status.message()
    assert window.isVisible() and window.document.input_song is before


def test_a_thirty_minute_piece_loads_with_a_note(qtbot, window, tmp_path):
    bars = 900  # 2 s a bar at 120 bpm: 30 minutes
    notes = tuple(
        Note(48 + (b * 7 + i) % 36, b * 1920 + i * 480, b * 1920 + (i + 1) * 480, 80)
        for b in range(bars)
        for i in range(4)
    )
    path = tmp_path / "long.mid"
    write_midi(Song(tracks=(Track(program=0, notes=notes),), tempos=(TempoChange(0, 120.0),)), path)
    open_by_drop(qtbot, window, path)
    assert "30:00" in window.status.message() and "long piece" in window.status.message()
    assert len(window.roll.drawn_notes("input")) == len(notes)


# ---- model, transfer, generation -----------------------------------------------------------------


def test_a_model_from_another_version_is_refused_clearly(
    qtbot, ready_window, tiny_model_dir, tmp_path
):
    window = ready_window
    engine = window.model.engine
    other = tmp_path / "future"
    other.mkdir()
    for name in ("model.safetensors", "tokenizer.json"):
        (other / name).write_bytes((tiny_model_dir / name).read_bytes())
    config = json.loads((tiny_model_dir / "config.json").read_text())
    config["format_version"] = 99
    (other / "config.json").write_text(json.dumps(config))
    window.model.load(other)
    qtbot.waitUntil(lambda: "cannot load the model" in window.status.message(), timeout=WAIT_MS)
    assert "version" in window.status.message() and "still in use" in window.status.message()
    assert window.model.engine is engine and window.transform.generate_button.isEnabled()


def test_a_gpu_that_cannot_take_the_model_leaves_it_on_the_cpu_and_says_so(
    qtbot, window, tiny_model_dir, monkeypatch
):
    gpu_that_cannot_take_models(monkeypatch)
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)
    window.model.load(tiny_model_dir)
    qtbot.waitUntil(lambda: window.model.engine is not None, timeout=WAIT_MS)
    assert window.model.engine.device == "cpu" and window.transform.generate_button.isEnabled()
    assert (
        f"ready: model {tiny_model_dir.name} on cpu "
        "(the GPU cannot take the model (CUDA error: out of memory))"
    ) in shown


def test_transfer_shows_the_take_in_the_roll_and_the_list(qtbot, ready_window, midi_file):
    window = ready_window
    open_by_drop(qtbot, window, midi_file)
    qtbot.waitUntil(
        lambda: any(m.kind == "input" for m in window.target_panel.pad.markers), timeout=WAIT_MS
    )
    # target: drag the pad's point into the sad quadrant, then nudge it with the keyboard
    pad = window.target_panel.pad
    qtbot.mouseClick(pad, Qt.LeftButton, pos=pad.to_widget(-0.6, -0.6).toPoint())
    qtbot.keyClick(pad, Qt.Key_Left)
    target = window.document.target
    assert (target.valence, target.arousal) == (
        pytest.approx(-0.65, abs=0.02),
        pytest.approx(-0.6, abs=0.02),
    )
    # lambda by keyboard: 1.00 -> 0.90
    window.transform.strength_slider.setFocus()
    qtbot.keyClick(window.transform.strength_slider, Qt.Key_PageDown)
    window.transform.arousal_box.setChecked(False)
    qtbot.mouseClick(window.transform.transfer_button, Qt.LeftButton)
    qtbot.waitUntil(
        lambda: bool(window.document.takes) and window.document.takes[0].complete, timeout=WAIT_MS
    )
    take = window.document.takes[0]
    assert take.kind == "transfer" and take.target.name == "sad"
    assert "λ 0.90 on valence" in take.details
    assert take.song.note_count > 0 and take.song.n_bars <= 4
    # overlay: the take's changed notes in colour over the grey input
    changed = changed_notes(window.document.input_song, take.song)
    assert changed.note_count > 0
    np.testing.assert_allclose(window.roll.drawn_notes("take"), notes_of(changed))
    assert window.takes.list.count() == 1 and "arpeggio" in window.takes.list.item(0).text()
    qtbot.waitUntil(
        lambda: any(m.label == "1" for m in window.target_panel.pad.markers), timeout=WAIT_MS
    )
    qtbot.waitUntil(
        window.transform.generate_button.isEnabled, timeout=WAIT_MS
    )  # the model is free again


def test_generate_along_a_drawn_curve(qtbot, ready_window):
    window = ready_window
    window.transform.bars_spin.setValue(4)
    window.transform.seed_spin.setValue(7)
    window.listen_box.setChecked(False)
    qtbot.mouseClick(window.target_panel.curve_button, Qt.LeftButton)
    pad = window.target_panel.pad
    qtbot.mousePress(pad, Qt.LeftButton, pos=pad.to_widget(-0.8, -0.8).toPoint())
    qtbot.mouseMove(pad, pad.to_widget(0.0, 0.0).toPoint())
    qtbot.mouseRelease(pad, Qt.LeftButton, pos=pad.to_widget(0.8, 0.8).toPoint())
    assert "sad → happy" in window.target_panel.label.text()
    qtbot.keyClick(window, Qt.Key_G, Qt.ControlModifier)
    qtbot.waitUntil(
        lambda: bool(window.document.takes) and window.document.takes[0].complete, timeout=WAIT_MS
    )
    take = window.document.takes[0]
    assert take.target[0].name == "sad" and take.target[-1].name == "happy"
    assert take.song.n_bars <= 4 and take.song.note_count > 0
    np.testing.assert_allclose(window.roll.drawn_notes("take"), notes_of(take.song))


def test_cancel_keeps_the_bars_done(qtbot, ready_window):
    window = ready_window
    window.transform.bars_spin.setValue(64)
    window.listen_box.setChecked(False)
    shown: list[str] = []  # every status message (a later one, the recognition's, may replace it)
    window.statusBar().messageChanged.connect(shown.append)
    worker = window.model.generate(window.transform.options())
    qtbot.waitUntil(lambda: window.document.takes[0].song is not None, timeout=WAIT_MS)
    qtbot.mouseClick(window.transform.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: not worker.is_running, timeout=WAIT_MS)
    wait_idle(qtbot, window)
    take = window.document.takes[0]
    assert take.complete and 0 < take.song.n_bars < 64
    song = take.song
    assert (
        f"{take.name}: cancelled, the bars done so far are kept "
        f"({song.n_bars} bars, {song.note_count} notes)"
    ) in shown


# ---- takes out ------------------------------------------------------------------------------------


def make_take(qtbot, window, bars=2):
    window.transform.bars_spin.setValue(bars)
    window.transform.seed_spin.setValue(3)
    window.listen_box.setChecked(False)
    qtbot.mouseClick(window.transform.generate_button, Qt.LeftButton)
    qtbot.waitUntil(
        lambda: bool(window.document.takes) and window.document.takes[-1].complete, timeout=WAIT_MS
    )
    wait_idle(qtbot, window)
    return window.document.takes[-1]


def test_a_take_used_as_the_input_transfers_and_exports(qtbot, ready_window, tmp_path):
    window = ready_window
    take = make_take(qtbot, window)
    window.document.rename_take(take, "1 · mine → sad")  # a name MIDI text cannot hold as is
    window.menus.use_as_input_action.trigger()
    qtbot.waitUntil(lambda: window.document.input_recognition is not None, timeout=WAIT_MS)
    window.model.transfer(window.transform.options())
    qtbot.waitUntil(
        lambda: len(window.document.takes) == 2 and window.document.takes[-1].complete,
        timeout=WAIT_MS,
    )
    wait_idle(qtbot, window)
    transferred = window.document.takes[-1]
    target = tmp_path / "transferred.mid"
    window.files.export(transferred, target, "midi")  # failed: 'latin-1' codec can't encode
    qtbot.waitUntil(lambda: transferred.exported, timeout=WAIT_MS)
    assert read_midi(target).note_count == transferred.song.note_count


def test_export_midi_and_wav_from_the_takes_panel(qtbot, ready_window, tmp_path, monkeypatch):
    window = ready_window
    take = make_take(qtbot, window)
    target = tmp_path / "out" / "take.mid"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    qtbot.mouseClick(window.takes.export_midi_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: take.exported, timeout=WAIT_MS)
    back = read_midi(target)
    np.testing.assert_allclose(notes_of(back), notes_of(take.song))
    assert window.document.unexported_takes() == []
    assert load_settings().last_export_dir == str(target.parent)
    if not find_soundfonts():
        pytest.skip("no soundfont on this machine for the WAV export")
    wav = tmp_path / "out" / "take.wav"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(wav), ""))
    qtbot.mouseClick(window.takes.export_wav_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: wav in take.exported_to, timeout=WAIT_MS)
    assert wav.stat().st_size > 44 and wav.read_bytes()[:4] == b"RIFF"


def test_rename_delete_and_undo_takes(qtbot, ready_window):
    window = ready_window
    first = make_take(qtbot, window)
    second = make_take(qtbot, window)
    name = second.name
    item = window.takes.item_for(second)
    item.setText("my favourite")
    assert second.name == "my favourite"
    qtbot.mouseClick(window.takes.delete_button, Qt.LeftButton)  # no question: it can be undone
    assert window.document.takes == [first] and window.document.current is first
    assert window.takes.list.count() == 1
    assert "Ctrl+Z" in window.statusBar().currentMessage()
    undo, redo = window.menus.undo_action, window.menus.redo_action
    assert undo.text() == "&Undo delete take “my favourite”" and undo.isEnabled()
    undo.trigger()
    assert window.document.takes == [first, second] and window.document.current is second
    assert window.takes.list.count() == 2
    np.testing.assert_allclose(window.roll.drawn_notes("take"), notes_of(second.song))
    undo.trigger()
    assert second.name == name and window.takes.item_for(second).text() == name
    undo.trigger()  # the generation that made the second take
    assert window.document.takes == [first] and window.document.current is first
    redo.trigger()
    assert window.document.takes == [first, second] and window.document.current is second
    window.takes.list.setFocus()
    qtbot.keyClick(window.takes.list, Qt.Key_Delete)
    assert window.document.takes == [first]
    assert [a.text() for a in window.menuBar().actions()][:2] == ["&File", "&Edit"]


def test_export_all_takes_into_a_folder_overwrites_nothing(
    qtbot, ready_window, tmp_path, monkeypatch
):
    window = ready_window
    first, second = make_take(qtbot, window), make_take(qtbot, window)
    window.takes.item_for(second).setText(first.name)  # two takes of one name
    folder = tmp_path / "takes"
    folder.mkdir()
    mine = folder / f"{safe_file_name(first.name)}.mid"
    mine.write_bytes(b"the user's own file")
    assert window.menus.export_all_action.isEnabled()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.menus.export_all_action.trigger()
    qtbot.waitUntil(lambda: second.exported and first.exported, timeout=WAIT_MS)
    stem = safe_file_name(first.name)
    assert first.exported_to == [folder / f"{stem} (2).mid"]
    assert second.exported_to == [folder / f"{stem} (3).mid"]
    assert mine.read_bytes() == b"the user's own file"
    for take in (first, second):
        np.testing.assert_allclose(notes_of(read_midi(take.exported_to[0])), notes_of(take.song))
    assert window.document.unexported_takes() == []
    assert load_settings().last_export_dir == str(folder)


def test_a_take_becomes_the_input_to_transfer_it(qtbot, ready_window):
    window = ready_window
    assert not window.menus.use_as_input_action.isEnabled()  # no take yet
    take = make_take(qtbot, window)
    assert window.menus.use_as_input_action.isEnabled()
    window.takes.list.setFocus()
    qtbot.keyClick(window, Qt.Key_I, Qt.ControlModifier)
    assert window.document.input_song.name == take.name
    assert take.name in shown(window.input_panel.label)
    assert window.transform.transfer_button.isEnabled()
    qtbot.waitUntil(lambda: window.document.input_recognition is not None, timeout=WAIT_MS)
    window.menus.undo_action.trigger()
    assert window.document.input_song is None and not window.transform.transfer_button.isEnabled()


def test_generate_when_a_point_is_picked_and_a_later_pick_waits(qtbot, ready_window, monkeypatch):
    window = ready_window
    window.listen_box.setChecked(False)
    window.transform.bars_spin.setValue(2)
    pad = window.target_panel.pad
    qtbot.mouseClick(pad, Qt.LeftButton, pos=pad.to_widget(0.6, 0.6).toPoint())
    assert window.document.takes == []  # the box is off: a pick only moves the target
    window.target_panel.generate_on_pick_box.setChecked(True)
    qtbot.mouseClick(pad, Qt.LeftButton, pos=pad.to_widget(-0.6, -0.6).toPoint())
    assert window.model.busy and len(window.document.takes) == 1
    qtbot.mouseClick(pad, Qt.LeftButton, pos=pad.to_widget(0.6, -0.6).toPoint())  # waits
    qtbot.waitUntil(
        lambda: len(window.document.takes) == 2 and all(t.complete for t in window.document.takes),
        timeout=WAIT_MS,
    )
    wait_idle(qtbot, window)
    assert [t.target.name for t in window.document.takes] == ["sad", "calm"]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert window.close()  # the choice is remembered
    assert load_settings().generate_on_pick


def test_transfer_when_lambda_is_let_go_of_and_a_later_lambda_waits(
    qtbot, ready_window, midi_file, monkeypatch
):
    window = ready_window
    open_by_drop(qtbot, window, midi_file)
    wait_idle(qtbot, window)
    window.listen_box.setChecked(False)
    slider = window.transform.strength_slider

    def drag_to(value: int) -> None:  # what a drag of the handle does: down, moved, let go
        slider.setSliderDown(True)
        slider.setValue(value)
        slider.setSliderDown(False)

    drag_to(40)
    assert window.document.takes == []  # the box is off: λ only moves
    window.transform.transfer_on_release_box.setChecked(True)
    drag_to(40)  # let go where it was: nothing new to hear
    assert window.document.takes == []
    drag_to(60)
    assert window.model.busy and len(window.document.takes) == 1
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key_Right)  # by the keys: chosen once λ rests, after this job
    qtbot.waitUntil(
        lambda: len(window.document.takes) == 2 and all(t.complete for t in window.document.takes),
        timeout=WAIT_MS,
    )
    wait_idle(qtbot, window)
    assert [t.kind for t in window.document.takes] == ["transfer", "transfer"]
    assert ["λ 0.60" in t.details for t in window.document.takes] == [True, False]
    assert "λ 0.61" in window.document.takes[1].details
    slider.setValue(20)  # set by the program (a restored setting), not moved by the user
    qtbot.wait(2 * 400)
    assert len(window.document.takes) == 2
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert window.close()  # the choice is remembered
    assert load_settings().panel["transfer_on_release"] is True


def test_transpose_a_take_into_a_new_take_and_undo_it(qtbot, ready_window, monkeypatch):
    window = ready_window
    take = make_take(qtbot, window)
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (3, True))
    window.menus.transpose_action.trigger()
    new = window.document.current
    assert new is not take and new.kind == "transpose" and new.name.endswith(f"{take.name} +3")
    pitched = [t for t in take.song.tracks if not t.is_drum]
    assert [n.pitch for t in new.song.tracks if not t.is_drum for n in t.notes] == [
        n.pitch + 3 if n.pitch + 3 <= 127 else n.pitch - 9  # an octave less past the top
        for t in pitched
        for n in t.notes
    ]
    qtbot.waitUntil(lambda: new.recognition is not None, timeout=WAIT_MS)  # heard, as any take
    assert window.menus.undo_action.text() == f"&Undo transpose “{new.name}”"
    window.menus.undo_action.trigger()
    assert window.document.takes == [take] and window.document.current is take


def test_drag_out_offers_the_take_as_a_midi_file(qtbot, ready_window):
    window = ready_window
    take = make_take(qtbot, window)
    mime = window.takes.drag_handle.mime_for(take)
    path = mime.urls()[0].toLocalFile()
    assert path.endswith(".mid")
    np.testing.assert_allclose(notes_of(read_midi(path)), notes_of(take.song))


def test_closing_with_unexported_takes_asks_first(qtbot, ready_window, monkeypatch):
    window = ready_window
    make_take(qtbot, window)
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.Cancel
    )
    assert not window.close()
    assert window.isVisible() and "never exported" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    assert window.close()
    assert load_settings().window_geometry


# ---- playback -------------------------------------------------------------------------------------


def input_playing_into_a_port(qtbot, window, path, song):
    """``song`` opened as the input (from ``path``) and A chosen, playing into a recording port;
    -> the port and the playhead positions the roll will have shown."""
    write_midi(song, path)
    open_by_drop(qtbot, window, path)
    sink = RecordingSink()
    window.playback.set_sink(sink)
    qtbot.mouseClick(window.transport.a_button, Qt.LeftButton)
    playheads = []
    window.playback.player.position_changed.connect(
        lambda s: playheads.append(window.roll.playhead_beat)
    )
    return sink, playheads


def test_space_plays_the_input_into_a_midi_port_with_its_timing(qtbot, window, tmp_path):
    song = make_song(1, bpm=240.0)  # quarter notes 0.25 s apart
    sink, playheads = input_playing_into_a_port(qtbot, window, tmp_path / "fast.mid", song)
    with qtbot.waitSignal(window.playback.player.finished, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key_Space)
    notes = [(t, m.note, m.velocity) for t, m in sink.notes_on()]
    assert sorted(n for _, n, _ in notes) == [36, 60, 64, 67, 72]
    piano = sorted((t, n) for t, n, _ in notes if n >= 60)
    assert [n for _, n in piano] == [60, 64, 67, 72]
    gaps = np.diff([t for t, _ in piano])
    assert np.all(np.abs(gaps - 0.25) < 0.05), gaps
    offs = [
        m
        for _, m in sink.messages
        if m.type == "note_off" or (m.type == "note_on" and m.velocity == 0)
    ]
    assert len(offs) >= 5
    assert any(b is not None and b > 0 for b in playheads)
    assert window.roll.playhead_beat is None and "Play" in window.transport.play_button.text()


def test_selected_bars_play_and_loop(qtbot, window, tmp_path):
    song = make_song(3, bpm=480.0)  # bars of 0.5 s; the bass note is 36, 37, 38 bar by bar
    sink, playheads = input_playing_into_a_port(qtbot, window, tmp_path / "three.mid", song)
    window.roll.select_bars(1, 1)  # the second bar, as a double-click on it does
    qtbot.mouseClick(window.transport.loop_button, Qt.LeftButton)
    qtbot.keyClick(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: len(sink.notes_on()) >= 12, timeout=10_000)
    qtbot.keyClick(window, Qt.Key_Space)
    basses = [m.note for _, m in sink.notes_on() if m.note < 60]
    assert basses[:2] == [37, 37]  # the selected bar, again: not the bars around it
    assert {m.note for _, m in sink.notes_on()} == {37, 60, 64, 67, 72}
    seen = [b for b in playheads if b is not None]
    assert seen and all(4.0 <= b < 8.0 for b in seen)
    window.roll.select_bars(None)
    assert window.playback.player.loop_range is None


def test_playback_starts_while_the_take_is_being_generated(qtbot, ready_window):
    window = ready_window
    sink = RecordingSink()
    window.playback.set_sink(sink)
    window.transform.bars_spin.setValue(8)
    window.listen_box.setChecked(True)
    started_while_growing = []
    window.playback.player.playing_changed.connect(
        lambda playing: (
            playing and started_while_growing.append(not window.document.takes[-1].complete)
        )
    )
    qtbot.mouseClick(window.transform.generate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.document.takes[-1].complete, timeout=WAIT_MS)
    assert started_while_growing == [True]
    # the tiny model's take may open with empty bars: its first note can come seconds in
    assert sink.wait_for(lambda s: bool(s.notes_on()), timeout=WAIT_MS / 1000)
    window.playback.stop()
    assert sink.panics


def test_no_sound_output_is_a_message_and_export_still_works(qtbot, window, midi_file):
    open_by_drop(qtbot, window, midi_file)
    window.transport.set_source("input")
    qtbot.keyClick(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: not window.workers.active, timeout=WAIT_MS)
    message = window.status.message()
    if window.playback.player.sink is None:  # no sound card here (the usual case on build machines)
        assert "export still works" in message
    else:
        assert "playing through" in message
    assert window.isVisible()


# ---- responsiveness -----------------------------------------------------------------------------


def test_the_event_loop_stays_responsive_during_generation(qtbot, ready_window):
    window = ready_window
    window.listen_box.setChecked(False)
    window.transform.bars_spin.setValue(32)
    lateness = []
    timer = QTimer()
    timer.setInterval(10)
    last = [time.perf_counter()]

    def probe():
        now = time.perf_counter()
        lateness.append(now - last[0] - 0.010)
        last[0] = now

    timer.timeout.connect(probe)
    timer.start()
    window.model.generate(window.transform.options())
    qtbot.waitUntil(lambda: window.document.takes[-1].complete, timeout=WAIT_MS)
    timer.stop()
    assert len(lateness) > 5
    assert max(lateness) < 0.25, f"the event loop stalled for {max(lateness) * 1000:.0f} ms"


def test_transfer_rewrites_the_whole_piece_or_its_first_bars(qtbot, ready_window, tmp_path):
    from gui_songs import make_song

    from emostudio.midi import write_midi

    window = ready_window
    path = tmp_path / "six.mid"
    write_midi(make_song(n_bars=6), path)
    open_by_drop(qtbot, window, path)
    wait_idle(qtbot, window)
    window.transform.bars_spin.setValue(2)
    assert window.transform.whole_box.isChecked()
    for whole, expected in ((True, 6), (False, 2)):
        window.transform.whole_box.setChecked(whole)
        qtbot.mouseClick(window.transform.transfer_button, Qt.LeftButton)
        qtbot.waitUntil(
            lambda: bool(window.document.takes) and window.document.takes[-1].complete,
            timeout=WAIT_MS,
        )
        wait_idle(qtbot, window)
        take = window.document.takes[-1]
        assert take.kind == "transfer" and take.song.n_bars == expected
        assert ("whole piece" if whole else "first 2 bars") in take.details


def test_a_transfer_asked_for_while_the_model_listens_starts_right_after(
    qtbot, ready_window, midi_file
):
    window = ready_window
    open_by_drop(qtbot, window, midi_file)
    wait_idle(qtbot, window)
    window.model.recognise(None, window.document.input_song)  # the model is busy listening
    assert window.model.busy
    assert window.model.transfer(window.transform.options()) is None
    assert "as soon as the model has listened" in window.status.message()
    qtbot.waitUntil(
        lambda: bool(window.document.takes) and window.document.takes[0].complete, timeout=WAIT_MS
    )
    assert window.document.takes[0].kind == "transfer"


def test_the_file_menu_exports_through_the_one_dialog(qtbot, ready_window, tmp_path, monkeypatch):
    window = ready_window
    take = make_take(qtbot, window)
    asked = []

    def save_as(parent, title, suggested, file_filter):
        asked.append((title, suggested, file_filter))
        return str(tmp_path / "chosen"), ""  # no suffix: the format's is added

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    assert window.menus.export_midi_action.isEnabled()
    window.menus.export_midi_action.trigger()
    qtbot.waitUntil(lambda: take.exported, timeout=WAIT_MS)
    assert take.exported_to == [tmp_path / "chosen.mid"]
    title, suggested, file_filter = asked[0]
    assert title == "Export take as MIDI" and file_filter == "MIDI files (*.mid)"
    assert suggested.endswith(".mid")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a: ("", ""))  # cancelled
    window.menus.export_wav_action.trigger()
    assert take.exported_to == [tmp_path / "chosen.mid"]


def test_the_input_is_described_with_how_the_model_hears_it(song):
    from types import SimpleNamespace

    from emostudio.emotion import Emotion
    from emostudio.gui.input_panel import describe_input

    plain = describe_input("piece.mid", song)
    assert plain == (
        f"<b>piece.\u200bmid</b><br>{song.n_bars} bars · {song.note_count:,} notes · "
        f"{len(song.tracks)} tracks"
    )
    # a long name may wrap after its underscores, dashes and dots; markup in it stays text
    assert describe_input("a_b-c<d>.mid", song).startswith(
        "<b>a_\u200bb-\u200bc&lt;d&gt;.\u200bmid</b>"
    )
    heard = describe_input("piece.mid", song, SimpleNamespace(emotion=Emotion(-0.5, -0.25)))
    assert heard.startswith(plain)
    assert heard.endswith("heard as <b>sad</b> (valence -0.50, arousal -0.25)")
    from dataclasses import replace

    from emostudio.midi import ControlChange

    pedal = (ControlChange(0, 64, 127), ControlChange(480, 64, 0))
    pedalled = song.with_tracks([replace(song.tracks[0], controls=pedal), *song.tracks[1:]])
    assert describe_input("piece.mid", pedalled) == plain + " · pedalled"
    volume = song.with_tracks([replace(song.tracks[0], controls=(ControlChange(0, 7, 90),))])
    assert describe_input("piece.mid", volume) == describe_input(
        "piece.mid", song.with_tracks(song.tracks[:1])
    )
    from emostudio.midi.song import KeySignature

    stating = replace(song, key_signatures=(KeySignature(0, -3),))
    assert describe_input("piece.mid", stating) == plain + " · key signature Eb major"
    moving = replace(song, key_signatures=(KeySignature(0, -3), KeySignature(1920, 0, True)))
    assert describe_input("piece.mid", moving) == plain + " · key signature Eb major (+1 change)"


# ---- transfer that keeps the piece: lambda 0, the Keep group, the method, a donor ----------------
def transfer_and_wait(qtbot, window):
    count = len(window.document.takes)
    qtbot.mouseClick(window.transform.transfer_button, Qt.LeftButton)
    qtbot.waitUntil(
        lambda: len(window.document.takes) > count and window.document.takes[-1].complete,
        timeout=WAIT_MS,
    )
    wait_idle(qtbot, window)
    return window.document.takes[-1]


def note_rows(song):
    return sorted((n.pitch, n.start, n.end, n.velocity) for t in song.tracks for n in t.notes)


def test_the_sliders_left_end_is_the_input(qtbot, ready_window, midi_file, song):
    window = ready_window
    open_by_drop(qtbot, window, midi_file)
    wait_idle(qtbot, window)
    window.transform.strength_slider.setFocus()
    qtbot.keyClick(window.transform.strength_slider, Qt.Key_Home)
    assert window.transform.options().strength == 0.0
    for method in ("edit", "rewrite"):
        window.transform.method_box.setCurrentIndex(window.transform.method_box.findData(method))
        take = transfer_and_wait(qtbot, window)
        assert note_rows(take.song) == note_rows(window.document.input_song)
        assert take.song.tempos == window.document.input_song.tempos
        assert window.roll.drawn_notes("take").shape == (0, 3)  # nothing changed, nothing in colour


def test_the_keep_group_locks_elements_and_only_for_the_edit_method(qtbot, ready_window, midi_file):
    window = ready_window
    panel = window.transform
    open_by_drop(qtbot, window, midi_file)
    wait_idle(qtbot, window)
    assert [b.text() for b in panel.keep_boxes.values()] == [
        "melody",
        "rhythm",
        "harmony",  # the accompaniment
        "dynamics",
        "tempo",
    ]
    qtbot.mouseClick(panel.keep_boxes[Element.RHYTHM], Qt.LeftButton)
    qtbot.mouseClick(panel.keep_boxes[Element.DYNAMICS], Qt.LeftButton)
    assert panel.options().keep == ("rhythm", "dynamics") and panel.options().method == "edit"
    take = transfer_and_wait(qtbot, window)
    source = window.document.input_song
    for before, after in zip(source.tracks, take.song.tracks):
        assert {(n.start, n.end) for n in after.notes} == {(n.start, n.end) for n in before.notes}
    assert {n.velocity for t in take.song.tracks for n in t.notes} <= {
        n.velocity for t in source.tracks for n in t.notes
    }
    assert "keeping rhythm, dynamics" in take.details
    panel.method_box.setCurrentIndex(panel.method_box.findData("rewrite"))
    assert not panel.keep_group.isEnabled() and panel.options().keep == ()


def drop_on(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = widget.rect().center()
    enter = QDragEnterEvent(centre, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(QPointF(centre), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, event)
    return enter.isAccepted()


def test_a_donor_dropped_on_its_field_gives_the_input_its_rhythm(
    qtbot, ready_window, midi_file, tmp_path
):
    window = ready_window
    open_by_drop(qtbot, window, midi_file)
    wait_idle(qtbot, window)
    donor_path = tmp_path / "donor.mid"
    write_midi(make_song(n_bars=2), donor_path)
    panel = window.donor_panel
    assert not panel.rhythm_button.isEnabled()  # no donor yet
    assert drop_on(panel, donor_path)
    qtbot.waitUntil(lambda: window.document.donor_path == donor_path, timeout=WAIT_MS)
    wait_idle(qtbot, window)
    assert window.document.input_path == midi_file  # the input stays
    assert "donor.mid" in shown(panel.label) and panel.rhythm_button.isEnabled()
    qtbot.mouseClick(panel.rhythm_button, Qt.LeftButton)
    qtbot.waitUntil(
        lambda: bool(window.document.takes) and window.document.takes[-1].complete,
        timeout=WAIT_MS,
    )
    take = window.document.takes[-1]
    assert take.kind == "transfer" and "the rhythm of donor" in take.details
    assert take.song.n_bars == window.document.input_song.n_bars
    qtbot.mouseClick(panel.clear_button, Qt.LeftButton)
    assert window.document.donor_song is None and not panel.key_button.isEnabled()


def test_file_open_donor_loads_a_donor(qtbot, window, tmp_path, monkeypatch):
    donor_path = tmp_path / "donor.mid"
    write_midi(make_song(n_bars=2), donor_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(donor_path), ""))
    file_menu = window.menuBar().actions()[0].menu()
    assert window.menus.open_donor_action in file_menu.actions()
    window.menus.open_donor_action.trigger()
    qtbot.waitUntil(lambda: window.document.donor_path == donor_path, timeout=WAIT_MS)
    assert window.document.input_song is None


def test_a_drums_only_input_gets_a_note_instead_of_a_valence():
    from types import SimpleNamespace

    from emostudio.emotion import Emotion
    from emostudio.gui.input_panel import describe_input
    from emostudio.midi import Note, Song, Track

    drums = Song(
        tracks=(
            Track(
                program=0,
                is_drum=True,
                notes=tuple(Note(36, i * 480, i * 480 + 120, 100) for i in range(8)),
            ),
        ),
    )
    heard = describe_input("beat.mid", drums, SimpleNamespace(emotion=Emotion(0.86, 0.5)))
    assert "heard with arousal <b>+0.50</b>" in heard
    assert "drums carry no key, so valence is not judged" in heard
    assert "valence +0.86" not in heard and "happy" not in heard


def test_the_panel_and_the_target_are_remembered_across_sessions(qtbot, monkeypatch):
    first = MainWindow(settings=load_settings())
    t = first.transform
    t.bars_spin.setValue(12)
    t.form_box.setCurrentIndex(t.form_box.findData("ABAB"))
    t.variations_spin.setValue(3)
    t.seed_spin.setValue(42)
    t.pedal_box.setChecked(False)
    t.method_box.setCurrentIndex(t.method_box.findData("edit"))
    t.keep_boxes[Element.MELODY].setChecked(True)
    t.set_strength(0.4)
    first.target_panel.pad.set_target(Emotion(-0.6, -0.3))
    options = t.options()
    assert first.close()
    first.deleteLater()
    second = MainWindow(settings=load_settings())
    assert second.transform.options() == options
    assert second.document.target == Emotion(-0.6, -0.3)
    assert second.target_panel.pad.target == Emotion(-0.6, -0.3)
    # a value of the wrong kind, or a form this version does not have, leaves the control alone
    second.transform.restore({"bars": "twelve", "form": "ABCDE", "temperature": 9.0, "seed": None})
    after = second.transform.options()
    assert after.bars == 12 and after.form == "ABAB" and after.seed is None
    assert after.temperature == second.transform.temperature_spin.maximum()  # brought into range
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    second.close()
    second.deleteLater()
