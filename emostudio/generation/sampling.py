"""Choosing the next token: grammar mask, temperature, nucleus (top-p) sampling."""

from __future__ import annotations

import torch


class SamplingError(ValueError):
    """Bad sampling settings (temperature not positive, top-p outside (0, 1])."""


def check_settings(temperature: float, top_p: float) -> None:
    if not temperature > 0:
        raise SamplingError(f"temperature must be > 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise SamplingError(f"top-p must be in (0, 1], got {top_p}")


def sample_next(
    logits: torch.Tensor,
    allowed: torch.Tensor,
    temperature: float = 1.0,
    top_p: float = 0.95,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """logits [B, V], allowed bool[B, V] (at least one True per row) -> token ids long[B].

    Disallowed tokens get probability 0; then the smallest set of most probable tokens whose
    mass reaches ``top_p`` is kept (always at least the best one) and sampled from."""
    logits = logits.float().masked_fill(~allowed, float("-inf")) / temperature
    probs = torch.softmax(logits, dim=-1)  # [B, V]
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
        mass_before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
