"""Files in and out of the window: open (dialog, drop, recent files), export a take (one dialog
for every format of :data:`EXPORT_FORMATS`), and save or open the whole session as one file
(:mod:`emostudio.gui.session_file`). The work runs in workers; what the user should know
comes out as :attr:`FileActions.message`, and what the settings should remember as
:attr:`FileActions.settings_changed` (the window keeps the settings)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from emostudio.gui import jobs, session_file
from emostudio.gui.document import Document, Take
from emostudio.gui.files import (
    RecentFilesMenu,
    accepts_drop,
    dropped_paths,
    free_paths,
    recent_without_missing,
    safe_file_name,
)
from emostudio.gui.takes import may_close
from emostudio.gui.worker import Worker, Workers
from emostudio.midi.song import Song
from emostudio.settings import Settings


@dataclass(frozen=True)
class ExportFormat:
    name: str  # in the dialog's title: "Export take as MIDI"
    suffix: str
    file_filter: str
    verb: str  # what the job does, in messages: "cannot render take.wav"
    job: Callable[[Song, Path, Settings], Any]  # a job of emostudio.gui.jobs
    written: Callable[[Any], Path | None]  # the job's result -> the file written (None: cancelled)


SESSION_FILTER = f"emostudio sessions (*{session_file.SUFFIX});;All files (*)"


def is_session_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() == session_file.SUFFIX


EXPORT_FORMATS = {
    "midi": ExportFormat(
        "MIDI",
        ".mid",
        "MIDI files (*.mid)",
        "export",
        lambda song, path, _settings: jobs.export_midi_job(song, path),
        lambda path: path,
    ),
    "wav": ExportFormat(
        "WAV",
        ".wav",
        "WAV audio (*.wav)",
        "render",
        lambda song, path, settings: jobs.render_wav_job(song, path, settings.soundfont),
        lambda done: done.path if done is not None else None,
    ),
}


class FileActions(QObject):
    message = Signal(str, bool)  # text, is an error
    settings_changed = Signal(dict)  # fields of Settings to change
    progress = Signal(object, int)  # done (None: finished), total
    session_opened = Signal()  # the document now holds a session read from a file

    def __init__(
        self,
        document: Document,
        workers: Workers,
        settings: Callable[[], Settings],
        window: QWidget,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(window)
        self.document = document
        self.workers = workers
        self._settings = settings
        self._busy = busy  # the model is making a take (a session cannot replace it meanwhile)
        self._window = window  # the dialogs' parent
        self.recent_menu = RecentFilesMenu(window)
        self.recent_menu.file_chosen.connect(self.open_file)
        self.recent_menu.clear_requested.connect(self._clear_recent)
        self.recent_menu.set_files(recent_without_missing(settings().recent_files))

    # ---- in ------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = self._settings().last_open_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self._window,
            "Open a MIDI file (or a saved session)",
            start,
            f"MIDI files and sessions (*.mid *.midi *.kar *{session_file.SUFFIX});;All files (*)",
        )
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> Worker | None:
        """Load ``path`` as the input in the background (a session file: the whole session); a
        bad file leaves the current work as it is."""
        path = Path(path)
        if is_session_path(path):
            return self.open_session(path)
        if not jobs.is_midi_path(path):
            self.message.emit(
                f"{path.name} is not a MIDI file (.mid or .midi): nothing was opened", True
            )
            return None
        self.message.emit(f"reading {path.name}…", False)
        return self.workers.run(
            jobs.load_song_job(path),
            f"open {path.name}",
            on_result=self._on_song_loaded,
            on_error=lambda message: self.message.emit(f"cannot open {path.name}: {message}", True),
        )

    def open_donor_dialog(self) -> None:
        start = self._settings().last_open_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self._window,
            "Open a donor MIDI file (the piece to take a rhythm or a key from)",
            start,
            "MIDI files (*.mid *.midi *.kar);;All files (*)",
        )
        if path:
            self.open_donor(Path(path))

    def open_donor(self, path: Path) -> Worker | None:
        """Load ``path`` as the donor piece in the background (the input stays)."""
        path = Path(path)
        if not jobs.is_midi_path(path):
            self.message.emit(f"{path.name} is not a MIDI file (.mid or .midi): no donor", True)
            return None

        def loaded(done: jobs.LoadedSong) -> None:
            self.document.set_donor(done.song, done.path)
            self.message.emit(f"donor {done.note}", False)

        return self.workers.run(
            jobs.load_song_job(path),
            f"open donor {path.name}",
            on_result=loaded,
            on_error=lambda message: self.message.emit(f"cannot open {path.name}: {message}", True),
        )

    def accepts(self, mime: QMimeData) -> bool:
        """A drag the window takes (any local file: the drop says which it cannot use)."""
        return accepts_drop(mime)

    def drop(self, mime: QMimeData) -> bool:
        """Open the first MIDI file of a drop; False (and a message) when there is none."""
        paths = dropped_paths(mime)
        sessions = [p for p in paths if is_session_path(p)]
        if sessions:
            self.open_session(sessions[0])
            return True
        midi = [p for p in paths if jobs.is_midi_path(p)]
        if not midi:
            names = ", ".join(p.name for p in paths) or "that"
            self.message.emit(f"{names}: not a MIDI file (.mid or .midi): nothing was opened", True)
            return False
        self.open_file(midi[0])
        if len(midi) > 1:
            self.message.emit(
                f"opened {midi[0].name}; one input at a time, the other files were left", False
            )
        return True

    def _on_song_loaded(self, loaded: jobs.LoadedSong) -> None:
        self.document.set_input(loaded.song, loaded.path)
        self.message.emit(loaded.note, False)
        self._remember_opened(loaded.path)

    def _remember_opened(self, path: Path, folder_key: str = "last_open_dir") -> None:
        """``path`` heads the recent files; its folder is where the next dialog opens."""
        recent = self._settings().with_recent_file(str(path)).recent_files
        self.settings_changed.emit({folder_key: str(path.parent), "recent_files": recent})
        self.recent_menu.set_files(recent_without_missing(recent))

    # ---- the session as one file ---------------------------------------------------------------
    def open_session_dialog(self) -> None:
        start = self._settings().last_open_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self._window, "Open a session", start, SESSION_FILTER)
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path) -> Worker | None:
        """Replace the session by the one saved in ``path`` (after asking, when takes would be
        lost); a file that is no session leaves the current one as it is."""
        path = Path(path)
        if self._busy():
            self.message.emit(
                f"cannot open {path.name} while a take is being made: wait, or Cancel (Esc)", True
            )
            return None
        if not may_close(self._window, self.document, self.save_now, "Open session"):
            return None

        def opened(contents: session_file.SessionContents) -> None:
            if self._busy():  # a take began meanwhile: it would be lost with the session
                self.message.emit(f"{path.name} was not opened: a take is being made", True)
                return
            c = contents
            current = c.takes[c.current] if c.current is not None else None
            self.document.replace_session(
                path,
                c.input_song,
                c.input_path,
                c.donor_song,
                c.donor_path,
                c.takes,
                current or (c.takes[-1] if c.takes else None),
                c.target,
                c.curve,
            )
            self._remember_opened(path)
            lost = f"; {len(c.unreadable)} could not be read ({', '.join(c.unreadable)})"
            self.message.emit(
                f"opened {path.name}: {len(c.takes)} take(s){lost if c.unreadable else ''}",
                bool(c.unreadable),
            )
            self.session_opened.emit()

        self.message.emit(f"opening {path.name}…", False)
        return self.workers.run(
            jobs.open_session_job(path),
            f"open {path.name}",
            on_result=opened,
            on_error=lambda message: self.message.emit(f"cannot open {message}", True),
        )

    def save_session(self) -> Worker | None:
        """Save to the session's file (the first time: ask where)."""
        if self.document.session_path is None:
            return self.save_session_as_dialog()
        return self.save_session_to(self.document.session_path)

    def save_session_as_dialog(self) -> Worker | None:
        chosen = self._ask_session_path()
        return self.save_session_to(chosen) if chosen is not None else None

    def _ask_session_path(self) -> Path | None:
        """Where to save the session (a dialog); None when the user cancels."""
        d = self.document
        if d.session_path is not None:
            suggested = d.session_path
        else:
            stem = safe_file_name(d.input_path.stem if d.input_path else "session")
            folder = Path(self._export_folder())
            suggested = folder / f"{stem}{session_file.SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Save the session", str(suggested), SESSION_FILTER
        )
        if not path:
            return None
        chosen = Path(path)
        if chosen.suffix.lower() != session_file.SUFFIX:
            chosen = chosen.with_name(chosen.name + session_file.SUFFIX)
        return chosen

    def save_now(self) -> bool:
        """Save the session before the window closes or opens another (the Save of that
        question): here, not in a worker, with a wait cursor; its file the first time asked for.
        True when it is saved; a failure is shown and keeps the work open."""
        path = self.document.session_path or self._ask_session_path()
        if path is None:
            return False
        contents, takes = self._session_contents()
        QApplication.setOverrideCursor(Qt.WaitCursor)
        try:
            session_file.write_session_file(path, contents)
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
        else:
            reason = None
        finally:
            QApplication.restoreOverrideCursor()
        if reason is not None:
            QMessageBox.warning(self._window, "Save session", f"Cannot save {path.name}: {reason}")
            return False
        self.document.mark_saved(path, takes)
        self._remember_opened(path, "last_export_dir")
        return True

    def _session_contents(self) -> tuple[session_file.SessionContents, list[Take]]:
        """What a session file of the document holds now, and its takes (the finished ones)."""
        d = self.document
        takes = d.finished_takes()
        contents = session_file.SessionContents(
            input_song=d.input_song,
            input_path=d.input_path,
            donor_song=d.donor_song,
            donor_path=d.donor_path,
            takes=takes,
            current=takes.index(d.current) if d.current in takes else None,
            target=d.target,
            curve=d.curve,
        )
        return contents, takes

    def save_session_to(self, path: Path) -> Worker:
        """Write the input, the donor and every finished take, with the pad's target and curve, to
        ``path`` in the background; the session is marked saved there when it is written."""
        d = self.document
        contents, takes = self._session_contents()
        step = d.history.index()  # what is saved: a change made meanwhile leaves it modified

        def saved(written: Path | None) -> None:
            if written is None:  # cancelled
                self.message.emit(f"{path.name} was not saved", False)
                return
            d.mark_saved(written, takes, clean=d.history.index() == step)
            self._remember_opened(written, "last_export_dir")
            self.message.emit(f"saved the session to {written} ({len(takes)} take(s))", False)

        return self._write(
            jobs.save_session_job(contents, path),
            "save session",
            saved,
            f"cannot save {path.name}",
        )

    def _clear_recent(self) -> None:
        self.settings_changed.emit({"recent_files": ()})
        self.recent_menu.set_files(())

    # ---- out -----------------------------------------------------------------------------------
    def export_dialog(self, take: Take | None, kind: str) -> None:
        """Ask where to export ``take`` as ``kind`` (a key of :data:`EXPORT_FORMATS`), then do it."""
        if take is None or take.song is None:
            self.message.emit("no take to export: generate or transfer first", True)
            return
        fmt = EXPORT_FORMATS[kind]
        folder = self._export_folder()
        suggested = str(Path(folder) / f"{safe_file_name(take.name)}{fmt.suffix}")
        path, _ = QFileDialog.getSaveFileName(
            self._window, f"Export take as {fmt.name}", suggested, fmt.file_filter
        )
        if path:
            self.export(take, Path(path) if Path(path).suffix else Path(path + fmt.suffix), kind)

    def _export_folder(self) -> str:
        """Where an export dialog opens: the last export's folder, else the last opened file's."""
        settings = self._settings()
        return settings.last_export_dir or settings.last_open_dir or str(Path.home())

    def export_all_dialog(self) -> None:
        """Ask for a folder, then write every finished take there as MIDI, named after it."""
        takes = self.document.finished_takes()
        if not takes:
            self.message.emit("no take to export: generate or transfer first", True)
            return
        start = self._export_folder()
        folder = QFileDialog.getExistingDirectory(
            self._window, f"Export all {len(takes)} takes as MIDI into the folder", start
        )
        if folder:
            self.export_all(takes, Path(folder))

    def export_all(self, takes: list[Take], folder: Path) -> Worker:
        """Every take in ``takes`` as ``folder/<its name>.mid`` (no file is overwritten)."""
        paths = free_paths(folder, [safe_file_name(t.name) for t in takes], ".mid")
        files = [(t.song, p) for t, p in zip(takes, paths) if t.song is not None]
        self.message.emit(f"exporting {len(files)} takes to {folder}…", False)

        def done(written: list[Path]) -> None:
            for take, path in zip(takes, written):
                self.document.mark_exported(take, path)
            self.settings_changed.emit({"last_export_dir": str(folder)})
            self.message.emit(f"exported {len(written)} takes to {folder}", False)

        return self._write(
            jobs.export_midi_files_job(files),
            "export takes",
            done,
            f"cannot export the takes to {folder}",
        )

    def export(self, take: Take, path: Path, kind: str) -> Worker:
        if take.song is None:
            raise ValueError(f"{take.name} has no music to export yet")
        fmt = EXPORT_FORMATS[kind]
        self.message.emit(f"{fmt.verb}ing {path.name}…", False)

        def done(result: Any) -> None:
            written = fmt.written(result)
            if written is not None:
                self.document.mark_exported(take, written)
                self.settings_changed.emit({"last_export_dir": str(Path(written).parent)})
                self.message.emit(f"exported {take.name} to {written}", False)

        return self._write(
            fmt.job(take.song, path, self._settings()),
            f"{fmt.verb} {fmt.name}",
            done,
            f"cannot {fmt.verb} {path.name}",
        )

    def _write(self, job, name: str, done: Callable[[Any], None], failure: str) -> Worker:
        """Run an export ``job`` with its progress in the status bar; ``failure``: the error's
        lead-in ("cannot export take.mid")."""
        worker = self.workers.run(
            job,
            name,
            on_progress=lambda p: self.progress.emit(p.done, p.total),
            on_result=done,
            on_error=lambda message: self.message.emit(f"{failure}: {message}", True),
        )
        worker.finished.connect(lambda: self.progress.emit(None, 0))
        return worker
