"""The window's status bar: one message line (errors in red, and logged), the progress of a long
file job, and what the model is doing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from emostudio.gui import theme
from emostudio.gui.progress_bar import show_progress

if TYPE_CHECKING:
    from emostudio.gui.model_control import ModelControl

log = logging.getLogger(__name__)

MESSAGE_MS = 12_000


class StatusLine:
    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.model_label = QLabel("no model")
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(160)
        self.job_progress.setVisible(False)
        bar.addPermanentWidget(self.job_progress)
        bar.addPermanentWidget(self.model_label)

    def show(self, text: str, error: bool = False) -> None:
        """One line in the status bar (errors in red, and logged)."""
        if error:
            log.warning("%s", text)
        colour = theme.ERROR if error else theme.DIM_TEXT
        self.bar.setStyleSheet(f"QStatusBar {{ color: {colour}; }}")
        self.bar.showMessage(text, MESSAGE_MS)

    def message(self) -> str:
        return self.bar.currentMessage()

    def show_progress(self, done: int | None, total: int = 0) -> None:
        """``done`` of ``total`` in the progress bar; None hides it."""
        if done is None:
            self.job_progress.setVisible(False)
            return
        self.job_progress.setVisible(True)
        show_progress(self.job_progress, done, total)

    def follow_model(self, model: ModelControl) -> None:
        """The model label says whether the model is loading, ready (which, where) or failed."""
        label = self.model_label
        model.loading.connect(lambda _where: label.setText("loading model…"))
        model.ready.connect(
            lambda engine: label.setText(f"ready · {Path(engine.model_dir).name} · {engine.device}")
        )

        def failed(reason: str) -> None:
            if model.engine is None:
                label.setText("model: error")
            label.setToolTip(f"The last model folder could not be loaded: {reason}")

        model.failed.connect(failed)
