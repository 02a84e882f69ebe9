"""The model shipped in models/default: it loads with its own fitted prior, generates, and its card is complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.model.store import FITTED_PRIOR, load_fitted_prior, weights_sha256

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"


@pytest.fixture(scope="module")
def engine():
    return Engine.load(
        SHIPPED, device="cpu", prior="fitted"
    )  # an error if the prior does not fit the weights


def test_the_shipped_prior_belongs_to_the_shipped_weights(engine):
    prior = load_fitted_prior(SHIPPED)
    assert prior.info["model_sha256"] == weights_sha256(SHIPPED)
    assert engine.prior_kind == "fitted"
    bars = prior.info["bars"]
    assert min(bars["arousal"].values()) > 1000 and min(bars["valence"].values()) > 1000


def test_the_shipped_model_generates_and_recognises(engine):
    song = list(engine.generate(Emotion.from_quadrant(4), bars=2, seed=0))[-1].song
    assert song.n_bars == 2 and song.note_count > 0
    assert 0.0 <= engine.recognise(song).overall_arousal <= 1.0


def test_the_shipped_folder_is_small_and_documented():
    size = sum(f.stat().st_size for f in SHIPPED.rglob("*") if f.is_file())
    assert size < 50 * 2**20
    card = (SHIPPED / "MODEL_CARD.md").read_text()
    for needle in (
        "CC BY-NC-SA 4.0",
        "MIT",
        "research use only",
        "emostudio train",
        "emostudio fit-prior",
        "Measured quality",
        FITTED_PRIOR,
    ):
        assert needle in card, needle
