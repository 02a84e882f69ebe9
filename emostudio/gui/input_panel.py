"""The Input box: what the input piece is, and how the model hears it once it has listened."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QGroupBox, QLabel, QVBoxLayout, QWidget

from emostudio.gui.document import Document
from emostudio.midi.song import SUSTAIN, Song
from emostudio.piece_rules import UNPITCHED_NOTE, is_unpitched, meter_note

NO_INPUT = "No input: drop a MIDI file here, or File ▸ Open"
#: where a file name may break across lines (a zero-width space after each of these)
_NAME_BREAKS = "_-."


class WrappingLabel(QLabel):
    """A word-wrapped label whose height follows its text at its width: a layout sizes a plain
    wrapped QLabel for a width it does not have, and its last lines were cut."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        height = self.heightForWidth(self.width()) if self.width() > 0 else -1
        if height > 0 and height != self.minimumHeight():
            self.setMinimumHeight(height)


def breakable(name: str) -> str:
    """``name`` as rich text that may wrap after ``_``, ``-`` and ``.`` (a long file name)."""
    text = html.escape(name)
    for mark in _NAME_BREAKS:
        text = text.replace(mark, mark + "\u200b")
    return text


def describe_input(name: str, song: Song, recognition: Any = None) -> str:
    """The input's description (rich text): name, size, whether it is pedalled (its pedalling is
    kept by every take that keeps its bars), the key signature it states, a note on its meter when it is not in bars of four
    beats and, when recognised, its emotion."""
    text = (
        f"<b>{breakable(name)}</b><br>{song.n_bars} bars · {song.note_count:,} notes · "
        f"{len(song.tracks)} tracks"
    )
    if any(c.control == SUSTAIN for t in song.tracks for c in t.controls):
        text += " · pedalled"
    if song.key_signatures:
        first, changes = song.key_signatures[0], len(song.key_signatures) - 1
        text += f" · key signature {first.label}"
        text += f" (+{changes} change{'s' if changes > 1 else ''})" if changes else ""
    meter = meter_note(song)
    if meter is not None:
        text += f"<br>{meter}"
    if recognition is not None and is_unpitched(song):
        # drums carry no key: an arousal reading only, and why there is no valence
        text += (
            f"<br>heard with arousal <b>{recognition.emotion.arousal:+.2f}</b>; {UNPITCHED_NOTE}"
        )
    elif recognition is not None:
        emotion = recognition.emotion
        text += (
            f"<br>heard as <b>{emotion.name}</b> "
            f"(valence {emotion.valence:+.2f}, arousal {emotion.arousal:+.2f})"
        )
    return text


class InputPanel(QGroupBox):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__("Input", parent)
        self.document = document
        self.label = WrappingLabel(NO_INPUT)
        self.label.setObjectName("dim")
        QVBoxLayout(self).addWidget(self.label)
        document.input_changed.connect(self.refresh)
        document.input_recognised.connect(self.refresh)

    def refresh(self) -> None:
        d = self.document
        if d.input_song is None:
            self.label.setText(NO_INPUT)
            return
        name = d.input_path.name if d.input_path else d.input_song.name
        self.label.setText(describe_input(name, d.input_song, d.input_recognition))
