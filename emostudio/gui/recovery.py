"""Nothing lost in a crash: the session's takes are kept on disk as they are made, and the next
start offers back the takes of a session that ended without closing its window (a crash, a kill,
a power cut, a logout).

``<config folder>/recovery/<session>/`` holds ``session.json`` (the input and donor files' paths,
the takes in order: name, kind, target, the settings they were made with, the bars they wrote,
where they were exported, which was current) and one ``take-N.mid`` per finished take, written
by the same MIDI writer as an export (so pedal, key signatures and texts are kept); an input
that is no file (a take used as the input, a session's input whose file is gone) is kept as
``input.mid``. A
``QLockFile`` in the folder says its session is alive; a folder whose lock can be taken (its
process is gone) is a lost session. Closing the window deletes the folder (it has asked about
unexported takes by then); a signal (SIGTERM, Ctrl-C) closes it keeping the folder, so its
takes come back at the next start.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from emostudio.atomic import atomic_path, atomic_write
from emostudio.gui.document import Document, Take
from emostudio.gui.session_file import take_entry, take_from
from emostudio.midi import MidiReadError, Song, read_midi, write_midi
from emostudio.settings import settings_path

log = logging.getLogger(__name__)

FOLDER = "recovery"
SESSION_FILE = "session.json"
LOCK_FILE = "lock"
INPUT_FILE = "input.mid"  # the input, when it is no file of the user's (a take used as input)
SESSION_FORMAT_VERSION = 1
SAVE_DELAY_MS = 300  # changes within this time are written together (a take's bars stream in)


def recovery_root() -> Path:
    """Where sessions are kept: beside the settings (``$EMOSTUDIO_CONFIG_DIR`` in tests)."""
    return settings_path().parent / FOLDER


class SessionKeeper(QObject):
    """Keeps this session's takes in its own folder under ``root`` while the window is open."""

    message = Signal(str, bool)  # text, is an error

    def __init__(
        self, document: Document, root: Path | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.document = document
        root = root or recovery_root()
        self.folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"  # if mkdtemp fails
        # the writer thread's own: take number -> the song in its file (held, so compared by
        # identity: a take whose song was replaced is written again); the session file's text
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="emostudio-keeper")
        self._written: dict[int, Song] = {}
        self._written_input: Song | None = None
        self._session_text = ""
        self._closed = False
        self._failed = False
        self._lock: QLockFile | None = None
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=f"{self.folder.name}-", dir=root))
            lock = QLockFile(str(self.folder / LOCK_FILE))
            if lock.tryLock(0):
                self._lock = lock
        except OSError as exc:  # said when there is something to keep (see _write)
            self._folder_error: OSError | None = exc
        else:
            self._folder_error = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save)
        for signal in (
            document.takes_changed,
            document.take_updated,
            document.current_changed,
            document.input_changed,
            document.donor_changed,
        ):
            signal.connect(self._timer.start)

    def save(self) -> Future:
        """Write what changed, in the keeper's own thread (a long take's file takes ~0.1 s): the
        files of finished takes not written yet, then the session file. -> when it is written."""
        self._timer.stop()
        if self._closed:
            done: Future = Future()
            done.set_result(None)
            return done
        d = self.document
        kept = d.finished_takes()
        songs = [(t.number, t.song) for t in kept]
        # an input with no file of its own (a take used as the input, or a session's input
        # whose file is gone) is kept beside the takes
        has_file = d.input_path is not None and d.input_path.is_file()
        own_input = d.input_song if d.input_song is not None and not has_file else None
        session = {
            "format_version": SESSION_FORMAT_VERSION,
            "input": os.path.abspath(d.input_path) if d.input_path and has_file else None,
            "input_song": (
                {"file": INPUT_FILE, "name": own_input.name} if own_input is not None else None
            ),
            "donor": os.path.abspath(d.donor_path) if d.donor_path else None,
            "session_file": os.path.abspath(d.session_path) if d.session_path else None,
            "current": d.current.number if d.current in kept else None,
            "takes": [take_entry(t) for t in kept],
        }
        text = json.dumps(session, indent=1)
        return self._writer.submit(self._write, songs, own_input, text)

    def _write(  # the writer thread
        self, songs: list[tuple[int, Song]], own_input: Song | None, text: str
    ) -> None:
        if self._lock is None:
            if songs:
                self._fail(self._folder_error or OSError(f"{self.folder} is in use"))
            return
        try:
            for number, song in songs:
                if self._written.get(number) is not song:
                    with atomic_path(self.folder / f"take-{number}.mid") as tmp:
                        write_midi(song, tmp)
                    self._written[number] = song
            if own_input is not self._written_input:
                if own_input is None:
                    (self.folder / INPUT_FILE).unlink(missing_ok=True)
                else:
                    with atomic_path(self.folder / INPUT_FILE) as tmp:
                        write_midi(own_input, tmp)
                self._written_input = own_input
            if text != self._session_text:  # not while a take's bars stream in
                atomic_write(self.folder / SESSION_FILE, text, durable=True)
                self._session_text = text
            for number in set(self._written) - {n for n, _ in songs}:
                (self.folder / f"take-{number}.mid").unlink(missing_ok=True)
                del self._written[number]
        except OSError as exc:
            self._fail(exc)
        except Exception as exc:  # a bug: said, not lost in the writer's future
            log.exception("the session keeper failed")
            self._fail(exc)

    def close(self, keep: bool = False) -> None:
        """The session ends: its folder is deleted, or with ``keep`` left for the next start."""
        if self._closed:
            return
        if keep:
            self.save()
        self._closed = True
        self._timer.stop()
        self._writer.shutdown(wait=True)
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None
        if not keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _fail(self, exc: Exception) -> None:  # either thread: the signal is queued to the window
        if not self._failed:  # said once: the session goes on without a copy on disk
            self._failed = True
            reason = getattr(exc, "strerror", None) or str(exc)
            log.warning("cannot keep the session in %s: %s", self.folder, reason)
            self.message.emit(
                f"cannot keep the takes for crash recovery in {self.folder}: {reason}", True
            )


