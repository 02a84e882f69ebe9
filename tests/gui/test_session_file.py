"""A session saved as one file and opened again: File ▸ Save session, Open session (and Open MIDI,
a drop, the recent files), the title's unsaved-changes mark, and what closing asks."""

import json
import zipfile
from pathlib import Path

import pytest
from gui_songs import make_song
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from emostudio.emotion import Emotion
from emostudio.gui import edits
from emostudio.gui.document import Take
from emostudio.gui.main_window import MainWindow
from emostudio.gui.session_file import (
    SessionContents,
    SessionFileError,
    read_session_file,
    write_session_file,
)
from emostudio.midi import write_midi
from emostudio.settings import Settings, load_settings

WAIT_MS = 20_000


HAPPY = Emotion(0.5, 0.5)


def a_take(number, name, kind="generate", target=HAPPY, bars=3) -> Take:
    return Take(number, name, kind, target, song=make_song(bars), complete=True)


def full_contents(tmp_path) -> SessionContents:
    curve_take = a_take(2, "2 · curve", target=[Emotion(-1, -1), Emotion(1, 1)], bars=5)
    filled = a_take(3, "my fill", kind="fill", bars=6)
    filled.new_bars, filled.details = (2, 4), "bars 3-4; variation 1 of 2"
    filled.exported_to = [tmp_path / "out" / "fill.mid"]
    return SessionContents(
        input_song=make_song(6, bpm=96.0),
        input_path=tmp_path / "piece.mid",
        donor_song=make_song(2),
        donor_path=tmp_path / "donor.mid",
        takes=[a_take(1, "1 · happy"), curve_take, filled],
        current=2,
        target=Emotion(-0.62, -0.55),
        curve=[(-1.0, -1.0), (0.0, 0.2), (1.0, 1.0)],
    )


def test_a_session_file_keeps_the_pieces_the_takes_and_the_target(tmp_path):
    saved = full_contents(tmp_path)
    path = write_session_file(tmp_path / "work.emostudio", saved)
    back = read_session_file(path)
    assert back.input_song.note_count == saved.input_song.note_count
    assert back.input_song.tempos[0].bpm == pytest.approx(96.0)
    assert back.input_path == tmp_path / "piece.mid" and back.donor_path == tmp_path / "donor.mid"
    assert back.donor_song.n_bars == 2
    assert [t.name for t in back.takes] == ["1 · happy", "2 · curve", "my fill"]
    assert [t.number for t in back.takes] == [1, 2, 3] and back.current == 2
    _, curve_take, filled = back.takes
    assert curve_take.target == [Emotion(-1, -1), Emotion(1, 1)]
    assert filled.kind == "fill" and filled.new_bars == (2, 4)
    assert filled.details == "bars 3-4; variation 1 of 2"
    assert filled.exported_to == [tmp_path / "out" / "fill.mid"]
    assert [t.song.n_bars for t in back.takes] == [3, 5, 6] and all(t.finished for t in back.takes)
    assert back.target == Emotion(-0.62, -0.55)
    assert back.curve == [(-1.0, -1.0), (0.0, 0.2), (1.0, 1.0)]
    assert back.unreadable == []
    with zipfile.ZipFile(path) as archive:  # JSON and MIDI only
        assert sorted(archive.namelist()) == [
            "donor.mid",
            "input.mid",
            "session.json",
            "take-1.mid",
            "take-2.mid",
            "take-3.mid",
        ]


def test_files_that_are_no_session_say_why(tmp_path):
    def error(name: str, make) -> str:
        path = tmp_path / name
        make(path)
        with pytest.raises(SessionFileError) as caught:
            read_session_file(path)
        return str(caught.value)

    assert error("text.emostudio", lambda p: p.write_text("hello")) == (
        "text.emostudio: not an emostudio session (not a zip archive)"
    )

    def zipped(members: dict):
        def make(path: Path):
            with zipfile.ZipFile(path, "w") as archive:
                for member, data in members.items():
                    archive.writestr(member, data)

        return make

    assert "no session.json" in error("empty.emostudio", zipped({"a.txt": "x"}))
    assert error("other.emostudio", zipped({"session.json": '{"format": "x"}'})).endswith(
        "not an emostudio session"
    )
    newer = json.dumps({"format": "emostudio-session", "format_version": 99})
    assert "saved by a newer emostudio (session format 99)" in error(
        "newer.emostudio", zipped({"session.json": newer})
    )
    assert "index is damaged" in error("bad.emostudio", zipped({"session.json": "{nope"}))
    with pytest.raises(SessionFileError, match=r"gone\.emostudio: cannot read"):
        read_session_file(tmp_path / "gone.emostudio")


