"""Finish page: the run's validation summary, examples to audition, and "Use this model"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui.worker import Worker, Workers
from emostudio.midi import Song
from emostudio.wizard.finish import (
    EXAMPLES_FOLDER,
    Example,
    fit_generation_prior,
    generate_examples,
    validation_lines,
    write_model,
)
from emostudio.wizard.plan import RunPlan

EXAMPLES_FORMAT = "generating examples: bar %v of %m"


class FinishPage(QWidget):
    changed = Signal()
    use_model = Signal(object)  # Path of the new model folder

    def __init__(
        self,
        workers: Workers,
        play_song: Callable[[Song], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.workers = workers
        self.play_song = play_song
        self.plan: RunPlan | None = None
        self.model_dir: Path | None = None
        self.examples: list[Example] = []
        self._worker: Worker | None = None

        self.summary_label = QLabel()
        self.summary_label.setWordWrap(True)
        self.model_label = QLabel()
        self.model_label.setObjectName("dim")
        self.model_label.setWordWrap(True)
        self.examples_progress = QProgressBar()
        self.examples_progress.setFormat(EXAMPLES_FORMAT)
        self.example_list = QListWidget()
        self.play_button = QPushButton("▶ Play example")
        self.play_button.setEnabled(False)
        self.play_button.setVisible(play_song is not None)
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Load the new model in the main window")
        buttons = QHBoxLayout()
        buttons.addWidget(self.play_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.model_label)
        layout.addWidget(QLabel("Examples from the new model, one per quadrant:"))
        layout.addWidget(self.examples_progress)
        layout.addWidget(self.example_list, 1)
        layout.addLayout(buttons)

        self.play_button.clicked.connect(self.play_selected)
        self.example_list.currentRowChanged.connect(
            lambda row: self.play_button.setEnabled(row >= 0)
        )
        self.example_list.itemDoubleClicked.connect(lambda _item: self.play_selected())
        self.use_button.clicked.connect(lambda: self.use_model.emit(self.model_dir))

    def enter(self, plan: RunPlan, device: str) -> None:
        """Write the model folder and generate the examples, in the background."""
        if self._worker is not None or (self.plan == plan and self.model_dir is not None):
            return
        self.plan = plan
        self.use_button.setEnabled(False)
        self.summary_label.setText("Writing the model folder…")
        self.example_list.clear()
        self.examples = []

        def job(cancel):
            model_dir = write_model(plan)
            yield ("model", model_dir)
            for done, total in fit_generation_prior(plan, model_dir, device=device, cancel=cancel):
                yield ("prior", done, total)
            examples = yield from generate_examples(
                model_dir, plan.run_dir / EXAMPLES_FOLDER, device=device, cancel=cancel
            )
            return model_dir, examples

        self._worker = self.workers.run(
            job,
            "finish",
            on_progress=self._on_progress,
            on_result=self._on_result,
            on_error=self._on_error,
        )
        self._worker.finished.connect(self._on_finished)

    def _on_progress(self, event) -> None:
        if event[0] == "model":
            self.model_dir = Path(event[1])
            self._show_model()
            return
        if event[0] == "prior":
            _, done, total = event
            self.examples_progress.setFormat("fitting the generation prior… %p%")
            self.examples_progress.setRange(0, total)
            self.examples_progress.setValue(done)
            return
        self.use_button.setEnabled(True)  # the folder is complete, its fitted prior included
        self.examples_progress.setFormat(EXAMPLES_FORMAT)
        done, total = event
        self.examples_progress.setRange(0, total)
        self.examples_progress.setValue(done)

    def _show_model(self) -> None:
        from emostudio.model.store import read_metrics

        metrics = read_metrics(self.model_dir) or None
        self.summary_label.setText("<br>".join(validation_lines(metrics)))
        self.model_label.setText(
            f"The model is saved as a model folder (with its model card): {self.model_dir}"
        )

    def _on_result(self, result) -> None:
        _, self.examples = result
        for example in self.examples:
            self.example_list.addItem(QListWidgetItem(example.label))
        if self.examples:
            self.example_list.setCurrentRow(0)
        self.changed.emit()

    def _on_error(self, message: str) -> None:
        self.summary_label.setText(
            self.summary_label.text() + f"<br><span style='color:#ff6b6b'>{message}</span>"
        )

    def _on_finished(self) -> None:
        self._worker = None
        self.use_button.setEnabled(self.model_dir is not None)
        self.examples_progress.setVisible(False)
        self.changed.emit()

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def play_selected(self) -> None:
        row = self.example_list.currentRow()
        if self.play_song is not None and 0 <= row < len(self.examples):
            self.play_song(self.examples[row].song)
