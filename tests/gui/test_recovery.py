"""Crash recovery: a session's takes are kept on disk as they are made, and a session that ended
without closing its window (here: a process that dies, a window closed by a signal) has its takes
offered back at the next start."""

import json
import subprocess
import sys
import textwrap

import pytest
from gui_songs import make_song
from PySide6.QtWidgets import QMessageBox

from emostudio.emotion import Emotion
from emostudio.gui import recovery
from emostudio.gui.document import Document
from emostudio.gui.main_window import MainWindow
from emostudio.gui.recovery import SessionKeeper, find_lost_sessions, recovery_root
from emostudio.midi import write_midi
from emostudio.settings import Settings

# a session that makes two takes (one a continuation, one along a curve), exports one, and dies
CRASHING_SESSION = textwrap.dedent(
    """
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    from gui_songs import make_song
    from emostudio.emotion import Emotion
    from emostudio.gui.document import Document
    from emostudio.gui.recovery import SessionKeeper
    app = QApplication([])
    document = Document()
    document.set_input(make_song(2), Path(sys.argv[2]))
    keeper = SessionKeeper(document)
    first = document.new_take("continue", Emotion(-0.5, -0.5), "4 bars after bar 2")
    document.update_take(first, song=make_song(6), complete=True)
    first.new_bars = (2, 6)
    second = document.new_take("generate", [Emotion(-1, -1), Emotion(1, 1)])
    document.update_take(second, song=make_song(3, bpm=90.0), complete=True)
    document.mark_exported(second, Path("/music/two.mid"))
    document.rename_take(first, "my sad ending")
    document.set_current(first)
    keeper.save().result()
    os._exit(3)  # no close, no cleanup: a crash
    """
)


def crash_a_session(tmp_path, input_path) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_SESSION)
    here = str(__import__("pathlib").Path(__file__).parent)
    run = subprocess.run(
        [sys.executable, str(script), here, str(input_path)], capture_output=True, timeout=120
    )
    assert run.returncode == 3, run.stderr.decode()


@pytest.fixture
def answer(monkeypatch):
    """What the Restore takes question is answered (and the takes it named)."""
    asked = []

    def ask(parent, sessions):
        asked.append([t.name for s in sessions for t in s.takes])
        return answer.value

    answer.value = "restore"
    answer.asked = asked
    monkeypatch.setattr(recovery, "ask_to_restore", ask)
    return answer


@pytest.fixture
def window(qtbot, monkeypatch):
    windows = []

    def make():
        w = MainWindow(settings=Settings())
        windows.append(w)
        return w

    yield make
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Discard)
    for w in windows:
        w.close()
        w.deleteLater()


def test_the_takes_of_a_crashed_session_come_back(qtbot, tmp_path, window, answer):
    piece = tmp_path / "piece.mid"
    write_midi(make_song(2), piece)
    crash_a_session(tmp_path, piece)
    w = window()
    assert w.offer_recovery() == "restore"
    assert answer.asked == [["my sad ending", "2 · curve"]]
    takes = w.document.takes
    assert [t.name for t in takes] == ["my sad ending", "2 · curve"]
    first, second = takes
    assert w.document.current is first
    assert first.kind == "continue" and first.new_bars == (2, 6) and first.complete
    assert first.target == Emotion(-0.5, -0.5) and first.details == "4 bars after bar 2"
    assert second.target == [Emotion(-1, -1), Emotion(1, 1)]
    assert first.song.n_bars == 6 and first.song.note_count == make_song(6).note_count
    assert second.song.tempos[0].bpm == pytest.approx(90.0)
    assert [str(p) for p in second.exported_to] == ["/music/two.mid"]
    assert w.document.unexported_takes() == [first]
    assert w.takes.list.count() == 2
    qtbot.waitUntil(lambda: w.document.input_path == piece, timeout=20_000)  # opened again
    assert "restored 2 take(s)" in w.statusBar().currentMessage() or w.document.input_path
    # the lost session's folder is gone; this session keeps the takes in its own
    qtbot.waitUntil(lambda: (w.keeper.folder / "take-1.mid").is_file(), timeout=5_000)
    folders = [p for p in recovery_root().iterdir() if p.is_dir()]
    assert folders == [w.keeper.folder]
    assert window().offer_recovery() is None  # a live session is not offered


def test_later_asks_again_and_discard_deletes(qtbot, tmp_path, window, answer):
    piece = tmp_path / "piece.mid"
    write_midi(make_song(2), piece)
    crash_a_session(tmp_path, piece)
    answer.value = "later"
    assert window().offer_recovery() == "later"
    answer.value = "discard"
    assert window().offer_recovery() == "discard"
    assert len(answer.asked) == 2
    assert find_lost_sessions() == []


