"""Model page: from scratch or fine-tune, size, epochs, device, and the measured time per epoch."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui.worker import Worker, Workers
from emostudio.wizard.estimate import Estimate, measure_epoch
from emostudio.wizard.flow import Start, WizardFlow
from emostudio.wizard.plan import PRESET_HELP, RunPlan, training_bars
from emostudio.wizard.runner import format_duration

MEASURE_DELAY_MS = 400


class ModelPage(QWidget):
    changed = Signal()

    def __init__(
        self, flow: WizardFlow, workers: Workers, runs_root: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.flow = flow
        self.workers = workers
        self.runs_root = Path(runs_root)
        self._measure: Worker | None = None
        self.estimate: Estimate | None = None

        self.scratch_radio = QRadioButton("Train a new model from scratch")
        self.finetune_radio = QRadioButton("Fine-tune an existing model")
        group = QButtonGroup(self)
        group.addButton(self.scratch_radio)
        group.addButton(self.finetune_radio)
        self.scratch_reason = QLabel()
        self.scratch_reason.setObjectName("dim")
        self.scratch_reason.setWordWrap(True)
        self.base_combo = QComboBox()
        self.preset_combo = QComboBox()
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 1000)
        self.device_combo = QComboBox()
        self.measure_button = QPushButton("Measure again")
        self.estimate_label = QLabel("Time per epoch: not measured yet.")
        self.estimate_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Model to fine-tune", self.base_combo)
        form.addRow("Size", self.preset_combo)
        form.addRow("Epochs", self.epochs_spin)
        form.addRow("Device", self.device_combo)
        layout = QVBoxLayout(self)
        for w in (self.scratch_radio, self.scratch_reason, self.finetune_radio):
            layout.addWidget(w)
        layout.addLayout(form)
        layout.addWidget(self.estimate_label)
        layout.addWidget(self.measure_button)
        layout.addStretch(1)

        for name in flow.presets:
            self.preset_combo.addItem(PRESET_HELP.get(name, name), name)
        self.device_combo.addItem("CPU", "cpu")
        if flow.cuda_available:
            self.device_combo.addItem("CUDA (GPU)", "cuda")
        for path in flow.base_models:
            self.base_combo.addItem(str(path), Path(path))
        self.epochs_spin.setValue(flow.epochs)

        self.scratch_radio.toggled.connect(self._on_choice)
        self.finetune_radio.toggled.connect(self._on_choice)
        self.base_combo.currentIndexChanged.connect(self._on_choice)
        self.preset_combo.currentIndexChanged.connect(self._on_choice)
        self.device_combo.currentIndexChanged.connect(self._on_choice)
        self.epochs_spin.valueChanged.connect(self._on_epochs)
        self.measure_button.clicked.connect(self.start_measuring)
        # choices often change in bursts (a radio pair toggles twice): measure once they settle
        self._measure_soon = QTimer(self)
        self._measure_soon.setSingleShot(True)
        self._measure_soon.setInterval(MEASURE_DELAY_MS)
        self._measure_soon.timeout.connect(self.start_measuring)

    def enter(self) -> None:
        """Shown (again): offer what the data allows, then measure."""
        allowed = self.flow.allowed_starts()
        reason = self.flow.scratch_blocker()
        self.scratch_radio.setEnabled(Start.SCRATCH in allowed)
        self.finetune_radio.setEnabled(Start.FINETUNE in allowed)
        self.scratch_reason.setText(reason or "")
        self.scratch_reason.setVisible(bool(reason))
        index = self.preset_combo.findData(self.flow.preset)
        self.preset_combo.setCurrentIndex(max(0, index))
        start = (
            self.flow.start
            if self.flow.start in allowed
            else (allowed[0] if allowed else Start.SCRATCH)
        )
        radio = self.scratch_radio if start is Start.SCRATCH else self.finetune_radio
        if radio.isChecked():
            self._on_choice()
        else:
            radio.setChecked(True)

    def _on_choice(self, *_args) -> None:
        if not (self.scratch_radio.isChecked() or self.finetune_radio.isChecked()):
            return
        start = Start.SCRATCH if self.scratch_radio.isChecked() else Start.FINETUNE
        self.flow.choose_start(
            start, self.base_combo.currentData() if start is Start.FINETUNE else None
        )
        self.flow.preset = self.preset_combo.currentData() or self.flow.preset
        self.flow.device = self.device_combo.currentData() or "cpu"
        self.base_combo.setEnabled(start is Start.FINETUNE)
        self.preset_combo.setEnabled(start is Start.SCRATCH)
        self.changed.emit()
        self.stop_measuring()
        self.estimate_label.setText("Time per epoch: measuring soon…")
        self._measure_soon.start()

    def _on_epochs(self, epochs: int) -> None:
        self.flow.epochs = epochs
        self._show_estimate()
        self.changed.emit()

    # ---- the measurement ------------------------------------------------------------------------
    def start_measuring(self) -> None:
        self.stop_measuring()
        self.estimate = None
        self.flow.seconds_per_epoch = None
        if self.flow.model_blocker() or self.flow.scan is None:
            self.estimate_label.setText("Time per epoch: -")
            return
        plan = RunPlan.from_flow(self.flow, self.runs_root, training_bars(self.flow.scan.cache_dir))
        self.estimate_label.setText(
            f"Measuring a few training steps on {self.flow.device.upper()}…"
        )
        worker = self.workers.run(
            lambda cancel: measure_epoch(plan, cancel),
            "measure",
            on_progress=self._on_progress,
            on_error=self._on_error,
        )
        worker.result.connect(lambda estimate, w=worker: self._on_result(w, estimate))
        worker.finished.connect(lambda w=worker: self._on_finished(w))
        self._measure = worker

    def stop_measuring(self) -> None:
        self._measure_soon.stop()
        if self._measure is not None:
            self._measure.cancel()
            self._measure = None

    @property
    def measuring(self) -> bool:
        return self._measure is not None

    def _on_progress(self, event) -> None:
        done, total = event
        self.estimate_label.setText(
            f"Measuring a few training steps on {self.flow.device.upper()}: {done} of {total}…"
        )

    def _on_result(self, worker: Worker, estimate: Estimate | None) -> None:
        if worker is not self._measure or estimate is None:
            return
        self.estimate = estimate
        self.flow.seconds_per_epoch = estimate.seconds_per_epoch
        self._show_estimate()

    def _on_error(self, message: str) -> None:
        self.estimate_label.setText(f"Could not measure the time per epoch: {message}")

    def _on_finished(self, worker: Worker) -> None:
        if worker is self._measure:
            self._measure = None
        self.changed.emit()

    def _show_estimate(self) -> None:
        e = self.estimate
        if e is None:
            return
        total = e.seconds_per_epoch * self.flow.epochs
        self.estimate_label.setText(
            f"Measured on this machine ({e.device}): {e.seconds_per_step:.2f} s per step × {e.epoch_steps} "
            f"steps = <b>{format_duration(e.seconds_per_epoch)} per epoch</b>; {self.flow.epochs} epochs ≈ "
            f"{format_duration(total)} (plus a validation after each epoch)."
        )
