"""The donor piece: a second MIDI file the input takes an element from (its rhythm or its key).

Drop a file on the panel (or File ▸ Open donor…); "Take its rhythm" gives the input the donor's
rhythm latents with its own key latents, "Take its key" the other way round
(``Engine.transfer_element``). The panel only shows the donor and emits requests; the window loads
the file and starts the work.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from emostudio.gui.files import accepts_drop, dropped_paths
from emostudio.gui.input_panel import WrappingLabel

NO_DONOR = "Drop a second MIDI file here to take its rhythm or its key"


class DonorPanel(QGroupBox):
    file_dropped = Signal(object)  # Path
    open_requested = Signal()
    clear_requested = Signal()
    element_requested = Signal(str)  # "rhythm" or "key"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Donor", parent)
        self.setAcceptDrops(True)
        self._has_donor = False
        self._ready = False
        self.label = WrappingLabel(NO_DONOR)
        self.label.setObjectName("dim")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("Open a MIDI file as the donor piece")
        self.clear_button = QPushButton("Clear")
        self.rhythm_button = QPushButton("Take its rhythm")
        self.rhythm_button.setToolTip(
            "The input with the donor's rhythm (its rhythm latents) and its own key"
        )
        self.key_button = QPushButton("Take its key")
        self.key_button.setToolTip(
            "The input with the donor's key (its key latents) and its own rhythm"
        )
        files_row = QHBoxLayout()
        files_row.addWidget(self.open_button)
        files_row.addWidget(self.clear_button)
        files_row.addStretch(1)
        take_row = QHBoxLayout()
        take_row.addWidget(self.rhythm_button)
        take_row.addWidget(self.key_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addLayout(files_row)
        layout.addLayout(take_row)
        self.open_button.clicked.connect(self.open_requested)
        self.clear_button.clicked.connect(self.clear_requested)
        self.rhythm_button.clicked.connect(lambda: self.element_requested.emit("rhythm"))
        self.key_button.clicked.connect(lambda: self.element_requested.emit("key"))
        self._refresh()

    def set_donor(self, description: str | None) -> None:
        """The donor's one-line description, or None for no donor."""
        self._has_donor = description is not None
        self.label.setText(description or NO_DONOR)
        self._refresh()

    def set_ready(self, ready: bool) -> None:
        """Whether a model is idle and an input is open (the take buttons need both and a donor)."""
        self._ready = ready
        self._refresh()

    def _refresh(self) -> None:
        self.clear_button.setEnabled(self._has_donor)
        for button in (self.rhythm_button, self.key_button):
            button.setEnabled(self._ready and self._has_donor)

    # ---- drops -------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if accepts_drop(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if accepts_drop(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.file_dropped.emit(Path(paths[0]))
