"""The valence-arousal pad, driven by mouse and keyboard."""

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from emostudio.emotion import Emotion
from emostudio.gui.pad import KEY_STEP, EmotionPad, PadMarker


@pytest.fixture
def pad(qtbot):
    pad = EmotionPad()
    qtbot.addWidget(pad)
    pad.resize(300, 300)
    pad.show()
    qtbot.waitExposed(pad)
    return pad


def _at(pad, valence, arousal) -> QPoint:
    return pad.to_widget(valence, arousal).toPoint()


def test_click_moves_the_target_to_that_quadrant(qtbot, pad):
    with qtbot.waitSignal(pad.target_changed) as signal:
        qtbot.mouseClick(pad, Qt.LeftButton, pos=_at(pad, -0.6, -0.6))
    emotion = signal.args[0]
    assert emotion.name == "sad"
    assert emotion.valence == pytest.approx(-0.6, abs=0.02) and emotion.arousal == pytest.approx(
        -0.6, abs=0.02
    )
    assert pad.target == emotion


def test_a_pick_is_announced_when_the_click_ends_not_while_drawing_a_curve(qtbot, pad):
    picks = []
    pad.picked.connect(picks.append)
    qtbot.mousePress(pad, Qt.LeftButton, pos=_at(pad, 0.0, 0.0))
    qtbot.mouseMove(pad, _at(pad, 0.6, 0.6))
    assert picks == []  # not while dragging
    qtbot.mouseRelease(pad, Qt.LeftButton, pos=_at(pad, 0.6, 0.6))
    assert len(picks) == 1 and picks[0] == pad.target and picks[0].name == "happy"
    pad.set_curve_mode(True)
    qtbot.mouseClick(pad, Qt.LeftButton, pos=_at(pad, -0.5, -0.5))
    assert len(picks) == 1


def test_drag_moves_the_target(qtbot, pad):
    qtbot.mousePress(pad, Qt.LeftButton, pos=_at(pad, 0.0, 0.0))
    qtbot.mouseMove(pad, _at(pad, -0.5, 0.8))
    qtbot.mouseRelease(pad, Qt.LeftButton, pos=_at(pad, -0.5, 0.8))
    assert pad.target.name == "tense"
    assert pad.target.arousal == pytest.approx(0.8, abs=0.02)


def test_arrow_keys_move_the_target_and_stop_at_the_edge(qtbot, pad):
    pad.set_target(Emotion(0.0, 0.0))
    pad.setFocus()
    qtbot.keyClick(pad, Qt.Key_Right)
    qtbot.keyClick(pad, Qt.Key_Up)
    qtbot.keyClick(pad, Qt.Key_Up)
    assert pad.target == Emotion(KEY_STEP, 2 * KEY_STEP)
    for _ in range(10):
        qtbot.keyClick(pad, Qt.Key_Down, Qt.ShiftModifier)
    assert pad.target.arousal == -1.0
    qtbot.keyClick(pad, Qt.Key_Home)
    assert pad.target == Emotion(0.0, 0.0)


def test_curve_mode_draws_a_path(qtbot, pad):
    pad.set_curve_mode(True)
    before = pad.target
    points = [(-0.8, -0.8), (-0.2, 0.0), (0.5, 0.5), (0.8, 0.8)]
    qtbot.mousePress(pad, Qt.LeftButton, pos=_at(pad, *points[0]))
    for v, a in points[1:]:
        qtbot.mouseMove(pad, _at(pad, v, a))
    with qtbot.waitSignal(pad.curve_changed) as signal:
        qtbot.mouseRelease(pad, Qt.LeftButton, pos=_at(pad, *points[-1]))
    curve = signal.args[0]
    assert len(curve) == 4
    assert curve[0] == pytest.approx((-0.8, -0.8), abs=0.02) and curve[-1] == pytest.approx(
        (0.8, 0.8), abs=0.02
    )
    assert pad.target == before  # drawing does not move the target point
    with qtbot.waitSignal(pad.curve_changed) as cleared:
        qtbot.keyClick(pad, Qt.Key_Escape)
    assert cleared.args[0] is None and pad.curve == []


def test_tooltips_name_markers_and_positions(pad):
    pad.set_markers([PadMarker("input", Emotion(0.5, -0.5), kind="input")])
    text = pad.tooltip_at(QPointF(pad.to_widget(0.5, -0.5)))
    assert "input" in text and "calm" in text
    assert "happy" in pad.tooltip_at(QPointF(pad.to_widget(0.7, 0.7)))


def test_pad_paints_markers_and_curve(qtbot, pad):
    pad.set_markers(
        [
            PadMarker("input", Emotion(0.5, -0.5), kind="input"),
            PadMarker("take 1", Emotion(-0.3, 0.4), current=True),
        ]
    )
    pad.set_curve_mode(True)
    qtbot.mousePress(pad, Qt.LeftButton, pos=_at(pad, -0.8, 0.0))
    qtbot.mouseMove(pad, _at(pad, 0.8, 0.0))
    qtbot.mouseRelease(pad, Qt.LeftButton, pos=_at(pad, 0.8, 0.0))
    image = pad.grab().toImage()
    # the curve (warning colour) crosses the middle row of the pad
    mid = pad.to_widget(0.0, 0.0).toPoint()
    colour = image.pixelColor(mid.x(), mid.y())
    assert colour.red() > 200 and colour.green() > 130


def test_marker_labels_keep_off_the_quadrant_names(qtbot, pad):
    """Takes at the corners (where the names are) and the input beside one: every label is
    drawn clear of the names and of each other, inside the pad; and each name moves along its
    quadrant's edge off the marker that sits on its corner."""
    pad.set_markers(
        [
            PadMarker("input", Emotion(0.7, -0.8), kind="input"),
            PadMarker("1", Emotion(0.85, -0.85), current=True),
            PadMarker("2", Emotion(-0.9, -0.9)),
            PadMarker("3", Emotion(-0.9, 0.9)),
            PadMarker("4", Emotion(0.9, 0.9)),
        ]
    )
    pad.grab()  # paints
    labels, names = pad.label_boxes, pad.name_boxes
    assert len(labels) == 5 and len(names) == 4
    for i, box in enumerate(labels):
        assert not any(box.intersects(name) for name in names)
        assert not any(box.intersects(other) for other in labels[:i])
        assert pad.rect().contains(box.toRect())
    for name in names:
        assert not any(name.intersects(spot) for spot in pad._spots())
        assert pad.pad_rect().contains(name)
    sad = names[2]  # QUADRANTS order: happy, tense, sad, calm
    assert sad.right() <= pad.pad_rect().center().x()  # still in its quadrant


def test_a_quadrant_name_stays_in_its_corner_when_nothing_sits_there(qtbot, pad):
    pad.set_markers([PadMarker("1", Emotion(-0.2, -0.2))])
    pad.grab()
    sad = pad.name_boxes[2]
    assert sad.left() - pad.pad_rect().left() < 12  # at the pad's left edge
