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
    """The reference: one bar after another, each with the previous bar's layer inputs as memory
    (cond: per layer [B, T, d] or None) -> h [B, T, L, d]."""
    b, t, _ = tokens.shape
    mems, mem_mask = stack.empty_memory(b, tokens.device)
    out = []
    for i in range(t):
        bar_cond = None if cond is None else [c[:, i] for c in cond]
        h, mems = stack.forward_bar(tokens[:, i], mems, mem_mask, bar_cond)
        mem_mask = tokens[:, i] != PAD
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


def tiny_model() -> CDGMVAE:
    torch.manual_seed(0)
    config = ModelConfig.for_tokenizer(
        TokenizerConfig(), **TINY, pitch_class_tokens=True, key_chroma=True
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


def test_encoders_and_decoder_match_the_bar_by_bar_loop():
    model = tiny_model().eval()
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


def test_gradients_match_the_bar_by_bar_loop():
    """Training goes through forward_bars: the same gradients for every weight (so the memory
    passes gradients to the weights but not back into the previous bar, as in the loop)."""
    model = tiny_model().train()
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
