"""Training on a synthetic corpus: schedules, windows, the loop's events, separation of the classes,
the alpha penalty against collapse, plots."""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pytest
import torch

from emostudio.model import ModelConfig, load_model
from emostudio.model.objective import batch_mean_kl, categorical_kl, mixture_kl_z, window_q_y
from emostudio.model.prior import GaussianMixturePrior
from emostudio.tokens.config import ConfigError
from emostudio.tokens.vocab import BAR, EOS, PAD
from emostudio.tokens.window import fit_bar
from emostudio.training import TrainConfig, train
from emostudio.training.data import TrainSampler, Window, WindowData, rotate_key, validation_set
from emostudio.training.plot import plot_run, read_metrics
from emostudio.training.schedules import beta, learning_rate
from emostudio.training.synthetic import synthetic_cache

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def cache():
    return synthetic_cache(
        n_pieces=48, n_bars=(4, 8), random_tonic=False, labelled_share=0.5, seed=0
    )


def tiny_model_config(cache, **changes) -> ModelConfig:
    base = dict(
        d_model=32,
        n_heads=2,
        n_enc_layers=1,
        n_dec_layers=1,
        bar_len=48,
        latent_r=4,
        latent_k=4,
        dropout=0.0,
        feature_hidden=32,
    )
    return ModelConfig.for_tokenizer(cache.tokenizer_config, **{**base, **changes})


# ---- schedules ---------------------------------------------------------------------------------------
def test_learning_rate_boundaries():
    c = TrainConfig(lr=1e-3, warmup_steps=10, max_steps=110, min_lr_ratio=0.1)
    assert learning_rate(0, c) == 0.0
    assert learning_rate(5, c) == pytest.approx(5e-4)
    assert learning_rate(10, c) == pytest.approx(1e-3)  # end of warmup = peak
    assert learning_rate(60, c) == pytest.approx(0.55e-3)  # half-way down the cosine
    assert learning_rate(110, c) == pytest.approx(1e-4)
    assert learning_rate(1000, c) == pytest.approx(1e-4)  # constant after the end
    lrs = [learning_rate(s, c) for s in range(10, 111)]
    assert all(a >= b for a, b in itertools.pairwise(lrs))
    assert learning_rate(0, TrainConfig(warmup_steps=0, lr=2e-3)) == pytest.approx(2e-3)


def test_beta_boundaries():
    c = TrainConfig(beta_start=0.0, beta_max=0.5, beta_anneal_steps=100)
    assert beta(0, c) == 0.0
    assert beta(50, c) == pytest.approx(0.25)
    assert beta(100, c) == 0.5 and beta(10_000, c) == 0.5
    values = [beta(s, c) for s in range(0, 200)]
    assert min(values) >= 0.0 and max(values) <= 0.5
    assert beta(0, TrainConfig(beta_anneal_steps=0, beta_max=0.7)) == 0.7


def test_train_config_json_and_validation(tmp_path):
    c = TrainConfig(supervision_rate=0.1, max_steps=7)
    c.save(tmp_path / "t.json")
    assert TrainConfig.load(tmp_path / "t.json") == c
    with pytest.raises(ConfigError, match="supervision_rate"):
        TrainConfig(supervision_rate=1.5)
    with pytest.raises(ConfigError, match="format version"):
        TrainConfig.from_dict({"format_version": 3})


# ---- data ----------------------------------------------------------------------------------------------
def test_rotate_key():
    assert rotate_key(np.array([0, 11, 12, 23]), 1).tolist() == [1, 0, 13, 12]
    assert rotate_key(np.array([4, 16]), -5).tolist() == [11, 23]


