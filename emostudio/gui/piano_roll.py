"""The piano roll: the input and the current take, drawn from :mod:`emostudio.gui.roll_data` arrays.

Each song is drawn with a pool of single-colour ``BarGraphItem`` s, one per (instrument family,
velocity level) layer, reused with ``setOpts`` when the song changes (a take growing bar by bar
costs a few array copies, not new items). Family is the colour, velocity the opacity. Modes:

- ``overlay``: the input in grey, and over it the take's notes that are not in the input in
  colour (what changed; kept notes stay grey, :func:`~emostudio.gui.roll_data.changed_notes`),
- ``split``: input above, take below, x axes linked,
- ``input`` / ``take``: one of them alone.

x is in beats (quarter notes; the bottom axis names bars), y in MIDI pitch; each view is a
:class:`~emostudio.gui.roll_plot.RollPlot`. The views are fenced with ``setLimits``; wheel zooms,
drag scrolls. A playhead line follows playback.

Bars are selected for Fill (and for playing and looping them): a double-click selects the bar
under the pointer (on the one selected bar: selects none), the selection's edges drag (snapping
to bar lines) to widen it, ✕ (or Edit ▸ Select no bars) clears it; the Fill button beside it asks
for those bars to be re-written (``fill_requested(first, last)``, 0-based).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from emostudio.gui import theme
from emostudio.gui.roll_data import BEATS_PER_BAR, changed_notes, roll_data
from emostudio.gui.roll_plot import EMPTY, NOTE_HEIGHT, RollPlot
from emostudio.midi import Family, Song


class FittingLabel(QLabel):
    """A label given its text in several lengths, longest first: it shows the longest that fits
    its width (the last one however narrow it gets), so a narrow header loses detail, not the
    start of its text."""

    def __init__(self) -> None:
        super().__init__()
        self._variants: list[str] = [""]

    def set_variants(self, variants: list[str]) -> None:
        self._variants = variants or [""]
        self._fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        metrics, width = self.fontMetrics(), self.width()
        fitting = [v for v in self._variants if metrics.horizontalAdvance(v) <= width]
        self.setText(fitting[0] if fitting else self._variants[-1])


MODES = ("overlay", "split", "input", "take")
MODE_LABELS = {
    "overlay": "Overlay A/B",
    "split": "Split A/B",
    "input": "Input only",
    "take": "Take only",
}
MAX_FRAME_BARS = 32  # a longer piece is framed on its start; scroll or zoom out for the rest


class PianoRoll(QWidget):
    mode_changed = Signal(str)
    selection_changed = Signal(object)  # (first, last) bars, 0-based inclusive, or None
    fill_requested = Signal(int, int)  # first, last bar (0-based, inclusive)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.main = RollPlot()
        self.lower = RollPlot()
        self.lower.setXLink(self.main)
        self.lower.setVisible(False)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.main)
        splitter.addWidget(self.lower)
        splitter.setChildrenCollapsible(False)

        self.mode_box = QComboBox()
        for mode in MODES:
            self.mode_box.addItem(MODE_LABELS[mode], mode)
        self.mode_box.setToolTip("Compare the input (A) with the current take (B)")
        self.mode_box.setAccessibleName("Piano roll view")
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.RichText)
        self.summary = FittingLabel()
        self.summary.setObjectName("dim")
        # the note counts give way first when the window is narrow (the tooltip keeps them whole)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.selection = pg.LinearRegionItem(
            brush=QColor(255, 200, 80, 40), pen=pg.mkPen(theme.WARNING, width=2)
        )
        self.selection.setZValue(50)
        self.selection.setVisible(False)
        self.main.getPlotItem().addItem(self.selection)
        self._selected: tuple[int, int] | None = None
        self.fill_button = QPushButton("Fill")
        self.fill_button.setToolTip(
            "Re-write the selected bars between their neighbours (double-click a bar, drag the "
            "edges), keeping the rest"
        )
        self.fill_button.setEnabled(False)
        self.clear_button = QToolButton()
        self.clear_button.setText("✕")
        self.clear_button.setToolTip("Select no bars (Ctrl+Shift+A)")
        self.clear_button.setAccessibleName("Clear the bar selection")
        self.clear_button.setEnabled(False)
        self._fill_allowed = False
        header = QHBoxLayout()
        header.setContentsMargins(4, 0, 4, 0)
        header.addWidget(QLabel("Piano roll"))
        header.addWidget(self.mode_box)
        header.addSpacing(12)
        header.addWidget(self.legend)
        header.addWidget(self.summary, 1)  # takes the free width, right-aligned
        header.addWidget(self.fill_button)
        header.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)

        self._mode = "overlay"
        self._input: Song | None = None
        self._take: Song | None = None
        self._input_data = roll_data(None)
        self._take_data = roll_data(None)
        self._changed_data = roll_data(None)  # the take's notes not in the input (overlay)
        self.mode_box.currentIndexChanged.connect(
            lambda i: self.set_mode(self.mode_box.itemData(i))
        )
        self.main.viewport().installEventFilter(self)  # a double-click selects a bar
        self.selection.sigRegionChangeFinished.connect(self._on_region_moved)
        self.fill_button.clicked.connect(self._on_fill)
        self.clear_button.clicked.connect(lambda: self.select_bars(None))
        self._set_legend()
        self._redraw()

    # ---- content ---------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown piano roll mode {mode!r}")
        if mode == self._mode:
            return
        self._mode = mode
        self.mode_box.setCurrentIndex(MODES.index(mode))
        self._redraw()
        self.mode_changed.emit(mode)

    def set_input(self, song: Song | None) -> None:
        """A new input piece: drawn and framed."""
        self._input = song
        self._input_data = roll_data(song)
        self._changed_data = roll_data(changed_notes(song, self._take))
        self._redraw()
        self.frame()

    def set_take(self, song: Song | None, frame: bool = False) -> None:
        """The current take (also each time a generating take grows); ``frame`` re-frames the view."""
        self._take = song
        self._take_data = roll_data(song)
        self._changed_data = roll_data(changed_notes(self._input, song))
        self._redraw()
        if frame:
            self.frame()

    def frame(self) -> None:
        """Frame the take (or the input when there is none), at most MAX_FRAME_BARS bars of it."""
        focus = self._take_data if self._take_data.n_notes else self._input_data
        end = (
            min(focus.end_beat, MAX_FRAME_BARS * BEATS_PER_BAR)
            if focus.n_notes
            else 4 * BEATS_PER_BAR
        )
        data = [self._input_data, self._take_data]
        self.main.frame(data, end)
        if self._mode == "split":
            self.lower.frame(data, end)

    def frame_bars(self, n_bars: int) -> None:
        """Show bars 0..n_bars (a take about to be generated), keeping the pitch range."""
        self.main.view.setXRange(0, max(1, n_bars) * BEATS_PER_BAR, padding=0.02)

    def layer_items(self, role: str) -> list[pg.BarGraphItem]:
        """The visible items drawing ``role`` ("input" or "take"), in both views."""
        return self.main.layers[role].visible_items() + (
            self.lower.layers[role].visible_items() if self.lower.isVisible() else []
        )

    def drawn_notes(self, role: str) -> np.ndarray:
        """(start beat, length, pitch) rows of every visible note of ``role``, sorted; from the items."""
        rows = []
        for item in self.layer_items(role):
            o = item.opts
            rows.append(
                np.column_stack([o["x0"], o["width"], np.asarray(o["y0"]) + NOTE_HEIGHT / 2])
            )
        if not rows:
            return np.zeros((0, 3))
        out = np.concatenate(rows)
        return out[np.lexsort((out[:, 1], out[:, 2], out[:, 0]))]

    # ---- bar selection (Fill) --------------------------------------------------------------
    @property
    def selected_bars(self) -> tuple[int, int] | None:
        """The selected bars (first, last), 0-based and inclusive, or None."""
        return self._selected

    def select_bars(self, first: int | None, last: int | None = None) -> None:
        """Select bars ``first``..``last`` (``last`` None: one bar; ``first`` None: none)."""
        if first is None:
            selected = None
        else:
            last = first if last is None else last
            selected = (max(0, min(first, last)), max(0, first, last))
        self.selection.setVisible(selected is not None)
        if selected is not None:
            lo, hi = selected[0] * BEATS_PER_BAR, (selected[1] + 1) * BEATS_PER_BAR
            self.selection.blockSignals(True)
            self.selection.setRegion((lo, hi))
            self.selection.blockSignals(False)
        if selected != self._selected:
            self._selected = selected
            self.selection_changed.emit(selected)
        self._refresh_fill()

    def set_fill_enabled(self, allowed: bool) -> None:
        """Whether Fill may run now (a model is ready and free)."""
        self._fill_allowed = allowed
        self._refresh_fill()

    def _refresh_fill(self) -> None:
        self.fill_button.setEnabled(self._fill_allowed and self._selected is not None)
        self.clear_button.setEnabled(self._selected is not None)

    def _on_fill(self) -> None:
        if self._selected is not None:
            self.fill_requested.emit(*self._selected)

    def eventFilter(self, watched, event) -> bool:
        if watched is self.main.viewport() and event.type() == QEvent.MouseButtonDblClick:
            scene = self.main.mapToScene(event.position().toPoint())
            beat = self.main.view.mapSceneToView(scene).x()
            if beat >= 0:
                bar = int(beat // BEATS_PER_BAR)
                self.select_bars(None if self._selected == (bar, bar) else bar)
        return super().eventFilter(watched, event)

    def _on_region_moved(self) -> None:
        lo, hi = self.selection.getRegion()
        first = max(0, round(lo / BEATS_PER_BAR))
        last = max(first, round(hi / BEATS_PER_BAR) - 1)
        self.select_bars(first, last)

    # ---- playhead --------------------------------------------------------------------------
    def set_playhead(self, beat: float | None) -> None:
        for plot in (self.main, self.lower):
            if beat is None:
                plot.playhead.setVisible(False)
            else:
                plot.playhead.setPos(beat)
                plot.playhead.setVisible(True)
        if beat is not None:
            self._follow(beat)

    @property
    def playhead_beat(self) -> float | None:
        return float(self.main.playhead.value()) if self.main.playhead.isVisible() else None

    def _follow(self, beat: float) -> None:
        """Page the view when the playhead leaves it, like a DAW."""
        (x0, x1), _ = self.main.view.viewRange()
        if not x0 <= beat <= x1:
            width = x1 - x0
            self.main.view.setXRange(beat - 0.05 * width, beat + 0.95 * width, padding=0)

    # ---- drawing ---------------------------------------------------------------------------
    def _redraw(self) -> None:
        mode = self._mode
        split = mode == "split"
        self.lower.setVisible(split)
        end = max(self._input_data.end_beat, self._take_data.end_beat)
        self.main.set_extent(end)
        self.lower.set_extent(end)
        if mode == "overlay":
            self.main.layers["input"].show(self._input_data, theme.INPUT_COLOUR, True)
            # kept notes lie exactly under the input's grey ones: the take draws only what changed
            self.main.layers["take"].show(self._changed_data, None, True)
        else:
            self.main.layers["input"].show(self._input_data, None, mode in ("input", "split"))
            self.main.layers["take"].show(self._take_data, None, mode == "take")
        self.lower.layers["input"].show(EMPTY, None, False)
        self.lower.layers["take"].show(self._take_data, None, split)
        names = {"input": "A · input", "take": "B · take"}
        if split:
            self.main.label.setText(names["input"])
            self.lower.label.setText(names["take"])
        elif mode == "overlay":
            self.main.label.setText("A · input (grey)  +  B · changed notes (colour)")
        else:
            self.main.label.setText(names[mode])
        changed = (
            f" ({self._changed_data.n_notes:,} changed)"
            if self._input is not None and self._take is not None
            else ""
        )
        counts = f"{self._input_data.n_notes:,} → {self._take_data.n_notes:,}"
        self.summary.set_variants([f"{counts} notes{changed}", f"{counts}{changed}", counts])
        self.summary.setToolTip(
            f"input {self._input_data.n_notes:,} notes · take {self._take_data.n_notes:,} notes"
            + changed
        )

    def _set_legend(self) -> None:
        chips = [
            f'<span style="color:{theme.FAMILY_COLOURS[f]}">■</span>&nbsp;{f.label}' for f in Family
        ]
        chips.append(f'<span style="color:{theme.INPUT_COLOUR}">■</span>&nbsp;input')
        self.legend.setText("&nbsp;&nbsp;".join(chips))
        self.legend.setToolTip(
            "Notes by instrument; the input in grey in Overlay A/B. Along the bottom: where the "
            "sustain pedal is down (input grey, take yellow)"
        )
