"""FastDecoder: the decoder's incremental step over pre-packed weights, for generation.

It computes the same logits as ``CDGMVAE.decoder_step`` (to float rounding) without the per-call
overhead that dominates single-token decoding on a CPU (tens of ``nn.Module`` calls and
``torch.cat`` of the whole cache per token):

- weights packed once: the pitch-class embedding folded into the token embedding and the
  pitch-class head folded into the output head (both exact sums), every layer's latent projection
  stacked into one matrix (the bar's latent is projected once per bar, not per token per layer);
- a preallocated key/value buffer per layer, written in place: slots ``0 .. M-1`` hold the
  previous bar (the memory, rotary positions ``0 .. M-1``), slots ``M ..`` the tokens of this bar
  (rotary positions ``L + i``), so attention reads one contiguous slice; at the end of a bar its
  keys are rotated back by ``L`` positions to become the memory (no layer inputs kept, no second
  projection);
- rotary positions as one complex multiply by a precomputed table;
- an additive key mask kept beside the buffer (0 real, -inf PAD), per head, updated in place;
- for one token per row (the generation loop) attention is baddbmm, softmax, bmm over the
  heads (SDPA's CPU kernel costs more for one query), and ``torch.layer_norm`` is called
  directly (``F.layer_norm``'s Python wrapper costs a few microseconds a call).

Same three calls as the model (``start``, ``step``, ``next_bar``); the state is updated in place
and returned. Call it under ``torch.inference_mode()``. The packed weights are a snapshot: build
a new FastDecoder after the model's weights change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from emostudio.model.cdgmvae import CDGMVAE, PAD
from emostudio.model.layers import NOT_PITCHED


@dataclass
class FastState:
    """Decoding state of a batch of pieces: this bar's cache plus the previous bar's (memory)."""

    keys: list[torch.Tensor]  # per layer [B, H, hd, 2L] rotated keys, transposed (one query's
    # scores read them as a matrix whose rows are contiguous: 2x faster at batch 4): memory, then
    # this bar
    values: list[torch.Tensor]  # per layer [B, H, 2L, hd]
    bias: torch.Tensor  # [B, H, 2L] additive key mask: -inf for a PAD key, else 0 (slots past
    # those written are never read)
    # (the same for every head; kept per head so attention reads it without a copy)
    # (what the memory's mask is made of at the end of a bar)
    mem_len: int = 0  # M: slots of the memory
    length: int = 0  # tokens of this bar so far
    cond: torch.Tensor | None = None  # [N + 1, B, d] added to the residual before/after layers
    cond_rows: tuple[torch.Tensor, ...] = ()  # cond's N + 1 rows, each [B, d]
    cond_of: torch.Tensor | None = None  # the z_bar ``cond`` was computed from


@dataclass
class _Layer:
    """One decoder layer's weights, transposed to [in, out] for ``x @ w`` on 2-D activations."""

    ln1: tuple[torch.Tensor, torch.Tensor]
    eps1: float
    qkv: torch.Tensor  # [d, 3d]
    kv: torch.Tensor  # [d, 2d] (a view of qkv)
    proj: torch.Tensor  # [d, d]
    ln2: tuple[torch.Tensor, torch.Tensor]
    eps2: float
    up: torch.Tensor  # [d, F], scaled by 1/sqrt(2) (see ``_gelu_down``)
    up_b: torch.Tensor  # [F], scaled by 1/sqrt(2)
    down: torch.Tensor  # [F, d], scaled by 1/sqrt(2)
    down_b: torch.Tensor  # [d]


_SQRT_HALF = 0.5**0.5