def test_windows_targets_truncation_and_shift(cache):
    mc = tiny_model_config(cache, bar_len=30)
    tc = TrainConfig(bars_per_sample=4)
    data = WindowData(cache, mc, tc)
    piece = next(i for i, p in enumerate(cache.pieces) if p.n_bars == 4)
    tokens, targets, poly, key = data.window_arrays(Window(piece, 0))
    bars = cache.bars(piece)
    kinds = data.tokenizer.vocab.kinds
    assert any(len(b) > 30 for b in bars)  # the test sees a cut bar
    for i, bar in enumerate(bars):
        n = len(fit_bar(bar, 30, kinds))
        # a cut bar keeps whole notes only: it ends after a Duration (or its Tempo), at most 30
        assert n == len(bar) if len(bar) <= 30 else (n <= 30 and kinds[bar[n - 1]] in (4, 7))
        assert tokens[i, :n].tolist() == bar[:n].tolist() and (tokens[i, n:] == PAD).all()
        assert targets[i, : n - 1].tolist() == bar[1:n].tolist()
        # the last token, cut or not, is followed by the next bar's Bar, or EOS at the end
        assert targets[i, n - 1] == (BAR if i < 3 else EOS)
    assert data.bars_truncated == sum(len(b) > 30 for b in bars)
    assert (poly <= mc.polyphony_classes - 1).all()
    shifted = data.window_arrays(Window(piece, 0, shift=3))
    assert (shifted[3] == rotate_key(key, 3)).all()
    assert (
        data.tokenizer.transpose(tokens[0][tokens[0] != PAD], 3).tolist()
        == shifted[0][0][shifted[0][0] != PAD].tolist()
    )
    # a window running past a short piece is padded with empty bars
    long = data.window_arrays(Window(piece, 2))[0]
    assert (long[2:] == PAD).all() and (long[:2, 0] == BAR).all()
    # a shift that would move a pitch of any of its bars out of 0-127 leaves the window as it is
    for got, want in zip(
        data.window_arrays(Window(piece, 0, shift=121)), (tokens, targets, poly, key)
    ):
        assert (got == want).all()


def test_sampler_is_reproducible_and_mixes_labels(cache):
    mc = tiny_model_config(cache)
    tc = TrainConfig(batch_size=64, bars_per_sample=4, labelled_fraction=0.5)
    sampler = TrainSampler(cache, WindowData(cache, mc, tc), tc)
    a, la = sampler.windows(5)
    b, lb = sampler.windows(5)
    assert a == b and (la == lb).all()
    assert sampler.windows(6)[0] != a
    share = (la[:, 0] >= 0).mean()
    assert 0.3 < share < 0.7
    assert all(cache.pieces[w.piece].split == "train" for w in a)


def test_supervision_rate_hides_labels(cache):
    mc = tiny_model_config(cache)
    train_ids = cache.split_indices("train")
    full = TrainSampler(cache, WindowData(cache, mc, TrainConfig()), TrainConfig())
    rho = TrainSampler(
        cache, WindowData(cache, mc, TrainConfig()), TrainConfig(supervision_rate=0.1)
    )
    assert len(rho.labelled) == round(0.1 * len(train_ids)) < len(full.labelled)
    assert len(rho.labelled) + len(rho.unlabelled) == len(train_ids)
    with pytest.raises(ValueError, match="supervision rate"):
        TrainSampler(
            cache, WindowData(cache, mc, TrainConfig()), TrainConfig(supervision_rate=0.99)
        )


def test_validation_set_covers_labelled_clips(cache):
    val = validation_set(cache, TrainConfig(bars_per_sample=4))
    labelled_val = [i for i in cache.split_indices("val") if cache.pieces[i].quadrant]
    assert len(val.clip_labels) == len(labelled_val) > 0
    assert set(val.clip_of[val.clip_of >= 0].tolist()) == set(range(len(labelled_val)))


