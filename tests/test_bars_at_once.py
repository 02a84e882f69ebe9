"""BarStack.forward_bars (every bar at once, layer by layer) computes what the bar-by-bar loop
over forward_bar computes: the encoders' posteriors, the decoder's hidden states and, in
training, the same gradients (the memory is gradient-stopped in both)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from emostudio.model import CDGMVAE, ModelConfig, load_model
from emostudio.model.cdgmvae import PAD, Encoder
from emostudio.model.layers import BarStack
from emostudio.tokens import TokenizerConfig
from tests.test_fast_decode import TINY, random_bars

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"


def bar_by_bar(stack: BarStack, tokens: torch.Tensor, cond=None) -> torch.Tensor:
    """The reference: one bar after another, each with the previous ``stack.memory_bars`` bars'
    layer inputs as memory (cond: per layer [B, T, d] or None) -> h [B, T, L, d]."""
    b, t, length = tokens.shape
    keep = (stack.memory_bars - 1) * length  # slots of the memory that stay for the next bar
    mems, mem_mask = stack.empty_memory(b, tokens.device)
    out = []
    for i in range(t):
        bar_cond = None if cond is None else [c[:, i] for c in cond]
        h, inputs = stack.forward_bar(tokens[:, i], mems, mem_mask, bar_cond)
        mems = [torch.cat([m[:, m.shape[1] - keep :], x], 1) for m, x in zip(mems, inputs)]
        mem_mask = torch.cat([mem_mask[:, mem_mask.shape[1] - keep :], tokens[:, i] != PAD], 1)
        out.append(h)
    return torch.stack(out, dim=1)


def encoder_bar_by_bar(encoder: Encoder, tokens: torch.Tensor):
    """The encoder as it was before forward_bars: mean-pooled per bar, one bar after another."""
    h = bar_by_bar(encoder.stack, tokens)
    w = (tokens != PAD).unsqueeze(-1).to(h.dtype)
    pooled = (h * w).sum(2) / w.sum(2).clamp(min=1.0)
    if encoder.chroma is not None:
        pooled = pooled + torch.stack(
            [encoder.chroma(encoder.chroma_input(tokens[:, i])) for i in range(tokens.shape[1])],
            dim=1,
        )
    return encoder.to_mu(pooled), encoder.to_logvar(pooled).clamp(-encoder.clamp, encoder.clamp)


def tiny_model(memory_bars: int = 1) -> CDGMVAE:
    torch.manual_seed(0)
    config = ModelConfig.for_tokenizer(
        TokenizerConfig(),
        **TINY,
        pitch_class_tokens=True,
        key_chroma=True,
        decoder_memory_bars=memory_bars,
    )
    model = CDGMVAE(config)
    with torch.no_grad():  # the pitch-class and chroma parts start at zero: give them weights
        for stack in (model.encoder_k.stack, model.decoder.stack):
            stack.pc_embed.weight.normal_(0, 0.5)
        model.encoder_k.chroma[-1].weight.normal_(0, 0.5)
    return model


def padded_bars(config: ModelConfig) -> torch.Tensor:
    """Random bars of 3 rows; the last row has 2 real bars, then all-PAD bars (a shorter piece)."""
    tokens = random_bars(config, b=3, t=5, seed=2)
    tokens[2, 2:] = PAD
    return tokens


@pytest.mark.parametrize("memory_bars", [1, 2, 3])
def test_encoders_and_decoder_match_the_bar_by_bar_loop(memory_bars):
    model = tiny_model(memory_bars).eval()
    tokens = padded_bars(model.config)
    z = torch.randn(3, 5, model.config.latent)
    with torch.inference_mode():
        for encoder in (model.encoder_r, model.encoder_k):
            for fast, reference in zip(encoder(tokens), encoder_bar_by_bar(encoder, tokens)):
                assert torch.allclose(fast, reference, atol=1e-5)
        dec = model.decoder
        reference = bar_by_bar(dec.stack, tokens, [proj(z) for proj in dec.z_proj])
        fast = dec.hidden(tokens, z)
        real = tokens != PAD
        assert torch.allclose(fast[real], reference[real], atol=1e-5)
        # the memory matters: the same bars without their history give other states
        alone = bar_by_bar(dec.stack, tokens[:, 1:2], [proj(z[:, 1:2]) for proj in dec.z_proj])
        assert not torch.allclose(alone[real[:, 1:2]], fast[:, 1:2][real[:, 1:2]], atol=1e-3)


@pytest.mark.parametrize("memory_bars", [1, 2])
def test_gradients_match_the_bar_by_bar_loop(memory_bars):
    """Training goes through forward_bars: the same gradients for every weight (so the memory
    passes gradients to the weights but not back into the previous bars, as in the loop)."""
    model = tiny_model(memory_bars).train()
    tokens = padded_bars(model.config)
    z = torch.randn(3, 5, model.config.latent)
    weights = torch.randn(3, 5, model.config.bar_len, model.config.d_model)

    def grads(fast: bool) -> dict[str, torch.Tensor]:
        model.zero_grad()
        loss = torch.zeros(())
        for encoder in (model.encoder_r, model.encoder_k):
            mu, logvar = encoder(tokens) if fast else encoder_bar_by_bar(encoder, tokens)
            loss = loss + mu.square().sum() + logvar.sum()
        dec = model.decoder
        cond = [proj(z) for proj in dec.z_proj]
        h = dec.hidden(tokens, z) if fast else bar_by_bar(dec.stack, tokens, cond)
        (loss + (h * weights).sum()).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    fast, reference = grads(True), grads(False)
    assert fast.keys() == reference.keys()
    assert any(g.abs().max() > 0 for g in reference.values())
    for name, g in reference.items():
        assert torch.allclose(fast[name], g, atol=1e-4, rtol=1e-4), name


@pytest.mark.parametrize("memory_bars", [1, 2])
def test_the_decoder_remembers_as_many_bars_as_its_config_says(memory_bars):
    """A change to bar 0 reaches bar ``memory_bars`` (through the memory) and no bar after it
    (the memory is gradient-stopped layer inputs: bar 0 reaches bar 1 at layer 1, bar 2 at
    layer 2, ..., so with 2 layers and D bars of memory, bar 0 reaches bars up to 2 D)."""
    model = tiny_model(memory_bars).eval()
    tokens = random_bars(model.config, b=1, t=8, seed=4)
    changed = tokens.clone()
    changed[0, 0, 1:] = random_bars(model.config, b=1, t=1, seed=5)[0, 0, 1:]
    z = torch.randn(1, 8, model.config.latent)
    with torch.inference_mode():
        a, b = model.decoder.hidden(tokens, z), model.decoder.hidden(changed, z)
    moved = [bool((a[0, t] - b[0, t]).abs().max() > 1e-6) for t in range(8)]
    reach = model.config.n_dec_layers * memory_bars
    assert moved == [t <= reach for t in range(8)]


@pytest.mark.skipif(not (SHIPPED / "model.safetensors").exists(), reason="no shipped model")
def test_shipped_posteriors_match_the_bar_by_bar_loop():
    model, _ = load_model(SHIPPED, torch.device("cpu"))
    model.eval()
    tokens = random_bars(model.config, b=2, t=16, seed=3)
    with torch.inference_mode():
        post = model.encode(tokens)
        for encoder, mu, logvar in (
            (model.encoder_r, post.mu_r, post.logvar_r),
            (model.encoder_k, post.mu_k, post.logvar_k),
        ):
            ref_mu, ref_logvar = encoder_bar_by_bar(encoder, tokens)
            assert (mu - ref_mu).abs().max() <= 1e-4
            assert (logvar - ref_logvar).abs().max() <= 1e-4
