import math

import pytest

from emostudio.emotion import Emotion, EmotionError, dimensions_of, quadrant_of


@pytest.mark.parametrize(
    "text, quadrant",
    [
        ("happy", 1),
        ("Tense", 2),
        ("sad", 3),
        ("calm", 4),
        ("Q1", 1),
        ("q3", 3),
        ("0.5,-0.3", 4),
        ("-0.2,0.9", 2),
    ],
)
def test_parse_names_quadrants_and_points(text, quadrant):
    assert Emotion.parse(text).quadrant == quadrant


@pytest.mark.parametrize("text", ["joyful", "Q5", "7,0", "0.1", "nan,0", ""])
def test_parse_rejects_impossible_targets(text):
    with pytest.raises(EmotionError):
        Emotion.parse(text)


def test_valence_outside_plane_is_refused():
    with pytest.raises(EmotionError, match="valence"):
        Emotion(7.0, 0.0)


def test_component_weights_are_soft_in_the_middle_and_sharp_at_the_edges():
    a, v = Emotion(0.0, 0.0).component_weights()
    assert math.isclose(a, 0.5) and math.isclose(v, 0.5)
    a, v = Emotion(1.0, -1.0).component_weights()
    assert v > 0.99 and a < 0.01
    # monotone along each axis
    weights = [Emotion(0.0, x / 10).component_weights()[0] for x in range(-10, 11)]
    assert weights == sorted(weights)


@pytest.mark.parametrize("q", [1, 2, 3, 4])
def test_quadrant_dimension_round_trip(q):
    valence_high, arousal_high = dimensions_of(q)
    assert quadrant_of(valence_high, arousal_high) == q
    assert Emotion.from_quadrant(q).quadrant == q