# ---- the loop --------------------------------------------------------------------------------------------
def test_short_training_separates_the_synthetic_classes(cache, tmp_path):
    """Arousal = note density, valence = mode: after a short training q(y|x) gets both right."""
    mc = tiny_model_config(cache)
    tc = TrainConfig(
        batch_size=16,
        bars_per_sample=4,
        max_steps=100,
        warmup_steps=10,
        epoch_steps=50,
        log_every=10,
        beta_anneal_steps=20,
        lr=3e-3,
        max_pitch_shift=0,
        seed=0,
    )
    events = list(train(cache, tmp_path / "run", mc, tc, torch.device("cpu")))
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and kinds.count("val") == 2
    assert events[-1]["reason"] == "finished" and events[-1]["step"] == 100
    final = [e for e in events if e["event"] == "val"][-1]["metrics"]
    assert final["arousal_accuracy"] > 0.9 and final["valence_accuracy"] > 0.9, final
    assert final["polyphony_accuracy"] > 0.5
    steps = [e for e in events if e["event"] == "step"]
    assert all(np.isfinite(e["loss"]) for e in steps)
    assert steps[-1]["losses"]["token"] < steps[0]["losses"]["token"]
    # best/ is a complete model folder, and it classifies as well as the metrics say
    _model, _ = load_model(tmp_path / "run" / "best")
    metrics = json.loads((tmp_path / "run" / "best" / "metrics.json").read_text())
    assert metrics["step"] in (50, 100) and "arousal_accuracy" in metrics
    assert (tmp_path / "run" / "best" / "MODEL_CARD.md").read_text().startswith("# emostudio")
    step_events, val_events = read_metrics(tmp_path / "run")
    assert len(step_events) == 10 and len(val_events) == 2
    png = plot_run(tmp_path / "run")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_alpha_keeps_components_apart_where_alpha_one_collapses():
    """A short training of the two arousal components under the unlabelled objective
    (KL_z with the alpha penalty + KL_y), on ambiguous posteriors (two heavily overlapping
    clusters): with alpha = 1 the spread term pulls the means onto each other; alpha = 0.2 keeps
    them apart. Both with and without the MI enhancement."""
    torch.manual_seed(0)
    labels = torch.randint(0, 2, (256,))
    centres = torch.tensor([[-0.3, 0.0, 0.0, 0.0], [0.3, 0.0, 0.0, 0.0]])
    mu = centres[labels][:, None, :] + 0.8 * torch.randn(256, 4, 4)  # [B, T, l]
    logvar = torch.full_like(mu, -1.0)
    mask = torch.ones(256, 4, dtype=torch.bool)

    def distance_after_training(alpha: float, use_mi: bool) -> float:
        torch.manual_seed(1)
        prior = GaussianMixturePrior(2, 4)
        with torch.no_grad():
            prior.means.copy_(centres * 5)
        opt = torch.optim.Adam(prior.parameters(), lr=0.05)
        for _ in range(300):
            z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
            q = window_q_y(prior, z[None], mask).exp()
            kl_y = (
                batch_mean_kl(q, prior.log_prior_y())
                if use_mi
                else categorical_kl(q, prior.log_prior_y()).mean()
            )
            loss = mixture_kl_z(mu, logvar, prior, q, alpha).sum(1).mean() + kl_y
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float((prior.means[1] - prior.means[0]).norm().detach())

    for use_mi in (True, False):
        apart, collapsed = (
            distance_after_training(0.2, use_mi),
            distance_after_training(1.0, use_mi),
        )
        assert collapsed < 0.05, collapsed
        assert apart > 0.8, apart


def test_cancel_flag_saves_and_stops(cache, tmp_path):
    mc = tiny_model_config(cache)
    tc = TrainConfig(batch_size=4, bars_per_sample=4, max_steps=1000, log_every=1, epoch_steps=1000)
    cancel = threading.Event()
    events = []
    for ev in train(cache, tmp_path / "run", mc, tc, torch.device("cpu"), cancel=cancel):
        events.append(ev)
        if ev["event"] == "step" and ev["step"] == 3:
            cancel.set()
    assert (
        events[-1]["event"] == "done"
        and events[-1]["reason"] == "cancelled"
        and events[-1]["step"] == 3
    )
    assert any(e["event"] == "checkpoint" and e["kind"] == "last" for e in events)
    resumed = list(
        train(
            cache,
            tmp_path / "run",
            mc,
            tc,
            torch.device("cpu"),
            resume=True,
            changes={"max_steps": 5},
        )
    )
    assert resumed[0]["event"] == "start" and resumed[0]["step"] == 3 and resumed[0]["resumed"]
    assert resumed[-1]["step"] == 5


def test_time_budget_stops_cleanly(cache, tmp_path):
    mc = tiny_model_config(cache)
    tc = TrainConfig(batch_size=4, bars_per_sample=4, max_steps=1000, epoch_steps=1000)
    events = list(train(cache, tmp_path / "run", mc, tc, torch.device("cpu"), max_minutes=0.0))
    assert events[-1]["reason"] == "time_budget" and events[-1]["step"] == 0


def test_nan_loss_is_an_error(cache, tmp_path):
    from emostudio.training import TrainingError

    mc = tiny_model_config(cache)
    tc = TrainConfig(batch_size=4, bars_per_sample=4, max_steps=5, lr=float("inf"), warmup_steps=0)
    with pytest.raises(TrainingError, match="loss became nan"):
        list(train(cache, tmp_path / "run", mc, tc, torch.device("cpu")))


def test_fine_tuning_may_change_objective_weights_not_the_architecture(cache, tmp_path):
    from emostudio.model import CDGMVAE, save_model
    from emostudio.training import TrainingError

    torch.manual_seed(0)
    base = save_model(CDGMVAE(tiny_model_config(cache)), cache.tokenizer_config, tmp_path / "base")
    tc = TrainConfig(
        batch_size=4, bars_per_sample=4, max_steps=1, epoch_steps=1000, lr=1e-12, warmup_steps=0
    )
    reweighted = tiny_model_config(cache, classify_weight=4.0, alpha=0.5)
    events = list(
        train(cache, tmp_path / "tuned", reweighted, tc, torch.device("cpu"), init_from=base)
    )
    assert events[-1]["event"] == "done"
    tuned, _ = load_model(tmp_path / "tuned" / "last")
    original, _ = load_model(base)
    assert tuned.config.classify_weight == 4.0
    assert torch.allclose(tuned.decoder.head.weight, original.decoder.head.weight, atol=1e-6)
    with pytest.raises(TrainingError, match=r"architecture differs.*d_model"):
        list(
            train(
                cache,
                tmp_path / "wider",
                tiny_model_config(cache, d_model=64),
                tc,
                torch.device("cpu"),
                init_from=base,
            )
        )