def test_a_closed_window_leaves_nothing_and_a_signal_keeps_the_takes(qtbot, window, answer):
    w = window()
    take = w.document.new_take("generate", Emotion(0.5, 0.5))
    w.document.update_take(take, song=make_song(2), complete=True)
    w.keeper.save().result()
    session = json.loads((w.keeper.folder / "session.json").read_text())
    assert [t["name"] for t in session["takes"]] == [take.name]
    assert w.close_keeping_takes()  # as SIGTERM does: no question about the unexported take
    assert (w.keeper.folder / "take-1.mid").is_file()
    again = window()
    assert again.offer_recovery() == "restore" and [t.name for t in again.document.takes] == [
        take.name
    ]
    again.takes.delete(again.document.current)
    assert again.close()  # nothing unexported left: no question
    assert not again.keeper.folder.exists()
    assert find_lost_sessions() == []


def test_a_take_whose_file_is_damaged_is_named_and_the_others_come_back(qtbot, tmp_path):
    root = tmp_path / "kept"
    document = Document()
    keeper = SessionKeeper(document, root)
    for n in (2, 3):
        take = document.new_take("generate", Emotion(0.5, 0.5))
        document.update_take(take, song=make_song(n), complete=True)
    unfinished = document.new_take("generate", Emotion(0.5, 0.5))  # still generating: not kept
    document.update_take(unfinished, song=make_song(1))
    keeper.save().result()
    keeper._lock.unlock()  # as when its process is gone
    (keeper.folder / "take-1.mid").write_bytes(b"MThd garbage")
    (lost,) = find_lost_sessions(root)
    assert [t.name for t in lost.takes] == ["2 · happy"] and lost.unreadable == ["1 · happy"]
    assert find_lost_sessions(root) == []  # held while it is being offered
    lost.discard()
    assert not keeper.folder.exists()


def test_an_input_that_was_a_take_comes_back_with_the_takes(qtbot, tmp_path, window, answer):
    from emostudio.gui.edits import use_as_input

    root = recovery_root()
    document = Document()
    keeper = SessionKeeper(document, root)
    take = document.new_take("generate", Emotion(-0.5, 0.5))
    document.update_take(take, song=make_song(5), complete=True)
    use_as_input(document, take)  # the input is no file now
    keeper.save().result()
    assert (keeper.folder / "input.mid").is_file()
    keeper._lock.unlock()  # as when its process is gone
    w = window()
    assert w.offer_recovery() == "restore"
    restored = w.document.input_song
    assert restored is not None and w.document.input_path is None
    assert restored.name == "1 · tense" and restored.note_count == make_song(5).note_count
    assert restored.n_bars == 5
    # an input from a file again: the kept copy goes
    piece = tmp_path / "piece.mid"
    write_midi(make_song(2), piece)
    w.files.open_file(piece)
    qtbot.waitUntil(lambda: w.document.input_path == piece, timeout=20_000)
    qtbot.waitUntil(lambda: not (w.keeper.folder / "input.mid").exists(), timeout=5_000)
    assert json.loads((w.keeper.folder / "session.json").read_text())["input_song"] is None


def test_takes_of_a_saved_session_come_back_to_its_file(qtbot, tmp_path, window, answer):
    from emostudio.gui.session_file import read_session_file

    w = window()
    take = w.document.new_take("generate", Emotion(0.5, 0.5))
    w.document.update_take(take, song=make_song(2), complete=True)
    saved = tmp_path / "work.emostudio"
    worker = w.files.save_session_to(saved)
    with qtbot.waitSignal(worker.finished, timeout=20_000):
        pass
    later = w.document.new_take("generate", Emotion(-0.5, 0.5))  # made after the save
    w.document.update_take(later, song=make_song(3), complete=True)
    w.keeper.save().result()
    w.keeper._lock.unlock()  # as when its process is gone
    w.keeper._closed = True  # the dead process writes nothing more
    restored = window()
    assert restored.offer_recovery() == "restore"
    d = restored.document
    assert d.session_path == saved and restored.windowTitle() == "work[*] — emostudio"
    assert restored.isWindowModified() and [t.name for t in d.unsaved_takes()] == [
        "1 · happy",
        "2 · tense",
    ]
    worker = restored.files.save_session()  # to the same file, no dialog
    with qtbot.waitSignal(worker.finished, timeout=20_000):
        pass
    assert len(read_session_file(saved).takes) == 2 and not restored.isWindowModified()