def test_a_take_whose_music_is_damaged_is_named_and_the_others_come_back(tmp_path):
    path = write_session_file(tmp_path / "work.emostudio", full_contents(tmp_path))
    damaged = tmp_path / "damaged.emostudio"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(damaged, "w") as target:
        for member in source.namelist():
            data = b"MThd garbage" if member == "take-2.mid" else source.read(member)
            target.writestr(member, data)
    back = read_session_file(damaged)
    assert [t.name for t in back.takes] == ["1 · happy", "my fill"]
    assert back.unreadable == ["2 · curve"] and back.current == 1
    no_input = tmp_path / "no-input.emostudio"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(no_input, "w") as target:
        for member in source.namelist():
            data = b"MThd garbage" if member == "input.mid" else source.read(member)
            target.writestr(member, data)
    with pytest.raises(SessionFileError) as caught:
        read_session_file(no_input)
    assert str(caught.value).startswith("no-input.emostudio:input.mid: ")  # not "index damaged"


def test_a_session_that_cannot_be_written_leaves_the_old_file(tmp_path):
    path = write_session_file(tmp_path / "work.emostudio", full_contents(tmp_path))
    before = path.read_bytes()
    broken = full_contents(tmp_path)
    broken.takes.append(Take(9, "unfinished", "generate", Emotion(0, 0)))  # no music: refused
    with pytest.raises(AssertionError):
        write_session_file(path, broken)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["work.emostudio"]
    with pytest.raises(OSError):
        write_session_file(tmp_path / "missing" / "x.emostudio", full_contents(tmp_path))


# ---- in the window --------------------------------------------------------------------------------


@pytest.fixture
def make_window(qtbot, monkeypatch):
    windows = []

    def make() -> MainWindow:
        window = MainWindow(settings=Settings())
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    for window in windows:
        window.close()
        window.deleteLater()


def made_take(window: MainWindow, name: str, bars: int = 3) -> Take:
    """A finished take, made as the model makes one (one step of the undo stack)."""
    d = window.document
    take = d.new_take("generate", Emotion(0.5, 0.5))
    d.update_take(take, song=make_song(bars), complete=True)
    d.rename_take(take, name)
    edits.made_takes(d, [take], "generate")
    return take


def save(qtbot, window: MainWindow, path: Path) -> None:
    worker = window.files.save_session_to(path)
    with qtbot.waitSignal(worker.finished, timeout=WAIT_MS):  # delivered by the event loop
        pass
    assert window.document.session_path == path


def asked_questions(monkeypatch, answer=QMessageBox.Cancel) -> list[str]:
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or answer)
    return asked


def test_saving_marks_the_session_and_closing_asks_only_about_what_is_unsaved(
    qtbot, make_window, tmp_path, monkeypatch
):
    window = make_window()
    assert window.windowTitle() == "emostudio"
    assert not window.menus.save_session_action.isEnabled()  # nothing to save yet
    made_take(window, "first")
    assert window.menus.save_session_action.isEnabled()
    path = tmp_path / "song.emostudio"
    save(qtbot, window, path)
    assert window.windowTitle() == "song[*] — emostudio" and not window.isWindowModified()
    assert "saved the session to" in window.status.message()
    assert load_settings().recent_files[0] == str(path)
    asked = asked_questions(monkeypatch)
    edits.rename_take(window.document, window.document.takes[0], "renamed")
    assert window.isWindowModified()
    assert not window.close()
    assert asked[-1].startswith("The changes since song.emostudio was saved will be lost.")
    window.menus.undo_action.trigger()  # back where it was saved
    assert not window.isWindowModified()
    second = made_take(window, "second")
    assert not window.close()
    assert "1 take(s) were never exported or saved (second)" in asked[-1]
    window.document.history.undo()  # the second take is unmade
    assert second not in window.document.takes
    assert window.close()  # nothing to lose: no question
    assert len(asked) == 2


def test_an_opened_session_replaces_the_work_and_can_be_saved_again(
    qtbot, make_window, tmp_path, monkeypatch
):
    piece = tmp_path / "piece.mid"
    write_midi(make_song(5), piece)
    first = make_window()
    first.open_file(piece)
    qtbot.waitUntil(lambda: first.document.input_path == piece, timeout=WAIT_MS)
    made_take(first, "calm ending")
    made_take(first, "another", bars=4)
    first.document.set_current(first.document.takes[0])
    first.document.set_target(Emotion(-0.3, 0.6))
    first.document.set_curve([(-1.0, 0.0), (1.0, 0.5)])
    path = tmp_path / "work.emostudio"
    save(qtbot, first, path)
    piece.unlink()  # the session file alone brings the input back

    window = make_window()
    made_take(window, "unsaved here")
    asked = asked_questions(monkeypatch, QMessageBox.Cancel)
    assert window.open_file(path) is None  # Open MIDI opens sessions too: asked, cancelled
    assert "were never exported or saved (unsaved here)" in asked[0]
    assert [t.name for t in window.document.takes] == ["unsaved here"]

    asked_questions(monkeypatch, QMessageBox.Discard)
    window.open_file(path)
    d = window.document
    qtbot.waitUntil(lambda: d.session_path == path, timeout=WAIT_MS)
    assert [t.name for t in d.takes] == ["calm ending", "another"]
    assert d.current is d.takes[0] and d.takes[0].song.n_bars == 3
    assert d.input_song.note_count == make_song(5).note_count and d.input_path == piece
    assert d.target == Emotion(-0.3, 0.6) and d.curve == [(-1.0, 0.0), (1.0, 0.5)]
    pad = window.target_panel.pad  # the pad shows them
    assert pad.target == Emotion(-0.3, 0.6) and pad.curve == [(-1.0, 0.0), (1.0, 0.5)]
    assert d.history.count() == 0 and not window.isWindowModified()
    assert window.windowTitle() == "work[*] — emostudio"
    assert window.takes.list.count() == 2
    assert "opened work.emostudio: 2 take(s)" in window.status.message()
    assert d.unsaved_takes() == []
    # a new take is numbered after the session's
    assert made_take(window, "third").number == 3
    save(qtbot, window, path)  # Save goes to the same file
    assert [t.name for t in read_session_file(path).takes] == ["calm ending", "another", "third"]


