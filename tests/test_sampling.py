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


@pytest.mark.parametrize("temperature, top_p", [(1.0, 0.95), (1.0, 1.0), (0.8, 0.9)])
@pytest.mark.parametrize("lo, hi", [(40, 72), (10, 290), (0, 300), (100, 116)])
def test_sampling_columns_of_the_vocabulary_draws_what_the_whole_vocabulary_draws(
    temperature, top_p, lo, hi
):
    """The decoder computes only the columns the grammar allows: the same tokens come out."""
    torch.manual_seed(1)
    logits = torch.randn(3, 300)
    allowed = torch.zeros(3, 300, dtype=torch.bool)
    allowed[:, lo:hi] = torch.rand(3, hi - lo) > 0.3
    allowed[:, lo] = True
    whole, part = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for _ in range(200):
        expected = sample_next(logits, allowed, temperature, top_p, whole)
        drawn = sample_next(
            logits[:, lo:hi], allowed[:, lo:hi], temperature, top_p, part, first=lo, vocab_size=300
        )
        assert torch.equal(drawn, expected)
    assert torch.equal(whole.get_state(), part.get_state())  # as many random numbers used


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_a_restricted_group_keeps_its_probability(temperature):
    """Tokens 0-3 a group of which only 0 and 1 are allowed, 4 and 5 outside it: 0 and 1 together
    are drawn as often as the whole group would be, and 4, 5 as often as without the restriction;
    a row without a group samples as before."""
    logits = torch.tensor([[0.5, 0.0, 1.0, 0.2, 0.8, 0.3]]).repeat(40_000, 1)
    allowed = torch.tensor([[True, True, False, False, True, True]]).repeat(40_000, 1)
    group = torch.tensor([[True, True, True, True, False, False]]).repeat(40_000, 1)
    group[20_000:] = False  # the second half: no group
    g = torch.Generator().manual_seed(3)
    drawn = sample_next(logits, allowed, temperature, 1.0, g, group=group)
    p = torch.softmax(logits[0] / temperature, -1)
    grouped = torch.bincount(drawn[:20_000], minlength=6).float() / 20_000
    assert grouped[2:4].sum() == 0
    assert grouped[:2].sum() == pytest.approx(float(p[:4].sum()), abs=0.015)
    assert grouped[4] == pytest.approx(float(p[4]), abs=0.015)
    assert grouped[0] / grouped[1] == pytest.approx(float(p[0] / p[1]), rel=0.06)
    plain = torch.bincount(drawn[20_000:], minlength=6).float() / 20_000
    q = torch.softmax(logits[0, [0, 1, 4, 5]] / temperature, -1)
    assert plain[[0, 1, 4, 5]] == pytest.approx(q.tolist(), abs=0.015)


def test_a_bias_is_added_to_the_logits_before_sampling():
    """sample_next(bias=b) draws what sample_next draws from logits + b (same generator)."""
    torch.manual_seed(1)
    logits = torch.randn(3, 50)
    allowed = torch.rand(3, 50) > 0.3
    bias = torch.zeros(3, 50)
    bias[:, 7] = 3.0
    allowed[:, 7] = True
    biased, shifted = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    drawn = torch.stack(
        [sample_next(logits, allowed, 1.0, 0.95, biased, bias=bias) for _ in range(400)]
    )
    expected = torch.stack(
        [sample_next(logits + bias, allowed, 1.0, 0.95, shifted) for _ in range(400)]
    )
    assert torch.equal(drawn, expected)
    unbiased = torch.stack(
        [
            sample_next(logits, allowed, 1.0, 0.95, torch.Generator().manual_seed(s))
            for s in range(400)
        ]
    )
    assert (drawn == 7).float().mean() > (unbiased == 7).float().mean() + 0.2
