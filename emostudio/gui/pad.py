"""The valence-arousal pad: pick a target emotion, see where the input and the takes were heard.

Valence runs left (negative) to right (positive), arousal bottom (low) to top (high); the four
quadrants are named as in :mod:`emostudio.emotion` (happy, tense, sad, calm). The target point is
dragged with the mouse or moved with the arrow keys (Shift: bigger steps). In curve mode a drag
draws a path: the emotion over time, which :func:`emostudio.gui.curve.curve_to_bars` maps onto the
bars of the next generation or transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from emostudio.emotion import Emotion
from emostudio.gui import theme

KEY_STEP = 0.05
KEY_BIG_STEP = 0.25
MARKER_HIT_PX = 8
#: (name, valence sign, arousal sign)
QUADRANTS = (("happy", 1, 1), ("tense", -1, 1), ("sad", -1, -1), ("calm", 1, -1))


@dataclass(frozen=True)
class PadMarker:
    """A recognised emotion shown on the pad: the input's (``kind="input"``) or a take's."""

    label: str
    emotion: Emotion
    kind: str = "take"  # "input" | "take"
    current: bool = False


class EmotionPad(QWidget):
    target_changed = Signal(object)  # Emotion
    picked = Signal(object)  # Emotion: a click or drag on the pad ended there
    # list[tuple[float, float]] (valence, arousal), or None when cleared
    curve_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target = Emotion(0.5, 0.5)
        self._markers: list[PadMarker] = []
        self.label_boxes: list[QRectF] = []  # the markers' label boxes as last painted
        self.name_boxes: list[QRectF] = []  # the quadrants' names as last painted
        self._curve: list[tuple[float, float]] = []
        self._curve_mode = False
        self._dragging = False
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(220, 220)
        policy = QSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setAccessibleName("Emotion pad")
        self._describe()

    # ---- state -----------------------------------------------------------------------------
    @property
    def target(self) -> Emotion:
        return self._target

    def set_target(self, emotion: Emotion) -> None:
        if emotion == self._target:
            return
        self._target = emotion
        self._describe()
        self.update()
        self.target_changed.emit(emotion)

    @property
    def curve(self) -> list[tuple[float, float]]:
        return list(self._curve)

    @property
    def curve_mode(self) -> bool:
        return self._curve_mode

    def set_curve_mode(self, on: bool) -> None:
        self._curve_mode = on
        self.setCursor(Qt.CrossCursor if on else Qt.ArrowCursor)
        self._describe()
        self.update()

    def show_curve(self, curve: list[tuple[float, float]] | None) -> None:
        """Draw ``curve`` (None: none) without announcing it: the document's, e.g. after an undo."""
        self._curve = list(curve) if curve else []
        self.update()

    def clear_curve(self) -> None:
        if self._curve:
            self._curve = []
            self.update()
            self.curve_changed.emit(None)

    @property
    def markers(self) -> list[PadMarker]:
        return list(self._markers)

    def set_markers(self, markers: list[PadMarker]) -> None:
        self._markers = list(markers)
        self.update()

    # ---- geometry --------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(360, 360)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def pad_rect(self) -> QRectF:
        """The square the pad is drawn in, inside a margin for the axis labels."""
        margin = 18
        side = max(10.0, min(self.width(), self.height()) - 2 * margin)
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_widget(self, valence: float, arousal: float) -> QPointF:
        r = self.pad_rect()
        return QPointF(
            r.left() + (valence + 1) / 2 * r.width(), r.top() + (1 - arousal) / 2 * r.height()
        )

    def to_pad(self, point: QPointF) -> tuple[float, float]:
        r = self.pad_rect()
        valence = (point.x() - r.left()) / r.width() * 2 - 1
        arousal = 1 - (point.y() - r.top()) / r.height() * 2
        return _clamp(valence), _clamp(arousal)

    # ---- input -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        self._dragging = True
        self.setFocus(Qt.MouseFocusReason)
        v, a = self.to_pad(event.position())
        if self._curve_mode:
            self._curve = [(v, a)]
            self.update()
        else:
            self.set_target(Emotion(v, a))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if not self._dragging:
            return
        v, a = self.to_pad(event.position())
        if self._curve_mode:
            if not self._curve or (v, a) != self._curve[-1]:
                self._curve.append((v, a))
                self.update()
        else:
            self.set_target(Emotion(v, a))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.LeftButton or not self._dragging:
            return
        self._dragging = False
        if not self._curve_mode:
            self.picked.emit(self._target)
        if self._curve_mode:
            v, a = self.to_pad(event.position())
            if self._curve and (v, a) != self._curve[-1]:
                self._curve.append((v, a))
            if len(self._curve) >= 2:
                self.curve_changed.emit(list(self._curve))
            else:
                self.clear_curve()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = KEY_BIG_STEP if event.modifiers() & Qt.ShiftModifier else KEY_STEP
        moves = {
            Qt.Key_Left: (-step, 0),
            Qt.Key_Right: (step, 0),
            Qt.Key_Up: (0, step),
            Qt.Key_Down: (0, -step),
        }
        key = event.key()
        if key in moves:
            dv, da = moves[key]
            self.set_target(
                Emotion(
                    _clamp(round(self._target.valence + dv, 4)),
                    _clamp(round(self._target.arousal + da, 4)),
                )
            )
        elif key == Qt.Key_Home:
            self.set_target(Emotion(0.0, 0.0))
        elif key in (Qt.Key_Escape, Qt.Key_Delete, Qt.Key_Backspace) and self._curve:
            self.clear_curve()
        else:
            super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.ToolTip:
            QToolTip.showText(event.globalPos(), self.tooltip_at(QPointF(event.pos())), self)
            return True
        return super().event(event)

    def tooltip_at(self, point: QPointF) -> str:
        """What hovering at ``point`` explains: the markers under it, else the emotion there."""
        hits = [
            m
            for m in self._markers
            if (self.to_widget(m.emotion.valence, m.emotion.arousal) - point).manhattanLength()
            <= MARKER_HIT_PX
        ]
        if hits:
            return "\n".join(f"{m.label}: heard as {m.emotion}" for m in hits)
        v, a = self.to_pad(point)
        hint = (
            "drag to draw the emotion over time"
            if self._curve_mode
            else "click or drag to set the target"
        )
        return f"{Emotion(v, a)}\n{hint}; arrow keys move the target"

    # ---- drawing ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        r = self.pad_rect()
        half_w, half_h = r.width() / 2, r.height() / 2
        label_font = QFont(self.font())
        label_font.setPointSizeF(label_font.pointSizeF() * 1.05)
        label_font.setBold(True)
        names: list[QRectF] = []  # where the quadrants' names are: marker labels keep off them
        spots = self._spots()
        for name, sv, sa in QUADRANTS:
            quad = QRectF(
                r.left() + (half_w if sv > 0 else 0),
                r.top() + (0 if sa > 0 else half_h),
                half_w,
                half_h,
            )
            p.fillRect(quad, QColor(theme.QUADRANT_COLOURS[name]))
            p.setPen(QColor(255, 255, 255, 150))
            p.setFont(label_font)
            # at the pad's corner; at the other end of the quadrant's outer edge when a marker or
            # the target sits on it there (and not there)
            vertical = Qt.AlignTop if sa > 0 else Qt.AlignBottom
            inside = quad.adjusted(8, 6, -8, -6)
            ends = (Qt.AlignRight, Qt.AlignLeft) if sv > 0 else (Qt.AlignLeft, Qt.AlignRight)
            boxes = [(end, p.boundingRect(inside, end | vertical, name)) for end in ends]
            clear = [(end, box) for end, box in boxes if not any(box.intersects(s) for s in spots)]
            end, box = (clear or boxes)[0]
            p.drawText(inside, end | vertical, name)
            names.append(box)
        # grid and axes
        p.setPen(QPen(QColor(255, 255, 255, 25), 1))
        for i in (1, 3):
            p.drawLine(
                QPointF(r.left() + i * r.width() / 4, r.top()),
                QPointF(r.left() + i * r.width() / 4, r.bottom()),
            )
            p.drawLine(
                QPointF(r.left(), r.top() + i * r.height() / 4),
                QPointF(r.right(), r.top() + i * r.height() / 4),
            )
        p.setPen(QPen(QColor(255, 255, 255, 80), 1))
        p.drawLine(QPointF(r.center().x(), r.top()), QPointF(r.center().x(), r.bottom()))
        p.drawLine(QPointF(r.left(), r.center().y()), QPointF(r.right(), r.center().y()))
        p.setPen(QPen(QColor(theme.BORDER), 1))
        p.drawRect(r)
        small = QFont(self.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        p.setFont(small)
        p.setPen(QColor(theme.DIM_TEXT))
        p.drawText(QRectF(r.left(), r.bottom() + 2, r.width(), 16), Qt.AlignCenter, "valence →")
        p.save()
        p.translate(r.left() - 4, r.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-r.height() / 2, -16, r.height(), 16), Qt.AlignCenter, "arousal →")
        p.restore()
        self._paint_curve(p)
        self._paint_markers(p, small, names)
        self._paint_target(p)
        if self.hasFocus():
            p.setPen(QPen(QColor(theme.ACCENT), 1, Qt.DashLine))
            p.setBrush(Qt.NoBrush)
            p.drawRect(r.adjusted(-3, -3, 3, 3))
        p.end()

    def _spots(self) -> list[QRectF]:
        """Where the markers and the target are drawn (their bounding boxes)."""
        points = [(m.emotion, 7.0) for m in self._markers] + [(self._target, 11.0)]
        return [
            QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r)
            for c, r in ((self.to_widget(e.valence, e.arousal), r) for e, r in points)
        ]

    def _paint_curve(self, p: QPainter) -> None:
        if len(self._curve) < 2:
            return
        path = QPainterPath(self.to_widget(*self._curve[0]))
        for v, a in self._curve[1:]:
            path.lineTo(self.to_widget(v, a))
        p.setPen(QPen(QColor(theme.WARNING), 2.5, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
        p.setBrush(Qt.NoBrush)
        p.drawPath(path)
        start, end = self.to_widget(*self._curve[0]), self.to_widget(*self._curve[-1])
        p.setBrush(QColor(theme.WARNING))
        p.drawEllipse(start, 4, 4)
        p.setBrush(QColor(theme.BACKGROUND))
        p.drawEllipse(end, 5, 5)

    def _paint_markers(self, p: QPainter, font: QFont, names: list[QRectF]) -> None:
        """The input's diamond and the takes' dots, each with its label beside it; a label steps
        off the quadrants' names and the labels drawn before it (down in the pad's upper half,
        up in its lower half)."""
        p.setFont(font)
        labels: list[QRectF] = []  # label boxes drawn so far: later ones step aside
        pad = self.pad_rect()
        for m in self._markers:
            c = self.to_widget(m.emotion.valence, m.emotion.arousal)
            if m.kind == "input":
                diamond = QPainterPath()
                diamond.moveTo(c.x(), c.y() - 7)
                diamond.lineTo(c.x() + 7, c.y())
                diamond.lineTo(c.x(), c.y() + 7)
                diamond.lineTo(c.x() - 7, c.y())
                diamond.closeSubpath()
                p.setPen(QPen(QColor("#000000"), 1))
                p.setBrush(QColor("#ffffff"))
                p.drawPath(diamond)
            else:
                colour = QColor(theme.CURRENT_TAKE) if m.current else QColor(theme.OTHER_TAKE)
                p.setPen(QPen(QColor("#000000"), 1))
                p.setBrush(colour)
                p.drawEllipse(c, 5, 5)
            metrics = p.fontMetrics()
            box = QRectF(
                c.x() + 9,
                c.y() - metrics.height() / 2 - 1,
                metrics.horizontalAdvance(m.label) + 8,
                metrics.height() + 2,
            )
            if box.right() > pad.right():
                box.moveRight(c.x() - 9)
            if box.top() < pad.top():
                box.moveTop(pad.top() + 1)
            step = box.height() + 1 if box.center().y() < pad.center().y() else -box.height() - 1
            for _ in range(len(labels) + len(names) + 1):  # each obstacle passed at most once
                if not any(box.intersects(other) for other in (*names, *labels)):
                    break
                box.translate(0, step)
            labels.append(box)
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(0, 0, 0, 150))
            p.drawRoundedRect(box, 3, 3)
            p.setPen(QColor(255, 255, 255, 220))
            p.drawText(box, Qt.AlignCenter, m.label)
        self.label_boxes, self.name_boxes = labels, names

    def _paint_target(self, p: QPainter) -> None:
        c = self.to_widget(self._target.valence, self._target.arousal)
        p.setBrush(Qt.NoBrush)
        p.setPen(QPen(QColor(0, 0, 0, 120), 5))
        p.drawEllipse(c, 10, 10)
        p.setPen(QPen(QColor(theme.ACCENT), 3))
        p.drawEllipse(c, 10, 10)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor("#ffffff"))
        p.drawEllipse(c, 3.5, 3.5)

    def _describe(self) -> None:
        mode = "Draw mode: drag to draw an emotion curve over time. " if self._curve_mode else ""
        self.setAccessibleDescription(f"{mode}Target: {self._target}. Arrow keys move it.")


def _clamp(x: float) -> float:
    return max(-1.0, min(1.0, float(x)))
