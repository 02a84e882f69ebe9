"""The main window: it composes the document, the workers, the model and playback controls, the
panels, the file actions and the actions and menus, and wires their signals. Each feature lives in
its own module (see :mod:`emostudio.gui`); what is here is the layout, the glue, the settings and
closing.

Layout: the transport bar on top; the target panel and the transform controls on the left, the
piano roll large in the middle, the input and the takes on the right; the status bar says what
the model and the output are doing. All long work (files, model, generation, transfer,
recognition, WAV) runs in :mod:`emostudio.gui.worker` workers.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGroupBox,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from emostudio.emotion import Emotion
from emostudio.gui import edits, help_dialogs, jobs
from emostudio.gui.actions import Commands, WindowActions
from emostudio.gui.document import Document, Take
from emostudio.gui.donor_panel import DonorPanel
from emostudio.gui.file_actions import FileActions
from emostudio.gui.input_panel import InputPanel, describe_input
from emostudio.gui.model_control import ModelControl
from emostudio.gui.piano_roll import PianoRoll
from emostudio.gui.playback_control import PlaybackControl
from emostudio.gui.recovery import SessionKeeper, offer_lost_sessions
from emostudio.gui.status import StatusLine
from emostudio.gui.takes import TakesPanel, may_close
from emostudio.gui.target_panel import TargetPanel
from emostudio.gui.transform_panel import TransformPanel
from emostudio.gui.transport import TransportBar
from emostudio.gui.worker import Worker, Workers
from emostudio.settings import Settings, load_settings, save_settings


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: Settings | None = None,
        model_dir: str | Path | None = None,
        device: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("emostudio")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else load_settings()
        self.document = Document(self)
        self.document.set_target(Emotion(*self.settings.target))  # where the pad was left
        self.workers = Workers(self)
        chosen = model_dir or self.settings.model_dir
        self.model = ModelControl(
            self.document,
            self.workers,
            Path(chosen) if chosen else None,
            device or self.settings.device,
            self,
        )
        self.status = StatusLine(self.statusBar())
        self.keeper = SessionKeeper(self.document, parent=self)  # the takes, kept for a crash
        self._keep_takes = False  # closing keeps the kept takes for the next start (a signal)
        self._build_panels()
        self.transform.restore(self.settings.panel)  # the choices of the last session
        self.target_panel.generate_on_pick_box.setChecked(self.settings.generate_on_pick)
        self.playback = PlaybackControl(
            self.document, self.transport, self.roll, self.workers, self
        )
        self.files = FileActions(
            self.document, self.workers, lambda: self.settings, self, lambda: self.model.busy
        )
        commands = self._commands()
        self.menus = WindowActions(self, commands, self.files.recent_menu, self.document.history)
        self._wire(commands)
        self.transport.set_soundfont(self.settings.soundfont)
        self.transport.refresh_ports(keep=(self.settings.output, self.settings.midi_port))
        self._restore_geometry()

    # ---- composition ---------------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.target_panel = TargetPanel(self.document)
        self.transform = TransformPanel()
        self.listen_box = QCheckBox("Listen while generating")
        self.listen_box.setChecked(True)
        self.listen_box.setToolTip("Start playing the take as soon as its first bars exist")
        settings = _column((8, 8, 4, 0), self.target_panel, self.transform, None)
        settings.setMinimumWidth(330)
        # the settings scroll in a short window; the buttons below them stay in view
        left = _column(
            (0, 0, 0, 8),
            (_vertical_scroll(settings), 1),
            _column((8, 4, 4, 0), self.transform.action_bar, self.listen_box),
        )
        left.setMaximumWidth(480)

        self.roll = PianoRoll()
        centre = _column((4, 8, 4, 8), self.roll)

        self.input_panel = InputPanel(self.document)
        self.donor_panel = DonorPanel()
        self.takes = TakesPanel(self.document)
        takes_box = QGroupBox("Takes")
        QVBoxLayout(takes_box).addWidget(self.takes)
        right = _column((4, 8, 8, 8), self.input_panel, self.donor_panel, (takes_box, 1))
        right.setMinimumWidth(280)
        right.setMaximumWidth(380)

        self.splitter = QSplitter(Qt.Horizontal)
        for widget in (left, centre, right):
            self.splitter.addWidget(widget)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([380, 1000, 290])
        self.setCentralWidget(self.splitter)

        self.transport = TransportBar()
        bar = QToolBar("Transport")
        bar.setObjectName("transportBar")
        bar.setMovable(False)
        bar.addWidget(self.transport)
        self.addToolBar(Qt.TopToolBarArea, bar)
        self.resize(1500, 900)

    def _commands(self) -> Commands:
        return Commands(
            open_file=self.files.open_dialog,
            open_donor=self.files.open_donor_dialog,
            open_session=self.files.open_session_dialog,
            save_session=self.files.save_session,
            save_session_as=self.files.save_session_as_dialog,
            export_midi=lambda: self.files.export_dialog(self.document.current, "midi"),
            export_wav=lambda: self.files.export_dialog(self.document.current, "wav"),
            export_all=self.files.export_all_dialog,
            quit=self.close,
            play=self.playback.toggle,
            loop=lambda: self.transport.loop_button.toggle(),
            generate=lambda: self.model.generate(self.transform.options()),
            continue_piece=lambda: self.model.continue_piece(self.transform.options()),
            transfer=lambda: self.model.transfer(self.transform.options()),
            cancel=self.model.cancel,
            switch_source=self.playback.switch_source,
            set_mode=self.roll.set_mode,
            select_no_bars=lambda: self.roll.select_bars(None),
            transpose=self.takes.transpose_current,
            use_as_input=lambda: (
                self.document.current is not None
                and edits.use_as_input(self.document, self.document.current)
            ),
            shortcuts=lambda: help_dialogs.show_shortcuts(self, self.actions()),
            about=lambda: help_dialogs.show_about(self, self.model.engine),
        )

    def _wire(self, c: Commands) -> None:
        d, m = self.document, self.model
        d.input_changed.connect(self._on_input_changed)
        d.current_changed.connect(self._on_current_changed)
        d.take_updated.connect(self._on_take_updated)
        self.transform.generate_requested.connect(c.generate)
        self.transform.transfer_requested.connect(c.transfer)
        self.transform.cancel_requested.connect(c.cancel)
        self.roll.fill_requested.connect(
            lambda first, last: self.model.fill(first, last, self.transform.options())
        )
        self.transform.continue_requested.connect(c.continue_piece)
        self.transform.options_changed.connect(lambda o: self.target_panel.set_bars(o.bars))
        self.target_panel.set_bars(self.transform.options().bars)
        self.takes.export_requested.connect(self.files.export_dialog)
        self.takes.take_made.connect(lambda take: m.recognise(take, take.heard_song))
        self.target_panel.pad.picked.connect(
            lambda _emotion: (
                self.target_panel.generate_on_pick_box.isChecked()
                and m.start_when_free(
                    m.generate,
                    self.transform.options(),
                    "generating the new target once this job ends…",
                )
            )
        )
        self.transform.strength_chosen.connect(
            lambda: m.start_when_free(
                m.transfer,
                self.transform.options(),
                "transferring at the new λ once this job ends…",
            )
        )
        donor = self.donor_panel
        donor.file_dropped.connect(self.files.open_donor)
        donor.open_requested.connect(c.open_donor)
        donor.clear_requested.connect(lambda: d.set_donor(None))
        donor.element_requested.connect(
            lambda element: self.model.take_element(element, self.transform.options())
        )
        d.donor_changed.connect(self._on_donor_changed)
        d.session_changed.connect(self._show_session)
        d.history.cleanChanged.connect(self._show_session)
        self.files.session_opened.connect(m.hear_takes)
        self._show_session()
        for source in (m, self.playback, self.files, self.takes, self.keeper):
            source.message.connect(self.status.show)
        for source in (self.playback, self.files):
            source.settings_changed.connect(lambda changes: self._update_settings(**changes))
        self.files.progress.connect(self.status.show_progress)
        self.status.follow_model(m)
        self.menus.model_menu.follow(m)
        m.ready.connect(self._on_model_ready)
        m.job_started.connect(self._on_job_started)
        m.job_progress.connect(self.transform.set_progress)
        m.busy_changed.connect(self._on_model_busy)
        m.first_bars.connect(
            lambda take: self.listen_box.isChecked() and self.playback.play_take_as_it_grows(take)
        )
        m.take_done.connect(lambda take: take is self.document.current and self.roll.frame())
        menu = self.menus.model_menu
        menu.load_requested.connect(self.load_model)
        menu.device_changed.connect(lambda device: self._update_settings(device=device))
        menu.device_changed.connect(self.model.set_device)
        menu.train_requested.connect(self.open_training_wizard)
        menu.card_requested.connect(
            lambda: m.engine is not None and help_dialogs.show_model_card(self, m.engine.model_dir)
        )
        self._refresh_actions()

    # ---- what the app command and the training wizard call -------------------------------------
    def load_model(self, model_dir: Path | None = None) -> Worker:
        return self.model.load(model_dir)

    def open_file(self, path: Path) -> Worker | None:
        return self.files.open_file(path)

    def offer_recovery(self, reopen_input: bool = True) -> str | None:
        """Offer back the takes of a session that ended without closing (a crash, a kill);
        ``reopen_input``: also open its input file again (not when a file was given to open)."""
        answer = offer_lost_sessions(
            self,
            self.document,
            self.keeper,
            self.files.open_file if reopen_input else None,
            self.files.open_donor,
        )
        if answer == "restore":
            self.model.hear_takes()
        return answer

    def close_keeping_takes(self) -> bool:
        """Close without asking about unexported takes: they are kept for the next start to offer
        back (SIGTERM, Ctrl-C in the terminal)."""
        self._keep_takes = True
        try:
            return self.close()
        finally:
            self._keep_takes = False

    def open_training_wizard(self) -> None:
        """The training wizard (:mod:`emostudio.gui.wizard`): its own window; the model it makes
        can be loaded here. Before any model is loaded torch is imported on a worker first (the
        wizard asks it about the GPU; on this thread the import froze the window for seconds)."""
        from emostudio.gui.wizard.window import open_wizard

        if jobs.torch_imported():
            open_wizard(self)
            return
        self.status.show("opening the training wizard…")
        self.workers.run(
            jobs.import_torch_job(),
            "import torch",
            on_result=lambda _none: open_wizard(self),
            on_error=lambda reason: self.status.show(
                f"cannot open the training wizard: {reason}", error=True
            ),
        )

    # ---- model and document -> views -----------------------------------------------------------
    def _on_model_ready(self, _engine) -> None:
        self.transform.set_model_ready(True)
        self.roll.set_fill_enabled(not self.model.busy)
        self._update_settings(model_dir=str(self.model.model_dir) if self.model.model_dir else "")
        self._refresh_actions()

    def _on_job_started(self, take: Take, total: int) -> None:
        self.transform.set_busy(True, total)
        self.roll.set_take(None)
        self.roll.frame_bars(total)

    def _show_session(self) -> None:
        """The title names the session's file, marked while it has unsaved changes."""
        path = self.document.session_path
        self.setWindowTitle(f"{path.stem}[*] — emostudio" if path else "emostudio")
        self.setWindowModified(self.document.modified)

    def _on_model_busy(self, busy: bool) -> None:
        if not busy:
            self.transform.set_busy(False)
        self.roll.set_fill_enabled(not busy and self.model.engine is not None)
        self._refresh_actions()

    def _on_input_changed(self) -> None:
        song = self.document.input_song
        self.roll.set_input(song)
        self.transform.set_has_input(song is not None)
        self._refresh_actions()

    def _on_donor_changed(self) -> None:
        d = self.document
        if d.donor_song is None:
            self.donor_panel.set_donor(None)
        else:
            name = d.donor_path.name if d.donor_path else d.donor_song.name
            self.donor_panel.set_donor(describe_input(name, d.donor_song))

    def _on_current_changed(self, take: Take | None) -> None:
        self.roll.set_take(
            take.song if take is not None else None, frame=take is not None and take.complete
        )
        self._refresh_actions()

    def _on_take_updated(self, take: Take) -> None:
        if take is self.document.current:
            self.roll.set_take(take.song)
        self._refresh_actions()

    def _refresh_actions(self) -> None:
        self.menus.refresh(self.document, self.model)
        self.transform.set_has_piece(self.document.working_piece() is not None)
        idle = self.model.engine is not None and not self.model.busy
        self.donor_panel.set_ready(idle and self.document.input_song is not None)

    # ---- drops, settings and closing -----------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.files.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.files.accepts(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.files.drop(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def _update_settings(self, **changes) -> None:
        self.settings = replace(self.settings, **changes)
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.status.show(f"cannot save settings: {exc.strerror or exc}", error=True)

    def _restore_geometry(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(self.settings.window_geometry)))
        if self.settings.window_state:
            self.restoreState(QByteArray(base64.b64decode(self.settings.window_state)))

    def closeEvent(self, event: QCloseEvent) -> None:
        # windows of our own (the training wizard) close first, and may refuse (a run in progress)
        for child in self.findChildren(QWidget):
            if not (child.isWindow() and child.isVisible()):
                continue
            # a signal's close asks nothing: the wizard pauses its run (close_pausing)
            close = (
                getattr(child, "close_pausing", child.close) if self._keep_takes else child.close
            )
            if not close():
                event.ignore()
                return
        if not self._keep_takes and not may_close(self, self.document, self.files.save_now):
            event.ignore()
            return
        target = self.document.target
        self._update_settings(
            window_geometry=base64.b64encode(bytes(self.saveGeometry())).decode(),
            window_state=base64.b64encode(bytes(self.saveState())).decode(),
            panel=self.transform.saved(),
            generate_on_pick=self.target_panel.generate_on_pick_box.isChecked(),
            target=(target.valence, target.arousal),
        )
        self.workers.cancel_all()
        self.playback.close()
        self.workers.wait(10_000)
        self.takes.drag_handle.close_scratch()
        self.keeper.close(keep=self._keep_takes)
        event.accept()


def _column(margins: tuple[int, int, int, int], *items) -> QWidget:
    """A widget stacking ``items`` (a widget, (widget, stretch), or None for a stretch)."""
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(*margins)
    for item in items:
        if item is None:
            layout.addStretch(1)
        elif isinstance(item, tuple):
            layout.addWidget(*item)
        else:
            layout.addWidget(item)
    return column


def _vertical_scroll(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless area that scrolls vertically when the window is shorter than it."""
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    bar = area.verticalScrollBar().sizeHint().width()
    area.setMinimumWidth(widget.minimumWidth() + bar)
    return area
