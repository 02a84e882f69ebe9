"""The takes panel: every take of the session, to rename, delete, compare, export and drag out.
Deleting and renaming are steps of the session's undo history (:mod:`emostudio.gui.edits`)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui import edits, theme
from emostudio.gui.document import Document, Take
from emostudio.gui.files import DragHandle

MAX_TRANSPOSE = 12  # semitones either way


def may_close(
    parent: QWidget, document: Document, save: Callable[[], bool], title: str = "Close emostudio"
) -> bool:
    """Whether the session may end (or be replaced by another: ``title``): yes when nothing would
    be lost (every take exported or saved in the session file, which has no unsaved changes), else
    the user's answer: Save (``save`` saves the session and says whether it did), Discard or
    Cancel."""
    unsaved = document.unsaved_takes()
    if unsaved:
        names = ", ".join(t.name for t in unsaved[:3]) + (" …" if len(unsaved) > 3 else "")
        text = f"{len(unsaved)} take(s) were never exported or saved ({names}). They will be lost."
    elif document.modified and document.session_path is not None:
        text = f"The changes since {document.session_path.name} was saved will be lost."
    else:
        return True
    buttons = QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel
    answer = QMessageBox.question(
        parent, title, f"{text} Save the session first?", buttons, QMessageBox.Cancel
    )
    if answer == QMessageBox.Save:
        return save()
    return answer == QMessageBox.Discard


class TakesPanel(QWidget):
    export_requested = Signal(object, str)  # Take, a format of file_actions.EXPORT_FORMATS
    message = Signal(str, bool)  # text, is an error
    take_made = Signal(object)  # Take made here, not by the model (a transposition): to be heard

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.list = QListWidget()
        self.list.setAccessibleName("Takes")
        self.list.setToolTip("Every take of this session; double-click to rename")
        self.list.setEditTriggers(QListWidget.DoubleClicked | QListWidget.EditKeyPressed)
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.rename_button = QPushButton("Rename")
        self.delete_button = QPushButton("Delete")
        self.export_midi_button = QPushButton("Export MIDI…")
        self.export_wav_button = QPushButton("Export WAV…")
        self.delete_button.setToolTip(
            "Remove the take from the session (Del; Ctrl+Z brings it back)"
        )
        self.export_midi_button.setToolTip("Save the take as a MIDI file (Ctrl+E)")
        self.export_wav_button.setToolTip("Render the take to a WAV file with the soundfont")
        self.drag_handle = DragHandle(lambda: self.document.current)
        self.drag_handle.exported.connect(self.document.mark_exported)
        row1 = QHBoxLayout()
        row1.addWidget(self.rename_button)
        row1.addWidget(self.delete_button)
        row2 = QHBoxLayout()
        row2.addWidget(self.export_midi_button)
        row2.addWidget(self.export_wav_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.drag_handle)

        self._filling = False
        document.takes_changed.connect(self._fill)
        document.take_updated.connect(self._update_item)
        document.current_changed.connect(self._select)
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemChanged.connect(self._on_edited)
        self.list.customContextMenuRequested.connect(self._context_menu)
        delete_key = QAction("Delete take", self.list)
        delete_key.setShortcuts([QKeySequence(QKeySequence.Delete), QKeySequence(Qt.Key_Backspace)])
        delete_key.setShortcutContext(Qt.WidgetShortcut)  # only where the list has the focus
        delete_key.triggered.connect(lambda: self.delete(self.document.current))
        self.list.addAction(delete_key)
        self.rename_button.clicked.connect(self.rename_current)
        self.delete_button.clicked.connect(lambda: self.delete(self.document.current))
        self.export_midi_button.clicked.connect(lambda: self._request("midi"))
        self.export_wav_button.clicked.connect(lambda: self._request("wav"))
        self._fill()

    # ---- actions ---------------------------------------------------------------------------
    def rename_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.list.editItem(item)

    def delete(self, take: Take | None) -> None:
        """Delete ``take`` without asking: Edit ▸ Undo brings it back."""
        if take is None or take not in self.document.takes:
            return
        edits.delete_take(self.document, take)
        self.message.emit(f"deleted take “{take.name}” (Ctrl+Z brings it back)", False)

    def transpose_current(self) -> None:
        """Ask by how many semitones, then transpose the current take into a new take."""
        take = self.document.current
        if take is None or not take.finished:
            self.message.emit("no finished take to transpose", True)
            return
        semitones, ok = QInputDialog.getInt(
            self,
            "Transpose the take",
            f"Semitones to move “{take.name}” by (drums stay):",
            0,
            -MAX_TRANSPOSE,
            MAX_TRANSPOSE,
        )
        if ok and semitones:
            self.transpose(take, semitones)

    def transpose(self, take: Take, semitones: int) -> Take | None:
        """A new take: ``take`` moved by ``semitones`` (an undo step, as any take made)."""
        if take.song is None or not semitones:
            return None
        d = self.document
        shift = f"{semitones:+d}"
        new = d.new_take("transpose", take.target, f"{take.name} transposed {shift} semitones")
        d.rename_take(new, f"{new.number} · {take.name} {shift}")
        new.new_bars = take.new_bars
        d.update_take(new, song=take.song.transposed(semitones), complete=True)
        edits.made_takes(d, [new], "transpose")
        self.take_made.emit(new)
        return new

    def _request(self, kind: str) -> None:
        take = self.document.current
        if take is not None and take.song is not None:
            self.export_requested.emit(take, kind)

    # ---- view ------------------------------------------------------------------------------
    def _fill(self) -> None:
        self._filling = True
        self.list.clear()
        for take in self.document.takes:
            item = QListWidgetItem()
            item.setFlags(item.flags() | Qt.ItemIsEditable)
            item.setData(Qt.UserRole, take)
            self._show(item, take)
            self.list.addItem(item)
        self._filling = False
        self._select(self.document.current)
        self._refresh_buttons()

    def _show(self, item: QListWidgetItem, take: Take) -> None:
        self._filling, was = True, self._filling
        item.setText(take.name)
        state = (
            "exported"
            if take.exported
            else ("generating…" if not take.complete else "not exported")
        )
        notes = take.song.note_count if take.song is not None else 0
        heard = ""
        if take.recognition is not None:
            part = "" if take.new_bars is None else "its new bars "
            heard = f"\n{part}heard as {take.recognition.emotion}"
        # fill re-writes bars between their neighbours, whatever the pad's target
        aim = {"fill": "between its neighbours", "transpose": "of a take"}.get(
            take.kind, f"toward {take.target_text}"
        )
        item.setToolTip(
            f"{take.name}\n{take.kind} {aim}; {notes} notes; {state}{heard}"
            + (f"\n{take.details}" if take.details else "")
        )
        item.setForeground(QColor(theme.TEXT if take.complete else theme.DIM_TEXT))
        font = item.font()
        font.setItalic(not take.exported)
        item.setFont(font)
        self._filling = was

    def item_for(self, take: Take) -> QListWidgetItem | None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.UserRole) is take:
                return item
        return None

    def _update_item(self, take: Take) -> None:
        item = self.item_for(take)
        if item is not None:
            self._show(item, take)
        self._refresh_buttons()

    def _select(self, take: Take | None) -> None:
        item = self.item_for(take) if take is not None else None
        self._filling, was = True, self._filling
        self.list.setCurrentItem(item)
        self._filling = was
        self._refresh_buttons()

    def _on_row(self, row: int) -> None:
        if not self._filling:
            item = self.list.item(row)
            self.document.set_current(item.data(Qt.UserRole) if item is not None else None)

    def _on_edited(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        take = item.data(Qt.UserRole)
        if not item.text().strip():
            self._show(item, take)  # an empty name is refused: the old one comes back
            return
        edits.rename_take(self.document, take, item.text())

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        take = item.data(Qt.UserRole)
        self.document.set_current(take)
        menu = QMenu(self)
        menu.addAction("Rename", self.rename_current)
        use = menu.addAction("Use as input", lambda: edits.use_as_input(self.document, take))
        transpose = menu.addAction("Transpose…", self.transpose_current)
        for action in (use, transpose):
            action.setEnabled(take.finished)
        menu.addAction("Export MIDI…", lambda: self._request("midi"))
        menu.addAction("Export WAV…", lambda: self._request("wav"))
        menu.addSeparator()
        menu.addAction("Delete", lambda: self.delete(take))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def _refresh_buttons(self) -> None:
        take = self.document.current
        has = take is not None
        ready = has and take.finished
        self.rename_button.setEnabled(has)
        self.delete_button.setEnabled(has)
        for widget in (self.export_midi_button, self.export_wav_button, self.drag_handle):
            widget.setEnabled(bool(ready))
