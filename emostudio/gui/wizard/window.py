"""The training wizard's window: the four pages, Back / Next, and the reason Next is blocked.

All decisions (page order, what blocks Next, what is offered) are the Qt-free
:class:`~emostudio.wizard.flow.WizardFlow`'s; this window shows it and moves between pages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui import theme
from emostudio.gui.wizard.data_page import DataPage
from emostudio.gui.wizard.finish_page import FinishPage
from emostudio.gui.wizard.model_page import ModelPage
from emostudio.gui.wizard.train_page import TrainPage
from emostudio.gui.worker import Workers
from emostudio.midi import Song
from emostudio.wizard.flow import Page, RunState, WizardFlow
from emostudio.wizard.plan import PRESETS, RunPlan, default_cache_root, default_runs_root
from emostudio.wizard.runs import RunInfo

#: How long closing waits for a paused child to save its checkpoint.
CLOSE_WAIT_S = 120.0


class TrainingWizard(QDialog):
    """From folders of MIDI to a trained model. ``model_ready`` carries the new model folder."""

    model_ready = Signal(object)

    def __init__(
        self,
        parent: QWidget | None = None,
        base_models: Sequence[Path] = (),
        cuda_available: bool = False,
        runs_root: Path | None = None,
        cache_root: Path | None = None,
        play_song: Callable[[Song], None] | None = None,
        presets: Mapping[str, Mapping] | None = None,
        train_defaults: Mapping[str, object] | None = None,
        scan_jobs: int = 1,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model on your music")
        self.resize(1100, 760)
        self._ask_before_pausing = True  # False: closing pauses a run without a question
        self.runs_root = Path(runs_root) if runs_root else default_runs_root()
        cache_root = Path(cache_root) if cache_root else default_cache_root()
        self.flow = WizardFlow(
            base_models=[Path(p) for p in base_models],
            cuda_available=cuda_available,
            presets=dict(presets or PRESETS),
            train_defaults=dict(train_defaults or {}),
        )
        if self.flow.preset not in self.flow.presets:
            self.flow.preset = next(iter(self.flow.presets))
        self.workers = Workers(self)

        self.data_page = DataPage(self.flow, self.workers, cache_root, self.runs_root, scan_jobs)
        self.model_page = ModelPage(self.flow, self.workers, self.runs_root)
        self.train_page = TrainPage(self.flow, self.workers, self.runs_root)
        self.finish_page = FinishPage(self.workers, play_song)
        self.pages = {
            Page.DATA: self.data_page,
            Page.MODEL: self.model_page,
            Page.TRAIN: self.train_page,
            Page.FINISH: self.finish_page,
        }
        self.stack = QStackedWidget()
        for page in Page:
            self.stack.addWidget(self.pages[page])

        self.steps = QListWidget()
        self.steps.addItems([f"{p.value + 1}. {p.title}" for p in Page])
        self.steps.setFixedWidth(130)
        self.steps.setEnabled(False)  # shows where we are; moving is Back / Next
        self.blocker_label = QLabel()
        self.blocker_label.setWordWrap(True)
        self.blocker_label.setStyleSheet(f"color: {theme.WARNING};")
        self.back_button = QPushButton("< Back")
        self.next_button = QPushButton("Next >")
        self.next_button.setDefault(True)
        self.close_button = QPushButton("Close")
        bottom = QHBoxLayout()
        bottom.addWidget(self.blocker_label, 1)
        bottom.addWidget(self.back_button)
        bottom.addWidget(self.next_button)
        bottom.addWidget(self.close_button)
        middle = QHBoxLayout()
        middle.addWidget(self.steps)
        middle.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(middle, 1)
        layout.addLayout(bottom)

        for page in self.pages.values():
            page.changed.connect(self.refresh)
        self.data_page.resume_requested.connect(self.resume_run)
        self.finish_page.use_model.connect(self._use_model)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        self.close_button.clicked.connect(self.close)
        if parent is not None:
            parent.installEventFilter(self)  # closing the main window closes (and asks) here first
        self.refresh()

    # ---- moving ----------------------------------------------------------------------------------
    def next(self) -> None:
        if self.flow.blocker() or self._busy_here():
            return
        if self.flow.page is Page.MODEL:
            self.model_page.stop_measuring()
        self.flow.next()
        self._enter()

    def back(self) -> None:
        if not self.flow.can_go_back():
            return
        if self.flow.page is Page.MODEL:
            self.model_page.stop_measuring()
        self.flow.back()
        self._enter()

    def resume_run(self, info: RunInfo) -> None:
        """Continue an earlier run: straight to the Train page with its history."""
        self.flow.resume_run(info.run_dir)
        self.train_page.open_run(info.plan)
        self._enter()

    def _enter(self) -> None:
        page = self.flow.page
        self.stack.setCurrentIndex(page.value)
        if page is Page.MODEL:
            self.model_page.enter()
        elif page is Page.TRAIN:
            self.train_page.enter()
        elif page is Page.FINISH:
            plan = self.train_page.plan
            self.finish_page.enter(plan, self.flow.device if plan is None else plan.device)
        self.refresh()

    def _busy_here(self) -> bool:
        return self.flow.page is Page.DATA and self.data_page.scanning

    def refresh(self) -> None:
        page = self.flow.page
        self.steps.setCurrentRow(page.value)
        reason = self.flow.blocker() if page is not Page.FINISH else None
        self.blocker_label.setText(reason or "")
        self.next_button.setEnabled(page is not Page.FINISH and reason is None)
        self.next_button.setVisible(page is not Page.FINISH)
        self.back_button.setEnabled(self.flow.can_go_back())

    # ---- the end -----------------------------------------------------------------------------------
    def _use_model(self, model_dir: Path) -> None:
        self.model_ready.emit(Path(model_dir))

    @property
    def plan(self) -> RunPlan | None:
        return self.train_page.plan

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.parent()
            and event.type() == QEvent.Close
            and self.isVisible()
            and not self.close()
        ):
            event.ignore()
            return True
        return False

    def close_pausing(self) -> bool:
        """Close without asking: a run in progress is paused (its checkpoint saved), as when the
        app is ended by a signal (SIGTERM, Ctrl-C)."""
        self._ask_before_pausing = False
        try:
            return self.close()
        finally:
            self._ask_before_pausing = True

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.train_page.running:
            if self._ask_before_pausing:
                answer = QMessageBox.question(
                    self,
                    "Training is running",
                    "Training is still running. Pause it (a checkpoint is saved; continue it later "
                    "with 'Continue an earlier run') and close the wizard?",
                    QMessageBox.Yes | QMessageBox.No,
                    QMessageBox.No,
                )
                if answer != QMessageBox.Yes:
                    event.ignore()
                    return
            self.train_page.pause()
            if self.train_page.process is not None:
                self.train_page.process.wait(CLOSE_WAIT_S)
        self.model_page.stop_measuring()
        self.workers.cancel_all()
        self.workers.wait(int(CLOSE_WAIT_S * 1000))
        if self.flow.run_state is RunState.RUNNING:
            self.flow.run_state = RunState.PAUSED
        event.accept()


def open_wizard(window, **options) -> TrainingWizard:
    """Open the wizard from the main window: the default and the loaded model can be fine-tuned,
    examples play through the window's player, and "Use this model" loads the new model there.
    ``options`` go to :class:`TrainingWizard` (tests give their own folders and presets)."""
    import torch

    from emostudio.generation.loading import default_model_dir

    candidates = [default_model_dir()]
    engine = getattr(getattr(window, "model", None), "engine", None)
    if engine is not None:
        candidates.insert(0, Path(engine.model_dir))
    base_models = [p for p in dict.fromkeys(candidates) if (p / "config.json").is_file()]
    playback = getattr(window, "playback", None)
    play_song = getattr(playback, "play", None) or getattr(window, "play_song", None)
    wizard = TrainingWizard(
        window,
        **{
            "base_models": base_models,
            "cuda_available": torch.cuda.is_available(),
            "play_song": play_song,
            **options,
        },
    )
    wizard.model_ready.connect(window.load_model)
    wizard.setAttribute(Qt.WA_DeleteOnClose)
    wizard.show()
    return wizard
