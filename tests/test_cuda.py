"""The shipped model on a CUDA GPU, every engine entry point (skipped without a GPU).

Each entry point is its own test so that one run on a GPU machine reports every failure at once.
Recognition is deterministic, so the GPU's must match the CPU's; the sampled entry points draw
from the GPU's generator, so they are checked for their shape and the rules of their kind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from songs import notes_in

from emostudio.emotion import Emotion
from emostudio.generation import Engine

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"
HAPPY, TENSE, SAD, CALM = (Emotion.from_quadrant(q) for q in (1, 2, 3, 4))


@pytest.fixture(scope="module")
def gpu():
    return Engine.load(SHIPPED, device="cuda")


@pytest.fixture(scope="module")
def cpu():
    return Engine.load(SHIPPED, device="cpu")


@pytest.fixture(scope="module")
def piece(cpu):
    return cpu.generate_many([SAD], bars=8, seed=3)[0]


def test_the_engine_and_its_prior_load_onto_the_gpu(gpu):
    assert gpu.device.startswith("cuda")
    assert gpu.prior_kind == "fitted"
    assert next(gpu.model.parameters()).is_cuda


def test_generate_streams_every_bar(gpu):
    events = list(gpu.generate(HAPPY, bars=8, seed=1))
    assert [e.index for e in events] == list(range(8))
    assert events[-1].song.n_bars == 8 and events[-1].song.note_count > 0


def test_the_same_seed_gives_the_same_piece_on_the_gpu(gpu):
    a = gpu.generate_many([CALM], bars=4, seed=5)[0]
    b = gpu.generate_many([CALM], bars=4, seed=5)[0]
    assert notes_in(a, 0, 3) == notes_in(b, 0, 3)


def test_a_batch_with_a_form_decodes_every_row(gpu):
    songs = gpu.generate_many([HAPPY, TENSE, SAD, CALM], bars=16, seed=2, form="AABA")
    assert [s.n_bars for s in songs] == [16] * 4


def test_recognition_on_the_gpu_matches_the_cpu(gpu, cpu, piece):
    on_gpu, on_cpu = gpu.recognise(piece), cpu.recognise(piece)
    assert np.allclose(on_gpu.arousal, on_cpu.arousal, atol=1e-3)
    assert np.allclose(on_gpu.valence, on_cpu.valence, atol=1e-3)


def test_both_transfer_methods(gpu, piece):
    for method in ("edit", "rewrite"):
        events = list(gpu.transfer(piece, HAPPY, seed=0, method=method))
        assert events[-1].song.n_bars == piece.n_bars, method


def test_continue_keeps_the_piece(gpu, piece):
    songs = gpu.continue_piece(piece, 4, target=HAPPY, variations=2, seed=0)
    assert len(songs) == 2
    for song in songs:
        assert song.n_bars == piece.n_bars + 4
        assert notes_in(song, 0, piece.n_bars - 1) == notes_in(piece, 0, piece.n_bars - 1)


def test_fill_keeps_the_bars_outside(gpu, piece):
    (song,) = gpu.fill(piece, 2, 4, target=TENSE, seed=0)
    assert song.n_bars == piece.n_bars
    assert notes_in(song, 0, 1) == notes_in(piece, 0, 1)
    assert notes_in(song, 5, piece.n_bars - 1) == notes_in(piece, 5, piece.n_bars - 1)


def test_interpolate(gpu, cpu, piece):
    other = cpu.generate_many([HAPPY], bars=4, seed=9)[0]
    (song,) = gpu.interpolate(piece, other, 6, seed=0)
    assert song.n_bars == 6
