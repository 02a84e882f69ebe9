"""The transport bar: play / stop / loop, what plays (A input or B take), where it sounds.

Outputs are FluidSynth (live audio through a soundfont) or a MIDI output port; the port list is
read again with the refresh button. The bar holds no playback state of its own: the window tells
it what is playing and the position, and it emits what the user asked for.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QWidget,
)

from emostudio.playback import PortListing, list_output_ports

FLUIDSYNTH = "fluidsynth"
MIDI = "midi"


def format_time(seconds: float) -> str:
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


class TransportBar(QWidget):
    play_requested = Signal()  # play, or stop when playing (the space bar)
    stop_requested = Signal()
    loop_toggled = Signal(bool)
    source_changed = Signal(str)  # "input" | "take"
    output_changed = Signal(str, str)  # kind, MIDI port name ("" for FluidSynth)
    soundfont_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transport")
        self.play_button = QToolButton()
        self.play_button.setText("▶  Play")
        self.play_button.setToolTip("Play or stop (Space)")
        self.play_button.setMinimumWidth(90)
        self.stop_button = QToolButton()
        self.stop_button.setText("■")
        self.stop_button.setToolTip("Stop and go back to the start")
        self.loop_button = QToolButton()
        self.loop_button.setText("⟲ Loop")
        self.loop_button.setCheckable(True)
        self.loop_button.setToolTip("Loop playback (L): the bars selected on the roll, or all")
        self.a_button = QToolButton()
        self.a_button.setText("A · input")
        self.b_button = QToolButton()
        self.b_button.setText("B · take")
        self.a_button.setToolTip("Play the input piece (A)")
        self.b_button.setToolTip("Play the current take (B)")
        self.source_group = QButtonGroup(self)
        for button in (self.a_button, self.b_button):
            button.setCheckable(True)
            self.source_group.addButton(button)
        self.b_button.setChecked(True)
        self.time_label = QLabel(format_time(0) + " / " + format_time(0))
        self.time_label.setObjectName("time")
        self.time_label.setMinimumWidth(130)
        self.time_label.setAlignment(Qt.AlignCenter)

        self.output_box = QComboBox()
        self.output_box.setMinimumWidth(220)
        self.output_box.setMaximumWidth(320)
        self.output_box.setToolTip(
            "Where playback sounds: FluidSynth (audio) or a MIDI output port"
        )
        self.output_box.setAccessibleName("Output")
        self.refresh_button = QToolButton()
        self.refresh_button.setText("⟳")
        self.refresh_button.setToolTip("Look for MIDI output ports again")
        self.soundfont_button = QToolButton()
        self.soundfont_button.setToolTip("Choose the General MIDI soundfont FluidSynth plays with")
        self.soundfont_button.setMaximumWidth(260)
        self.ports_note = QLabel()
        self.ports_note.setObjectName("dim")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(6)
        for widget in (self.play_button, self.stop_button, self.loop_button):
            layout.addWidget(widget)
        layout.addSpacing(10)
        layout.addWidget(self.a_button)
        layout.addWidget(self.b_button)
        layout.addSpacing(10)
        layout.addWidget(self.time_label)
        layout.addStretch(1)
        layout.addWidget(QLabel("Output"))
        layout.addWidget(self.output_box)
        layout.addWidget(self.refresh_button)
        layout.addWidget(self.soundfont_button)

        self._soundfont = ""
        self._filling = False
        self.set_soundfont("")
        self.play_button.clicked.connect(self.play_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.loop_button.toggled.connect(self.loop_toggled)
        self.a_button.toggled.connect(lambda on: on and self.source_changed.emit("input"))
        self.b_button.toggled.connect(lambda on: on and self.source_changed.emit("take"))
        self.refresh_button.clicked.connect(lambda: self.refresh_ports())
        self.output_box.currentIndexChanged.connect(self._on_output)
        self.soundfont_button.clicked.connect(self.choose_soundfont)

    # ---- state shown -----------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("❚❚  Stop" if playing else "▶  Play")

    def set_time(self, seconds: float, total: float) -> None:
        self.time_label.setText(f"{format_time(seconds)} / {format_time(total)}")

    @property
    def source(self) -> str:
        return "input" if self.a_button.isChecked() else "take"

    def set_source(self, source: str) -> None:
        (self.a_button if source == "input" else self.b_button).setChecked(True)

    # ---- outputs ---------------------------------------------------------------------------
    def refresh_ports(self, keep: tuple[str, str] | None = None) -> PortListing:
        """Fill the output list: FluidSynth, then the MIDI ports (or why there are none)."""
        keep = keep or self.output
        listing = list_output_ports()
        self._filling = True
        self.output_box.clear()
        self.output_box.addItem("FluidSynth (audio)", (FLUIDSYNTH, ""))
        for name in listing.names:
            self.output_box.addItem(f"MIDI · {name}", (MIDI, name))
        if not listing.names:
            self.output_box.addItem(listing.message, None)
            item = self.output_box.model().item(self.output_box.count() - 1)
            item.setEnabled(False)
        index = self.output_box.findData(keep)
        self.output_box.setCurrentIndex(max(0, index))
        self._filling = False
        self.output_box.setToolTip(
            "Where playback sounds: FluidSynth (audio) or a MIDI output port\n" + listing.message
        )
        if index < 0 and keep != (FLUIDSYNTH, ""):
            self.output_changed.emit(*self.output)
        return listing

    @property
    def output(self) -> tuple[str, str]:
        data = self.output_box.currentData()
        return tuple(data) if data else (FLUIDSYNTH, "")

    def set_soundfont(self, path: str) -> None:
        self._soundfont = path
        name = Path(path).name if path else "default soundfont"
        self.soundfont_button.setText(f"♪ {name}")
        self.soundfont_button.setToolTip(
            f"Soundfont: {path or 'the best General MIDI soundfont found on this system'}\nClick to choose another"
        )

    @property
    def soundfont(self) -> str:
        return self._soundfont

    def choose_soundfont(self) -> None:
        start = str(Path(self._soundfont).parent) if self._soundfont else "/usr/share/sounds"
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a soundfont", start, "Soundfonts (*.sf2 *.sf3)"
        )
        if path:
            self.set_soundfont(path)
            self.soundfont_chosen.emit(path)

    def _on_output(self, _index: int) -> None:
        if not self._filling and self.output_box.currentData():
            self.output_changed.emit(*self.output)
