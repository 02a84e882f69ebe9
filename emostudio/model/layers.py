"""Transformer building blocks with bar-level segment recurrence (Transformer-XL style).

Each bar of ``L`` token slots is one segment. A layer's queries for bar tau attend to the bar
itself and to a *memory*: the previous ``D`` bars' inputs to the same layer, gradient-stopped
(``D`` = 1 for the encoders, ``config.decoder_memory_bars`` for the decoder). Positions are rotary
(relative): slot ``j`` of the bar ``b`` bars back sits at position ``(D - b) L + j`` and the bar's
own slot ``i`` at ``D L + i``, so a query sees every key at its distance in bar slots. PAD slots
are never attended to; every query may attend to itself, so a row is never empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from emostudio.model.config import ModelConfig


class Rotary(nn.Module):
    """Rotary position embedding for positions 0 .. (D + 1) L - 1 (D memory bars + the current bar)."""

    cos: torch.Tensor  # buffers, [(D + 1) L, hd/2]
    sin: torch.Tensor

    def __init__(self, head_dim: int, max_pos: int, base: float = 10000.0) -> None:
        super().__init__()
        inv = 1.0 / base ** (torch.arange(0, head_dim, 2).float() / head_dim)
        angles = torch.outer(torch.arange(max_pos).float(), inv)  # [P, hd/2]
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        # x [B, H, n, hd], pos [n] -> [B, H, n, hd]
        # each pair (x1, x2) times cos + i sin: one complex multiply (a stack of the strided
        # halves costs ~15x more)
        rotor = torch.complex(self.cos[pos], self.sin[pos])  # [n, hd/2]
        pairs = torch.view_as_complex(x.unflatten(-1, (-1, 2)).contiguous())
        return torch.view_as_real(pairs * rotor).flatten(-2)


class SelfAttention(nn.Module):
    def __init__(self, config: ModelConfig, rotary: Rotary, memory_bars: int = 1) -> None:
        super().__init__()
        self.memory_bars = memory_bars  # D: bars of memory
        self.n_heads = config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=False)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=False)
        self.dropout = config.dropout
        self.rotary = rotary
        self.bar_len = config.bar_len

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.n_heads, d // self.n_heads).transpose(1, 2)  # [B, H, n, hd]

    def keys_values(
        self, x: torch.Tensor, pos: torch.Tensor | None, keep: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # x [B, n, d] (already normalised), keep [B, n] -> k, v [B, H, n, hd] (k rotated to pos
        # [n], or not rotated when pos is None)
        d = x.shape[-1]
        k, v = on_tokens(lambda t: F.linear(t, self.qkv.weight[d:]), x, keep, 2 * d).split(d, dim=2)
        k = self._split(k)
        return (k if pos is None else self.rotary(k, pos)), self._split(v)

    def forward(self, x, pos, ctx_k, ctx_v, mask, keep):
        # x [B, n, d]; ctx_k/ctx_v [B, H, m, hd] (memory and cached keys); mask [B, 1, n, m + n] bool;
        # keep [B, n]: real tokens (projections are computed for those only)
        q, k, v = on_tokens(self.qkv, x, keep, 3 * x.shape[-1]).split(x.shape[-1], dim=2)
        q, k, v = self.rotary(self._split(q), pos), self.rotary(self._split(k), pos), self._split(v)
        k_all = torch.cat([ctx_k, k], dim=2)  # [B, H, m + n, hd]
        v_all = torch.cat([ctx_v, v], dim=2)
        y = F.scaled_dot_product_attention(
            q, k_all, v_all, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )  # [B, H, n, hd]
        y = y.transpose(1, 2).reshape(x.shape)  # [B, n, d]
        return on_tokens(self.proj, y, keep, y.shape[-1]), k, v

    def forward_bars(
        self,
        x: torch.Tensor,
        keep: torch.Tensor,
        mask: torch.Tensor,
        mem: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Every bar of x [B, T, L, d] (already normalised) at once, each attending to itself and
        to the previous ``D`` bars' keys and values at this layer (its memory; fewer for the first
        bars); keep [B, T, L]; mask [B * T, 1, L, (D + 1) L] additive (see
        ``BarStack.forward_bars``) -> [B, T, L, d].

        The memory's keys are this layer's keys of the bar ``b`` bars back at rotary positions
        ``(D - b) L ..`` (the bar's own at ``D L ..``), so without gradients each bar is projected
        once. With them, ``mem`` (x computed from gradient-stopped inputs) is projected for the
        memory, so the memory passes gradients to the weights but not to the previous bars."""
        b, t, n, d = x.shape
        depth, length = self.memory_bars, self.bar_len
        q, k, v = on_tokens(self.qkv, x, keep, 3 * d).view(b * t, n, 3 * d).split(d, dim=2)
        q, k, v = self._split(q), self._split(k), self._split(v)  # [B * T, H, L, hd]
        # the slots of the bar b bars back at positions (D - b) L .. (D - b) L + n - 1, the bar's
        # at D L .. D L + n - 1 (n may be less than L when the bars' trailing PAD slots are left
        # out: the same positions, so the same values)
        slots = torch.arange(n, device=x.device)
        if mem is None:
            mem_k, mem_v = k, v
        else:
            mem_k, mem_v = self.keys_values(mem.flatten(0, 1), None, keep.flatten(0, 1))
        backs = range(depth, 0, -1)  # the oldest bar first
        k_all = torch.cat(
            [
                self.rotary(_previous_bar(mem_k, t, back), slots + (depth - back) * length)
                for back in backs
            ]
            + [self.rotary(k, slots + depth * length)],
            dim=2,
        )
        v_all = torch.cat([_previous_bar(mem_v, t, back) for back in backs] + [v], dim=2)
        y = F.scaled_dot_product_attention(
            self.rotary(q, slots + depth * length),
            k_all,
            v_all,
            attn_mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
        )  # [B * T, H, L, hd]
        y = y.transpose(1, 2).reshape(x.shape)
        return on_tokens(self.proj, y, keep, d)


