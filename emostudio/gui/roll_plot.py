"""One piano-roll view and what it draws with: a pyqtgraph plot with key-row shading, bar/beat
and octave grid lines, a playhead, and one :class:`_SongLayers` per song (input, take), each with
a strip along the view's bottom edge where its sustain pedal is down.

Each song is drawn with a pool of single-colour ``BarGraphItem`` s, one per (instrument family,
velocity level) layer, reused with ``setOpts`` when the song changes. The widget that arranges
views and modes is :class:`emostudio.gui.piano_roll.PianoRoll`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from emostudio.gui import theme
from emostudio.gui.roll_data import BEATS_PER_BAR, RollData, grid_lines, pitch_name, roll_data
from emostudio.midi import Family

BLACK_KEYS = np.array([1, 3, 6, 8, 10])
NOTE_HEIGHT = 0.84
#: the pedal strips: height in pitch rows, and each song's offset from the view's bottom edge
PEDAL_HEIGHT = 0.4
PEDAL_OFFSET = {"input": 0.1, "take": 0.6}
MIN_VIEW_BEATS = 2.0
MIN_VIEW_PITCHES = 12


class BarAxis(pg.AxisItem):
    """Bottom axis in beats, labelled with bar numbers (1-based), spaced to stay readable."""

    def tickValues(self, minVal, maxVal, size):
        span_bars = max(1e-9, (maxVal - minVal) / BEATS_PER_BAR)
        pixels_per_bar = size / span_bars
        step = 1
        while step * pixels_per_bar < 48:
            step *= 2
        major = step * BEATS_PER_BAR
        first = np.ceil(minVal / major) * major
        bars = list(np.arange(first, maxVal + 1e-9, major))
        beats = []
        if step == 1 and pixels_per_bar > 80:
            beats = [b for b in np.arange(np.ceil(minVal), maxVal + 1e-9, 1.0) if b % BEATS_PER_BAR]
        return [(major, bars), (1.0, beats)]

    def tickStrings(self, values, scale, spacing):
        if spacing < BEATS_PER_BAR:
            return ["" for _ in values]
        return [str(round(v / BEATS_PER_BAR) + 1) for v in values]


class PitchAxis(pg.AxisItem):
    """Left axis in MIDI pitch, labelled at every C (C4 = middle C)."""

    def tickValues(self, minVal, maxVal, size):
        first = int(np.ceil(minVal / 12) * 12)
        octaves = list(range(first, int(maxVal) + 1, 12))
        return [(12.0, [float(c) for c in octaves])]

    def tickStrings(self, values, scale, spacing):
        return [pitch_name(int(v)) for v in values]


class _NoteBars(pg.BarGraphItem):
    """A BarGraphItem whose bounding rect is its data bounds plus a fixed margin in data units.

    pyqtgraph's own pads by the outline's width in pixels, which maps pixels into the view on every
    call (~0.1 ms, and the scene asks for it many times a frame: the playhead repaints ~30 times a
    second). A note outline is one pixel; a margin of a tenth of a beat / pitch covers it at every
    zoom level the roll allows except the farthest out, where at most the outermost pixel is cut."""

    MARGIN = 0.1

    def boundingRect(self):
        (x0, x1), (y0, y1) = self.dataBounds(ax=0), self.dataBounds(ax=1)
        if x0 is None or x1 is None or y0 is None or y1 is None:
            return QRectF()
        m = self.MARGIN
        return QRectF(x0 - m, y0 - m, x1 - x0 + 2 * m, y1 - y0 + 2 * m)


class _SongLayers:
    """The items drawing one song in one plot: a pool of BarGraphItems keyed by layer."""

    def __init__(self, plot: pg.PlotItem, role: str, z: float) -> None:
        self.plot = plot
        self.role = role
        self.z = z
        self.items: dict[tuple[Family, int], pg.BarGraphItem] = {}
        self.data: RollData = roll_data(None)
        self.tint: str | None = None  # one colour for every family (the input in overlay mode)
        self.visible = True
        colour = QColor(theme.INPUT_COLOUR if role == "input" else theme.CURRENT_TAKE)
        colour.setAlphaF(0.7)
        self.pedal = _NoteBars(
            x0=[0.0], width=[0.0], y0=[0.0], height=[0.0], brush=colour, pen=pg.mkPen(None)
        )
        self.pedal.setZValue(50 + z)
        self.pedal.setVisible(False)
        self.bottom = 0.0  # the view's lowest pitch shown, where the strip sits
        plot.addItem(self.pedal)

    def show(self, data: RollData, tint: str | None, visible: bool) -> None:
        """Draw ``data``; items are reused, and colours are only set when they change."""
        if data is self.data and tint == self.tint and visible == self.visible:
            return
        self.data, self.tint, self.visible = data, tint, visible
        used = set()
        for layer in data.layers:
            key = (layer.family, layer.level)
            used.add(key)
            geometry = dict(
                x0=layer.x0, width=layer.width, y0=layer.pitch - NOTE_HEIGHT / 2, height=NOTE_HEIGHT
            )
            item = self.items.get(key)
            if item is None:
                item = _NoteBars(**geometry, **self._colours(layer, tint))
                item.setZValue(self.z + layer.level * 0.01)
                item.tint = tint
                self.items[key] = item
                self.plot.addItem(item)
            elif item.tint != tint:
                item.setOpts(**geometry, **self._colours(layer, tint))
                item.tint = tint
            else:
                item.setOpts(**geometry)
            item.setVisible(visible)
        for key, item in self.items.items():
            if key not in used:
                item.setVisible(False)
        self.place_pedal(self.bottom)

    def place_pedal(self, bottom: float) -> None:
        """Draw the pedal strip just above the view's bottom edge ``bottom`` (a pitch)."""
        self.bottom = bottom
        n = len(self.data.pedal_x0)
        self.pedal.setVisible(self.visible and n > 0)
        if n:
            self.pedal.setOpts(
                x0=self.data.pedal_x0,
                width=self.data.pedal_width,
                y0=np.full(n, bottom + PEDAL_OFFSET[self.role]),
                height=np.full(n, PEDAL_HEIGHT),
            )

    @staticmethod
    def _colours(layer, tint: str | None) -> dict:
        colour = QColor(tint or theme.FAMILY_COLOURS[layer.family])
        colour.setAlphaF(layer.alpha * (0.55 if tint else 1.0))
        outline = QColor(colour).darker(170)
        outline.setAlphaF(min(1.0, colour.alphaF() + 0.2))
        return {"brush": colour, "pen": pg.mkPen(outline, width=1)}

    def visible_items(self) -> list[pg.BarGraphItem]:
        return [item for item in self.items.values() if item.isVisible()]