def test_a_damaged_kept_input_is_named_and_the_takes_come_back(qtbot, tmp_path):
    document = Document()
    keeper = SessionKeeper(document, tmp_path)
    take = document.new_take("generate", Emotion(0.5, 0.5))
    document.update_take(take, song=make_song(2), complete=True)
    document.set_input(make_song(3), None)
    keeper.save().result()
    keeper._lock.unlock()
    (keeper.folder / "input.mid").write_bytes(b"MThd garbage")
    (lost,) = find_lost_sessions(tmp_path)
    assert [t.name for t in lost.takes] == ["1 · happy"]
    assert lost.input_song is None and lost.unreadable == ["the input"]
    lost.discard()


def test_deleted_takes_leave_the_kept_session(qtbot, tmp_path):
    document = Document()
    keeper = SessionKeeper(document, tmp_path)
    take = document.new_take("generate", Emotion(0, 0))
    document.update_take(take, song=make_song(2), complete=True)
    qtbot.waitUntil(lambda: (keeper.folder / "take-1.mid").is_file(), timeout=5_000)
    document.remove_take(take)
    qtbot.waitUntil(lambda: not (keeper.folder / "take-1.mid").exists(), timeout=5_000)
    assert json.loads((keeper.folder / "session.json").read_text())["takes"] == []
    keeper.close()
    assert not keeper.folder.exists()


def test_sigterm_closes_without_asking_and_keeps_the_takes(qtbot, window, monkeypatch):
    import os
    import signal

    from PySide6.QtWidgets import QApplication

    from emostudio.gui.app import quit_on_signals

    w = window()
    w.show()
    take = w.document.new_take("generate", Emotion(0.5, 0.5))
    w.document.update_take(take, song=make_song(2), complete=True)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or 0)
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        timer = quit_on_signals(QApplication.instance())
        os.kill(os.getpid(), signal.SIGTERM)
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=5_000)
        timer.stop()
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)
    assert asked == []
    (lost,) = find_lost_sessions()
    assert [t.name for t in lost.takes] == [take.name]
    lost.release()


def test_a_folder_that_cannot_be_written_is_said_once(qtbot, tmp_path):
    root = tmp_path / "not-a-folder"
    root.write_text("a file where the sessions' folder would be")
    document = Document()
    keeper = SessionKeeper(document, root)
    messages = []
    keeper.message.connect(lambda text, error: messages.append((text, error)))
    for n in (2, 3):
        take = document.new_take("generate", Emotion(0.5, 0.5))
        document.update_take(take, song=make_song(n), complete=True)
        keeper.save().result()
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=5_000)
    assert "cannot keep the takes for crash recovery" in messages[0][0] and messages[0][1]
    keeper.close()
    assert document.takes  # the session goes on


def test_a_take_named_beyond_latin_1_is_kept_and_a_failure_of_any_kind_is_said(
    qtbot, tmp_path, monkeypatch
):
    from dataclasses import replace

    document = Document()
    keeper = SessionKeeper(document, tmp_path)
    messages = []
    keeper.message.connect(lambda text, error: messages.append((text, error)))
    take = document.new_take("generate", Emotion(0.5, 0.5))  # as a session's take reads back
    document.update_take(take, song=replace(make_song(2), name="1 · 001 → sad"), complete=True)
    keeper.save().result()
    assert (keeper.folder / "take-1.mid").is_file() and messages == []  # it raised, unsaid
    monkeypatch.setattr(recovery, "write_midi", lambda song, path: 1 / 0)  # any bug
    second = document.new_take("generate", Emotion(0.5, 0.5))
    document.update_take(second, song=make_song(3), complete=True)
    keeper.save().result()
    qtbot.waitUntil(lambda: len(messages) == 1, timeout=5_000)
    assert "cannot keep the takes for crash recovery" in messages[0][0] and messages[0][1]
    keeper.close()


def test_a_signal_closes_the_windows_of_the_app_without_their_questions(qtbot, window):
    from PySide6.QtWidgets import QDialog

    class Wizardish(QDialog):  # a window of the app that asks before closing, as the wizard does
        paused = 0

        def close_pausing(self):
            Wizardish.paused += 1
            return self.close()

        def closeEvent(self, event):
            if not Wizardish.paused:
                event.ignore()  # "No" to its question

    w = window()
    child = Wizardish(w)
    child.show()
    assert not w.close()  # closed by the user: the child asked, and the answer was no
    assert w.close_keeping_takes() and Wizardish.paused == 1 and not child.isVisible()