def test_train_only_fine_tunes_the_named_parts_and_leaves_the_rest(cache, tmp_path):
    from emostudio.model import CDGMVAE, save_model
    from emostudio.training import TrainingError

    torch.manual_seed(0)
    base = save_model(CDGMVAE(tiny_model_config(cache)), cache.tokenizer_config, tmp_path / "base")
    tc = TrainConfig(batch_size=4, bars_per_sample=4, max_steps=3, epoch_steps=1000, warmup_steps=0)
    decoder_only = TrainConfig.from_dict({**tc.to_dict(), "train_only": ["decoder"]})
    assert decoder_only.train_only == ("decoder",)
    list(
        train(
            cache,
            tmp_path / "tuned",
            tiny_model_config(cache),
            decoder_only,
            torch.device("cpu"),
            init_from=base,
        )
    )
    tuned, _ = load_model(tmp_path / "tuned" / "last")
    original, _ = load_model(base)
    before = dict(original.named_parameters())
    changed = {
        name.split(".", 1)[0]
        for name, p in tuned.named_parameters()
        if not torch.equal(p, before[name])
    }
    assert changed == {"decoder"}
    with pytest.raises(TrainingError, match=r"train_only names \['decodr'\]"):
        list(
            train(
                cache,
                tmp_path / "typo",
                tiny_model_config(cache),
                tc.with_changes(train_only=("decodr",)),
                torch.device("cpu"),
                init_from=base,
            )
        )
    with pytest.raises(ConfigError, match="train_only"):
        TrainConfig(train_only="decoder")


def test_priors_learn_at_their_own_rate_in_the_loop(cache, tmp_path):
    tc = TrainConfig(
        batch_size=4,
        bars_per_sample=4,
        max_steps=3,
        epoch_steps=1000,
        warmup_steps=0,
        prior_lr_scale=10.0,
    )
    list(train(cache, tmp_path / "run", tiny_model_config(cache), tc, torch.device("cpu")))
    groups = json.loads((tmp_path / "run" / "resume.json").read_text())["param_groups"]
    lrs = sorted(g["lr"] for g in groups)
    assert lrs[0] > 0 and lrs[0] == lrs[1] and lrs[2] == pytest.approx(10.0 * lrs[0])


def test_priors_learn_at_their_own_rate():
    from emostudio.model import CDGMVAE
    from emostudio.tokens import TokenizerConfig
    from emostudio.training.loop import make_optimizer

    mc = ModelConfig.for_tokenizer(
        TokenizerConfig(),
        d_model=32,
        n_heads=2,
        n_enc_layers=1,
        n_dec_layers=1,
        latent_r=4,
        latent_k=4,
        feature_hidden=16,
    )
    model = CDGMVAE(mc)
    opt = make_optimizer(model, TrainConfig(prior_lr_scale=30.0))
    prior_ids = {id(p) for name, p in model.named_parameters() if name.startswith("prior_")}
    scales = {id(p): g["lr_scale"] for g in opt.param_groups for p in g["params"]}
    assert all(scales[i] == 30.0 for i in prior_ids) and len(prior_ids) == 4
    assert {s for i, s in scales.items() if i not in prior_ids} == {1.0}
    with pytest.raises(ConfigError, match="prior_lr_scale"):
        TrainConfig(prior_lr_scale=0.0)