#: no song (what a hidden layer shows)
EMPTY = roll_data(None)


class RollPlot(pg.PlotWidget):
    """One piano-roll view: key-row shading, grid, note layers, playhead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, axisItems={"bottom": BarAxis("bottom"), "left": PitchAxis("left")})
        self.setBackground(theme.BASE)
        plot = self.getPlotItem()
        plot.hideButtons()
        plot.setMenuEnabled(False)
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(pg.mkPen(theme.BORDER))
            axis.setTextPen(pg.mkPen(theme.DIM_TEXT))
        plot.getAxis("left").setWidth(42)
        self.view = plot.getViewBox()
        self.view.setMouseEnabled(x=True, y=True)
        self.black_keys = pg.BarGraphItem(
            x0=[0],
            width=[1],
            y0=[0],
            height=[0],
            brush=QColor(255, 255, 255, 9),
            pen=pg.mkPen(None),
        )
        self.black_keys.setZValue(-20)
        plot.addItem(self.black_keys)
        self.beat_lines = pg.PlotCurveItem(
            pen=pg.mkPen(QColor(255, 255, 255, 16), width=1), connect="pairs"
        )
        self.bar_lines = pg.PlotCurveItem(
            pen=pg.mkPen(QColor(255, 255, 255, 45), width=1), connect="pairs"
        )
        self.octave_lines = pg.PlotCurveItem(
            pen=pg.mkPen(QColor(255, 255, 255, 22), width=1), connect="pairs"
        )
        for z, item in enumerate((self.beat_lines, self.octave_lines, self.bar_lines)):
            item.setZValue(-10 + z)
            plot.addItem(item)
        self.playhead = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(theme.WARNING, width=2)
        )
        self.playhead.setZValue(100)
        self.playhead.setVisible(False)
        plot.addItem(self.playhead)
        self.label = pg.TextItem(color=theme.DIM_TEXT, anchor=(0, 0))
        self.label.setZValue(101)
        self.label.setParentItem(self.view)
        self.label.setPos(6, 4)
        self.layers = {
            "input": _SongLayers(plot, "input", 0.0),
            "take": _SongLayers(plot, "take", 1.0),
        }
        self.end_beat = 0.0
        self.view.sigYRangeChanged.connect(self._place_pedals)

    def _place_pedals(self, _view, y_range) -> None:
        for layer in self.layers.values():
            layer.place_pedal(float(y_range[0]))

    def set_extent(self, end_beat: float) -> None:
        """Grid and limits for a piece ``end_beat`` beats long (at least four bars)."""
        end = max(end_beat, 4 * BEATS_PER_BAR)
        if end == self.end_beat:
            return
        self.end_beat = end
        bars, beats = grid_lines(end)
        self.bar_lines.setData(*_vertical_pairs(bars))
        self.beat_lines.setData(*_vertical_pairs(beats))
        octaves = np.arange(0, 128, 12, dtype=np.float64) - 0.5
        self.octave_lines.setData(
            np.repeat([[0.0, end]], len(octaves), axis=0).ravel(), np.repeat(octaves, 2)
        )
        rows = np.concatenate([o + BLACK_KEYS for o in range(0, 128, 12)])
        rows = rows[rows < 128].astype(np.float64)
        self.black_keys.setOpts(
            x0=np.zeros(len(rows)),
            width=np.full(len(rows), end),
            y0=rows - 0.5,
            height=np.ones(len(rows)),
        )
        self.view.setLimits(
            xMin=-0.5,
            xMax=end + BEATS_PER_BAR,
            yMin=-0.5,
            yMax=127.5,
            minXRange=MIN_VIEW_BEATS,
            minYRange=MIN_VIEW_PITCHES,
        )

    def frame(self, data: list[RollData], end_beat: float) -> None:
        """Show time 0..``end_beat`` and the pitch range of the songs' notes."""
        notes = [d for d in data if d.n_notes]
        low = min((d.pitch_low for d in notes), default=48) - 3
        high = max((d.pitch_high for d in notes), default=84) + 3
        if high - low < 24:
            middle = (high + low) / 2
            low, high = middle - 12, middle + 12
        self.view.setRange(
            xRange=(0, max(end_beat, BEATS_PER_BAR)),
            yRange=(max(-0.5, low), min(127.5, high)),
            padding=0.02,
        )


def _vertical_pairs(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(xs, 2), np.tile([-0.5, 127.5], len(xs))
