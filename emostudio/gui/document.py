"""The session's document: the input piece, the takes made from it, the current take, the target.

Widgets never keep their own copy of this state: they change it through the document's methods
and redraw from its signals (the napari pattern: the model emits, the views subscribe). What the
user changes is also a step of :attr:`Document.history`, the undo stack
(:mod:`emostudio.gui.edits`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from emostudio.emotion import Emotion
from emostudio.midi import Song

Curve = list[tuple[float, float]]  # a path drawn on the pad: (valence, arousal) points


@dataclass(eq=False)
class Take:
    """One generated or transferred result, kept for the whole session."""

    number: int
    name: str
    kind: str  # "generate" | "transfer" | "fill" | "continue" | "transpose"
    target: Emotion | list[Emotion]
    song: Song | None = None
    complete: bool = False  # False while bars are still arriving
    recognition: Any = None  # emostudio.generation.Recognition, once heard
    # the bars (first, end) a continue or fill wrote into a piece: what its recognition (the pad's
    # marker) hears, since the rest is the piece's own; None: the whole take
    new_bars: tuple[int, int] | None = None
    exported_to: list[Path] = field(default_factory=list)
    details: str = ""  # settings it was made with, for its tooltip
    previous: Take | None = None  # the take current when this one was made (undo returns there)

    @property
    def exported(self) -> bool:
        return bool(self.exported_to)

    @property
    def finished(self) -> bool:
        """Its job has ended and it has notes: it can be played whole, exported, kept."""
        return self.complete and self.song is not None and self.song.note_count > 0

    @property
    def heard_song(self) -> Song | None:
        """What its recognition hears: the bars it wrote into a piece (``new_bars``), else all."""
        if self.song is None or self.new_bars is None:
            return self.song
        first, end = self.new_bars
        return self.song.slice_bars(first, end - first)

    @property
    def target_text(self) -> str:
        if isinstance(self.target, Emotion):
            return self.target.name
        return f"curve {self.target[0].name} → {self.target[-1].name}"


class Document(QObject):
    input_changed = Signal()  # a new input piece (or none)
    input_recognised = Signal()
    # a new donor piece (or none): the piece a transfer takes an element from
    donor_changed = Signal()
    takes_changed = Signal()  # a take was added or removed
    # Take: renamed, its song grew, it completed, was heard or exported
    take_updated = Signal(object)
    current_changed = Signal(object)  # Take | None
    target_changed = Signal(object)  # Emotion
    session_changed = Signal()  # saved to (or opened from) a session file
    curve_changed = Signal(object)  # list[(valence, arousal)] | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.input_song: Song | None = None
        self.input_path: Path | None = None
        self.input_recognition: Any = None
        self.donor_song: Song | None = None
        self.donor_path: Path | None = None
        self.takes: list[Take] = []
        self.current: Take | None = None
        self.target = Emotion(0.5, 0.5)
        self.curve: Curve | None = None
        self._next_number = 1
        self.history = QUndoStack(self)  # the user's changes, to undo (emostudio.gui.edits)
        self.session_path: Path | None = None  # the session file it was saved to or opened from
        self._saved: set[Take] = set()  # the takes in that file

    # ---- input -----------------------------------------------------------------------------
    def set_input(self, song: Song | None, path: Path | None = None) -> None:
        self.input_song, self.input_path, self.input_recognition = song, path, None
        self.input_changed.emit()

    def set_donor(self, song: Song | None, path: Path | None = None) -> None:
        self.donor_song, self.donor_path = song, path
        self.donor_changed.emit()

    def set_input_recognition(self, recognition: Any) -> None:
        self.input_recognition = recognition
        self.input_recognised.emit()

    # ---- target ----------------------------------------------------------------------------
    def set_target(self, emotion: Emotion) -> None:
        if emotion != self.target:
            self.target = emotion
            self.target_changed.emit(emotion)

    def set_curve(self, points: Curve | None) -> None:
        self.curve = list(points) if points else None
        self.curve_changed.emit(self.curve)

    # ---- takes -----------------------------------------------------------------------------
    def new_take(self, kind: str, target: Emotion | list[Emotion], details: str = "") -> Take:
        number = self._next_number
        self._next_number += 1
        source = None
        if kind == "transfer" and self.input_song is not None:  # its file's, or a take's name
            source = self.input_path.stem if self.input_path else self.input_song.name or None
        what = target.name if isinstance(target, Emotion) else "curve"
        name = f"{number} · {source} → {what}" if source else f"{number} · {what}"
        take = Take(number, name, kind, target, details=details, previous=self.current)
        self.takes.append(take)
        self.takes_changed.emit()
        self.set_current(take)
        return take

    def update_take(
        self, take: Take, song: Song | None = None, complete: bool | None = None
    ) -> None:
        if song is not None:
            take.song = song
        if complete is not None:
            take.complete = complete
        self.take_updated.emit(take)

    def set_take_recognition(self, take: Take, recognition: Any) -> None:
        take.recognition = recognition
        self.take_updated.emit(take)

    def mark_exported(self, take: Take, path: Path) -> None:
        take.exported_to.append(Path(path))
        self.take_updated.emit(take)

    def rename_take(self, take: Take, name: str) -> None:
        name = name.strip()
        if name and name != take.name:
            take.name = name
            self.take_updated.emit(take)

    def add_takes(self, takes: list[Take]) -> None:
        """Finished takes from elsewhere (a lost session's, restored), after this session's; each
        keeps its number unless this session has used it."""
        used = {t.number for t in self.takes}
        for take in takes:
            if take.number in used or take.number < 1:
                take.number = max(self._next_number, max(used, default=0) + 1)
            used.add(take.number)
            self._next_number = max(self._next_number, take.number + 1)
            self.takes.append(take)
        self.takes_changed.emit()

    def insert_take(self, take: Take, index: int) -> None:
        """Put a removed take back at ``index`` in the list (undo)."""
        if take not in self.takes:
            self.takes.insert(min(max(index, 0), len(self.takes)), take)
            self.takes_changed.emit()

    def remove_take(self, take: Take) -> None:
        if take not in self.takes:
            return
        index = self.takes.index(take)
        self.takes.remove(take)
        self.takes_changed.emit()
        if self.current is take:
            self.set_current(self.takes[min(index, len(self.takes) - 1)] if self.takes else None)

    def working_piece(self) -> Song | None:
        """The piece Fill and Continue work on: the current take once finished with notes, else
        the input (None when there is neither)."""
        take = self.current
        if take is not None and take.finished:
            return take.song
        return self.input_song

    def set_current(self, take: Take | None) -> None:
        if take is not self.current:
            self.current = take
            self.current_changed.emit(take)

    def finished_takes(self) -> list[Take]:
        """Takes with notes whose job has ended: what can be exported or kept."""
        return [t for t in self.takes if t.finished]

    def unexported_takes(self) -> list[Take]:
        """Takes with notes that were never exported: closing asks before losing them."""
        return [
            t for t in self.takes if not t.exported and t.song is not None and t.song.note_count
        ]

    # ---- the session file ----------------------------------------------------------------------
    def unsaved_takes(self) -> list[Take]:
        """Takes with notes neither exported nor in the saved session file: lost on closing."""
        return [t for t in self.unexported_takes() if t not in self._saved]

    @property
    def modified(self) -> bool:
        """Changed since it was saved to (or opened from) its session file."""
        return self.session_path is not None and not self.history.isClean()

    def mark_saved(self, path: Path, takes: list[Take], clean: bool = True) -> None:
        """``takes`` are in the session file ``path`` now; ``clean``: nothing changed since the
        snapshot that was saved (the undo stack's clean state is where it was saved)."""
        self.session_path = Path(path)
        self._saved = set(takes)
        if clean:
            self.history.setClean()
        self.session_changed.emit()

    def reattach_session(self, path: Path) -> None:
        """Takes restored after a crash belong to the session file ``path`` again: Save writes
        there, and until it does they count as unsaved (what the file holds is not known)."""
        self.session_path = Path(path)
        self._saved = set()
        self.history.resetClean()
        self.session_changed.emit()

    def replace_session(
        self,
        path: Path,
        input_song: Song | None,
        input_path: Path | None,
        donor_song: Song | None,
        donor_path: Path | None,
        takes: list[Take],
        current: Take | None,
        target: Emotion,
        curve: Curve | None,
    ) -> None:
        """Everything replaced by a session opened from ``path`` (not undoable: the undo stack
        starts again, as it does when the app starts)."""
        self.set_input(input_song, input_path)
        self.set_donor(donor_song, donor_path)
        self.current = None
        self.takes = list(takes)
        self._next_number = max((t.number for t in takes), default=0) + 1
        self.takes_changed.emit()
        self.current_changed.emit(None)
        self.set_current(current)
        self.set_target(target)
        self.set_curve(curve)
        self.history.clear()
        self.mark_saved(path, takes)
