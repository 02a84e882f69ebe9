"""Files in and out of the window: dropped MIDI files, the recent-files menu, dragging a take out."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDrag, QMouseEvent
from PySide6.QtWidgets import QApplication, QLabel, QMenu, QWidget

from emostudio.gui.document import Take
from emostudio.gui.jobs import is_midi_path
from emostudio.midi import write_midi


def dropped_paths(mime: QMimeData) -> list[Path]:
    """Local files in a drag's data (any kind: the window says which ones it cannot use)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def accepts_drop(mime: QMimeData) -> bool:
    """A drag the window takes: at least one local file (non-MIDI files get a clear message)."""
    return bool(dropped_paths(mime))


def safe_file_name(name: str) -> str:
    """A take's name as a file name (no separators or odd characters)."""
    cleaned = re.sub(r"[^\w\-. ]+", "-", name).strip(" .-")
    return re.sub(r"[\s-]*-[\s-]*", "-", cleaned) or "take"


def free_paths(folder: Path, stems: list[str], suffix: str) -> list[Path]:
    """One path in ``folder`` per stem, none of them an existing file or another's: a stem
    taken gets " (2)", " (3)", … (exporting all takes never overwrites a file)."""
    paths: list[Path] = []
    for stem in stems:
        path, n = folder / f"{stem}{suffix}", 1
        while path.exists() or path in paths:
            n += 1
            path = folder / f"{stem} ({n}){suffix}"
        paths.append(path)
    return paths


class RecentFilesMenu(QMenu):
    """File ▸ Open Recent: the settings' recent files, newest first."""

    file_chosen = Signal(Path)
    clear_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Open &Recent", parent)

    def set_files(self, files: tuple[str, ...] | list[str]) -> None:
        self.clear()
        for i, name in enumerate(files):
            path = Path(name)
            action = self.addAction(f"&{i + 1}  {path.name}" if i < 9 else path.name)
            action.setToolTip(str(path))
            action.setStatusTip(str(path))
            action.triggered.connect(lambda _=False, p=path: self.file_chosen.emit(p))
        if files:
            self.addSeparator()
            self.addAction("Clear list", self.clear_requested.emit)
        else:
            empty = self.addAction("(no recent files)")
            empty.setEnabled(False)


class DragHandle(QLabel):
    """Drag the current take out of the window as a .mid file (into a DAW or a file manager).

    The file is written to the session's scratch folder when the drag starts, and offered as a
    file URL. ``exported`` is emitted when the drop was accepted."""

    exported = Signal(object, Path)  # Take, the file

    def __init__(
        self, take_provider: Callable[[], Take | None], parent: QWidget | None = None
    ) -> None:
        super().__init__("⇱  Drag take out as .mid", parent)
        self._take_provider = take_provider
        self._press: QPoint | None = None
        self._scratch = tempfile.TemporaryDirectory(prefix="emostudio-drag-")
        self.setObjectName("dragHandle")
        self.setAlignment(Qt.AlignCenter)
        self.setCursor(Qt.OpenHandCursor)
        self.setToolTip("Drag the current take into a DAW or a folder as a MIDI file")
        self.setStyleSheet(
            "QLabel#dragHandle { border: 1px dashed #4fa3ff; border-radius: 4px; padding: 6px; color: #9cc9ff; }"
            "QLabel#dragHandle:disabled { border-color: #3a3f4b; color: #5c6270; }"
        )

    def write_file(self, take: Take) -> Path:
        """The take as a .mid file in the scratch folder (named after the take)."""
        path = Path(self._scratch.name) / f"{safe_file_name(take.name)}.mid"
        write_midi(take.song, path)
        return path

    def mime_for(self, take: Take) -> QMimeData:
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(self.write_file(take)))])
        return mime

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self._press = event.position().toPoint()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None or not event.buttons() & Qt.LeftButton:
            return
        if (
            event.position().toPoint() - self._press
        ).manhattanLength() < QApplication.startDragDistance():
            return
        self._press = None
        take = self._take_provider()
        if take is None or take.song is None:
            return
        mime = self.mime_for(take)
        drag = QDrag(self)
        drag.setMimeData(mime)
        if drag.exec(Qt.CopyAction) == Qt.CopyAction:
            self.exported.emit(take, Path(mime.urls()[0].toLocalFile()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._press = None

    def close_scratch(self) -> None:
        self._scratch.cleanup()


def recent_without_missing(files: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in files if Path(f).is_file())


__all__ = [
    "DragHandle",
    "RecentFilesMenu",
    "accepts_drop",
    "dropped_paths",
    "is_midi_path",
    "recent_without_missing",
    "safe_file_name",
]