@dataclass
class LostSession:
    """What a session that ended without closing left: its takes (read back) and files."""

    folder: Path
    takes: list[Take]
    current: int | None = None  # index into takes
    input_path: Path | None = None
    input_song: Song | None = None  # an input that was no file (kept in the folder)
    donor_path: Path | None = None
    session_file: Path | None = None  # the session file it was saved to or opened from
    unreadable: list[str] = field(default_factory=list)  # takes whose file could not be read
    lock: QLockFile | None = None  # held while it is being offered: no other window takes it

    def discard(self) -> None:
        self.release()
        shutil.rmtree(self.folder, ignore_errors=True)

    def release(self) -> None:
        if self.lock is not None:
            self.lock.unlock()
            self.lock = None


def find_lost_sessions(root: Path | None = None) -> list[LostSession]:
    """Sessions under ``root`` whose process is gone, oldest first, with their takes read back.
    Folders of live sessions are left alone; lost ones with nothing to offer are deleted."""
    root = root or recovery_root()
    lost = []
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        lock = QLockFile(str(folder / LOCK_FILE))
        lock.setStaleLockTime(0)  # a lock whose process is dead is stale at once
        if not lock.tryLock(0):
            continue  # a live session (this one, or another window)
        session = read_session(folder)
        if session is None or not session.takes:
            lock.unlock()
            shutil.rmtree(folder, ignore_errors=True)
            continue
        session.lock = lock
        lost.append(session)
    return lost


