"""Undo and redo of what the user changes in a session (Edit ▸ Undo, Ctrl+Z): a take made
(generate, transfer, fill, continue, variations: undone, the takes leave the list and the take
that was current comes back), a take deleted or renamed, a take made the input, the emotion curve
drawn or cleared.

Every change the user makes goes through a function here, which pushes a command on the
document's undo stack (:attr:`Document.history`); the commands change the document only through
its own methods, so the views redraw from its signals as for any other change. What the model does
by itself (naming a fill's takes, dropping a take a cancel left empty) changes the document
directly and is not a step of the history.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtGui import QUndoCommand

from emostudio.gui.document import Curve, Document, Take
from emostudio.midi import Song


def made_takes(document: Document, takes: list[Take], verb: str) -> None:
    """Record that a job (``verb``: "generate", "fill", …) made ``takes``, which are in the
    document already; undone, they leave it."""
    takes = [t for t in takes if t in document.takes]  # not one the user deleted meanwhile
    if takes:
        what = f"{verb} “{takes[0].name}”" if len(takes) == 1 else f"{verb} ({len(takes)} takes)"
        document.history.push(_MadeTakes(document, takes, what))


def delete_take(document: Document, take: Take) -> None:
    if take in document.takes:
        document.history.push(_DeleteTake(document, take))


def rename_take(document: Document, take: Take, name: str) -> None:
    name = name.strip()
    if name and name != take.name:
        document.history.push(_RenameTake(document, take, name))


def use_as_input(document: Document, take: Take) -> None:
    """``take`` becomes the input (to transfer it, or to keep its bars through a fill), named
    after it; the input it replaces comes back on undo."""
    if take.song is not None:
        song = dataclasses.replace(take.song, name=take.name)
        document.history.push(_SetInput(document, song, f"use take “{take.name}” as the input"))


def set_curve(document: Document, curve: Curve | None) -> None:
    """The curve drawn on the pad (None: cleared)."""
    curve = list(curve) if curve else None
    if curve != document.curve:
        document.history.push(_SetCurve(document, curve))


class _MadeTakes(QUndoCommand):
    def __init__(self, document: Document, takes: list[Take], what: str) -> None:
        super().__init__(what)
        self.document, self.takes = document, list(takes)
        self.previous = takes[0].previous  # the take current when they were made
        self.placed: list[tuple[Take, int]] = []  # where undo took them from
        self._pushed = True  # the takes exist already: the stack's first redo leaves them

    def undo(self) -> None:
        d = self.document
        self.placed = [(t, d.takes.index(t)) for t in self.takes if t in d.takes]
        for take, _ in self.placed:
            d.remove_take(take)
        if self.previous is not None and self.previous in d.takes:
            d.set_current(self.previous)

    def redo(self) -> None:
        if self._pushed:
            self._pushed = False
            return
        d = self.document
        for take, place in self.placed:
            d.insert_take(take, place)
        if self.placed:
            d.set_current(self.placed[0][0])


class _DeleteTake(QUndoCommand):
    def __init__(self, document: Document, take: Take) -> None:
        super().__init__(f"delete take “{take.name}”")
        self.document, self.take = document, take
        self.place = document.takes.index(take)

    def redo(self) -> None:
        if self.take in self.document.takes:
            self.place = self.document.takes.index(self.take)
            self.document.remove_take(self.take)

    def undo(self) -> None:
        self.document.insert_take(self.take, self.place)
        self.document.set_current(self.take)


class _RenameTake(QUndoCommand):
    def __init__(self, document: Document, take: Take, name: str) -> None:
        super().__init__(f"rename take “{take.name}”")
        self.document, self.take = document, take
        self.old, self.new = take.name, name

    def redo(self) -> None:
        self.document.rename_take(self.take, self.new)

    def undo(self) -> None:
        self.document.rename_take(self.take, self.old)


class _SetInput(QUndoCommand):
    def __init__(self, document: Document, song: Song, what: str) -> None:
        super().__init__(what)
        self.document, self.song = document, song
        self.old = (document.input_song, document.input_path, document.input_recognition)

    def redo(self) -> None:
        self.document.set_input(self.song, None)

    def undo(self) -> None:
        song, path, recognition = self.old
        self.document.set_input(song, path)
        if recognition is not None:  # heard already: no need to listen again
            self.document.set_input_recognition(recognition)


class _SetCurve(QUndoCommand):
    def __init__(self, document: Document, curve: Curve | None) -> None:
        super().__init__("draw the emotion curve" if curve else "clear the emotion curve")
        self.document = document
        self.old, self.new = document.curve, curve

    def redo(self) -> None:
        self.document.set_curve(self.new)

    def undo(self) -> None:
        self.document.set_curve(self.old)
