"""The main window: it composes the document, the workers, the model and playback controls, the
panels and the actions, and wires their signals. Each feature lives in its own module (see
:mod:`emostudio.gui`); what is here is layout, glue, files in and out, settings and closing.

Layout: the transport bar on top; the pad and the transform controls on the left, the piano roll
large in the middle, the takes on the right; the status bar says what the model and the output are
doing. All long work (files, model, generation, transfer, recognition, WAV) runs in
:mod:`emostudio.gui.worker` workers.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui import jobs, theme
from emostudio.gui.curve import curve_to_bars
from emostudio.gui.document import Document, Take
from emostudio.gui.files import (
    RecentFilesMenu,
    accepts_drop,
    dropped_paths,
    recent_without_missing,
    safe_file_name,
)
from emostudio.gui.model_control import ModelControl
from emostudio.gui.model_menu import ModelMenu
from emostudio.gui.pad import EmotionPad, PadMarker
from emostudio.gui.piano_roll import MODE_LABELS, MODES, PianoRoll
from emostudio.gui.playback_control import PlaybackControl
from emostudio.gui.takes import TakesPanel
from emostudio.gui.transform_panel import TransformPanel
from emostudio.gui.transport import TransportBar
from emostudio.gui.worker import Worker, Workers
from emostudio.settings import Settings, load_settings, save_settings

log = logging.getLogger(__name__)

MESSAGE_MS = 12_000


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
        self.workers = Workers(self)
        chosen = model_dir or self.settings.model_dir
        self.model = ModelControl(
            self.document,
            self.workers,
            Path(chosen) if chosen else None,
            device or self.settings.device,
            self,
        )

        self._build_panels()
        self.playback = PlaybackControl(
            self.document, self.transport, self.roll, self.workers, self
        )
        self._build_actions()
        self._build_menus()
        self._wire()
        self.transport.set_soundfont(self.settings.soundfont)
        self.transport.refresh_ports(keep=(self.settings.output, self.settings.midi_port))
        self.model_menu.set_device(self.model.device)
        self.recent_menu.set_files(recent_without_missing(self.settings.recent_files))
        self._restore_geometry()
        self._marked_takes: set[int] = set()  # takes whose recognised emotion the pad shows
        self._show_markers()

    # =========================================================================================
    # composition
    # =========================================================================================
    def _build_panels(self) -> None:
        self.pad = EmotionPad()
        self.pad.set_target(self.document.target)
        self.curve_button = QPushButton("✎ Draw curve")
        self.curve_button.setCheckable(True)
        self.curve_button.setToolTip(
            "Draw the emotion over time across the pad; it is spread over the bars"
        )
        self.clear_curve_button = QPushButton("Clear")
        self.clear_curve_button.setToolTip(
            "Forget the drawn curve: use the target point (Esc on the pad)"
        )
        self.target_label = QLabel()
        self.target_label.setObjectName("dim")
        self.target_label.setWordWrap(True)
        pad_box = QGroupBox("Target emotion")
        pad_layout = QVBoxLayout(pad_box)
        pad_layout.addWidget(self.pad, 1)
        curve_row = QHBoxLayout()
        curve_row.addWidget(self.curve_button)
        curve_row.addWidget(self.clear_curve_button)
        curve_row.addStretch(1)
        pad_layout.addLayout(curve_row)
        pad_layout.addWidget(self.target_label)

        self.transform = TransformPanel()
        self.listen_box = QCheckBox("Listen while generating")
        self.listen_box.setChecked(True)
        self.listen_box.setToolTip("Start playing the take as soon as its first bars exist")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        left_layout.addWidget(pad_box)
        left_layout.addWidget(self.transform)
        left_layout.addWidget(self.listen_box)
        left_layout.addStretch(1)
        left.setMinimumWidth(330)
        left.setMaximumWidth(480)

        self.roll = PianoRoll()
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(4, 8, 4, 8)
        centre_layout.addWidget(self.roll)

        self.takes = TakesPanel(self.document)
        takes_box = QGroupBox("Takes")
        takes_layout = QVBoxLayout(takes_box)
        takes_layout.addWidget(self.takes)
        self.input_label = QLabel("No input: drop a MIDI file here, or File ▸ Open")
        self.input_label.setWordWrap(True)
        self.input_label.setObjectName("dim")
        input_box = QGroupBox("Input")
        QVBoxLayout(input_box).addWidget(self.input_label)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 8, 8, 8)
        right_layout.addWidget(input_box)
        right_layout.addWidget(takes_box, 1)
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

        self.model_label = QLabel("no model")
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(160)
        self.job_progress.setVisible(False)
        status = self.statusBar()
        status.addPermanentWidget(self.job_progress)
        status.addPermanentWidget(self.model_label)
        self.resize(1500, 900)

    def _build_actions(self) -> None:
        def action(text, slot, shortcut=None, tip=""):
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setStatusTip(tip)
            self.addAction(a)  # shortcuts work wherever the focus is in the window
            return a

        self.open_action = action(
            "&Open MIDI…", self.open_dialog, QKeySequence.Open, "Open a MIDI file as the input"
        )
        self.export_midi_action = action(
            "&Export take as MIDI…",
            lambda: self.export_midi_dialog(self.document.current),
            "Ctrl+E",
        )
        self.export_wav_action = action(
            "Export take as &WAV…",
            lambda: self.export_wav_dialog(self.document.current),
            "Ctrl+Shift+E",
        )
        self.quit_action = action("&Quit", self.close, QKeySequence.Quit)
        self.play_action = action(
            "Play / Stop", self.toggle_play, Qt.Key_Space, "Play or stop (Space)"
        )
        self.loop_action = action("Loop", lambda: self.transport.loop_button.toggle(), "L")
        self.generate_action = action("&Generate", self.generate, "Ctrl+G")
        self.transfer_action = action("&Transfer", self.transfer, "Ctrl+T")
        self.cancel_action = action("&Cancel", self.cancel_job, Qt.Key_Escape)
        self.ab_action = action("Switch A/B", self.switch_source, "Tab")
        self.mode_actions = []
        for i, mode in enumerate(MODES):
            self.mode_actions.append(
                action(
                    MODE_LABELS[mode],
                    lambda _=False, m=mode: self.roll.set_mode(m),
                    f"Ctrl+{i + 1}",
                )
            )

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = RecentFilesMenu(self)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.export_midi_action)
        file_menu.addAction(self.export_wav_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        make_menu = menu.addMenu("&Make")
        for a in (self.generate_action, self.transfer_action, self.cancel_action):
            make_menu.addAction(a)
        play_menu = menu.addMenu("&Play")
        for a in (self.play_action, self.loop_action, self.ab_action):
            play_menu.addAction(a)
        view_menu = menu.addMenu("&View")
        for a in self.mode_actions:
            view_menu.addAction(a)
        self.model_menu = ModelMenu(self)
        menu.addMenu(self.model_menu)

    def _wire(self) -> None:
        d = self.document
        d.input_changed.connect(self._on_input_changed)
        d.input_recognised.connect(self._show_markers)
        d.current_changed.connect(self._on_current_changed)
        d.take_updated.connect(self._on_take_updated)
        d.takes_changed.connect(self._show_markers)
        d.target_changed.connect(self._show_target)
        d.curve_changed.connect(self._show_target)
        self.pad.target_changed.connect(d.set_target)
        self.pad.curve_changed.connect(d.set_curve)
        self.curve_button.toggled.connect(self.pad.set_curve_mode)
        self.clear_curve_button.clicked.connect(self.pad.clear_curve)
        self.transform.generate_requested.connect(self.generate)
        self.transform.transfer_requested.connect(self.transfer)
        self.transform.cancel_requested.connect(self.cancel_job)
        self.transform.options_changed.connect(lambda _o: self._show_target())
        self.takes.export_midi_requested.connect(self.export_midi_dialog)
        self.takes.export_wav_requested.connect(self.export_wav_dialog)
        m = self.model
        m.message.connect(self.show_message)
        m.loading.connect(self._on_model_loading)
        m.ready.connect(self._on_model_ready)
        m.failed.connect(self._on_model_failed)
        m.cuda_checked.connect(self.model_menu.set_cuda_available)
        m.job_started.connect(self._on_job_started)
        m.job_progress.connect(self.transform.set_progress)
        m.busy_changed.connect(self._on_model_busy)
        m.first_bars.connect(
            lambda take: self.listen_box.isChecked() and self.playback.play_take_as_it_grows(take)
        )
        m.take_done.connect(lambda take: take is self.document.current and self.roll.frame())
        self.playback.message.connect(self.show_message)
        self.playback.settings_changed.connect(lambda changes: self._update_settings(**changes))
        self.recent_menu.file_chosen.connect(self.open_file)
        self.recent_menu.clear_requested.connect(self._clear_recent)
        self.model_menu.load_requested.connect(self.load_model)
        self.model_menu.device_changed.connect(self._on_device_changed)
        self.model_menu.train_requested.connect(self.open_training_wizard)
        self._show_target()
        self._refresh_actions()

    # =========================================================================================
    # status
    # =========================================================================================
    def show_message(self, text: str, error: bool = False) -> None:
        """One line in the status bar (errors in red, and logged)."""
        if error:
            log.warning("%s", text)
        colour = theme.ERROR if error else theme.DIM_TEXT
        self.statusBar().setStyleSheet(f"QStatusBar {{ color: {colour}; }}")
        self.statusBar().showMessage(text, MESSAGE_MS)

    def status_message(self) -> str:
        return self.statusBar().currentMessage()

    def _show_progress(self, done: int | None, total: int = 0) -> None:
        if done is None:
            self.job_progress.setVisible(False)
            return
        self.job_progress.setVisible(True)
        self.job_progress.setRange(0, max(1, total))
        self.job_progress.setValue(done)

    # =========================================================================================
    # files
    # =========================================================================================
    def open_dialog(self) -> None:
        start = self.settings.last_open_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a MIDI file", start, "MIDI files (*.mid *.midi *.kar);;All files (*)"
        )
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> Worker | None:
        """Load ``path`` as the input in the background; a bad file leaves the current work as it is."""
        path = Path(path)
        if not jobs.is_midi_path(path):
            self.show_message(
                f"{path.name} is not a MIDI file (.mid or .midi): nothing was opened", error=True
            )
            return None
        self.show_message(f"reading {path.name}…")
        return self.workers.run(
            jobs.load_song_job(path),
            f"open {path.name}",
            on_result=self._on_song_loaded,
            on_error=lambda message: self.show_message(
                f"cannot open {path.name}: {message}", error=True
            ),
        )

    def _on_song_loaded(self, loaded: jobs.LoadedSong) -> None:
        self.document.set_input(loaded.song, loaded.path)
        self.show_message(loaded.note)
        self._update_settings(
            last_open_dir=str(loaded.path.parent),
            recent_files=self.settings.with_recent_file(str(loaded.path)).recent_files,
        )
        self.recent_menu.set_files(recent_without_missing(self.settings.recent_files))

    def _clear_recent(self) -> None:
        self._update_settings(recent_files=())
        self.recent_menu.set_files(())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if accepts_drop(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if accepts_drop(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event.mimeData())
        midi = [p for p in paths if jobs.is_midi_path(p)]
        if not midi:
            names = ", ".join(p.name for p in paths) or "that"
            self.show_message(
                f"{names}: not a MIDI file (.mid or .midi): nothing was opened", error=True
            )
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_file(midi[0])
        if len(midi) > 1:
            self.show_message(
                f"opened {midi[0].name}; one input at a time, the other files were left"
            )

    def export_midi_dialog(self, take: Take | None) -> None:
        if take is None or take.song is None:
            self.show_message("no take to export: generate or transfer first", error=True)
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export take as MIDI", self._export_name(take, ".mid"), "MIDI files (*.mid)"
        )
        if path:
            self.export_midi(take, Path(path) if Path(path).suffix else Path(path + ".mid"))

    def export_midi(self, take: Take, path: Path) -> Worker:
        return self.workers.run(
            jobs.export_midi_job(take.song, path),
            "export MIDI",
            on_result=lambda p: self._exported(take, p),
            on_error=lambda message: self.show_message(
                f"cannot export {path.name}: {message}", error=True
            ),
        )

    def export_wav_dialog(self, take: Take | None) -> None:
        if take is None or take.song is None:
            self.show_message("no take to export: generate or transfer first", error=True)
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export take as WAV", self._export_name(take, ".wav"), "WAV audio (*.wav)"
        )
        if path:
            self.export_wav(take, Path(path) if Path(path).suffix else Path(path + ".wav"))

    def export_wav(self, take: Take, path: Path) -> Worker:
        self.show_message(f"rendering {path.name}…")
        worker = self.workers.run(
            jobs.render_wav_job(take.song, path, self.settings.soundfont),
            "render WAV",
            on_progress=lambda p: self._show_progress(p.done, p.total),
            on_result=lambda done: done is not None and self._exported(take, done.path),
            on_error=lambda message: self.show_message(
                f"cannot render {path.name}: {message}", error=True
            ),
        )
        worker.finished.connect(lambda: self._show_progress(None))
        return worker

    def _export_name(self, take: Take, suffix: str) -> str:
        folder = self.settings.last_export_dir or self.settings.last_open_dir or str(Path.home())
        return str(Path(folder) / f"{safe_file_name(take.name)}{suffix}")

    def _exported(self, take: Take, path: Path) -> None:
        self.document.mark_exported(take, path)
        self._update_settings(last_export_dir=str(Path(path).parent))
        self.show_message(f"exported {take.name} to {path}")

    # =========================================================================================
    # model
    # =========================================================================================
    @property
    def engine(self):
        return self.model.engine

    def load_model(self, model_dir: Path | None = None) -> Worker:
        return self.model.load(model_dir)

    def generate(self) -> Worker | None:
        return self.model.generate(self.transform.options())

    def transfer(self) -> Worker | None:
        return self.model.transfer(self.transform.options())

    def cancel_job(self) -> None:
        self.model.cancel()

    def open_training_wizard(self):
        """The training wizard (issue 6, :mod:`emostudio.gui.wizard`): its own window; the model it
        makes can be loaded here."""
        from emostudio.gui.wizard.window import open_wizard

        return open_wizard(self)

    def _on_model_loading(self, where: str) -> None:
        self.model_label.setText("loading model…")
        self.model_menu.set_status(f"Loading {where}…")

    def _on_model_ready(self, engine) -> None:
        name = Path(engine.model_dir).name
        self.model_label.setText(f"ready · {name} · {engine.device}")
        self.model_menu.set_status(f"Model: {name} on {engine.device}")
        self.transform.set_model_ready(True)
        self._update_settings(model_dir=str(self.model.model_dir) if self.model.model_dir else "")
        self._refresh_actions()

    def _on_model_failed(self, reason: str) -> None:
        if self.model.engine is None:
            self.model_label.setText("model: error")
            self.model_menu.set_status("No model loaded")
        self.model_label.setToolTip(f"The last model folder could not be loaded: {reason}")

    def _on_device_changed(self, device: str) -> None:
        self._update_settings(device=device)
        self.model.set_device(device)

    def _on_job_started(self, take: Take, total: int) -> None:
        self.transform.set_busy(True, total)
        self.roll.set_take(None)
        self.roll.frame_bars(total)

    def _on_model_busy(self, busy: bool) -> None:
        if not busy:
            self.transform.set_busy(False)
        self._refresh_actions()

    # =========================================================================================
    # playback (see PlaybackControl)
    # =========================================================================================
    @property
    def player(self):
        return self.playback.player

    def toggle_play(self) -> None:
        self.playback.toggle()

    def stop(self) -> None:
        self.playback.stop()

    def switch_source(self) -> None:
        self.playback.switch_source()

    def set_sink(self, sink) -> None:
        self.playback.set_sink(sink)

    # =========================================================================================
    # document -> views
    # =========================================================================================
    def _on_input_changed(self) -> None:
        song = self.document.input_song
        self.roll.set_input(song)
        self.transform.set_has_input(song is not None)
        if song is None:
            self.input_label.setText("No input: drop a MIDI file here, or File ▸ Open")
        else:
            name = self.document.input_path.name if self.document.input_path else song.name
            self.input_label.setText(
                f"<b>{name}</b><br>{song.n_bars} bars · {song.note_count:,} notes · {len(song.tracks)} tracks"
            )
        self._show_markers()
        self._refresh_actions()

    def _on_current_changed(self, take: Take | None) -> None:
        self.roll.set_take(
            take.song if take is not None else None, frame=take is not None and take.complete
        )
        self._show_markers()
        self._refresh_actions()

    def _on_take_updated(self, take: Take) -> None:
        if take is self.document.current:
            self.roll.set_take(take.song)
        if take.recognition is not None and take.number not in self._marked_takes:
            self._show_markers()
        self._refresh_actions()

    def _show_markers(self) -> None:
        markers = []
        rec = self.document.input_recognition
        if rec is not None:
            markers.append(PadMarker("input", rec.emotion, kind="input"))
        for take in self.document.takes:
            if take.recognition is not None:
                markers.append(
                    PadMarker(
                        str(take.number),
                        take.recognition.emotion,
                        current=take is self.document.current,
                    )
                )
        self.pad.set_markers(markers)
        self._marked_takes = {t.number for t in self.document.takes if t.recognition is not None}
        if rec is not None and self.document.input_path is not None:
            song = self.document.input_song
            self.input_label.setText(
                f"<b>{self.document.input_path.name}</b><br>{song.n_bars} bars · {song.note_count:,} notes · "
                f"{len(song.tracks)} tracks<br>heard as <b>{rec.emotion.name}</b> "
                f"(valence {rec.emotion.valence:+.2f}, arousal {rec.emotion.arousal:+.2f})"
            )

    def _show_target(self, *_args) -> None:
        curve = self.document.curve
        if curve:
            n = self.transform.options().bars
            bars = curve_to_bars(curve, n)
            self.target_label.setText(f"Curve over {n} bars: {bars[0].name} → {bars[-1].name}")
        else:
            self.target_label.setText(f"Target: {self.document.target}")
        self.clear_curve_button.setEnabled(bool(curve))

    def _refresh_actions(self) -> None:
        take = self.document.current
        ready = (
            take is not None
            and take.complete
            and take.song is not None
            and take.song.note_count > 0
        )
        self.export_midi_action.setEnabled(ready)
        self.export_wav_action.setEnabled(ready)
        idle = self.model.engine is not None and not self.model.busy
        self.generate_action.setEnabled(idle)
        self.transfer_action.setEnabled(idle and self.document.input_song is not None)
        self.cancel_action.setEnabled(self.model.busy)

    # =========================================================================================
    # settings and closing
    # =========================================================================================
    def _update_settings(self, **changes) -> None:
        self.settings = replace(self.settings, **changes)
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.show_message(f"cannot save settings: {exc.strerror or exc}", error=True)

    def _restore_geometry(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray(base64.b64decode(self.settings.window_geometry)))
        if self.settings.window_state:
            self.restoreState(QByteArray(base64.b64decode(self.settings.window_state)))

    def closeEvent(self, event: QCloseEvent) -> None:
        # windows of our own (the training wizard) close first, and may refuse (a run in progress)
        for child in self.findChildren(QWidget):
            if child.isWindow() and child.isVisible() and not child.close():
                event.ignore()
                return
        unexported = self.document.unexported_takes()
        if unexported:
            names = ", ".join(t.name for t in unexported[:3]) + (
                " …" if len(unexported) > 3 else ""
            )
            answer = QMessageBox.question(
                self,
                "Close emostudio",
                f"{len(unexported)} take(s) were never exported ({names}). They will be lost. Close anyway?",
                QMessageBox.Discard | QMessageBox.Cancel,
                QMessageBox.Cancel,
            )
            if answer != QMessageBox.Discard:
                event.ignore()
                return
        self._update_settings(
            window_geometry=base64.b64encode(bytes(self.saveGeometry())).decode(),
            window_state=base64.b64encode(bytes(self.saveState())).decode(),
        )
        self.workers.cancel_all()
        self.playback.close()
        self.workers.wait(10_000)
        self.takes.drag_handle.close_scratch()
        event.accept()
