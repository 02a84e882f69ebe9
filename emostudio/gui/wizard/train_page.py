"""Train page: the ``emostudio train`` child with progress, times, live curves and a log.

The child runs through :class:`~emostudio.wizard.runner.TrainingProcess` in a worker: its events
arrive here as the worker's progress. Pause sends SIGTERM (the child saves a checkpoint and
exits); Resume starts it again with ``--resume``; Cancel asks, then stops it the same way and
keeps the checkpoint. What the child's end means is decided by the Qt-free runner.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui import theme
from emostudio.gui.worker import Worker, Workers
from emostudio.wizard.flow import RunState, WizardFlow
from emostudio.wizard.plan import RunPlan, training_bars
from emostudio.wizard.runner import (
    Outcome,
    RunProgress,
    TrainingProcess,
    checkpoint_info,
    format_duration,
)

#: The log view keeps this many lines.
MAX_LOG_LINES = 2000
AROUSAL_COLOUR = "#ff8c5a"
VALENCE_COLOUR = "#7bd88f"


class TrainPage(QWidget):
    changed = Signal()

    def __init__(
        self, flow: WizardFlow, workers: Workers, runs_root: Path, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.flow = flow
        self.workers = workers
        self.runs_root = Path(runs_root)
        self.plan: RunPlan | None = None
        self.process: TrainingProcess | None = None
        self.progress = RunProgress()
        self.outcome: Outcome | None = None
        self._worker: Worker | None = None
        self._started_at: float | None = None

        self.settings_label = QLabel()
        self.settings_label.setObjectName("dim")
        self.settings_label.setWordWrap(True)
        self.start_button = QPushButton("Start training")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Save a checkpoint and stop; Resume continues from it")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this run (its last checkpoint is kept)")
        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("step %v of %m")
        self.times_label = QLabel("Elapsed - · remaining -")
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)

        pg.setConfigOptions(antialias=True)
        self.loss_plot = pg.PlotWidget(title="Token loss (cross-entropy)")
        self.loss_plot.setBackground(theme.BASE)
        self.loss_plot.addLegend(offset=(-10, 10))
        self.loss_plot.setLabel("bottom", "step")
        self.train_loss_curve = self.loss_plot.plot(
            pen=pg.mkPen(theme.ACCENT, width=2), name="training token loss"
        )
        self.val_loss_curve = self.loss_plot.plot(
            pen=pg.mkPen(theme.WARNING, width=2),
            symbol="o",
            symbolSize=6,
            symbolBrush=theme.WARNING,
            name="validation token loss",
        )
        self.accuracy_plot = pg.PlotWidget(title="Validation accuracy")
        self.accuracy_plot.setBackground(theme.BASE)
        self.accuracy_plot.addLegend(offset=(-10, 10))
        self.accuracy_plot.setLabel("bottom", "step")
        self.accuracy_plot.setYRange(0.0, 1.0)
        self.accuracy_plot.setLimits(yMin=-0.05, yMax=1.05)
        self.accuracy_curves = {}
        for key, name, colour in (
            ("arousal", "arousal q(y|x)", AROUSAL_COLOUR),
            ("valence", "valence q(y|x)", VALENCE_COLOUR),
            ("token", "next token", theme.DIM_TEXT),
        ):
            self.accuracy_curves[key] = self.accuracy_plot.plot(
                pen=pg.mkPen(colour, width=2),
                symbol="o",
                symbolSize=6,
                symbolBrush=colour,
                name=name,
            )
        plots = QHBoxLayout()
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.accuracy_plot)

        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(MAX_LOG_LINES)
        self.log_view.setMaximumHeight(140)

        layout = QVBoxLayout(self)
        layout.addWidget(self.settings_label)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.times_label)
        layout.addWidget(self.message_label)
        layout.addLayout(plots, 1)
        layout.addWidget(self.log_view)

        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self._show_times)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.cancel_button.clicked.connect(self.ask_cancel)
        self._show_buttons()

    # ---- entering ---------------------------------------------------------------------------------
    def enter(self) -> None:
        if self.plan is None and self.flow.scan is not None:
            self.settings_label.setText(
                "Ready to train: "
                + self.flow.start.value
                + f", preset {self.flow.preset}, {self.flow.epochs} epochs on {self.flow.device}."
            )
        self._show_buttons()

    def open_run(self, plan: RunPlan) -> None:
        """An earlier run: show its history and offer Resume (or Next when it had finished)."""
        self.plan = plan
        self.progress = RunProgress.from_history(plan.run_dir)
        info = checkpoint_info(plan.run_dir)
        finished = info is not None and info["step"] >= info["max_steps"]
        self.flow.run_dir = plan.run_dir
        self.flow.run_state = RunState.FINISHED if finished else RunState.PAUSED
        self.settings_label.setText("<br>".join(plan.describe()))
        self._set_message(
            f"Run {plan.run_dir.name}: "
            + (
                "finished."
                if finished
                else f"stopped at step {self.progress.step}; Resume continues it."
            )
        )
        self._show_progress()
        self._show_buttons()
        self.changed.emit()

    # ---- actions ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self.running or self.flow.scan is None:
            return
        self.plan = RunPlan.from_flow(
            self.flow, self.runs_root, training_bars(self.flow.scan.cache_dir)
        )
        self.plan.write()
        self.flow.run_dir = self.plan.run_dir
        self.settings_label.setText("<br>".join(self.plan.describe()))
        self._launch(self.plan.command(), RunProgress())

    def resume(self) -> None:
        if self.running or self.plan is None:
            return
        has_checkpoint = checkpoint_info(self.plan.run_dir) is not None
        self._launch(
            self.plan.command(resume=has_checkpoint), RunProgress.from_history(self.plan.run_dir)
        )

    def pause(self) -> None:
        if self.process is not None and self.running:
            self._log("Pausing: saving a checkpoint…")
            self.process.pause()
            self.pause_button.setEnabled(False)

    def ask_cancel(self) -> None:
        if not self.running:
            return
        answer = QMessageBox.question(
            self,
            "Cancel training",
            "Stop this training run? Its last checkpoint is kept: the run can be resumed later from "
            "'Continue an earlier run'.",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )
        if answer == QMessageBox.Yes:
            self.cancel()

    def cancel(self) -> None:
        if self.process is not None and self.running:
            self._log("Cancelling: saving a checkpoint…")
            self.process.cancel()
            self._show_buttons()

    def kill(self) -> None:
        """SIGKILL the child (what a crash or the OOM killer does); for tests and the last resort."""
        if self.process is not None:
            self.process.kill()

    @property
    def running(self) -> bool:
        return self._worker is not None

    def _launch(self, command: list[str], progress: RunProgress) -> None:
        self.progress = progress
        self.outcome = None
        self.process = TrainingProcess(command, self.plan.run_dir, progress)
        self.flow.run_state = RunState.RUNNING
        self._set_message("Starting the training process…")
        self._log("$ " + " ".join(command))
        process = self.process
        worker = self.workers.run(
            lambda cancel: process.events(cancel),
            "training",
            on_progress=self._on_event,
            on_error=self._on_error,
        )
        worker.result.connect(self._on_outcome)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self._started_at = time.monotonic()
        self.clock.start()
        self._show_progress()
        self._show_buttons()
        self.changed.emit()

    # ---- the child's events -------------------------------------------------------------------------
    def _on_event(self, ev) -> None:
        if isinstance(ev, str):
            self._log(ev)
            return
        kind = ev["event"]
        if kind == "start":
            verb = "Resumed" if ev.get("resumed") else "Started"
            self._set_message(
                f"{verb} on {ev.get('device')}: {ev.get('n_params', 0):,} parameters, "
                f"{ev.get('epoch_steps')} steps per epoch."
            )
            self._log(f"{verb} at step {ev['step']} of {ev['max_steps']}")
        elif kind == "val":
            m = ev["metrics"]
            acc = (
                ""
                if m.get("arousal_accuracy") is None
                else f", arousal {m['arousal_accuracy']:.2f}, valence {m['valence_accuracy']:.2f}"
            )
            self._log(
                f"step {ev['step']}: validation token loss {m['token_loss']:.3f}{acc}"
                + (" (best so far)" if ev.get("best") else "")
            )
        elif kind == "checkpoint":
            self._log(f"step {ev['step']}: checkpoint {ev['kind']} saved")
        elif kind == "done":
            self._log(f"done ({ev['reason']}) at step {ev['step']}")
        elif kind == "error":
            self._log(f"error: {ev.get('message')}")
        self._show_progress()

    def _on_outcome(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.flow.run_state = outcome.state
        failed = outcome.state is RunState.FAILED
        self._set_message(outcome.message, error=failed and outcome.returncode != 0)
        if outcome.returncode != 0 and outcome.log_tail:
            self._log("---- the end of the training log ----")
            for line in outcome.log_tail:
                self._log(line)

    def _on_error(self, message: str) -> None:
        self.flow.run_state = RunState.FAILED
        self._set_message(f"Could not run the training process: {message}", error=True)

    def _on_finished(self) -> None:
        self._worker = None
        self.clock.stop()
        if self.flow.run_state is RunState.RUNNING:  # the job ended without an outcome
            self.flow.run_state = RunState.FAILED
        self._show_progress()
        self._show_buttons()
        self.changed.emit()

    # ---- showing ------------------------------------------------------------------------------------
    def _show_buttons(self) -> None:
        state = self.flow.run_state
        running = self.running
        self.start_button.setEnabled(
            not running and self.plan is None and state is RunState.NOT_STARTED
        )
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)
        self.resume_button.setEnabled(
            not running and self.plan is not None and state in (RunState.PAUSED, RunState.FAILED)
        )

    def _show_progress(self) -> None:
        p = self.progress
        self.progress_bar.setRange(0, max(1, p.max_steps))
        self.progress_bar.setValue(p.step)
        self.train_loss_curve.setData(*_paired(p.steps, p.token_losses), connect="finite")
        for curve, values in (
            (self.val_loss_curve, p.val_token_loss),
            (self.accuracy_curves["arousal"], p.val_arousal),
            (self.accuracy_curves["valence"], p.val_valence),
            (self.accuracy_curves["token"], p.val_token_accuracy),
        ):
            x, y = _paired(p.val_steps, values)
            measured = np.isfinite(y)  # no emotion accuracy without labelled validation clips
            curve.setData(x[measured], y[measured])
        self._show_times()

    def _show_times(self) -> None:
        elapsed = (
            time.monotonic() - self._started_at
            if self._started_at is not None and self.running
            else None
        )
        remaining = self.progress.remaining_s() if self.running else None
        epoch = (
            f" · epoch {self.progress.step / self.progress.epoch_steps:.1f}"
            if self.progress.epoch_steps
            else ""
        )
        self.times_label.setText(
            f"Elapsed {format_duration(elapsed)} · remaining {format_duration(remaining)}{epoch}"
        )

    def _set_message(self, text: str, error: bool = False) -> None:
        self.message_label.setStyleSheet(f"color: {theme.ERROR};" if error else "")
        self.message_label.setText(text)

    def _log(self, line: str) -> None:
        self.log_view.appendPlainText(line)


def _paired(xs: list, ys: list) -> tuple[np.ndarray, np.ndarray]:
    """The points of a curve whose two lists the runner's thread may be appending to while the
    window draws them (a step is appended before its values): the pairs complete so far."""
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    n = min(len(x), len(y))
    return x[:n], y[:n]
