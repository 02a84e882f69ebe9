"""The Target emotion box: the pad (a target point or a drawn curve, and markers for how the input
and each take are heard), the curve buttons, and a line that says what the target is. Drawing and
clearing the curve are steps of the undo history (:mod:`emostudio.gui.edits`)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui import edits
from emostudio.gui.curve import curve_to_bars
from emostudio.gui.document import Document, Take
from emostudio.gui.pad import EmotionPad, PadMarker


class TargetPanel(QGroupBox):
    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__("Target emotion", parent)
        self.document = document
        self.bars = 1  # the bars a drawn curve is spread over (the transform panel's)
        self.pad = EmotionPad()
        self.pad.set_target(document.target)
        self.curve_button = QPushButton("✎ Draw curve")
        self.curve_button.setCheckable(True)
        self.curve_button.setToolTip(
            "Draw the emotion over time across the pad; it is spread over the bars"
        )
        self.clear_curve_button = QPushButton("Clear")
        self.clear_curve_button.setToolTip(
            "Forget the drawn curve: use the target point (Esc on the pad)"
        )
        self.label = QLabel()
        self.label.setObjectName("dim")
        self.label.setWordWrap(True)
        self.generate_on_pick_box = QCheckBox("Generate when I pick a point")
        self.generate_on_pick_box.setToolTip(
            "A click on the pad generates music there at once (with Listen while generating, "
            "it plays as it is written); a pick while a piece is being made waits for it"
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.pad, 1)
        curve_row = QHBoxLayout()
        curve_row.addWidget(self.curve_button)
        curve_row.addWidget(self.clear_curve_button)
        curve_row.addStretch(1)
        layout.addLayout(curve_row)
        layout.addWidget(self.label)
        layout.addWidget(self.generate_on_pick_box)

        self._marked_takes: set[int] = set()  # takes whose recognised emotion the pad shows
        self.pad.target_changed.connect(document.set_target)
        self.pad.curve_changed.connect(lambda curve: edits.set_curve(document, curve))
        self.curve_button.toggled.connect(self.pad.set_curve_mode)
        self.clear_curve_button.clicked.connect(self.pad.clear_curve)
        document.target_changed.connect(self.pad.set_target)  # an opened session's target
        document.target_changed.connect(self.show_target)
        document.curve_changed.connect(self.show_target)
        document.curve_changed.connect(self.pad.show_curve)  # an undone curve comes back
        for signal in (
            document.input_changed,
            document.input_recognised,
            document.current_changed,
            document.takes_changed,
        ):
            signal.connect(self.show_markers)
        document.take_updated.connect(self._on_take_updated)
        self.show_target()
        self.show_markers()

    def set_bars(self, bars: int) -> None:
        self.bars = bars
        self.show_target()

    def show_target(self, *_args) -> None:
        curve = self.document.curve
        if curve:
            bars = curve_to_bars(curve, self.bars)
            self.label.setText(f"Curve over {self.bars} bars: {bars[0].name} → {bars[-1].name}")
        else:
            self.label.setText(f"Target: {self.document.target}")
        self.clear_curve_button.setEnabled(bool(curve))

    def show_markers(self, *_args) -> None:
        """Where the model hears the input and each take, on the pad (the current take marked)."""
        d = self.document
        markers = []
        if d.input_recognition is not None:
            markers.append(PadMarker("input", d.input_recognition.emotion, kind="input"))
        for take in d.takes:
            if take.recognition is not None:
                markers.append(
                    PadMarker(str(take.number), take.recognition.emotion, current=take is d.current)
                )
        self.pad.set_markers(markers)
        self._marked_takes = {t.number for t in d.takes if t.recognition is not None}

    def _on_take_updated(self, take: Take) -> None:
        if take.recognition is not None and take.number not in self._marked_takes:
            self.show_markers()
