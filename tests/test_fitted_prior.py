"""The fitted generation prior: sampling and anchors, the file and its checks, fitting, the engine's use."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from emostudio.cli.main import main as cli_main
from emostudio.decoding import DecodingSettings
from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.model import CDGMVAE, ModelConfig, save_model
from emostudio.model.fitted_prior import ClassMixtures, FittedPrior, FittedPriorError
from emostudio.model.store import (
    FITTED_PRIOR,
    ModelLoadError,
    encoders_sha256,
    load_fitted_prior,
    load_model,
    prior_fingerprint,
    save_fitted_prior,
    weights_sha256,
)
from emostudio.tokens import TokenizerConfig
from emostudio.training.fit_prior import FitSettings, fit_prior
from emostudio.training.synthetic import synthetic_cache, write_cache

HAPPY, TENSE, SAD, CALM = (Emotion.from_quadrant(q) for q in (1, 2, 3, 4))
L = 4


def mixtures(offset: float) -> ClassMixtures:
    """Two components per class: low at (-5 +- 1, offset), high at (+5 +- 1, offset); tiny spread."""
    means = torch.zeros(2, 2, L)
    means[0, :, 0], means[1, :, 0] = -5.0, 5.0
    means[0, 0, 1], means[0, 1, 1], means[1, 0, 1], means[1, 1, 1] = -1.0, 1.0, 1.2, -1.2
    means[..., 2] = offset
    return ClassMixtures(torch.tensor([[0.5, 0.5], [0.5, 0.5]]), means, torch.full((2, 2, L), 1e-3))


def prior(sha: str = "x") -> FittedPrior:
    return FittedPrior(mixtures(0.0), mixtures(3.0), {"model_sha256": sha})


def draw(
    p: FittedPrior, w: float, persistence: float, rows: int = 64, bars: int = 6, seed: int = 0
) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    weights = torch.full((rows, bars), w)
    noise = torch.randn(rows, bars, L, generator=g)
    return p.sample("valence", weights, noise, persistence=persistence, generator=g)


# ---- the type -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, message",
    [
        (dict(weights=torch.tensor([[0.5, 0.5]])), "weights \\[2, C\\]"),
        (dict(weights=torch.tensor([[0.9, 0.5], [0.5, 0.5]])), "sum to 1"),
        (dict(stds=torch.zeros(2, 2, L)), "stds > 0"),
        (dict(means=torch.full((2, 2, L), float("nan"))), "non-finite"),
    ],
)
def test_class_mixtures_refuse_bad_values(change, message):
    good = mixtures(0.0)
    parts = dict(weights=good.weights, means=good.means, stds=good.stds) | change
    with pytest.raises(FittedPriorError, match=message):
        ClassMixtures(**parts)


def test_corner_draws_come_from_that_class_and_the_middle_lies_between():
    p = prior()
    high, low, mid = draw(p, 1.0, 1.0), draw(p, 0.0, 1.0), draw(p, 0.5, 1.0)
    assert torch.allclose(high[..., 0], torch.tensor(5.0), atol=0.01)
    assert torch.allclose(low[..., 0], torch.tensor(-5.0), atol=0.01)
    assert torch.allclose(mid[..., 0], torch.tensor(0.0), atol=0.01)
    assert torch.allclose(
        high[..., 2], torch.tensor(3.0), atol=0.01
    )  # the valence mixtures, not arousal's
    # both components of the class get drawn
    assert set(torch.sign(high[:, 0, 1]).tolist()) == {-1.0, 1.0}


def test_per_piece_keeps_one_component_and_pairs_it_with_the_nearest_of_the_other_class():
    p = prior()
    piece = draw(p, 1.0, persistence=1.0)
    assert (torch.sign(piece[..., 1]) == torch.sign(piece[:, :1, 1])).all()  # one component per row
    per_bar = draw(p, 1.0, persistence=0.0)
    assert (torch.sign(per_bar[..., 1]) != torch.sign(per_bar[:, :1, 1])).any()
    # in the middle of the pad the paired components sit on the same side: (-1 with -1.2, 1 with 1.2)
    mid = draw(p, 0.5, persistence=1.0)
    assert torch.allclose(mid[..., 1].abs(), torch.tensor(1.1), atol=0.01)


@pytest.mark.parametrize("persistence", [0.0, 0.5, 0.9])
def test_a_bar_keeps_the_previous_bars_component_with_the_persistence_probability(persistence):
    """Two equally likely components: neighbours share one with probability p + (1 - p) / 2, and
    every bar still draws each component half the time."""
    component = torch.sign(draw(prior(), 1.0, persistence, rows=4000, bars=8)[..., 1])
    same = (component[:, 1:] == component[:, :-1]).float().mean().item()
    assert abs(same - (persistence + (1 - persistence) / 2)) < 0.02
    assert abs((component > 0).float().mean().item() - 0.5) < 0.02
    changes = (component[:, 1:] != component[:, :-1]).sum(dim=1)  # per piece
    assert (changes > 0).any()  # pieces do change component (1 keeps one: the test above)


def test_no_persistence_draws_what_a_component_per_bar_always_drew():
    """0 takes no extra random numbers: the draws of every piece stay those of before."""
    p, g = prior(), torch.Generator().manual_seed(5)
    weights, noise = torch.ones(16, 6), torch.randn(16, 6, L, generator=g)
    state = g.get_state()
    a = p.sample("valence", weights, noise, persistence=0.0, generator=g)
    g.set_state(state)
    own = torch.multinomial(p.valence.weights[1].repeat(16 * 6, 1), 1, generator=g).view(16, 6)
    assert torch.equal(torch.sign(a[..., 1]), torch.where(own == 0, 1.0, -1.0))


def test_valence_anchors_are_the_nearest_component_of_each_class_arousal_ones_the_class_means():
    p = prior()
    z = torch.tensor([[-4.0, -0.9, 3.0, 0.0], [4.0, 1.1, 3.0, 0.0]])
    a = p.anchors("valence", z)  # [2, 2 classes, L]
    assert a.shape == (2, 2, L)
    assert a[0, 0, 1] == -1.0 and a[0, 1, 1] == -1.2
    assert a[1, 0, 1] == 1.0 and a[1, 1, 1] == 1.2
    # arousal: each class's mixture mean, whatever the bar
    b = p.anchors("arousal", z)
    assert torch.allclose(b[0], b[1]) and b[0, 0, 0] == -5.0 and b[0, 1, 0] == 5.0
    assert torch.allclose(b[0, :, 1], torch.zeros(2), atol=1e-6)  # (-1 + 1) / 2 and (1.2 - 1.2) / 2


# ---- the file -------------------------------------------------------------------------------------
@pytest.fixture()
def model_dir(tmp_path):
    torch.manual_seed(0)
    tc = TokenizerConfig()
    config = ModelConfig.for_tokenizer(
        tc,
        d_model=32,
        n_heads=2,
        n_enc_layers=1,
        n_dec_layers=1,
        bar_len=40,
        latent_r=L,
        latent_k=L,
        feature_hidden=16,
        dropout=0.0,
    )
    return save_model(CDGMVAE(config), tc, tmp_path / "tiny")


def test_round_trip_and_the_engine_uses_it(model_dir):
    assert load_fitted_prior(model_dir) is None
    assert Engine.load(model_dir, device="cpu").prior_kind == "learned"
    save_fitted_prior(model_dir, prior(weights_sha256(model_dir)))
    back = load_fitted_prior(model_dir)
    assert torch.equal(back.valence.means, mixtures(3.0).means)
    engine = Engine.load(model_dir, device="cpu")
    assert engine.prior_kind == "fitted"
    z_r, z_k = engine.target_latents(HAPPY, bars=5, seed=3)
    assert z_r.shape == (5, L) and z_k.shape == (5, L)
    assert np.all(z_k[:, 0] > 4.5) and np.all(z_r[:, 0] > 4.5)  # high valence, high arousal regions
    z_r, z_k = engine.target_latents(SAD, bars=5, seed=3)
    assert np.all(z_k[:, 0] < -4.5) and np.all(z_r[:, 0] < -4.5)
    song = list(engine.generate(CALM, bars=3, seed=1))[-1].song
    assert song.n_bars == 3
    assert Engine.load(model_dir, device="cpu", prior="learned").prior_kind == "learned"


def test_generation_keeps_a_rhythm_component_for_runs_of_bars_as_the_setting_says(model_dir):
    save_fitted_prior(model_dir, prior(weights_sha256(model_dir)))

    def changes(persistence: float) -> int:
        """Changes of rhythm component (the sign of z_r's second coordinate) over 8 pieces."""
        engine = Engine.load(
            model_dir, device="cpu", settings=DecodingSettings(rhythm_persistence=persistence)
        )
        signs = [np.sign(engine.target_latents(HAPPY, bars=12, seed=s)[0][:, 1]) for s in range(8)]
        return int(sum((a[1:] != a[:-1]).sum() for a in signs))

    assert changes(1.0) == 0  # one component a piece
    assert changes(0.0) > 20  # a fresh one every bar: about half of 88 neighbours differ
    assert 0 < changes(0.8) < changes(0.0)


def test_transfer_moves_each_bar_to_the_neighbouring_region_of_the_target_class(model_dir):
    save_fitted_prior(model_dir, prior(weights_sha256(model_dir)))
    # latent temperature 1: bars keep their deviation
    engine = Engine.load(model_dir, device="cpu", settings=DecodingSettings(latent_temperature=1.0))
    from tests.test_engine import source_song

    song = source_song(4)
    enc = engine.encode(song)
    z_r, z_k = engine.transfer_latents(song, HAPPY, strength=1.0, dims=("valence",))
    assert np.allclose(z_r, enc.z_r, atol=1e-5)  # arousal untouched
    anchors = engine.fitted_prior.anchors("valence", torch.as_tensor(enc.z_k)).numpy()  # [T, 2, L]
    w, q_high = HAPPY.component_weights()[1], enc.q_valence[1]
    moved = z_k - enc.z_k
    assert np.allclose(moved, (w - q_high) * (anchors[:, 1] - anchors[:, 0]), atol=1e-4)
    assert (moved[:, 0] > 0).all()  # towards the high-valence class


def test_a_prior_for_other_weights_or_a_broken_file_falls_back_or_fails_clearly(model_dir, caplog):
    save_fitted_prior(model_dir, prior("0" * 64))
    with pytest.raises(FittedPriorError, match="other weights"):
        load_fitted_prior(model_dir)
    with caplog.at_level(logging.WARNING):
        assert Engine.load(model_dir, device="cpu").prior_kind == "learned"
    assert "other weights" in caplog.text
    with pytest.raises(ModelLoadError, match="other weights"):
        Engine.load(model_dir, device="cpu", prior="fitted")
    (model_dir / FITTED_PRIOR).write_bytes(b"not safetensors at all")
    with pytest.raises(ModelLoadError, match="cannot read"):
        Engine.load(model_dir, device="cpu", prior="fitted")
    (model_dir / FITTED_PRIOR).unlink()
    with pytest.raises(ModelLoadError, match="no fitted prior"):
        Engine.load(model_dir, device="cpu", prior="fitted")


def test_a_prior_stays_with_a_fine_tuned_decoder_and_not_with_other_encoders(model_dir):
    fitted = FittedPrior(mixtures(0.0), mixtures(3.0), prior_fingerprint(model_dir))
    save_fitted_prior(model_dir, fitted)
    model, tokenizer = load_model(model_dir)
    before = weights_sha256(model_dir), encoders_sha256(model_dir)
    with torch.no_grad():
        next(model.decoder.parameters()).add_(0.5)  # a decoder-only fine-tune
    save_model(model, tokenizer.config, model_dir)
    save_fitted_prior(model_dir, fitted)  # the folder was rewritten: the same prior again
    assert weights_sha256(model_dir) != before[0] and encoders_sha256(model_dir) == before[1]
    assert load_fitted_prior(model_dir) is not None
    assert Engine.load(model_dir, device="cpu").prior_kind == "fitted"
    with torch.no_grad():
        next(model.encoder_k.parameters()).add_(0.5)  # the latents the prior was fitted on move
    save_model(model, tokenizer.config, model_dir)
    save_fitted_prior(model_dir, fitted)
    with pytest.raises(FittedPriorError, match="other weights"):
        load_fitted_prior(model_dir)
    # a prior that records only the whole file's digest (fitted before the encoders' digest) is
    # checked against the whole file
    save_fitted_prior(model_dir, prior(weights_sha256(model_dir)))
    assert load_fitted_prior(model_dir) is not None


def test_a_prior_for_other_latent_sizes_is_refused(model_dir):
    small = ClassMixtures(torch.tensor([[1.0], [1.0]]), torch.zeros(2, 1, 2), torch.ones(2, 1, 2))
    save_fitted_prior(
        model_dir, FittedPrior(small, small, {"model_sha256": weights_sha256(model_dir)})
    )
    with pytest.raises(ModelLoadError, match="2 \\+ 2 dimensions"):
        Engine.load(model_dir, device="cpu", prior="fitted")


# ---- fitting ----------------------------------------------------------------------------------------
def test_fit_prior_on_a_cache_separates_the_classes_it_was_given(model_dir):
    cache = synthetic_cache(n_pieces=24, n_bars=(4, 6), labelled_share=1.0, seed=1)
    from emostudio.model.store import load_model

    model, _ = load_model(model_dir)
    settings = FitSettings(
        components=2, confidence=0.5, window_bars=4, transpositions=(0, 2), min_bars=1
    )
    calls = []
    fitted = fit_prior(
        model,
        cache,
        {"model_sha256": "abc", "encoders_sha256": "def"},
        settings,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls and calls[-1][0] == calls[-1][1]
    assert fitted.info["model_sha256"] == "abc" and fitted.info["encoders_sha256"] == "def"
    assert fitted.info["components"] == 2
    assert fitted.valence.means.shape == (2, 2, L) and fitted.arousal.means.shape == (2, 2, L)
    bars = fitted.info["bars"]
    assert bars["valence"]["low_bars"] > 0 and bars["valence"]["high_bars"] > 0
    assert torch.allclose(fitted.valence.weights.sum(1), torch.ones(2))


def test_cli_fit_prior_writes_a_prior_the_engine_loads(model_dir, tmp_path, capsys):
    cache_dir = write_cache(
        synthetic_cache(n_pieces=8, n_bars=(4, 6), labelled_share=1.0), tmp_path / "cache"
    )
    code = cli_main(
        [
            "fit-prior",
            "--model",
            str(model_dir),
            "--cache",
            str(cache_dir),
            "--components",
            "2",
            "--device",
            "cpu",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "wrote" in capsys.readouterr().out
    assert Engine.load(model_dir, device="cpu", prior="fitted").prior_kind == "fitted"
    assert cli_main(["fit-prior", "--model", str(tmp_path), "--cache", str(cache_dir)]) == 1
    assert "not an emostudio model folder" in capsys.readouterr().err
    assert (
        cli_main(
            [
                "fit-prior",
                "--model",
                str(model_dir),
                "--cache",
                str(cache_dir),
                "--confidence",
                "1.5",
            ]
        )
        == 1
    )
    assert "confidence" in capsys.readouterr().err
