"""Choosing the next token: grammar mask, temperature, nucleus (top-p) sampling."""

from __future__ import annotations

import torch

from emostudio.decoding import DecodingSettingsError

#: bad sampling settings: the error :class:`~emostudio.decoding.DecodingSettings` raises
SamplingError = DecodingSettingsError


#: nucleus sampling looks at most at this many of the most probable tokens
TOP_K = 64


def sample_next(
    logits: torch.Tensor,
    allowed: torch.Tensor,
    temperature: float,
    top_p: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """logits [B, V], allowed bool[B, V] (at least one True per row) -> token ids long[B].

    Disallowed tokens get probability 0; then, among the :data:`TOP_K` most probable tokens, the
    smallest set whose mass reaches ``top_p`` is kept (always at least the best one) and sampled
    from. ``top_p = 1`` samples from the whole allowed distribution."""
    logits = logits.float().masked_fill(~allowed, float("-inf")) / temperature
    probs = torch.softmax(logits, dim=-1)  # [B, V]
    if top_p >= 1.0:
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    top, order = torch.topk(probs, min(TOP_K, probs.shape[-1]), dim=-1)  # [B, k], sorted
    mass_before = torch.cumsum(top, dim=-1) - top
    top = top.masked_fill(mass_before >= top_p, 0.0)
    choice = torch.multinomial(top, 1, generator=generator)  # [B, 1]
    return order.gather(-1, choice).squeeze(-1)