def test_a_session_dropped_on_the_window_opens_and_a_bad_one_keeps_the_work(
    qtbot, make_window, tmp_path
):
    path = write_session_file(tmp_path / "dropped.emostudio", full_contents(tmp_path))
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = window.rect().center()
    enter = QDragEnterEvent(centre, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(centre), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, drop)
    qtbot.waitUntil(lambda: window.document.session_path == path, timeout=WAIT_MS)
    assert len(window.document.takes) == 3
    bad = tmp_path / "bad.emostudio"
    bad.write_text("not a session")
    window.open_file(bad)
    qtbot.waitUntil(lambda: "cannot open bad.emostudio" in window.status.message(), timeout=WAIT_MS)
    assert "not a zip archive" in window.status.message()
    assert window.document.session_path == path and len(window.document.takes) == 3


def test_a_session_is_not_opened_while_a_take_is_being_made(
    qtbot, make_window, tmp_path, tiny_model_dir
):
    path = write_session_file(tmp_path / "work.emostudio", full_contents(tmp_path))
    window = make_window()
    window.model.load(tiny_model_dir)
    qtbot.waitUntil(lambda: window.model.engine is not None, timeout=WAIT_MS)
    window.model.generate(window.transform.options())
    assert window.model.busy
    assert window.files.open_session(path) is None
    assert "while a take is being made" in window.status.message()
    qtbot.waitUntil(lambda: not window.model.busy, timeout=WAIT_MS)
    assert window.document.session_path is None and len(window.document.takes) == 1


def test_saving_reports_each_piece_and_a_cancelled_save_leaves_the_old_file(tmp_path):
    import threading

    from emostudio.gui import jobs

    path = write_session_file(tmp_path / "work.emostudio", full_contents(tmp_path))
    before = path.read_bytes()
    bigger = full_contents(tmp_path)
    bigger.takes.append(a_take(4, "four"))
    cancel = threading.Event()
    job = jobs.save_session_job(bigger, path)(cancel)
    steps = [next(job), next(job)]
    assert [(p.done, p.total) for p in steps] == [(0, 6), (1, 6)]  # input, donor, 4 takes
    cancel.set()
    with pytest.raises(StopIteration) as stop:
        next(job)
    assert stop.value.value is None and path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["work.emostudio"]
    whole = jobs.save_session_job(bigger, path)(threading.Event())
    assert len(list(whole)) == 6 and len(read_session_file(path).takes) == 4


def test_closing_offers_to_save_the_session_first(qtbot, make_window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    made_take(window, "keep me")
    asked = asked_questions(monkeypatch, QMessageBox.Save)
    chosen = tmp_path / "chosen"  # the dialog's answer: the suffix is added
    offered = []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: offered.append(a[3]) or (str(chosen), "")
    )
    assert window.close()  # saved here, then closed
    assert "Save the session first?" in asked[0]
    saved = tmp_path / "chosen.emostudio"
    assert [t.name for t in read_session_file(saved).takes] == ["keep me"]

    again = make_window()
    again.open_file(saved)
    qtbot.waitUntil(lambda: again.document.session_path == saved, timeout=WAIT_MS)
    made_take(again, "second")
    asked_questions(monkeypatch, QMessageBox.Save)
    assert again.close()  # to its own file, no dialog
    assert len(offered) == 1
    assert [t.name for t in read_session_file(saved).takes] == ["keep me", "second"]


def test_a_save_that_fails_or_is_cancelled_keeps_the_window_open(
    qtbot, make_window, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    made_take(window, "precious")
    asked_questions(monkeypatch, QMessageBox.Save)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: ("", ""))
    assert not window.close() and window.isVisible()  # the dialog was cancelled
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    missing = tmp_path / "no such folder" / "x.emostudio"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(missing), ""))
    assert not window.close() and window.isVisible()
    assert warnings and warnings[0].startswith("Cannot save x.emostudio")
    assert [t.name for t in window.document.takes] == ["precious"]