def read_session(folder: Path) -> LostSession | None:
    """The session kept in ``folder``; None when its session file is missing or unusable."""
    try:
        data = json.loads((folder / SESSION_FILE).read_text(encoding="utf-8"))
        if data.get("format_version") != SESSION_FORMAT_VERSION:
            return None
        entries = list(data["takes"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("cannot read the kept session %s: %s", folder, exc)
        return None
    session = LostSession(folder, [])
    for entry in entries:
        try:
            take = take_from(entry, read_midi(folder / str(entry["file"])))
        except (OSError, MidiReadError, ValueError, KeyError, TypeError) as exc:
            session.unreadable.append(str(entry.get("name", "?")))
            log.warning("cannot read a kept take in %s: %s", folder, exc)
            continue
        if entry.get("number") == data.get("current"):
            session.current = len(session.takes)
        session.takes.append(take)
    session.input_path = Path(data["input"]) if data.get("input") else None
    own_input = data.get("input_song")
    if own_input:
        try:
            song = read_midi(folder / str(own_input["file"]))
            session.input_song = replace(song, name=str(own_input.get("name") or song.name))
        except (OSError, MidiReadError, KeyError, TypeError) as exc:
            session.unreadable.append("the input")
            log.warning("cannot read the kept input in %s: %s", folder, exc)
    session.donor_path = Path(data["donor"]) if data.get("donor") else None
    session.session_file = Path(data["session_file"]) if data.get("session_file") else None
    return session


def ask_to_restore(parent: QWidget, sessions: list[LostSession]) -> str:
    """Ask whether to restore the lost sessions' takes: "restore", "discard" or "later"."""
    takes = [t for s in sessions for t in s.takes]
    names = ", ".join(t.name for t in takes[:4]) + (" …" if len(takes) > 4 else "")
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Question)
    box.setWindowTitle("Restore takes")
    box.setText(f"emostudio did not close properly last time. Restore its {len(takes)} take(s)?")
    box.setInformativeText(f"{names}\n\nDiscard deletes them; Later asks again at the next start.")
    restore = box.addButton("Restore", QMessageBox.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.DestructiveRole)
    box.addButton("Later", QMessageBox.RejectRole)
    box.setDefaultButton(restore)
    box.exec()
    clicked = box.clickedButton()
    return "restore" if clicked is restore else "discard" if clicked is discard else "later"


def offer_lost_sessions(
    parent: QWidget,
    document: Document,
    keeper: SessionKeeper,
    open_input: Callable[[Path], object] | None,
    open_donor: Callable[[Path], object],
    root: Path | None = None,
) -> str | None:
    """At start: offer back the takes of sessions that ended without closing, and do what the
    user answers ("restore", "discard", "later"; None when there was nothing to offer). Restored
    takes join this session (kept by ``keeper`` from now on), with the lost session's input
    (unless ``open_input`` is None) and donor files opened again when they are still there (an
    input that was no file, a take used as the input, comes back from the folder)."""
    sessions = find_lost_sessions(root)
    if not sessions:
        return None
    answer = ask_to_restore(parent, sessions)
    if answer == "restore":
        for session in sessions:
            document.add_takes(session.takes)
            if session.current is not None:
                document.set_current(session.takes[session.current])
        keeper.save().result()  # in this session's folder before the lost ones go
        restored = sum(len(s.takes) for s in sessions)
        lost = [name for s in sessions for name in s.unreadable]
        note = f"; {len(lost)} could not be read ({', '.join(lost)})" if lost else ""
        keeper.message.emit(f"restored {restored} take(s) from the last session{note}", bool(lost))
        newest = sessions[-1]  # its input and donor are opened again
        if newest.session_file is not None and document.session_path is None:
            document.reattach_session(newest.session_file)  # Save goes there again
        if newest.input_song is not None and open_input is not None:
            document.set_input(newest.input_song, None)
        for path, open_file, role in (
            (newest.input_path, open_input, "input"),
            (newest.donor_path, open_donor, "donor"),
        ):
            if path is None or open_file is None:
                continue
            if path.is_file():
                open_file(path)
            else:
                keeper.message.emit(f"restored takes: their {role} {path} is gone", True)
    for session in sessions:
        if answer == "later":
            session.release()
        else:
            session.discard()
    return answer
