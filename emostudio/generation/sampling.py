"""Choosing the next token: grammar mask, temperature, nucleus (top-p) sampling."""

from __future__ import annotations

import torch

from emostudio.decoding import DecodingSettingsError

#: bad sampling settings: the error :class:`~emostudio.decoding.DecodingSettings` raises
SamplingError = DecodingSettingsError


#: nucleus sampling looks at most at this many of the most probable tokens
TOP_K = 64

# a 0-d tensor (usable on any device): ``torch.where`` with a Python float as the fill value
# wraps it in a new tensor on every call, which costs about as much as the where itself
_MINUS_INF = torch.tensor(float("-inf"))


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
    logits = torch.where(allowed, logits.float(), _MINUS_INF)
    if temperature != 1.0:
        logits = logits / temperature
    probs = torch.softmax(logits, dim=-1)  # [B, V]
    if top_p >= 1.0:
        return _draw(probs, generator)
    top, order = torch.topk(probs, min(TOP_K, probs.shape[-1]), dim=-1)  # [B, k], sorted
    mass_before = torch.cumsum(top, dim=-1) - top
    top = top.masked_fill(mass_before >= top_p, 0.0)
    return order.gather(-1, _draw(top, generator)[:, None]).squeeze(-1)


def _draw(weights: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row of weights [B, k] (>= 0, not all 0), drawn in proportion to them.

    What ``torch.multinomial(weights, 1)`` computes (the same draws for the same generator: it
    takes the argmax of weights / Exp(1) noise), without its validity checks, which cost more than
    the draw for one token."""
    noise = torch.empty_like(weights).exponential_(1, generator=generator)
    return (weights / noise).argmax(dim=-1)
