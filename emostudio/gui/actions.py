"""The window's actions (with their shortcuts, live wherever the focus is) and its menus: File,
Edit, Make, Play, View, Model and Help. :meth:`WindowActions.refresh` enables what can be done now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMainWindow, QMenu

from emostudio.gui.document import Document
from emostudio.gui.model_control import ModelControl
from emostudio.gui.model_menu import ModelMenu
from emostudio.gui.piano_roll import MODE_LABELS, MODES

Slot = Callable[[], object]


@dataclass(frozen=True)
class Commands:
    """What the actions do (the window's components provide them)."""

    open_file: Slot
    open_donor: Slot
    open_session: Slot
    save_session: Slot
    save_session_as: Slot
    export_midi: Slot
    export_wav: Slot
    export_all: Slot
    quit: Slot
    play: Slot
    loop: Slot
    generate: Slot
    continue_piece: Slot
    transfer: Slot
    cancel: Slot
    switch_source: Slot
    set_mode: Callable[[str], object]
    select_no_bars: Slot
    use_as_input: Slot
    transpose: Slot
    shortcuts: Slot
    about: Slot


class WindowActions:
    def __init__(
        self, window: QMainWindow, commands: Commands, recent_menu: QMenu, history: QUndoStack
    ) -> None:
        self._window = window
        c = commands
        # "Undo delete take “3 · happy”": the stack names the step and enables them
        self.undo_action = history.createUndoAction(window, "&Undo")
        self.undo_action.setShortcut(QKeySequence.Undo)
        self.redo_action = history.createRedoAction(window, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (self.undo_action, self.redo_action):
            window.addAction(action)
        self.open_action = self._action(
            "&Open MIDI…", c.open_file, QKeySequence.Open, "Open a MIDI file as the input"
        )
        self.open_donor_action = self._action(
            "Open &donor…",
            c.open_donor,
            "Ctrl+Shift+O",
            "Open a second MIDI file to take its rhythm or its key",
        )
        self.open_session_action = self._action(
            "Open &session…",
            c.open_session,
            "Ctrl+Alt+O",
            "Open a saved session: its input, donor and takes (Open MIDI opens sessions too)",
        )
        self.save_session_action = self._action(
            "&Save session",
            c.save_session,
            QKeySequence.Save,
            "Save the input, the donor and every take in one file, to come back to later",
        )
        self.save_session_as_action = self._action(
            "Save session &as…", c.save_session_as, "Ctrl+Shift+S", "Save the session to a new file"
        )
        self.export_midi_action = self._action("&Export take as MIDI…", c.export_midi, "Ctrl+E")
        self.export_wav_action = self._action("Export take as &WAV…", c.export_wav, "Ctrl+Shift+E")
        self.export_all_action = self._action(
            "Export a&ll takes as MIDI…",
            c.export_all,
            "Ctrl+Alt+E",
            "Write every take into a folder, each file named after its take",
        )
        self.quit_action = self._action("&Quit", c.quit, QKeySequence.Quit)
        self.play_action = self._action("Play / Stop", c.play, Qt.Key_Space, "Play or stop (Space)")
        self.loop_action = self._action("Loop", c.loop, "L")
        self.generate_action = self._action("&Generate", c.generate, "Ctrl+G")
        self.continue_action = self._action(
            "Co&ntinue the piece",
            c.continue_piece,
            "Ctrl+Shift+G",
            "New bars after the current take (else the input), towards the target emotion",
        )
        self.transfer_action = self._action("&Transfer", c.transfer, "Ctrl+T")
        self.use_as_input_action = self._action(
            "&Use the take as input",
            c.use_as_input,
            "Ctrl+I",
            "The current take becomes the input: transfer it, or compare the next takes with it",
        )
        self.transpose_action = self._action(
            "Trans&pose the take…",
            c.transpose,
            "Ctrl+Shift+T",
            "A new take: the current one moved up or down by semitones (drums stay)",
        )
        self.cancel_action = self._action("&Cancel", c.cancel, Qt.Key_Escape)
        self.ab_action = self._action("Switch A/B", c.switch_source, "Tab")
        self.mode_actions = [
            self._action(MODE_LABELS[mode], lambda _=False, m=mode: c.set_mode(m), f"Ctrl+{i + 1}")
            for i, mode in enumerate(MODES)
        ]
        self.select_none_action = self._action(
            "Select &no bars", c.select_no_bars, "Ctrl+Shift+A", "Clear the piano roll's selection"
        )
        self.shortcuts_action = self._action("&Keyboard shortcuts", c.shortcuts, "F1")
        self.about_action = self._action("&About emostudio", c.about)
        self.model_menu = ModelMenu(window)
        self._build_menus(recent_menu)

    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self._window)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        self._window.addAction(action)  # shortcuts work wherever the focus is in the window
        return action

    def _build_menus(self, recent_menu: QMenu) -> None:
        menu = self._window.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addMenu(recent_menu)
        file_menu.addAction(self.open_donor_action)
        file_menu.addSeparator()
        file_menu.addAction(self.open_session_action)
        file_menu.addAction(self.save_session_action)
        file_menu.addAction(self.save_session_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.export_midi_action)
        file_menu.addAction(self.export_wav_action)
        file_menu.addAction(self.export_all_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        groups = (
            ("&Edit", (self.undo_action, self.redo_action, self.select_none_action)),
            (
                "&Make",
                (
                    self.generate_action,
                    self.continue_action,
                    self.transfer_action,
                    self.use_as_input_action,
                    self.transpose_action,
                    self.cancel_action,
                ),
            ),
            ("&Play", (self.play_action, self.loop_action, self.ab_action)),
            ("&View", self.mode_actions),
        )
        for title, actions in groups:
            sub = menu.addMenu(title)
            for a in actions:
                sub.addAction(a)
        menu.addMenu(self.model_menu)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)

    def refresh(self, document: Document, model: ModelControl) -> None:
        """Export needs a finished take with notes; generate an idle model; transfer an input too."""
        take = document.current
        ready = take is not None and take.finished
        self.export_midi_action.setEnabled(ready)
        self.export_wav_action.setEnabled(ready)
        self.use_as_input_action.setEnabled(ready)
        self.transpose_action.setEnabled(ready)
        self.export_all_action.setEnabled(bool(document.finished_takes()))
        something = document.input_song is not None or bool(document.finished_takes())
        self.save_session_action.setEnabled(something)
        self.save_session_as_action.setEnabled(something)
        idle = model.engine is not None and not model.busy
        self.generate_action.setEnabled(idle)
        self.continue_action.setEnabled(idle and document.working_piece() is not None)
        self.transfer_action.setEnabled(idle and document.input_song is not None)
        self.cancel_action.setEnabled(model.busy)
