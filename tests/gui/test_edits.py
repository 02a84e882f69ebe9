"""Undo and redo of the user's changes: takes made, deleted and renamed, the curve drawn."""

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from emostudio.emotion import Emotion
from emostudio.gui import edits
from emostudio.gui.document import Document
from emostudio.gui.target_panel import TargetPanel


@pytest.fixture
def document(qtbot):
    return Document()


def make(document, kind="generate"):
    take = document.new_take(kind, Emotion(0.5, 0.5))
    document.update_take(take, complete=True)
    edits.made_takes(document, [take], kind)
    return take


def test_undoing_a_take_made_returns_to_the_take_current_before(document):
    first, second = make(document), make(document)
    assert document.current is second and second.previous is first
    assert document.history.undoText() == f"generate “{second.name}”"
    document.history.undo()
    assert document.takes == [first] and document.current is first
    document.history.redo()
    assert document.takes == [first, second] and document.current is second


def test_variations_are_one_step(document):
    source = make(document)
    takes = [document.new_take("fill", Emotion(0, 0)) for _ in range(3)]
    edits.made_takes(document, takes, "fill")
    assert document.history.undoText() == "fill (3 takes)"
    document.history.undo()
    assert document.takes == [source] and document.current is source
    document.history.redo()
    assert document.takes == [source, *takes] and document.current is takes[0]


def test_a_deleted_take_comes_back_in_its_place(document):
    a, b, c = make(document), make(document), make(document)
    edits.delete_take(document, b)
    assert document.takes == [a, c]
    document.history.undo()
    assert document.takes == [a, b, c] and document.current is b
    document.history.redo()
    assert document.takes == [a, c]


def test_renames_undo_and_blank_names_are_refused(document):
    take = make(document)
    old = take.name
    edits.rename_take(document, take, "  keeper ")
    edits.rename_take(document, take, "   ")  # refused: no step
    assert take.name == "keeper" and document.history.undoText() == f"rename take “{old}”"
    document.history.undo()
    assert take.name == old


def test_a_take_deleted_before_its_job_ended_is_not_recorded(document):
    take = document.new_take("generate", Emotion(0, 0))
    document.remove_take(take)  # as a cancel that left no notes does
    edits.made_takes(document, [take], "generate")
    assert document.history.count() == 0


def test_the_curve_drawn_and_cleared_comes_back_on_the_pad(qtbot, document):
    panel = TargetPanel(document)
    qtbot.addWidget(panel)
    path = [(-0.5, -0.5), (0.5, 0.5)]
    panel.pad.curve_changed.emit(path)  # a path drawn on the pad
    assert document.curve == path
    qtbot.mouseClick(panel.clear_curve_button, Qt.LeftButton)
    assert document.curve is None and panel.pad.curve == []
    assert document.history.undoText() == "clear the emotion curve"
    document.history.undo()
    assert document.curve == path and panel.pad.curve == path
    assert panel.clear_curve_button.isEnabled() and "Curve over" in panel.label.text()
    document.history.undo()
    assert document.curve is None and panel.pad.curve == []


def test_a_take_used_as_the_input_and_undone(document):
    from gui_songs import make_song

    piece = make_song(2)
    document.set_input(piece, Path("/music/piece.mid"))
    heard = object()
    document.set_input_recognition(heard)
    take = make(document)
    document.update_take(take, song=make_song(3))
    edits.use_as_input(document, take)
    assert document.input_song.name == take.name and document.input_path is None
    assert document.input_song.note_count == take.song.note_count
    assert document.history.undoText() == f"use take “{take.name}” as the input"
    transfer = document.new_take("transfer", Emotion(-0.5, -0.5))
    assert transfer.name == f"2 · {take.name} → sad"
    document.remove_take(transfer)
    document.history.undo()
    assert document.input_song is piece and document.input_path == Path("/music/piece.mid")
    assert document.input_recognition is heard