class FastDecoder:
    """The decoder of ``model`` packed for incremental decoding (see the module docstring)."""

    def __init__(self, model: CDGMVAE) -> None:
        dec = model.decoder
        c = model.config
        self.config = c
        self.device = model.device
        self.d, self.n_heads, self.bar_len = c.d_model, c.n_heads, c.bar_len
        self.head_dim = c.d_model // c.n_heads
        self.scale = self.head_dim**-0.5
        stack = dec.stack
        with torch.no_grad():
            embed = stack.embed.weight.clone()  # [V, d]
            if stack.pc_embed is not None:
                embed += stack.pc_embed.weight[stack.pitch_class]
            self.embed = embed
            head = dec.head.weight.clone()  # [V, d]
            if dec.pc_head is not None:
                pc = F.pad(dec.pc_head.weight.T, (0, 1)).T  # [13, d], zero for NOT_PITCHED
                assert pc.shape[0] == NOT_PITCHED + 1
                head += pc[stack.pitch_class]
            self.head = head.T.contiguous()  # [d, V]
            self.z_w = torch.cat(
                [cast(nn.Linear, p).weight for p in dec.z_proj]
            ).T.contiguous()  # [l, N*d]
            self.z_b = torch.cat([cast(nn.Linear, p).bias for p in dec.z_proj])  # [N*d]
            self.ln_f = (stack.ln_f.weight.clone(), stack.ln_f.bias.clone())
            self.eps_f = stack.ln_f.eps
            self.layers = []
            for block in stack.blocks:
                qkv = block.attn.qkv.weight.T.contiguous()  # [d, 3d]
                mlp = block.mlp
                self.layers.append(
                    _Layer(
                        ln1=(block.ln1.weight.clone(), block.ln1.bias.clone()),
                        eps1=block.ln1.eps,
                        qkv=qkv,
                        kv=qkv[:, self.d :],
                        proj=block.attn.proj.weight.T.contiguous(),
                        ln2=(block.ln2.weight.clone(), block.ln2.bias.clone()),
                        eps2=block.ln2.eps,
                        up=(mlp.up.weight.T * _SQRT_HALF).contiguous(),
                        up_b=mlp.up.bias * _SQRT_HALF,
                        down=(mlp.down.weight.T * _SQRT_HALF).contiguous(),
                        down_b=mlp.down.bias.clone(),
                    )
                )
            rotary = stack.blocks[0].attn.rotary
            self.rotor = torch.complex(rotary.cos, rotary.sin)  # [2L, hd/2]
            heads = 2 * self.n_heads  # q's and k's heads (repeat is slow on complex tensors)
            self.rotor_qk = torch.complex(rotary.cos.repeat(1, heads), rotary.sin.repeat(1, heads))
        self.n_layers = len(self.layers)

    # ---- the three calls ----------------------------------------------------------------------
    def start(self, batch: int) -> FastState:
        n, h, hd, length = self.n_layers, self.n_heads, self.head_dim, self.bar_len
        dev = self.device
        return FastState(
            keys=[torch.zeros(batch, h, hd, 2 * length, device=dev) for _ in range(n)],
            values=[torch.zeros(batch, h, 2 * length, hd, device=dev) for _ in range(n)],
            bias=torch.zeros(batch, h, 2 * length, device=dev),  # no memory yet: all open
        )

    def step(
        self,
        tokens: torch.Tensor,
        z_bar: torch.Tensor,
        state: FastState,
        columns: tuple[int, int] | None = None,
    ) -> tuple[torch.Tensor, FastState]:
        """tokens [B, n] (continuing the current bar), z_bar [B, l] -> logits [B, n, V], state.

        ``columns`` (lo, hi): only the logits of token ids ``lo .. hi - 1`` (``[B, n, hi - lo]``;
        the grammar says which tokens may come next: see ``BarGrammar.choices``)."""
        b, n = tokens.shape
        start = state.length
        if start + n > self.bar_len:
            raise ValueError(f"a bar holds at most {self.bar_len} tokens (got {start + n})")
        self.condition(z_bar, state)
        s0 = state.mem_len + start
        s1 = s0 + n
        # the bar's slots are open (bias 0) from its start, so every query sees itself (a PAD
        # query too, so no row is empty); PAD keys are hidden from later queries once this step
        # is done
        x = self._one_token(tokens, state, s0) if n == 1 else self._tokens(tokens, state, s0)
        pad = tokens == PAD  # [B, n]
        if pad.any():
            state.bias[:, :, s0:s1].masked_fill_(pad[:, None], float("-inf"))
        state.length = start + n
        head = (
            self.head
            if columns is None
            else self.head.narrow(1, columns[0], columns[1] - columns[0])
        )
        logits = torch.mm(torch.layer_norm(x, (self.d,), *self.ln_f, self.eps_f), head)
        return logits.view(b, n, -1), state

    def condition(self, z_bar: torch.Tensor, state: FastState) -> None:
        """``state.cond`` for the bar's latent z_bar [B, l] (once per bar): what is added to the
        residual stream before the first layer and after each (the next layer's latent projection
        with the MLP's output bias)."""
        if state.cond_of is z_bar:
            return
        b = z_bar.shape[0]
        cond = torch.addmm(self.z_b, z_bar, self.z_w).view(b, self.n_layers, self.d)
        after = [layer.down_b for layer in self.layers]
        state.cond = torch.stack(
            [cond[:, 0]]
            + [cond[:, i + 1] + after[i] for i in range(self.n_layers - 1)]
            + [after[-1].expand(b, -1)]
        )  # [N + 1, B, d]
        state.cond_rows = state.cond.unbind(0)
        state.cond_of = z_bar

    def _one_token(self, tokens: torch.Tensor, state: FastState, s0: int) -> torch.Tensor:
        """The layers for one new token per row (the generation loop); -> x [B, d].

        Written for few tensor calls: each costs microseconds of dispatch, more than the
        arithmetic of a 128-wide layer for one token."""
        b, d, h, hd = tokens.shape[0], self.d, self.n_heads, self.head_dim
        s1 = s0 + 1
        bh = b * h
        # attention as three batched matmul kernels over heads (SDPA's CPU kernel costs ~2x that
        # for one query)
        mask = state.bias.view(bh, 1, -1).narrow(2, 0, s1)  # [B * H, 1, s1]
        rotor = self.rotor_qk[self.bar_len + state.length]  # [d]
        cond = state.cond_rows
        x = self.embed.index_select(0, tokens.view(b)).add_(cond[0])  # [B, d]
        for layer, keys, values, after in zip(self.layers, state.keys, state.values, cond[1:]):
            y = torch.layer_norm(x, (d,), *layer.ln1, layer.eps1)
            qkv = torch.mm(y, layer.qkv)  # [B, 3d]: q, k, v
            qk = torch.view_as_complex(qkv.narrow(1, 0, 2 * d).view(b, d, 2)) * rotor
            q, k = torch.view_as_real(qk).view(b, 2, h, hd).unbind(1)  # [B, H, hd] each
            keys.select(3, s0).copy_(k)
            values.select(2, s0).copy_(qkv.narrow(1, 2 * d, d).view(b, h, hd))
            scores = torch.baddbmm(
                mask,
                q.reshape(bh, 1, hd),
                keys.view(bh, hd, -1).narrow(2, 0, s1),
                alpha=self.scale,
            )  # [B * H, 1, s1]
            att = torch.bmm(scores.softmax(-1), values.view(bh, -1, hd).narrow(1, 0, s1))
            x = torch.addmm(x, att.view(b, d), layer.proj)
            y = torch.layer_norm(x, (d,), *layer.ln2, layer.eps2)
            x = torch.addmm(x, _gelu(torch.addmm(layer.up_b, y, layer.up)), layer.down)
            x.add_(after)  # the MLP's bias (and the next layer's latent)
        return x

    def _tokens(self, tokens: torch.Tensor, state: FastState, s0: int) -> torch.Tensor:
        """The layers for n > 1 new tokens per row (causal among them); -> x [B * n, d]."""
        b, n = tokens.shape
        d, h, hd = self.d, self.n_heads, self.head_dim
        start, s1 = state.length, s0 + n
        causal = torch.full((n, n), float("-inf"), device=tokens.device).triu(1)
        mask = state.bias[:, :1, None, :s1].repeat(1, 1, n, 1)  # [B, 1, n, s1]
        mask[..., s0:s1] += causal
        assert state.cond is not None  # set by step() before the layers run
        cond = state.cond.repeat_interleave(n, dim=1)  # [N + 1, B * n, d]
        rotor = self.rotor[self.bar_len + start : self.bar_len + start + n]  # [n, hd/2]
        x = self.embed[tokens.reshape(-1)] + cond[0]  # [B * n, d]
        for i, layer in enumerate(self.layers):
            y = torch.layer_norm(x, (d,), *layer.ln1, layer.eps1)
            qkv = torch.mm(y, layer.qkv).view(b, n, 3 * d)
            qk = torch.view_as_complex(qkv[..., : 2 * d].unflatten(-1, (2 * h, hd // 2, 2)))
            qk = torch.view_as_real(qk * rotor[:, None]).flatten(-2)  # [B, n, 2H, hd]
            q = qk[:, :, :h].transpose(1, 2)  # [B, H, n, hd]
            state.keys[i][..., s0:s1] = qk[:, :, h:].permute(0, 2, 3, 1)
            state.values[i][:, :, s0:s1] = qkv[..., 2 * d :].unflatten(-1, (h, hd)).transpose(1, 2)
            att = F.scaled_dot_product_attention(
                q, state.keys[i][..., :s1].mT, state.values[i][:, :, :s1], attn_mask=mask
            )  # [B, H, n, hd]
            x = torch.addmm(x, att.transpose(1, 2).reshape(b * n, d), layer.proj)
            y = torch.layer_norm(x, (d,), *layer.ln2, layer.eps2)
            x = torch.addmm(x, _gelu(torch.addmm(layer.up_b, y, layer.up)), layer.down)
            x += cond[i + 1]
        return x

    def next_bar(self, state: FastState) -> FastState:
        """The finished bar becomes the memory; the cache of the new bar starts empty.

        The memory's keys are the bar's keys moved from rotary position ``L + j`` to ``j``: one
        rotation by ``-L`` (rotary keys differ only by their position's rotation), so the bar's
        layer inputs need not be kept nor projected again."""
        m, lo = state.length, state.mem_len
        back = self.rotor[self.bar_len].conj()  # [hd/2]: rotate by -L
        for keys, values in zip(state.keys, state.values):
            bar_keys = keys[..., lo : lo + m].mT.contiguous()  # [B, H, m, hd]
            bar_keys = torch.view_as_complex(bar_keys.unflatten(-1, (-1, 2)))
            keys[..., :m] = torch.view_as_real(bar_keys * back).flatten(-2).mT  # a new tensor
            values[:, :, :m] = values[:, :, lo : lo + m].clone()  # the ranges may overlap
        state.bias[:, :, :m] = state.bias[:, :, lo : lo + m].clone()  # the bar's PAD stays hidden
        state.bias[:, :, m:] = 0.0  # the new bar's slots: open (attention reads those written)
        state.mem_len, state.length = m, 0
        return state


def _gelu(u: torch.Tensor) -> torch.Tensor:
    """gelu(x) * sqrt(2) for u = x / sqrt(2) (the scales are folded into the MLP's weights):
    x/2 (1 + erf(x / sqrt 2)) = (u + u erf(u)) / sqrt 2, two kernels instead of gelu's slow one."""
    return torch.addcmul(u, u, torch.erf(u))
