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
    first: int = 0,
    vocab_size: int | None = None,
    group: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """logits [B, k], allowed bool[B, k] (at least one True per row) -> token ids long[B].

    Disallowed tokens get probability 0; then, among the :data:`TOP_K` most probable tokens, the
    smallest set whose mass reaches ``top_p`` is kept (always at least the best one) and sampled
    from. ``top_p = 1`` samples from the whole allowed distribution.

    The columns may be a slice of the vocabulary: tokens ``first .. first + k - 1`` of a vocabulary
    of ``vocab_size`` (default ``k``) tokens, every allowed token among them. The draw is then the
    one the whole vocabulary's logits would give (the same random numbers at the same places), so
    a decoder that computes only the columns the grammar allows samples the same tokens.

    ``group`` bool[B, k] (optional): per row, tokens of which ``allowed`` keeps only some (a
    cadence's pitches among all pitches); the kept ones together get the probability the whole
    group would have had, so the restriction moves probability within the group, not to the
    other tokens.

    ``bias`` float[B, k] (optional): added to the logits first (the bass bias: see
    :class:`~emostudio.generation.grammar.Bias`)."""
    k = logits.shape[-1]
    vocab_size = k if vocab_size is None else vocab_size
    scores = logits.float() if bias is None else logits.float() + bias
    logits = torch.where(allowed, scores, _MINUS_INF)  # a new tensor: changed in place
    if temperature != 1.0:
        logits.div_(temperature)
    if group is not None:
        whole = torch.where(group, scores / temperature, _MINUS_INF).logsumexp(-1, keepdim=True)
        kept = torch.where(group, logits, _MINUS_INF).logsumexp(-1, keepdim=True)
        lift = (whole - kept).nan_to_num_(nan=0.0, posinf=0.0)  # rows without a group: 0
        logits = torch.where(group, logits + lift, logits)
    probs = torch.softmax(logits, dim=-1)  # [B, k]
    if top_p >= 1.0:
        drawn = _draw(probs, generator, first, vocab_size)
    else:
        top, order = torch.topk(probs, min(TOP_K, k), dim=-1)  # [B, <= TOP_K], sorted
        mass_before = torch.cumsum(top, dim=-1).sub_(top)
        top.masked_fill_(mass_before >= top_p, 0.0)
        # the whole vocabulary's top TOP_K: these, then tokens of probability 0 (never drawn)
        drawn = order.gather(-1, _draw(top, generator, 0, min(TOP_K, vocab_size)).unsqueeze(1))
        drawn = drawn.squeeze(1)
    return drawn.add_(first) if first else drawn


def _draw(
    weights: torch.Tensor, generator: torch.Generator | None, first: int, width: int
) -> torch.Tensor:
    """One index per row of weights [B, k] (>= 0, not all 0; overwritten), drawn in proportion
    to them.

    What ``torch.multinomial(weights, 1)`` computes (the same draws for the same generator: it
    takes the argmax of weights / Exp(1) noise), without its validity checks, which cost more than
    the draw for one token. ``weights`` are columns ``first .. first + k - 1`` of rows ``width``
    wide (the others of weight 0): the noise is drawn for whole rows, so the draw is the wide
    rows' draw."""
    b, k = weights.shape
    noise = weights.new_empty(b, width).exponential_(1, generator=generator)
    return weights.div_(noise if k == width else noise.narrow(1, first, k)).argmax(dim=-1)