def test_fine_tuning_may_add_the_pitch_class_features_to_an_older_model(cache, tmp_path):
    from emostudio.model import CDGMVAE, save_model

    torch.manual_seed(0)
    old_config = tiny_model_config(cache, key_chroma=False, pitch_class_tokens=False)
    base = save_model(CDGMVAE(old_config), cache.tokenizer_config, tmp_path / "old")
    tc = TrainConfig(
        batch_size=4, bars_per_sample=4, max_steps=1, epoch_steps=1000, lr=1e-12, warmup_steps=0
    )
    events = list(
        train(
            cache,
            tmp_path / "tuned",
            tiny_model_config(cache),
            tc,
            torch.device("cpu"),
            init_from=base,
        )
    )
    assert events[-1]["event"] == "done"
    tuned, _ = load_model(tmp_path / "tuned" / "last")
    original, _ = load_model(base)
    assert tuned.config.key_chroma and tuned.config.pitch_class_tokens
    # the added parts start silent: the same posteriors and the same logits as the base model
    mc = tuned.config
    batch = TrainSampler(cache, WindowData(cache, mc, tc), tc).batch(0)
    with torch.no_grad():
        a, b = original.encode(batch.tokens), tuned.encode(batch.tokens)
        torch.testing.assert_close(a.mu_k, b.mu_k, atol=1e-5, rtol=0)
        z = torch.cat([a.mu_r, a.mu_k], dim=-1)
        torch.testing.assert_close(
            original.decoder_logits(batch.tokens, z),
            tuned.decoder_logits(batch.tokens, z),
            atol=1e-5,
            rtol=0,
        )
    # but a run that drops a feature the base has, or changes a size, is refused
    from emostudio.training import TrainingError

    with pytest.raises(TrainingError, match=r"architecture differs.*key_chroma"):
        list(
            train(
                cache,
                tmp_path / "drop",
                old_config,
                tc,
                torch.device("cpu"),
                init_from=tmp_path / "tuned" / "last",
            )
        )


def test_fine_tuning_may_grow_the_decoder_and_starts_from_the_base_models_outputs(cache, tmp_path):
    from emostudio.model import CDGMVAE, save_model
    from emostudio.training import TrainingError

    torch.manual_seed(0)
    base = save_model(CDGMVAE(tiny_model_config(cache)), cache.tokenizer_config, tmp_path / "base")
    original, _ = load_model(base)
    deeper = tiny_model_config(cache, n_dec_layers=3)
    tc = TrainConfig(
        batch_size=4, bars_per_sample=4, max_steps=1, epoch_steps=1000, lr=1e-12, warmup_steps=0
    )
    list(train(cache, tmp_path / "grown", deeper, tc, torch.device("cpu"), init_from=base))
    grown, _ = load_model(tmp_path / "grown" / "last")
    assert grown.config.n_dec_layers == 3
    batch = TrainSampler(cache, WindowData(cache, deeper, tc), tc).batch(0)
    with torch.no_grad():
        z = torch.randn(*batch.tokens.shape[:2], deeper.latent)
        before = original.decoder_logits(batch.tokens, z)
        torch.testing.assert_close(grown.decoder_logits(batch.tokens, z), before, atol=1e-5, rtol=0)
    # the new layers learn: a real step moves their output projections off zero and the logits
    list(
        train(
            cache,
            tmp_path / "learnt",
            deeper,
            tc.with_changes(lr=1e-3, max_steps=2),
            torch.device("cpu"),
            init_from=base,
        )
    )
    learnt, _ = load_model(tmp_path / "learnt" / "last")
    new_layer = learnt.decoder.stack.blocks[2]
    assert new_layer.attn.proj.weight.abs().max() > 0 and new_layer.mlp.down.weight.abs().max() > 0
    assert learnt.decoder.z_proj[2].weight.abs().max() > 0
    with torch.no_grad():
        assert (learnt.decoder_logits(batch.tokens, z) - before).abs().max() > 1e-3
    # a shallower decoder than the base's is refused
    with pytest.raises(TrainingError, match=r"architecture differs.*n_dec_layers"):
        list(
            train(
                cache,
                tmp_path / "shallower",
                tiny_model_config(cache),
                tc,
                torch.device("cpu"),
                init_from=tmp_path / "grown" / "last",
            )
        )


def test_resuming_an_optimizer_state_of_another_layout_is_a_clear_error(cache, tmp_path):
    from emostudio.training import TrainingError

    mc = tiny_model_config(cache)
    tc = TrainConfig(batch_size=4, bars_per_sample=4, max_steps=2, epoch_steps=1000)
    list(train(cache, tmp_path / "run", mc, tc, torch.device("cpu")))
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = tmp_path / "run" / "resume.safetensors"
    with safe_open(path, framework="pt") as fh:
        meta = json.loads(fh.metadata()["resume"])
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    meta["param_groups"] = meta["param_groups"][
        :2
    ]  # the layout before the priors had their own group
    save_file(tensors, path, metadata={"resume": json.dumps(meta)})
    with pytest.raises(TrainingError, match="--init-from"):
        list(
            train(
                cache,
                tmp_path / "run",
                mc,
                tc,
                torch.device("cpu"),
                resume=True,
                changes={"max_steps": 3},
            )
        )
