"""CDGMVAE on a tiny config: shapes, finite losses, cached == full decoding, the objective's terms."""

from __future__ import annotations

import math

import pytest
import torch

from emostudio.model import CDGMVAE, Batch, GaussianMixturePrior, ModelConfig
from emostudio.model.cdgmvae import grad_reverse
from emostudio.model.objective import (
    batch_mean_kl,
    categorical_kl,
    diag_gaussian_kl,
    mixture_kl_z,
    total_loss,
    window_q_y,
)
from emostudio.tokens import TokenizerConfig
from emostudio.tokens.config import ConfigError

torch.set_num_threads(1)

TINY = dict(
    d_model=32,
    n_heads=2,
    n_enc_layers=1,
    n_dec_layers=2,
    bar_len=20,
    latent_r=4,
    latent_k=6,
    feature_hidden=16,
    dropout=0.0,
)


def tiny_config(**changes) -> ModelConfig:
    return ModelConfig.for_tokenizer(TokenizerConfig(), **{**TINY, **changes})


def random_batch(config: ModelConfig, b=3, t=4, seed=0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    L = config.bar_len
    tokens = torch.randint(3, config.vocab_size, (b, t, L), generator=g)
    tokens[:, :, 0] = 2  # Bar
    lengths = torch.randint(3, L + 1, (b, t), generator=g)
    tokens[torch.arange(L)[None, None, :] >= lengths[..., None]] = 0
    tokens[-1, -1] = 0  # a padding bar
    targets = torch.roll(tokens, -1, dims=-1).clamp(min=1)
    targets[tokens == 0] = 0
    poly = torch.randint(0, config.polyphony_classes, (b, t, config.subbeats_per_bar), generator=g)
    key = torch.randint(0, config.n_keys, (b, t), generator=g)
    arousal = torch.tensor([0, 1, -1][:b])
    valence = torch.tensor([-1, 1, 0][:b])
    return Batch(tokens, targets, poly, key, arousal, valence)


def test_config_json_round_trip_and_version(tmp_path):
    c = tiny_config(alpha=0.5, use_mi=False)
    c.save(tmp_path / "c.json")
    assert ModelConfig.load(tmp_path / "c.json") == c
    assert c.vocab_size == 923  # derived from the tokenizer
    with pytest.raises(ConfigError, match="format version"):
        ModelConfig.from_dict({**c.to_dict(), "format_version": 99})
    with pytest.raises(ConfigError, match="unknown fields"):
        ModelConfig.from_dict({**c.to_dict(), "n_layers": 3})
    with pytest.raises(ConfigError, match="alpha"):
        tiny_config(alpha=1.5)


def test_shapes_and_finite_losses():
    torch.manual_seed(0)
    c = tiny_config()
    model = CDGMVAE(c)
    batch = random_batch(c)
    post = model.encode(batch.tokens)
    for t, size in ((post.mu_r, 4), (post.logvar_r, 4), (post.mu_k, 6), (post.logvar_k, 6)):
        assert t.shape == (3, 4, size)
    z = torch.randn(3, 4, c.latent)
    assert model.decoder_logits(batch.tokens, z).shape == (3, 4, c.bar_len, c.vocab_size)
    outputs, losses = model(batch)
    expected = {
        "token",
        "polyphony",
        "key",
        "adv_polyphony",
        "adv_key",
        "classify_r",
        "classify_k",
        "kl_z",
        "kl_y",
    }
    assert set(losses) == expected
    assert all(torch.isfinite(v) and v.dim() == 0 for v in losses.values())
    assert outputs["q_r"].shape == (3, 2) and torch.allclose(outputs["q_r"].sum(-1), torch.ones(3))
    assert outputs["poly_logits"].shape == (3, 4, c.subbeats_per_bar, c.polyphony_classes)
    total_loss(losses, c, beta=0.5).backward()
    no_grad = [
        n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()
    ]
    assert no_grad == []


def test_key_chroma_reads_the_pitch_class_profile_of_pitched_notes():
    from emostudio.midi.families import Family
    from emostudio.tokens.vocab import Vocabulary

    c = tiny_config()
    vocab = Vocabulary(TokenizerConfig())
    piano, drums = vocab.families[Family.PIANO].pitch, vocab.families[Family.DRUMS].pitch
    encoder = CDGMVAE(c).encoder_k
    # C4, E4, G4, C5 on the piano, then a drum hit on note 62 and a velocity token: neither counts
    bar = torch.tensor(
        [
            [
                2,
                piano + 60,
                piano + 64,
                piano + 67,
                piano + 72,
                drums + 62,
                vocab.families[Family.PIANO].velocity + 3,
                0,
            ]
        ]
    )
    chroma = encoder.bar_chroma(bar)[0]
    expected = torch.zeros(12)
    expected[0], expected[4], expected[7] = 0.5, 0.25, 0.25
    assert torch.allclose(chroma, expected)
    assert torch.equal(encoder.bar_chroma(torch.tensor([[2, drums + 36, 0]])), torch.zeros(1, 12))
    # the profile's MLP starts silent, then moves the posterior once its last layer has weights
    batch = random_batch(c)
    model = CDGMVAE(c)
    silent = model.encode(batch.tokens).mu_k
    torch.nn.init.normal_(model.encoder_k.chroma[-1].weight)
    assert not torch.allclose(model.encode(batch.tokens).mu_k, silent)


def test_older_configs_read_with_the_later_features_off():
    new = {"key_chroma", "pitch_starts", "pitch_count", "pitch_class_tokens"}
    v1 = {k: v for k, v in tiny_config().to_dict().items() if k not in new}
    c = ModelConfig.from_dict({**v1, "format_version": 1})
    assert not c.key_chroma and not c.pitch_class_tokens and c.format_version == 3
    model = CDGMVAE(c)
    assert (
        model.encoder_k.chroma is None
        and model.decoder.pc_head is None
        and model.decoder.stack.pc_embed is None
    )
    v2 = {k: v for k, v in tiny_config().to_dict().items() if k != "pitch_class_tokens"}
    c = ModelConfig.from_dict({**v2, "format_version": 2})
    assert c.key_chroma and not c.pitch_class_tokens
    with pytest.raises(ConfigError, match="pitch layout"):
        ModelConfig(vocab_size=923, key_chroma=False, pitch_class_tokens=True)


def test_pitch_class_terms_are_shared_across_octaves_and_families():
    from emostudio.midi.families import Family
    from emostudio.tokens.vocab import Vocabulary

    c = tiny_config()
    vocab = Vocabulary(TokenizerConfig())
    model = CDGMVAE(c)
    dec = model.decoder
    h = torch.randn(5, c.d_model)
    assert torch.equal(dec.logits(h), dec.head(h))  # the pitch-class head starts at zero
    torch.nn.init.normal_(dec.pc_head.weight)
    with (
        torch.no_grad()
    ):  # as training leaves it: the not-pitched row is the padding row, never updated
        dec.stack.pc_embed.weight[:12].normal_()
    delta = dec.logits(h) - dec.head(h)
    piano, bass = vocab.families[Family.PIANO].pitch, vocab.families[Family.BASS].pitch
    drums = vocab.families[Family.DRUMS].pitch
    assert torch.allclose(delta[:, piano + 60], delta[:, piano + 72]) and torch.allclose(
        delta[:, piano + 60], delta[:, bass + 36]
    )
    assert not torch.allclose(delta[:, piano + 60], delta[:, piano + 61])
    assert torch.all(delta[:, drums + 60] == 0) and torch.all(
        delta[:, vocab.families[Family.PIANO].velocity] == 0
    )
    e = dec.stack.embed_tokens(
        torch.tensor([piano + 60, piano + 72, drums + 60])
    ) - dec.stack.embed(torch.tensor([piano + 60, piano + 72, drums + 60]))
    assert torch.allclose(e[0], e[1]) and torch.all(e[2] == 0) and e[0].abs().sum() > 0


def test_variants_are_config_values():
    c = tiny_config(use_adversary=False, use_mi=False, alpha=1.0)
    model = CDGMVAE(c)
    assert not hasattr(model, "adv_key")
    _, losses = model(random_batch(c))
    assert "adv_key" not in losses and torch.isfinite(total_loss(losses, c, 1.0))


@pytest.mark.parametrize("memory_bars", [1, 2, 3])
def test_cached_decoding_equals_full_decoding(memory_bars):
    torch.manual_seed(1)
    c = tiny_config(decoder_memory_bars=memory_bars)
    model = CDGMVAE(c).eval()
    batch = random_batch(c, b=3, t=4, seed=3)
    z = torch.randn(3, 4, c.latent)
    with torch.no_grad():
        full = model.decoder_logits(batch.tokens, z)
        state = model.decoder_start(3)
        bars = []
        for t in range(4):
            pieces = []
            for lo, hi in (
                (0, 1),
                (1, 7),
                (7, c.bar_len),
            ):  # one token, a chunk, the rest (with PAD)
                logits, state = model.decoder_step(batch.tokens[:, t, lo:hi], z[:, t], state)
                pieces.append(logits)
            bars.append(torch.cat(pieces, dim=1))
            state = model.decoder_next_bar(state)
    cached = torch.stack(bars, dim=1)
    real = batch.tokens != 0
    assert torch.allclose(full[real], cached[real], atol=1e-4)
    with pytest.raises(ValueError, match="at most"):
        model.decoder_step(torch.full((3, c.bar_len + 1), 2), z[:, 0], model.decoder_start(3))


def test_decoder_uses_the_previous_bar_as_memory():
    torch.manual_seed(2)
    c = tiny_config()
    model = CDGMVAE(c).eval()
    batch = random_batch(c, seed=4)
    z = torch.randn(3, 4, c.latent)
    changed = batch.tokens.clone()
    changed[:, 0, 1:3] = 50
    with torch.no_grad():
        a, b = model.decoder_logits(batch.tokens, z), model.decoder_logits(changed, z)
    assert not torch.allclose(a[:, 1], b[:, 1])  # bar 1 sees bar 0 through the memory
    # each layer's memory is the previous bar's input to that layer, so with 2 layers the reach is
    # 2 bars (as in Transformer-XL): bar 3 no longer depends on bar 0
    assert torch.allclose(a[:, 3], b[:, 3], atol=1e-5)


def test_prior_bayes_rule():
    torch.manual_seed(0)
    prior = GaussianMixturePrior(2, 3)
    z = torch.randn(5, 3)
    q = prior.q_y(z)
    manual = []
    for zi in z:
        dens = [
            torch.distributions.Normal(prior.means[y], (0.5 * prior.logvars[y]).exp())
            .log_prob(zi)
            .sum()
            .exp()
            for y in range(2)
        ]
        manual.append(torch.stack(dens) / sum(dens))
    assert torch.allclose(q, torch.stack(manual), atol=1e-5)
    s = prior.sample(torch.tensor([0, 1]), (7,))
    assert s.shape == (2, 7, 3)


def test_window_q_y_averages_bar_log_likelihoods_over_real_bars():
    prior = GaussianMixturePrior(2, 2)
    with torch.no_grad():
        prior.means.copy_(torch.tensor([[-2.0, 0.0], [2.0, 0.0]]))
    z = torch.tensor(
        [[[[2.0, 0.0], [2.0, 0.0], [-50.0, 0.0]]]]
    )  # [S=1, B=1, T=3, 2]; bar 3 is padding
    mask = torch.tensor([[True, True, False]])
    q = window_q_y(prior, z, mask).exp()
    assert q[0, 1] > 0.99
    # a padding bar cannot change the answer
    assert torch.allclose(window_q_y(prior, z[:, :, :2], mask[:, :2]), window_q_y(prior, z, mask))


def test_mixture_kl_alpha_decomposition():
    torch.manual_seed(0)
    prior = GaussianMixturePrior(2, 3)
    with torch.no_grad():
        prior.logvars.fill_(0.3)  # equal component variances: MODEL.md's decomposition is exact
    mu, logvar = torch.randn(2, 4, 3), torch.randn(2, 4, 3) * 0.3
    q = torch.tensor([[0.3, 0.7], [0.9, 0.1]])
    plain = sum(
        q[:, y, None] * diag_gaussian_kl(mu, logvar, prior.means[y], prior.logvars[y])
        for y in range(2)
    )
    assert torch.allclose(mixture_kl_z(mu, logvar, prior, q, alpha=1.0), plain, atol=1e-5)
    centre = q @ prior.means  # [B, l]
    spread = (q[:, :, None] * (prior.means[None] - centre[:, None]).pow(2)).sum((1, 2)) / (
        2 * math.exp(0.3)
    )
    reduced = mixture_kl_z(mu, logvar, prior, q, alpha=0.2)
    assert torch.allclose(plain - reduced, 0.8 * spread[:, None].expand(-1, 4), atol=1e-5)
    onehot = torch.tensor([[0.0, 1.0], [1.0, 0.0]])  # labelled samples: alpha makes no difference
    assert torch.allclose(
        mixture_kl_z(mu, logvar, prior, onehot, 0.0), mixture_kl_z(mu, logvar, prior, onehot, 1.0)
    )
    assert (mixture_kl_z(mu, logvar, prior, q, 0.0) >= 0).all()


def test_mi_enhancement_identity():
    q = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    log_p = torch.log(torch.tensor([0.5, 0.5]))
    mean_kl = categorical_kl(q, log_p).mean()
    qbar = q.mean(0)
    mutual_info = (q * (q.log() - qbar.log())).sum(-1).mean()
    assert torch.allclose(mean_kl, mutual_info + batch_mean_kl(q, log_p), atol=1e-6)
    assert batch_mean_kl(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), log_p).abs() < 1e-6


def test_gradient_reversal():
    x = torch.ones(3, requires_grad=True)
    (grad_reverse(x) * 2).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -2.0))


def test_encoding_leaves_out_trailing_pad_slots_with_the_same_result():
    """encode() drops the slots after the longest bar's last token; the posterior is what the
    encoders give on the whole window (positions count from each bar's start)."""
    torch.manual_seed(0)
    model = CDGMVAE(tiny_config(key_chroma=True)).eval()
    config = model.config
    tokens = torch.randint(3, config.vocab_size, (2, 3, config.bar_len))
    tokens[..., 0] = 2  # Bar
    lengths = torch.tensor([[5, 9, 2], [7, 3, 11]])
    tokens[torch.arange(config.bar_len) >= lengths[..., None]] = 0  # PAD after each bar
    assert int(lengths.max()) < config.bar_len
    with torch.no_grad():
        post = model.encode(tokens)
        whole = [model.encoder_r(tokens), model.encoder_k(tokens)]
    for got, want in zip(
        (post.mu_r, post.logvar_r, post.mu_k, post.logvar_k), [*whole[0], *whole[1]]
    ):
        assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(post.mu_r[0, 0], post.mu_r[0, 1], atol=1e-3)
