"""The main window: it composes the document, the player, the workers, the panels and the actions,
and wires their signals. Each feature lives in its own module; what is here is glue.

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

from emostudio.emotion import Emotion
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
from emostudio.gui.model_menu import ModelMenu
from emostudio.gui.pad import EmotionPad, PadMarker
from emostudio.gui.piano_roll import MODE_LABELS, MODES, PianoRoll
from emostudio.gui.qt_player import QtPlayer
from emostudio.gui.roll_data import seconds_to_beat
from emostudio.gui.takes import TakesPanel
from emostudio.gui.transform_panel import TransformPanel
from emostudio.gui.transport import FLUIDSYNTH, TransportBar
from emostudio.gui.worker import Worker, Workers
from emostudio.midi import Song
from emostudio.playback import PlaybackError, Sink
from emostudio.settings import Settings, load_settings, save_settings

log = logging.getLogger(__name__)

MESSAGE_MS = 12_000


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, model_dir: str | Path | None = None,
                 device: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("emostudio")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else load_settings()
        self.document = Document(self)
        self.workers = Workers(self)
        self.player = QtPlayer(self)
        self.engine = None  # emostudio.generation.Engine, once loaded
        self._model_worker: Worker | None = None  # generation / transfer / recognition: one at a time
        self._model_loader: Worker | None = None
        self._pending_recognitions: list[tuple[object, Song]] = []
        self._opening_output: Worker | None = None
        self._play_when_open = False
        self._playing_song: Song | None = None
        self._play_source = "take"
        self._model_dir = Path(model_dir) if model_dir else (Path(self.settings.model_dir) if self.settings.model_dir else None)
        self._device = device or self.settings.device

        self._build_panels()
        self._build_actions()
        self._build_menus()
        self._wire()
        self.transport.set_soundfont(self.settings.soundfont)
        self.transport.refresh_ports(keep=(self.settings.output, self.settings.midi_port))
        self.model_menu.set_device(self._device)
        self.recent_menu.set_files(recent_without_missing(self.settings.recent_files))
        self._restore_geometry()
        self._show_markers()

    # =========================================================================================
    # composition
    # =========================================================================================
    def _build_panels(self) -> None:
        self.pad = EmotionPad()
        self.pad.set_target(self.document.target)
        self.curve_button = QPushButton("✎ Draw curve")
        self.curve_button.setCheckable(True)
        self.curve_button.setToolTip("Draw the emotion over time across the pad; it is spread over the bars")
        self.clear_curve_button = QPushButton("Clear")
        self.clear_curve_button.setToolTip("Forget the drawn curve: use the target point (Esc on the pad)")
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

        self.open_action = action("&Open MIDI…", self.open_dialog, QKeySequence.Open, "Open a MIDI file as the input")
        self.export_midi_action = action("&Export take as MIDI…", lambda: self.export_midi_dialog(self.document.current), "Ctrl+E")
        self.export_wav_action = action("Export take as &WAV…", lambda: self.export_wav_dialog(self.document.current), "Ctrl+Shift+E")
        self.quit_action = action("&Quit", self.close, QKeySequence.Quit)
        self.play_action = action("Play / Stop", self.toggle_play, Qt.Key_Space, "Play or stop (Space)")
        self.loop_action = action("Loop", lambda: self.transport.loop_button.toggle(), "L")
        self.generate_action = action("&Generate", self.generate, "Ctrl+G")
        self.transfer_action = action("&Transfer", self.transfer, "Ctrl+T")
        self.cancel_action = action("&Cancel", self.cancel_job, Qt.Key_Escape)
        self.ab_action = action("Switch A/B", self.switch_source, "Tab")
        self.mode_actions = []
        for i, mode in enumerate(MODES):
            self.mode_actions.append(action(MODE_LABELS[mode], lambda _=False, m=mode: self.roll.set_mode(m), f"Ctrl+{i + 1}"))

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
        self.transport.play_requested.connect(self.toggle_play)
        self.transport.stop_requested.connect(self.stop)
        self.transport.loop_toggled.connect(self.player.set_loop)
        self.transport.source_changed.connect(self._on_source_changed)
        self.transport.output_changed.connect(self._on_output_changed)
        self.transport.soundfont_chosen.connect(self._on_soundfont_chosen)
        self.player.position_changed.connect(self._on_position)
        self.player.playing_changed.connect(self._on_playing_changed)
        self.player.error.connect(lambda message: self.show_message(message, error=True))
        self.recent_menu.file_chosen.connect(self.open_file)
        self.recent_menu.clear_requested.connect(self._clear_recent)
        self.model_menu.load_requested.connect(self.load_model)
        self.model_menu.device_changed.connect(self._on_device_changed)
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
    # model
    # =========================================================================================
    def load_model(self, model_dir: Path | None = None) -> Worker:
        """Load a model in the background; the current one stays until the new one is ready."""
        if model_dir is not None or self._model_dir is None:
            self._model_dir = model_dir
        where = str(model_dir) if model_dir else "the default model"
        self.model_label.setText("loading model…")
        self.model_menu.set_status(f"Loading {where}…")
        self.show_message(f"loading model… ({where}, device {self._device})")
        worker = self.workers.run(
            jobs.load_model_job(model_dir, self._device), "load model",
            on_result=self._on_model_loaded, on_error=self._on_model_error,
        )
        self._model_loader = worker
        worker.finished.connect(self._refresh_actions)
        return worker

    def _on_model_loaded(self, loaded: jobs.LoadedModel) -> None:
        self.engine = loaded.engine
        self.model_menu.set_cuda_available(loaded.cuda_available)
        name = Path(self.engine.model_dir).name
        self.model_label.setText(f"ready · {name} · {self.engine.device}")
        self.model_menu.set_status(f"Model: {name} on {self.engine.device}")
        self.show_message(f"ready: model {name} on {self.engine.device}")
        self._update_settings(model_dir=str(self._model_dir) if self._model_dir else "")
        self.transform.set_model_ready(True)
        if self.document.input_song is not None:
            self._recognise(None, self.document.input_song)

    def _on_model_error(self, message: str) -> None:
        kept = " (the previous model is still in use)" if self.engine is not None else ""
        self.model_label.setText("model: error" if self.engine is None else self.model_label.text())
        self.model_menu.set_status("No model loaded" if self.engine is None else self.model_menu.status_action.text())
        self.show_message(f"cannot load the model: {message}{kept}", error=True)

    def _on_device_changed(self, device: str) -> None:
        self._device = device
        self._update_settings(device=device)
        if self.engine is not None or self._model_dir is not None:
            self.load_model(self._model_dir)

    # =========================================================================================
    # files
    # =========================================================================================
    def open_dialog(self) -> None:
        start = self.settings.last_open_dir or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open a MIDI file", start, "MIDI files (*.mid *.midi *.kar);;All files (*)")
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> Worker | None:
        """Load ``path`` as the input in the background; a bad file leaves the current work as it is."""
        path = Path(path)
        if not jobs.is_midi_path(path):
            self.show_message(f"{path.name} is not a MIDI file (.mid or .midi): nothing was opened", error=True)
            return None
        self.show_message(f"reading {path.name}…")
        return self.workers.run(
            jobs.load_song_job(path), f"open {path.name}",
            on_result=self._on_song_loaded,
            on_error=lambda message: self.show_message(f"cannot open {path.name}: {message}", error=True),
        )

    def _on_song_loaded(self, loaded: jobs.LoadedSong) -> None:
        self.document.set_input(loaded.song, loaded.path)
        self.show_message(loaded.note)
        self._update_settings(
            last_open_dir=str(loaded.path.parent),
            recent_files=self.settings.with_recent_file(str(loaded.path)).recent_files,
        )
        self.recent_menu.set_files(recent_without_missing(self.settings.recent_files))
        if self.engine is not None:
            self._recognise(None, loaded.song)

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
            self.show_message(f"{names}: not a MIDI file (.mid or .midi): nothing was opened", error=True)
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_file(midi[0])
        if len(midi) > 1:
            self.show_message(f"opened {midi[0].name}; one input at a time, the other files were left")

    def export_midi_dialog(self, take: Take | None) -> None:
        if take is None or take.song is None:
            self.show_message("no take to export: generate or transfer first", error=True)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export take as MIDI", self._export_name(take, ".mid"), "MIDI files (*.mid)")
        if path:
            self.export_midi(take, Path(path) if Path(path).suffix else Path(path + ".mid"))

    def export_midi(self, take: Take, path: Path) -> Worker:
        return self.workers.run(
            jobs.export_midi_job(take.song, path), "export MIDI",
            on_result=lambda p: self._exported(take, p),
            on_error=lambda message: self.show_message(f"cannot export {path.name}: {message}", error=True),
        )

    def export_wav_dialog(self, take: Take | None) -> None:
        if take is None or take.song is None:
            self.show_message("no take to export: generate or transfer first", error=True)
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export take as WAV", self._export_name(take, ".wav"), "WAV audio (*.wav)")
        if path:
            self.export_wav(take, Path(path) if Path(path).suffix else Path(path + ".wav"))

    def export_wav(self, take: Take, path: Path) -> Worker:
        self.show_message(f"rendering {path.name}…")
        worker = self.workers.run(
            jobs.render_wav_job(take.song, path, self.settings.soundfont), "render WAV",
            on_progress=lambda p: self._show_progress(p.done, p.total),
            on_result=lambda done: done is not None and self._exported(take, done.path),
            on_error=lambda message: self.show_message(f"cannot render {path.name}: {message}", error=True),
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
    # generate / transfer / recognise
    # =========================================================================================
    def _target_for(self, n_bars: int) -> Emotion | list[Emotion]:
        if self.document.curve:
            return curve_to_bars(self.document.curve, n_bars)
        return self.document.target

    def generate(self) -> Worker | None:
        if not self._can_start():
            return None
        o = self.transform.options()
        target = self._target_for(o.bars)
        take = self.document.new_take("generate", target, self._details(o, transfer=False))
        job = jobs.generate_job(self.engine, target, o.bars, o.temperature, o.seed)
        return self._start_take_job(take, job, o.bars, "generate")

    def transfer(self) -> Worker | None:
        if not self._can_start():
            return None
        song = self.document.input_song
        if song is None:
            self.show_message("open or drop a MIDI file to transfer first", error=True)
            return None
        o = self.transform.options()
        if not o.dims:
            self.show_message("tick arousal and/or valence to transfer", error=True)
            return None
        n_bars = min(o.bars, max(1, song.n_bars))
        target = self._target_for(n_bars)
        take = self.document.new_take("transfer", target, self._details(o, transfer=True))
        job = jobs.transfer_job(self.engine, song, target, o.strength, o.dims, o.temperature, o.seed, n_bars)
        return self._start_take_job(take, job, n_bars, "transfer")

    def _details(self, o, transfer: bool) -> str:
        seed = "random seed" if o.seed is None else f"seed {o.seed}"
        head = f"λ {o.strength:.2f} on {' + '.join(o.dims)}; " if transfer else ""
        return f"{head}{o.bars} bars, temperature {o.temperature:g}, {seed}"

    def _can_start(self) -> bool:
        if self.engine is None:
            self.show_message("no model yet: wait for it to load, or load one from the Model menu", error=True)
            return False
        if self._model_worker is not None:
            self.show_message("the model is busy: wait, or Cancel (Esc)", error=True)
            return False
        return True

    def _start_take_job(self, take: Take, job, total: int, verb: str) -> Worker:
        self.transform.set_busy(True, total)
        self.show_message(f"{verb}: {take.name}…")
        self.roll.set_take(None)
        self.roll.frame_bars(total)
        started = {"playing": False}

        def progress(p: jobs.Progress) -> None:
            self.transform.set_progress(p.done, p.total)
            if p.song is None:
                return
            self.document.update_take(take, song=p.song)
            if self.listen_box.isChecked() and not started["playing"] and self.document.current is take:
                started["playing"] = True
                self.transport.set_source("take")
                self.play_song(p.song, growing=True)

        def result(song: Song | None) -> None:
            if song is not None:
                self.document.update_take(take, song=song)

        def finished() -> None:
            worker_was_cancelled = worker.cancelled
            self._model_worker = None
            self.transform.set_busy(False)
            has_notes = take.song is not None and take.song.note_count > 0
            if not has_notes:
                self.document.remove_take(take)
                self.show_message(f"{verb} {'cancelled' if worker_was_cancelled else 'made no notes'}: no take kept",
                                  error=not worker_was_cancelled)
            else:
                self.document.update_take(take, complete=True)
                if take is self.document.current:
                    self.roll.frame()
                bars = take.song.n_bars
                note = "cancelled, the bars done so far are kept" if worker_was_cancelled else "done"
                self.show_message(f"{take.name}: {note} ({bars} bars, {take.song.note_count} notes)")
                self._recognise(take, take.song)
            self._run_pending_recognition()
            self._refresh_actions()

        worker = self.workers.run(
            job, verb, on_progress=progress, on_result=result,
            on_error=lambda message: self.show_message(f"{verb} failed: {message}", error=True),
        )
        worker.finished.connect(finished)
        self._model_worker = worker
        self._refresh_actions()
        return worker

    def cancel_job(self) -> None:
        if self._model_worker is not None:
            self._model_worker.cancel()
            self.show_message("cancelling…")

    def _recognise(self, take: Take | None, song: Song) -> None:
        """Hear the emotion of the input (take None) or of a take; queued while the model is busy."""
        if self.engine is None:
            return
        if self._model_worker is not None:
            self._pending_recognitions.append((take, song))
            return

        def result(recognition) -> None:
            if take is None:
                if song is self.document.input_song:
                    self.document.set_input_recognition(recognition)
            elif take in self.document.takes:
                self.document.set_take_recognition(take, recognition)

        def finished() -> None:
            self._model_worker = None
            self._run_pending_recognition()
            self._refresh_actions()

        worker = self.workers.run(
            jobs.recognise_job(self.engine, song), "recognise", on_result=result,
            on_error=lambda message: self.show_message(f"cannot recognise the emotion: {message}", error=True),
        )
        worker.finished.connect(finished)
        self._model_worker = worker

    def _run_pending_recognition(self) -> None:
        if self._pending_recognitions and self._model_worker is None:
            take, song = self._pending_recognitions.pop(0)
            self._recognise(take, song)

    @property
    def busy(self) -> bool:
        return bool(self.workers.active)

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
            self.input_label.setObjectName("")
            self.input_label.setStyleSheet("")
            if self.transport.source == "input":
                self._switch_playing_song()
        self._show_markers()
        self._refresh_actions()

    def _on_current_changed(self, take: Take | None) -> None:
        self.roll.set_take(take.song if take is not None else None, frame=take is not None and take.complete)
        if self.transport.source == "take":
            self._switch_playing_song()
        self._show_markers()
        self._refresh_actions()

    def _on_take_updated(self, take: Take) -> None:
        if take is self.document.current:
            self.roll.set_take(take.song)
            if self.transport.source == "take" and self.player.is_playing and take.song is not None:
                self._playing_song = take.song
                self.player.set_song(take.song, growing=not take.complete)
        self._show_markers()
        self._refresh_actions()

    def _show_markers(self) -> None:
        markers = []
        rec = self.document.input_recognition
        if rec is not None:
            markers.append(PadMarker("input", rec.emotion, kind="input"))
        for take in self.document.takes:
            if take.recognition is not None:
                markers.append(PadMarker(str(take.number), take.recognition.emotion, current=take is self.document.current))
        self.pad.set_markers(markers)
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
        ready = take is not None and take.complete and take.song is not None and take.song.note_count > 0
        self.export_midi_action.setEnabled(ready)
        self.export_wav_action.setEnabled(ready)
        idle = self.engine is not None and self._model_worker is None
        self.generate_action.setEnabled(idle)
        self.transfer_action.setEnabled(idle and self.document.input_song is not None)
        self.cancel_action.setEnabled(self._model_worker is not None)

    # =========================================================================================
    # playback
    # =========================================================================================
    def _source_song(self) -> Song | None:
        if self.transport.source == "input":
            return self.document.input_song
        take = self.document.current
        return take.song if take is not None else None

    def toggle_play(self) -> None:
        if self.player.is_playing:
            self.stop()
        else:
            song = self._source_song()
            if song is None:
                other = "input" if self.transport.source == "take" else "take"
                self.show_message(f"nothing to play as {self.transport.source}: try {other} (Tab)", error=True)
                return
            take = self.document.current
            growing = self.transport.source == "take" and take is not None and not take.complete
            self.play_song(song, growing=growing)

    def play_song(self, song: Song, growing: bool = False, start_seconds: float = 0.0) -> None:
        """Play ``song``; the output is opened first when there is none (in the background)."""
        self._playing_song = song
        self.player.set_song(song, growing=growing)
        if self.player.sink is None:
            self._play_when_open = True
            self.open_output()
            return
        try:
            self.player.play(start_seconds)
        except PlaybackError as exc:
            self.show_message(str(exc), error=True)

    def stop(self) -> None:
        self.player.stop()
        self.roll.set_playhead(None)

    def switch_source(self) -> None:
        self.transport.set_source("input" if self.transport.source == "take" else "take")

    def _on_source_changed(self, source: str) -> None:
        self._switch_playing_song()

    def _switch_playing_song(self) -> None:
        """A/B: the other song carries on from the same position."""
        song = self._source_song()
        if not self.player.is_playing:
            self._playing_song = song
            self.player.set_song(song)
            self.transport.set_time(0.0, song.duration_seconds if song is not None else 0.0)
            return
        if song is None:
            self.stop()
            return
        position = self.player.position
        take = self.document.current
        growing = self.transport.source == "take" and take is not None and not take.complete
        self._playing_song = song
        self.player.set_song(song, growing=growing)
        if position > song.duration_seconds:
            self.player.play(0.0)

    def set_sink(self, sink: Sink) -> None:
        """Use an already-open output (tests give a RecordingSink)."""
        self.player.set_sink(sink)

    def open_output(self) -> Worker | None:
        """Open the output the transport names (FluidSynth or a MIDI port) in the background."""
        if self._opening_output is not None:
            return self._opening_output
        kind, port = self.transport.output
        soundfont = self.transport.soundfont
        what = "FluidSynth" if kind == FLUIDSYNTH else f"MIDI port {port}"
        self.show_message(f"opening {what}…")

        def opened(sink: Sink) -> None:
            self.player.set_sink(sink)
            self.show_message(f"playing through {what}")
            if self._play_when_open and self._playing_song is not None:
                try:
                    self.player.play(0.0)
                except PlaybackError as exc:
                    self.show_message(str(exc), error=True)

        def failed(message: str) -> None:
            self.show_message(f"{message} (export still works)", error=True)

        def done() -> None:
            self._opening_output = None
            self._play_when_open = False

        worker = self.workers.run(jobs.open_output_job(kind, port, soundfont), "open output",
                                  on_result=opened, on_error=failed)
        worker.finished.connect(done)
        self._opening_output = worker
        return worker

    def _on_output_changed(self, kind: str, port: str) -> None:
        self._update_settings(output=kind, midi_port=port)
        was_playing = self.player.is_playing
        self.stop()
        self._play_when_open = was_playing
        if self.player.sink is not None or was_playing:
            self.open_output()

    def _on_soundfont_chosen(self, path: str) -> None:
        self._update_settings(soundfont=path)
        if self.transport.output[0] == FLUIDSYNTH and self.player.sink is not None:
            self.stop()
            self.open_output()

    def _on_position(self, seconds: float) -> None:
        song = self._playing_song
        if song is None:
            return
        self.transport.set_time(seconds, song.duration_seconds)
        if self.player.is_playing:
            self.roll.set_playhead(seconds_to_beat(song, seconds))

    def _on_playing_changed(self, playing: bool) -> None:
        self.transport.set_playing(playing)
        if not playing:
            self.roll.set_playhead(None)

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
        unexported = self.document.unexported_takes()
        if unexported:
            names = ", ".join(t.name for t in unexported[:3]) + (" …" if len(unexported) > 3 else "")
            answer = QMessageBox.question(
                self, "Close emostudio",
                f"{len(unexported)} take(s) were never exported ({names}). They will be lost. Close anyway?",
                QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Cancel,
            )
            if answer != QMessageBox.Discard:
                event.ignore()
                return
        self._update_settings(
            window_geometry=base64.b64encode(bytes(self.saveGeometry())).decode(),
            window_state=base64.b64encode(bytes(self.saveState())).decode(),
        )
        self.workers.cancel_all()
        self.player.close()
        self.workers.wait(10_000)
        self.takes.drag_handle.close_scratch()
        event.accept()
