"""The Model menu: load another model folder, go back to the default one, train one, choose the device."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

if TYPE_CHECKING:
    from emostudio.gui.model_control import ModelControl

DEVICES = (("auto", "Automatic"), ("cpu", "CPU"), ("cuda", "CUDA (GPU)"))


class ModelMenu(QMenu):
    load_requested = Signal(object)  # Path of a model folder, or None for the default model
    device_changed = Signal(str)
    train_requested = Signal()
    card_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("&Model", parent)
        self.status_action = self.addAction("No model loaded")
        self.status_action.setEnabled(False)
        self.card_action = self.addAction("Model &card…", self.card_requested.emit)
        self.card_action.setToolTip("What the model was trained on, its licences, its quality")
        self.card_action.setEnabled(False)
        self.addSeparator()
        self.open_action = self.addAction("Load model &folder…", self.choose_folder)
        self.default_action = self.addAction(
            "Use the &default model", lambda: self.load_requested.emit(None)
        )
        self.train_action = self.addAction("&Train a model on my music…", self.train_requested.emit)
        self.train_action.setToolTip(
            "Train a new model or fine-tune this one on your own MIDI files"
        )
        self.addSeparator()
        device_menu = self.addMenu("&Device")
        self.device_group = QActionGroup(self)
        self.device_actions: dict[str, QAction] = {}
        for key, label in DEVICES:
            action = device_menu.addAction(label)
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, k=key: self.device_changed.emit(k))
            self.device_group.addAction(action)
            self.device_actions[key] = action
        self.device_actions["auto"].setChecked(True)
        self.set_cuda_available(False)
        self._last_dir = ""

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.parentWidget(), "Load a model folder", self._last_dir
        )
        if folder:
            self._last_dir = folder
            self.load_requested.emit(Path(folder))

    def set_device(self, device: str) -> None:
        self.device_actions.get(device, self.device_actions["auto"]).setChecked(True)

    def set_cuda_available(self, available: bool) -> None:
        action = self.device_actions["cuda"]
        action.setEnabled(available)
        action.setToolTip("" if available else "No CUDA GPU on this machine")

    def set_card(self, model_dir: Path) -> None:
        """Model card… opens the card of ``model_dir``, if it has one."""
        from emostudio.model.store import CARD

        has = (model_dir / CARD).is_file()
        self.card_action.setEnabled(has)
        self.card_action.setToolTip(
            "What the model was trained on, its licences, its quality"
            if has
            else f"{model_dir.name} has no model card"
        )

    def set_status(self, text: str) -> None:
        self.status_action.setText(text)

    def follow(self, model: ModelControl) -> None:
        """Show what ``model`` is doing, its device, and whether CUDA can be chosen."""
        model.loading.connect(lambda where: self.set_status(f"Loading {where}…"))
        model.ready.connect(
            lambda engine: self.set_status(
                f"Model: {Path(engine.model_dir).name} on {engine.device}"
            )
        )
        model.ready.connect(lambda engine: self.set_card(Path(engine.model_dir)))
        model.failed.connect(
            lambda _reason: model.engine is None and self.set_status("No model loaded")
        )
        model.cuda_checked.connect(self.set_cuda_available)
        self.set_device(model.device)