def _previous_bar(x: torch.Tensor, bars: int, back: int = 1) -> torch.Tensor:
    """x [B * T, ...] (bar-major within each piece) -> each bar's bar ``back`` bars before it;
    zeros for the first ``back`` bars."""
    x = x.view(-1, bars, *x.shape[1:])
    back = min(back, bars)
    return torch.cat([torch.zeros_like(x[:, :back]), x[:, : bars - back]], dim=1).flatten(0, 1)


class FeedForward(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.d_model, config.ff_mult * config.d_model)
        self.down = nn.Linear(config.ff_mult * config.d_model, config.d_model)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    """Pre-norm Transformer layer whose attention also sees a memory of the previous bars."""

    def __init__(self, config: ModelConfig, rotary: Rotary, memory_bars: int = 1) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.d_model)
        self.attn = SelfAttention(config, rotary, memory_bars)
        self.ln2 = nn.LayerNorm(config.d_model)
        self.mlp = FeedForward(config)
        self.dropout = nn.Dropout(config.dropout)

    def memory_kv(self, mem: torch.Tensor, pos: torch.Tensor, keep: torch.Tensor):
        # mem [B, M, d] (the previous bars' inputs to this layer at rotary positions pos [M]),
        # keep [B, M] -> k, v [B, H, M, hd]
        return self.attn.keys_values(self.ln1(mem), pos, keep)

    def forward(self, x, pos, ctx_k, ctx_v, mask, keep):
        # x [B, n, d], keep [B, n] -> x [B, n, d], and this call's k, v [B, H, n, hd] (for a KV cache)
        y, k, v = self.attn(self.ln1(x), pos, ctx_k, ctx_v, mask, keep)
        x = x + self.dropout(y)
        x = x + on_tokens(lambda t: self.mlp(self.ln2(t)), x, keep, x.shape[-1])
        return x, k, v

    def forward_bars(self, x: torch.Tensor, keep: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x [B, T, L, d], keep [B, T, L] -> x [B, T, L, d] (see SelfAttention.forward_bars)
        # the memory is gradient-stopped (see SelfAttention.forward_bars)
        mem = self.ln1(x.detach()) if torch.is_grad_enabled() else None
        x = x + self.dropout(self.attn.forward_bars(self.ln1(x), keep, mask, mem))
        return x + on_tokens(lambda t: self.mlp(self.ln2(t)), x, keep, x.shape[-1])


def on_tokens(fn, x: torch.Tensor, keep: torch.Tensor, d_out: int) -> torch.Tensor:
    """fn applied to the real tokens of x [B, n, d] only (keep [B, n]); PAD slots get zeros.

    Bars are padded to L slots and often half full, so this skips much of the matmul work; a PAD
    slot's output is never used (PAD keys are masked, PAD positions carry no loss)."""
    if bool(keep.all()):
        return fn(x)
    out = x.new_zeros((*x.shape[:-1], d_out))
    out[keep] = fn(x[keep]).to(out.dtype)
    return out


def attention_mask(
    mem_mask: torch.Tensor, past_mask: torch.Tensor, new_mask: torch.Tensor, causal: bool
) -> torch.Tensor:
    """bool[B, 1, n, M + p + n]: which keys each of the n new queries may attend to.

    Keys are the memory (``mem_mask`` [B, M]), tokens of this bar seen before (``past_mask`` [B, p],
    from a KV cache) and the new tokens (``new_mask`` [B, n], causal or not). A query always sees
    itself."""
    n = new_mask.shape[1]
    eye = torch.eye(n, dtype=torch.bool, device=new_mask.device)
    new = new_mask[:, None, :].expand(-1, n, -1)  # [B, n, n]
    if causal:
        new = new & torch.ones(n, n, dtype=torch.bool, device=new_mask.device).tril()
    new = new | eye
    ctx = torch.cat([mem_mask, past_mask], dim=1)[:, None, :].expand(-1, n, -1)  # [B, n, M + p]
    return torch.cat([ctx, new], dim=2)[:, None]


NOT_PITCHED = 12  # the pitch-class index of every token that is not a pitched Pitch token


def pitch_class_table(config: ModelConfig) -> torch.Tensor:
    """long[V]: the pitch class (0-11) of each pitched Pitch token, NOT_PITCHED for every other token."""
    table = torch.full((config.vocab_size,), NOT_PITCHED, dtype=torch.long)
    for start in config.pitch_starts:
        table[start : start + config.pitch_count] = torch.arange(config.pitch_count) % 12
    return table


class BarStack(nn.Module):
    """Token embedding + Transformer layers run bar by bar with a gradient-stopped memory.

    Used for both encoders (bidirectional inside a bar) and the decoder (causal, with a per-layer
    additive conditioning vector: the bar's projected latent). With ``config.pitch_class_tokens``
    a pitched note's embedding also gets its pitch class's (shared across octaves and families;
    it starts at zero)."""

    pitch_class: torch.Tensor  # buffer: the pitch class of each token id (NOT_PITCHED if none)

    @property
    def blocks(self) -> Sequence[Block]:
        """The layers, typed (iterating an ``nn.ModuleList`` yields plain modules)."""
        return cast("Sequence[Block]", self.layers)

    def __init__(
        self, config: ModelConfig, n_layers: int, causal: bool, memory_bars: int = 1
    ) -> None:
        super().__init__()
        self.config = config
        self.causal = causal
        self.memory_bars = memory_bars  # D: bars of memory
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.register_buffer("pitch_class", pitch_class_table(config), persistent=False)
        self.pc_embed = None
        if config.pitch_class_tokens:
            self.pc_embed = nn.Embedding(NOT_PITCHED + 1, config.d_model, padding_idx=NOT_PITCHED)
        self.drop = nn.Dropout(config.dropout)
        rotary = Rotary(config.d_model // config.n_heads, (memory_bars + 1) * config.bar_len)
        self.layers = nn.ModuleList(Block(config, rotary, memory_bars) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [...] -> embeddings [..., d]."""
        x = self.embed(tokens)
        if self.pc_embed is not None:
            x = x + self.pc_embed(self.pitch_class[tokens])
        return x

    def empty_memory(self, batch: int, device) -> tuple[list[torch.Tensor], torch.Tensor]:
        d = self.config.d_model
        mems = [torch.zeros(batch, 0, d, device=device) for _ in self.layers]
        return mems, torch.zeros(batch, 0, dtype=torch.bool, device=device)

    def forward_bar(self, tokens, mems, mem_mask, cond=None):
        # one bar after the previous bars: the reference ``forward_bars`` is tested against
        # tokens [B, L]; mems: per layer [B, M, d], the layer inputs of the previous M / L <= D
        # whole bars of L slots, oldest first; mem_mask [B, M]; cond: per layer [B, d] or None
        # -> h [B, L, d] (after the final norm), layer inputs: per layer [B, L, d] (the next memory)
        b, n = tokens.shape
        device = tokens.device
        tok_mask = tokens != 0  # PAD = 0
        here = self.memory_bars * self.config.bar_len  # the bar's first position
        mem_len = mems[0].shape[1]
        mem_pos = here - mem_len + torch.arange(mem_len, device=device)
        pos = here + torch.arange(n, device=device)
        no_past = torch.zeros(b, 0, dtype=torch.bool, device=device)
        mask = attention_mask(mem_mask, no_past, tok_mask, self.causal)
        x = self.drop(self.embed_tokens(tokens))  # [B, L, d]
        inputs = []
        for i, layer in enumerate(self.blocks):
            if cond is not None:
                x = x + cond[i][:, None, :]
            inputs.append(x.detach())
            mk, mv = layer.memory_kv(mems[i], mem_pos, mem_mask)
            x, _, _ = layer(x, pos, mk, mv, mask, tok_mask)
        return self.ln_f(x), inputs

    def forward_bars(self, tokens: torch.Tensor, cond: Sequence[torch.Tensor] | None = None):
        """``forward_bar`` over every bar of tokens [B, T, L] at once (cond: per layer [B, T, d] or
        None) -> h [B, T, L, d] (after the final norm).

        The memory of a bar at a layer is the previous bars' inputs to that layer, which do not
        depend on the bar's own memory at that layer; so the bars need not run one after another:
        the stack runs layer by layer with all the bars of all the pieces in one batch (the same
        values as the bar-by-bar loop, to float rounding, with a few large kernels instead of
        many small ones)."""
        keep = tokens != 0  # PAD = 0
        bars = keep.flatten(0, 1)  # [B * T, L]
        t = tokens.shape[1]
        memory = [_previous_bar(bars, t, back) for back in range(self.memory_bars, 0, -1)]
        allowed = attention_mask(torch.cat(memory, dim=1), bars[:, :0], bars, self.causal)
        # additive (0 / -inf): SDPA's CPU kernel is ~1.4x faster with it than with a bool mask
        mask = torch.zeros(allowed.shape, device=tokens.device).masked_fill_(
            ~allowed, float("-inf")
        )
        x = self.drop(self.embed_tokens(tokens))  # [B, T, L, d]
        for i, layer in enumerate(self.blocks):
            if cond is not None:
                x = x + cond[i][:, :, None, :]
            x = layer.forward_bars(x, keep, mask)
        return self.ln_f(x)
