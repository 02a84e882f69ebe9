"""The controls of a generation or transfer: lambda, dimensions, method, element locks, bars,
temperature, seed, actions.

λ's left end is the input itself (every method returns it unchanged at 0). The method is "edit"
(the piece's own notes edited from the model's hearing of it: the default) or "rewrite" (re-written from its
moved latents); the Keep group's ticked elements stay exactly (edit only: a rewrite keeps the tempo
map and nothing else, so the group is disabled for it).

The panel only holds values and emits requests; the window starts the work. While a job runs the
panel shows its progress and offers Cancel.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractSlider,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from emostudio.decoding import (
    DEFAULT_BASS,
    DEFAULT_CADENCE,
    DEFAULT_FORM,
    DEFAULT_PEDAL,
    DEFAULT_TEMPERATURE,
    FORMS,
    MAX_BASS,
    MAX_VARIATIONS,
    PANEL_MAX_BARS,
)
from emostudio.gui.progress_bar import show_progress
from emostudio.transform import Element

SLIDER_STEPS = 100
STRENGTH_REST_MS = 400  # λ moved by keys is chosen once it rests this long
RANDOM_SEED = -1  # the seed box's special value: a fresh seed every time
#: the Keep boxes' labels where the element's name is too long for the panel, and their tooltips
KEEP_LABELS = {Element.ACCOMPANIMENT: "harmony"}
KEEP_TIPS = {Element.ACCOMPANIMENT: "accompaniment / harmony (the notes that are not melody)"}
METHODS = (
    ("edit", "Edit the notes (keeps the piece)"),
    ("rewrite", "Re-write from the latents"),
)


@dataclass(frozen=True)
class TransformOptions:
    """What the panel says about the next job."""

    strength: float  # lambda in [0, 1]: how far to move toward the target
    dims: tuple[str, ...]  # subset of ("arousal", "valence")
    bars: int
    temperature: float
    seed: int | None  # None: random
    whole_piece: bool = True  # a transfer rewrites the whole input (else its first ``bars`` bars)
    form: str = DEFAULT_FORM  # a generation's form (emostudio.decoding.FORMS; "none": free)
    cadence: float = DEFAULT_CADENCE  # share of a phrase's last bar on its cadence chord (0: off)
    bass: float = DEFAULT_BASS  # how far each bar's first note is drawn into the bass (0: off)
    pedal: bool = DEFAULT_PEDAL  # the sustain pedal on newly written piano parts
    variations: int = 1  # takes one Generate, Fill or Continue makes, decoded as one batch
    method: str = "edit"  # "edit" or "rewrite"
    keep: tuple[str, ...] = ()  # names of the elements that stay exactly (edit only)


class TransformPanel(QWidget):
    generate_requested = Signal()
    continue_requested = Signal()
    transfer_requested = Signal()
    # λ was moved to a new value and let go of, with "Transfer when I let go of λ" ticked
    strength_chosen = Signal()
    cancel_requested = Signal()
    options_changed = Signal(object)  # TransformOptions

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model_ready = False
        self._has_input = False
        self._has_piece = False  # an input or a finished take to continue
        self._busy = False

        transfer_box = QGroupBox("Transfer")
        self.strength_slider = QSlider(Qt.Horizontal)
        self.strength_slider.setRange(0, SLIDER_STEPS)
        self.strength_slider.setValue(SLIDER_STEPS)
        self.strength_slider.setPageStep(10)
        self.strength_slider.setToolTip(
            "λ: how far to move the input's emotion toward the target "
            "(0 is the input itself, 1 goes all the way)"
        )
        self.strength_slider.setAccessibleName("Transfer strength lambda")
        self.strength_label = QLabel()
        self.strength_label.setMinimumWidth(36)
        self.strength_label.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        strength_row = QHBoxLayout()
        strength_row.addWidget(QLabel("λ"))
        input_end = QLabel("input")  # the slider's left end is the input itself
        input_end.setObjectName("dim")
        input_end.setToolTip("At 0 the transfer returns the input note for note")
        strength_row.addWidget(input_end)
        strength_row.addWidget(self.strength_slider, 1)
        strength_row.addWidget(self.strength_label)
        self.transfer_on_release_box = QCheckBox("Transfer when I let go of λ")
        self.transfer_on_release_box.setToolTip(
            "Each new λ makes a take at once: drag the slider (or move it with the keys) and "
            "hear how far; a move while a take is being made waits for it"
        )
        # λ moved by keys or the wheel: chosen once it rests (a drag: when let go)
        self._strength_rest = QTimer(self)
        self._strength_rest.setSingleShot(True)
        self._strength_rest.setInterval(STRENGTH_REST_MS)
        self._strength_rest.timeout.connect(self._strength_chosen)
        self._pressed_at = self.strength_slider.value()
        self.arousal_box = QCheckBox("Arousal")
        self.arousal_box.setToolTip("Move the arousal (energy: rhythm, density) of the input")
        self.valence_box = QCheckBox("Valence")
        self.valence_box.setToolTip("Move the valence (mood: key, mode) of the input")
        for box in (self.arousal_box, self.valence_box):
            box.setChecked(True)
        dims_row = QHBoxLayout()
        dims_row.addWidget(QLabel("Move"))
        dims_row.addWidget(self.arousal_box)
        dims_row.addWidget(self.valence_box)
        dims_row.addStretch(1)
        self.whole_box = QCheckBox("Whole piece")
        self.whole_box.setChecked(True)
        self.whole_box.setToolTip(
            "Transfer the whole input; untick to transfer only its first bars, "
            "as many as the Bars box says"
        )
        self.method_box = QComboBox()
        for key, label in METHODS:
            self.method_box.addItem(label, key)
        self.method_box.setToolTip(
            "Edit: the piece's own notes change (mode, register, tempo, dynamics, "
            "density), as far as the model hears the piece from the target. Re-write: the model writes the piece again from its "
            "moved latents."
        )
        self.method_box.setAccessibleName("Transfer method")
        method_row = QHBoxLayout()
        method_row.addWidget(QLabel("Method"))
        method_row.addWidget(self.method_box, 1)
        self.keep_group = QWidget()  # no box of its own: the panel must fit the default window
        self.keep_group.setToolTip("Ticked elements stay exactly as in the input (Edit method)")
        self.keep_boxes: dict[Element, QCheckBox] = {}
        keep_grid = QGridLayout(self.keep_group)
        keep_grid.setContentsMargins(0, 0, 0, 0)
        keep_grid.setVerticalSpacing(2)
        keep_grid.addWidget(QLabel("Keep"), 0, 0)
        for i, element in enumerate(Element):
            box = QCheckBox(KEEP_LABELS.get(element, element.value))
            box.setToolTip(f"Keep the input's {KEEP_TIPS.get(element, element.value)} exactly")
            self.keep_boxes[element] = box
            keep_grid.addWidget(box, i // 3, 1 + i % 3)
        transfer_layout = QVBoxLayout(transfer_box)
        transfer_layout.addLayout(strength_row)
        transfer_layout.addWidget(self.transfer_on_release_box)
        transfer_layout.addLayout(dims_row)
        # its own line: beside "Move Arousal Valence" it was cut to "Whole piec" at the default size
        transfer_layout.addWidget(self.whole_box)
        transfer_layout.addLayout(method_row)
        transfer_layout.addWidget(self.keep_group)

        sampling_box = QGroupBox("Sampling")
        self.bars_spin = QSpinBox()
        self.bars_spin.setRange(1, PANEL_MAX_BARS)
        self.bars_spin.setValue(8)
        self.bars_spin.setToolTip(
            "Bars to generate (and the input's first bars a transfer uses when Whole piece is off)"
        )
        self.temperature_spin = QDoubleSpinBox()
        self.temperature_spin.setRange(0.1, 2.0)
        self.temperature_spin.setSingleStep(0.05)
        self.temperature_spin.setValue(DEFAULT_TEMPERATURE)
        self.temperature_spin.setToolTip("Lower: safer, more repetitive; higher: more surprising")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(RANDOM_SEED, 2**31 - 1)
        self.seed_spin.setValue(RANDOM_SEED)
        self.seed_spin.setSpecialValueText("random")
        self.seed_spin.setToolTip("The same seed and settings give the same take")
        self.form_box = QComboBox()
        for name in FORMS:
            self.form_box.addItem(name, name)
        self.form_box.setCurrentIndex(list(FORMS).index(DEFAULT_FORM))
        self.form_box.setToolTip(
            "Generate in 4-bar phrases that return (AABA: the third phrase is new, the others "
            "open alike); none: every phrase new"
        )
        self.cadence_spin = QDoubleSpinBox()
        self.cadence_spin.setRange(0.0, 1.0)
        self.cadence_spin.setSingleStep(0.25)
        self.cadence_spin.setDecimals(2)
        self.cadence_spin.setValue(DEFAULT_CADENCE)
        self.cadence_spin.setSpecialValueText("off")
        self.cadence_spin.setSuffix(" bar")  # "0.50 bar": the phrase end's last half bar
        self.cadence_spin.setToolTip(
            "Phrase ends of a generation or a continuation land on a chord: the dominant after "
            "the 1st and 3rd phrase (open), the tonic after the 2nd, 4th and the last (closed). "
            "The share of the phrase's last bar, from its end, whose notes do (1: the whole bar)"
        )
        self.bass_spin = QDoubleSpinBox()
        self.bass_spin.setRange(0.0, MAX_BASS)
        self.bass_spin.setSingleStep(0.5)
        self.bass_spin.setDecimals(1)
        self.bass_spin.setValue(DEFAULT_BASS)
        self.bass_spin.setSpecialValueText("off")
        self.bass_spin.setToolTip(
            "Draw each new bar's first note into the bass register (below C3) and hold it "
            "longer: a bass line under the harmony, as real music has. 0: the model alone"
        )
        self.pedal_box = QCheckBox("Sustain pedal on new piano")
        self.pedal_box.setChecked(DEFAULT_PEDAL)
        self.pedal_box.setToolTip(
            "Pedal the piano parts the model writes (a change every bar and at new bass notes), "
            "as pianists play; a piece's own pedalling is always kept"
        )
        self.variations_spin = QSpinBox()
        self.variations_spin.setRange(1, MAX_VARIATIONS)
        self.variations_spin.setToolTip(
            "Takes one Generate, Fill or Continue makes (alternatives, decoded together)"
        )
        form = QFormLayout(sampling_box)
        form.setLabelAlignment(Qt.AlignRight)
        form.addRow("Bars", self.bars_spin)
        form.addRow("Form", self.form_box)
        form.addRow("Cadence", self.cadence_spin)
        form.addRow("Bass", self.bass_spin)
        form.addRow("Pedal", self.pedal_box)
        form.addRow("Variations", self.variations_spin)
        form.addRow("Temperature", self.temperature_spin)
        form.addRow("Seed", self.seed_spin)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("primary")
        self.generate_button.setToolTip("Write new bars in the target emotion (Ctrl+G)")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip(
            "Add Bars new bars after the current take (else the input), moving towards the "
            "target emotion; the piece's own bars stay (Ctrl+Shift+G)"
        )
        self.transfer_button = QPushButton("Transfer")
        self.transfer_button.setObjectName("primary")
        self.transfer_button.setToolTip("Move the input piece toward the target emotion (Ctrl+T)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job (Esc); the bars done so far are kept")
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.continue_button)
        buttons.addWidget(self.transfer_button)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m bars")
        self.progress.setVisible(False)
        self.hint = QLabel()
        self.hint.setObjectName("dim")
        self.hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(transfer_box)
        layout.addWidget(sampling_box)
        # the buttons, the progress and the hint: the window keeps them in view below the settings
        # (which scroll in a short window)
        self.action_bar = QWidget()
        actions = QVBoxLayout(self.action_bar)
        actions.setContentsMargins(0, 0, 0, 0)
        actions.addLayout(buttons)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        actions.addLayout(progress_row)
        actions.addWidget(self.hint)

        self.generate_button.clicked.connect(self.generate_requested)
        self.continue_button.clicked.connect(self.continue_requested)
        self.transfer_button.clicked.connect(self.transfer_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.strength_slider.valueChanged.connect(self._on_changed)
        slider = self.strength_slider
        slider.sliderPressed.connect(lambda: setattr(self, "_pressed_at", slider.value()))
        slider.sliderReleased.connect(
            lambda: slider.value() != self._pressed_at and self._strength_chosen()
        )
        slider.actionTriggered.connect(  # keys, wheel, a click beside the handle (not setValue)
            lambda action: action != QAbstractSlider.SliderMove and self._strength_rest.start()
        )
        for box in (self.arousal_box, self.valence_box, self.whole_box, *self.keep_boxes.values()):
            box.toggled.connect(self._on_changed)
        self.method_box.currentIndexChanged.connect(self._on_changed)
        self.bars_spin.valueChanged.connect(self._on_changed)
        self.temperature_spin.valueChanged.connect(self._on_changed)
        self.seed_spin.valueChanged.connect(self._on_changed)
        self.form_box.currentIndexChanged.connect(self._on_changed)
        self.cadence_spin.valueChanged.connect(self._on_changed)
        self.bass_spin.valueChanged.connect(self._on_changed)
        self.pedal_box.toggled.connect(self._on_changed)
        self.variations_spin.valueChanged.connect(self._on_changed)
        self._on_changed()

    # ---- values ----------------------------------------------------------------------------
    def options(self) -> TransformOptions:
        dims = tuple(
            d
            for d, box in (("arousal", self.arousal_box), ("valence", self.valence_box))
            if box.isChecked()
        )
        seed = self.seed_spin.value()
        return TransformOptions(
            strength=self.strength_slider.value() / SLIDER_STEPS,
            dims=dims,
            bars=self.bars_spin.value(),
            temperature=round(self.temperature_spin.value(), 3),
            seed=None if seed == RANDOM_SEED else seed,
            whole_piece=self.whole_box.isChecked(),
            method=self.method_box.currentData(),
            keep=tuple(e.value for e, box in self.keep_boxes.items() if box.isChecked())
            if self.method_box.currentData() == "edit"
            else (),
            form=self.form_box.currentData(),
            cadence=round(self.cadence_spin.value(), 3),
            bass=round(self.bass_spin.value(), 3),
            pedal=self.pedal_box.isChecked(),
            variations=self.variations_spin.value(),
        )

    def _strength_chosen(self) -> None:
        self._strength_rest.stop()
        if self.transfer_on_release_box.isChecked():
            self.strength_chosen.emit()

    def saved(self) -> dict:
        """The panel's choices as JSON values, for the settings (``restore`` takes them back)."""
        data = asdict(self.options())
        data["keep"] = [e.value for e, box in self.keep_boxes.items() if box.isChecked()]
        data["transfer_on_release"] = self.transfer_on_release_box.isChecked()
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def restore(self, saved: dict) -> None:
        """Show the choices ``saved`` holds; a value of the wrong kind, or a form, method or
        element this version does not have, leaves that control as it is (numbers out of range
        are brought into it)."""

        def number(key: str, kind=(int, float)):
            value = saved.get(key)
            ok = isinstance(value, kind) and not isinstance(value, bool)
            return value if ok else None

        if (strength := number("strength")) is not None:
            self.set_strength(float(strength))
        dims = saved.get("dims")
        if isinstance(dims, list):
            self.arousal_box.setChecked("arousal" in dims)
            self.valence_box.setChecked("valence" in dims)
        for key, spin in (("bars", self.bars_spin), ("variations", self.variations_spin)):
            if (value := number(key, int)) is not None:
                spin.setValue(value)
        for key, dspin in (
            ("temperature", self.temperature_spin),
            ("cadence", self.cadence_spin),
            ("bass", self.bass_spin),
        ):
            if (value := number(key)) is not None:
                dspin.setValue(float(value))
        if "seed" in saved and (saved["seed"] is None or number("seed", int) is not None):
            self.seed_spin.setValue(RANDOM_SEED if saved["seed"] is None else saved["seed"])
        for key, check in (
            ("whole_piece", self.whole_box),
            ("pedal", self.pedal_box),
            ("transfer_on_release", self.transfer_on_release_box),
        ):
            if isinstance(saved.get(key), bool):
                check.setChecked(saved[key])
        for key, combo in (("form", self.form_box), ("method", self.method_box)):
            index = combo.findData(saved.get(key))
            if index >= 0:
                combo.setCurrentIndex(index)
        keep = saved.get("keep")
        if isinstance(keep, list):
            for element, box in self.keep_boxes.items():
                box.setChecked(element.value in keep)

    def set_strength(self, value: float) -> None:
        self.strength_slider.setValue(round(max(0.0, min(1.0, value)) * SLIDER_STEPS))

    # ---- state -----------------------------------------------------------------------------
    def set_model_ready(self, ready: bool) -> None:
        self._model_ready = ready
        self._refresh()

    def set_has_input(self, has_input: bool) -> None:
        self._has_input = has_input
        self._refresh()

    def set_has_piece(self, has_piece: bool) -> None:
        """Whether there is a piece to continue (an input, or a finished take with notes)."""
        self._has_piece = has_piece
        self._refresh()

    def set_busy(self, busy: bool, total: int = 0) -> None:
        self._busy = busy
        self.progress.setVisible(busy)
        if busy:
            show_progress(self.progress, 0, total)
        self._refresh()

    def set_progress(self, done: int, total: int) -> None:
        show_progress(self.progress, done, total)

    def _on_changed(self, *_args) -> None:
        options = self.options()
        self.strength_label.setText(f"{options.strength:.2f}")
        self._refresh()
        self.options_changed.emit(options)

    def _refresh(self) -> None:
        idle = not self._busy and self._model_ready
        dims = self.options().dims
        self.generate_button.setEnabled(idle)
        self.continue_button.setEnabled(idle and self._has_piece)
        self.transfer_button.setEnabled(idle and self._has_input and bool(dims))
        self.keep_group.setEnabled(self.method_box.currentData() == "edit")
        self.cancel_button.setVisible(self._busy)
        self.cancel_button.setEnabled(self._busy)
        if not self._model_ready:
            hint = "Waiting for a model (Model menu)."
        elif not self._has_input:
            hint = "Drop or open a MIDI file to transfer it; Generate needs no input."
        elif not dims:
            hint = "Tick arousal and/or valence to transfer."
        else:
            hint = ""
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
