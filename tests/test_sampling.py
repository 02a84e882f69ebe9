"""sample_next: grammar-masked nucleus sampling, drawing what torch.multinomial would draw."""

from __future__ import annotations

import pytest
import torch

from emostudio.generation.sampling import TOP_K, sample_next


def multinomial_reference(logits, allowed, temperature, top_p, generator):
    """The sampler as it was written with torch.multinomial."""
    probs = torch.softmax(logits.masked_fill(~allowed, float("-inf")) / temperature, dim=-1)
    if top_p >= 1.0:
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    top, order = torch.topk(probs, TOP_K, dim=-1)
    top = top.masked_fill(torch.cumsum(top, dim=-1) - top >= top_p, 0.0)
    return order.gather(-1, torch.multinomial(top, 1, generator=generator)).squeeze(-1)


@pytest.mark.parametrize("temperature, top_p", [(1.0, 0.95), (0.7, 0.9), (1.0, 1.0), (1.3, 1.0)])
def test_sampling_draws_what_multinomial_draws(temperature, top_p):
    torch.manual_seed(0)
    logits = torch.randn(4, 300)
    allowed = torch.rand(4, 300) > 0.6
    ours, ref = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    drawn = torch.stack(
        [sample_next(logits, allowed, temperature, top_p, ours) for _ in range(300)]
    )
    expected = torch.stack(
        [multinomial_reference(logits, allowed, temperature, top_p, ref) for _ in range(300)]
    )
    assert torch.equal(drawn, expected)
    assert allowed.gather(1, drawn.T).all()
    assert len(set(drawn[:, 0].tolist())) > 1  # it does draw, not just take the best
