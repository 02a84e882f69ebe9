"""FastDecoder: the decoder's incremental step over pre-packed weights, for generation.

It computes the same logits as ``CDGMVAE.decoder_step`` (to float rounding) without the per-call
overhead that dominates single-token decoding on a CPU (tens of ``nn.Module`` calls and
``torch.cat`` of the whole cache per token):

- weights packed once: the pitch-class embedding folded into the token embedding and the
  pitch-class head folded into the output head (both exact sums), every layer's latent projection
  stacked into one matrix (the bar's latent is projected once per bar, not per token per layer);
- preallocated key and value buffers (one tensor each for all layers, so that a bar's move to
  the memory and a batch's dropped rows are one call), written in place: slots ``0 .. M-1`` hold the
  previous ``D`` bars (the memory, oldest first: slot j of the bar b bars back at rotary position
  ``(D - b) L + j``), slots ``M ..`` the tokens of this bar (rotary positions ``D L + i``), so
  attention reads one contiguous slice; at the end of a bar the oldest memory bar leaves (when
  there are ``D``) and the others' keys and the bar's are rotated back by ``L`` positions to become
  the memory (no layer inputs kept, no second projection);
- rotary positions as one complex multiply by a precomputed table;
- an additive key mask kept beside the buffer (0 for a written key, -inf for a PAD key or a slot
  not written), per head, updated in place;
- for one token per row (the generation loop) attention is baddbmm, softmax, bmm over the
  heads (SDPA's CPU kernel costs more for one query), and ``torch.layer_norm`` is called
  directly (``F.layer_norm``'s Python wrapper costs a few microseconds a call).

Same three calls as the model (``start``, ``step``, ``next_bar``); the state is updated in place
and returned. For a batch whose rows go at their own pace, :meth:`FastDecoder.ragged` turns the
state into a :class:`RaggedState` that ``step_ragged``, ``feed_row``, ``next_bar_row`` and
``keep_rows`` work on. Call it under ``torch.inference_mode()``. The packed weights are a snapshot: build
a new FastDecoder after the model's weights change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from emostudio.model.cdgmvae import CDGMVAE, PAD
from emostudio.model.layers import NOT_PITCHED


@dataclass
class FastState:
    """Decoding state of a batch of pieces: this bar's cache plus the previous bars' (memory)."""

    all_keys: torch.Tensor  # [N, B, H, hd, S] every layer's rotated keys (S = (D + 1) L
    # slots), transposed (one query's scores read them as a matrix whose rows are contiguous: 2x
    # faster at batch 4): memory, then this bar; one tensor, so that moving a bar to the memory
    # or dropping rows is one call for all layers
    all_values: torch.Tensor  # [N, B, H, S, hd]
    bias: torch.Tensor  # [B, H, S] additive key mask: 0 for a written key, -inf for a PAD key
    # or a slot not written (the same for every head; kept per head so attention reads it
    # without a copy)
    mem_bars: tuple[int, ...] = ()  # the memory's bars' lengths, oldest first
    length: int = 0  # tokens of this bar so far
    cond: torch.Tensor | None = None  # [N + 1, B, d] added to the residual before/after layers
    cond_rows: tuple[torch.Tensor, ...] = ()  # cond's N + 1 rows, each [B, d]
    cond_of: torch.Tensor | None = None  # the z_bar ``cond`` was computed from
    keys: list[torch.Tensor] = field(init=False)  # per layer [B, H, hd, S]: views of all_keys
    values: list[torch.Tensor] = field(init=False)  # per layer [B, H, S, hd]

    def __post_init__(self) -> None:
        self.keys = list(self.all_keys.unbind(0))
        self.values = list(self.all_values.unbind(0))

    @property
    def mem_len(self) -> int:
        """M: slots of the memory."""
        return sum(self.mem_bars)

    def keep(self, index: torch.Tensor) -> None:
        """Only the rows ``index`` long[B'] go on (in this order)."""
        self.all_keys = self.all_keys.index_select(1, index)
        self.all_values = self.all_values.index_select(1, index)
        self.bias = self.bias.index_select(0, index)
        self.cond = self.cond_of = None
        self.__post_init__()


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
        self.memory_bars = c.decoder_memory_bars  # D
        self.here = self.memory_bars * self.bar_len  # rotary position of a bar's first token
        self.slots = (self.memory_bars + 1) * self.bar_len  # S: the memory's and the bar's
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
            self.rotor = torch.complex(rotary.cos, rotary.sin)  # [S, hd/2]
            # one position's rotation of all heads of a row's q (or k): [S, d/2] (repeat is
            # slow on complex tensors)
            self.rotor_heads = torch.complex(
                rotary.cos.repeat(1, self.n_heads), rotary.sin.repeat(1, self.n_heads)
            )
        self.n_layers = len(self.layers)
        # per batch size: where one token's rotated q and k go, q of every row then k of every
        # row ([2, B, d/2] complex), so that q is [B * H, hd] without a copy
        self._rotated: dict[int, torch.Tensor] = {}
        # a key's entry in the attention mask, by its token: -inf for PAD, else 0
        self.key_bias = torch.zeros(c.vocab_size, device=self.device)
        self.key_bias[PAD] = float("-inf")

    # ---- the three calls ----------------------------------------------------------------------
    def start(self, batch: int) -> FastState:
        n, h, hd, slots = self.n_layers, self.n_heads, self.head_dim, self.slots
        dev = self.device
        return FastState(
            all_keys=torch.zeros(n, batch, h, hd, slots, device=dev),
            all_values=torch.zeros(n, batch, h, slots, hd, device=dev),
            bias=torch.full((batch, h, slots), float("-inf"), device=dev),  # none written
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
        # the slots written are opened (bias 0) before attention, a PAD's kept hidden (-inf): a
        # PAD query still sees the bar's earlier tokens (a bar starts with its Bar), and its
        # output is never used
        state.bias.narrow(2, s0, n).copy_(
            self.key_bias.index_select(0, tokens.reshape(-1)).view(b, 1, n)
        )
        if n == 1:
            rotor = self.rotor_heads[self.here + start]  # [d/2]
            x = self._one_token(tokens, state, s1, rotor, s0)
        else:
            x = self._tokens(tokens, state, s0)
        state.length = start + n
        return self._logits(x, columns).view(b, n, -1), state

    def _logits(self, x: torch.Tensor, columns: tuple[int, int] | None) -> torch.Tensor:
        """x [R, d] -> logits [R, V] (or of token ids ``columns[0] .. columns[1] - 1``)."""
        head = (
            self.head
            if columns is None
            else self.head.narrow(1, columns[0], columns[1] - columns[0])
        )
        return torch.mm(torch.layer_norm(x, (self.d,), *self.ln_f, self.eps_f), head)

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

    def _one_token(
        self,
        tokens: torch.Tensor,
        state: FastState,
        s1: int,
        rotor: torch.Tensor,
        at: int | tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """The layers for one new token per row (the generation loop); -> x [B, d].

        The new keys and values go to slot ``at`` of every row (lock-step), or, for a
        :class:`RaggedState`, to each row's own slot (``at``: their elements' indices in the
        flattened keys and values); ``rotor`` [d/2] or [B, d/2] rotates q and k to their positions;
        attention reads slots ``0 .. s1 - 1`` under ``state.bias``.

        Written for few tensor calls: each costs microseconds of dispatch, more than the
        arithmetic of a 128-wide layer for one token."""
        b, d, h, hd = tokens.shape[0], self.d, self.n_heads, self.head_dim
        bh = b * h
        # attention as three batched matmul kernels over heads (SDPA's CPU kernel costs ~2x that
        # for one query)
        mask = state.bias.view(bh, 1, -1).narrow(2, 0, s1)  # [B * H, 1, s1]
        cond = state.cond_rows
        rotated = self._rotated.get(b)
        if rotated is None:
            rotated = torch.empty(2, b, d // 2, dtype=self.rotor.dtype, device=self.device)
            self._rotated[b] = rotated
        q = torch.view_as_real(rotated[0]).view(bh, 1, hd)  # views of ``rotated``
        k = torch.view_as_real(rotated[1]).view(b, h, hd)
        x = self.embed.index_select(0, tokens.view(b)).add_(cond[0])  # [B, d]
        for layer, keys, values, after in zip(self.layers, state.keys, state.values, cond[1:]):
            y = torch.layer_norm(x, (d,), *layer.ln1, layer.eps1)
            qkv = torch.mm(y, layer.qkv)  # [B, 3d]: q, k, v
            qk = torch.view_as_complex(qkv.narrow(1, 0, 2 * d).view(b, 2, d // 2, 2))
            torch.mul(qk.transpose(0, 1), rotor, out=rotated)  # q and k rotated: q, k
            v = qkv.narrow(1, 2 * d, d).view(b, h, hd)
            if isinstance(at, int):
                keys.select(3, at).copy_(k)
                values.select(2, at).copy_(v)
            else:
                keys.put_(at[0], k)
                values.put_(at[1], v)
            scores = torch.baddbmm(
                mask,
                q,
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
        rotor = self.rotor[self.here + start : self.here + start + n]  # [n, hd/2]
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
        """The finished bar joins the memory; the cache of the new bar starts empty.

        The oldest memory bar leaves when there are ``D``; the others and the finished bar move
        one bar back: their keys from rotary position ``p`` to ``p - L``, one rotation by ``-L``
        (rotary keys differ only by their position's rotation), so the bar's layer inputs need
        not be kept nor projected again."""
        m, lo = state.length, state.mem_len
        bars = (*state.mem_bars, m)
        drop = 0  # the slots of the bar that leaves
        if len(bars) > self.memory_bars:
            drop, bars = bars[0], bars[1:]
        kept = lo + m - drop  # the new memory's slots: drop .. lo + m - 1 move to 0 .. kept - 1
        back = self.rotor[self.bar_len].conj()  # [hd/2]: rotate by -L
        keys, values = state.all_keys, state.all_values  # every layer at once
        moved = keys[..., drop : drop + kept].mT.contiguous()  # [N, B, H, kept, hd]
        moved = torch.view_as_complex(moved.unflatten(-1, (-1, 2)))
        keys[..., :kept] = torch.view_as_real(moved * back).flatten(-2).mT  # a new tensor
        values[..., :kept, :] = values[..., drop : drop + kept, :].clone()  # may overlap
        state.bias[:, :, :kept] = state.bias[:, :, drop : drop + kept].clone()  # PADs stay hidden
        state.bias[:, :, kept:] = float("-inf")  # the new bar's slots: closed until written
        state.mem_bars, state.length = bars, 0
        return state

    # ---- ragged decoding: each row at its own bar and slot -------------------------------------
    def ragged(self, state: FastState) -> RaggedState:
        """A lock-step state as a :class:`RaggedState` (every row where the batch is), so that
        from now on each row goes on at its own pace."""
        b = state.bias.shape[0]
        rs = RaggedState(state, [state.mem_bars] * b, [state.length] * b)
        self._reindex(rs)
        return rs

    def step_ragged(
        self,
        tokens: torch.Tensor,
        z_bars: torch.Tensor,
        rs: RaggedState,
        columns: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """One token per row, each continuing its own bar: tokens long[B], z_bars [B, l] (each
        row's bar's latent; pass the same tensor while no row changes bar) -> logits [B, V] (or
        of the token ids in ``columns``). The logits are those :meth:`step` gives the row decoded
        alone."""
        state = rs.cache
        if rs.longest + 1 > self.bar_len:
            raise ValueError(f"a bar holds at most {self.bar_len} tokens")
        self.condition(z_bars, state)
        s1 = rs.extent + 1
        keys_at, values_at, bias_at, position = rs.at
        state.bias.put_(bias_at, rs.zeros)  # each row's new slot: open
        rotor = self.rotor_heads.index_select(0, position)  # [B, d/2]
        x = self._one_token(tokens, state, s1, rotor, (keys_at, values_at))
        rs.index.add_(rs.index_step)  # every row's slots and position one on
        rs.length = [n + 1 for n in rs.length]
        rs.longest, rs.extent = rs.longest + 1, s1
        return self._logits(x, columns)

    def feed_row(self, rs: RaggedState, i: int, tokens: torch.Tensor, z_bar: torch.Tensor) -> None:
        """Row ``i`` alone takes ``tokens`` long[n] (continuing its bar; a teacher-forced bar),
        with its bar's latent z_bar [l]."""
        row = self._row(rs, i)
        self.step(tokens[None], z_bar[None], row)
        rs.length[i] = row.length
        self._reindex_row(rs, i)

    def next_bar_row(self, rs: RaggedState, i: int) -> None:
        """Row ``i``'s finished bar becomes its memory (:meth:`next_bar` for one row)."""
        row = self.next_bar(self._row(rs, i))
        rs.mem_bars[i], rs.length[i] = row.mem_bars, 0
        self._reindex_row(rs, i)

    def expand(self, state: FastState, batch: int) -> FastState:
        """A one-row lock-step state as ``batch`` rows, each a copy of it (a prefix that every
        row of a batch shares is decoded once, then the rows go their own ways)."""
        state.keep(torch.zeros(batch, dtype=torch.long, device=self.device))
        return state

    def keep_rows(self, rs: RaggedState, rows: list[int]) -> None:
        """Only ``rows`` go on (in this order): the others' caches are dropped, so finished
        pieces cost nothing more."""
        rs.cache.keep(torch.tensor(rows, dtype=torch.long, device=self.device))
        rs.mem_bars = [rs.mem_bars[i] for i in rows]
        rs.length = [rs.length[i] for i in rows]
        self._reindex(rs)

    def _row(self, rs: RaggedState, i: int) -> FastState:
        """Row ``i`` of a ragged batch as a lock-step state of one row (views: what a call does to
        it, it does to the batch's cache)."""
        state = rs.cache
        return FastState(
            all_keys=state.all_keys[:, i : i + 1],
            all_values=state.all_values[:, i : i + 1],
            bias=state.bias[i : i + 1],
            mem_bars=rs.mem_bars[i],
            length=rs.length[i],
        )

    def _reindex(self, rs: RaggedState) -> None:
        """``rs.index``: where each row's next key, value and mask entry go in the flattened
        cache (for ``put_``, the cheapest write of one slot per row) and its rotary position, all
        in one tensor so that one ``add_`` moves them on by a slot. Row r's entries are those of
        its slot 0 plus ``rs.index_step`` times its slot (its position: its length)."""
        b, h, hd, slots = len(rs.mem), self.n_heads, self.head_dim, self.slots
        dev = self.device
        heads = torch.arange(b * h, device=dev).view(b, h, 1) * slots  # slot 0 of each head
        dims = torch.arange(hd, device=dev)
        parts = (
            (heads * hd + dims * slots).flatten(),  # element (b, h, j, 0) of [B, H, hd, S]
            (heads * hd + dims).flatten(),  # element (b, h, 0, j) of [B, H, S, hd]
            heads.flatten(),  # mask entry (b, h, 0) of [B, H, S]
            torch.full((b,), self.here, device=dev),  # rotary position of a bar's first token
        )
        sizes = [p.numel() for p in parts]
        base = torch.cat(parts)  # every row at slot 0
        rs.index_step = torch.ones_like(base)
        rs.index_step[sizes[0] : sizes[0] + sizes[1]] = hd  # a value's slot is hd elements
        slot = torch.tensor([m + n for m, n in zip(rs.mem, rs.length)], device=dev)
        per_slot = [slot.repeat_interleave(n) for n in (h * hd, h * hd, h)]
        count = torch.cat([*per_slot, torch.tensor(rs.length, device=dev)])
        rs.index = torch.addcmul(base, rs.index_step, count)
        rs.at = tuple(rs.index.split(sizes))
        shapes = ((b, h * hd), (b, h * hd), (b, h), (b, 1))
        rs.rows = [
            (at.view(shape), zero.view(shape), step)
            for at, zero, shape, step in zip(rs.at, base.split(sizes), shapes, (1, hd, 1, 1))
        ]
        rs.zeros = torch.zeros(b * h, device=dev)
        self._extent(rs)

    def _reindex_row(self, rs: RaggedState, i: int) -> None:
        """:meth:`_reindex` for row ``i`` alone (its slot or length changed)."""
        slot = sum(rs.mem_bars[i]) + rs.length[i]
        for (at, zero, step), count in zip(rs.rows, (slot, slot, slot, rs.length[i])):
            torch.add(zero[i], count * step, out=at[i])
        self._extent(rs)

    @staticmethod
    def _extent(rs: RaggedState) -> None:
        """``rs.longest`` and ``rs.extent`` from the rows' memory and bar lengths."""
        rs.longest = max(rs.length, default=0)
        rs.extent = max((m + n for m, n in zip(rs.mem, rs.length)), default=0)


@dataclass
class RaggedState:
    """A batch whose rows each decode at their own pace (:meth:`FastDecoder.ragged`): row ``i``'s
    memory fills its slots ``0 .. mem[i] - 1`` and its bar so far the next ``length[i]``, and the
    mask of its other slots is -inf, so one attention over the longest row's slots serves all.
    A row finishes its bar and moves on without waiting for the others, and rows whose piece is
    done leave the batch (:meth:`FastDecoder.keep_rows`)."""

    cache: FastState  # keys, values, mask, latent conditioning (its mem_bars / length unused)
    mem_bars: list[tuple[int, ...]]  # each row's memory bars' lengths (FastState.mem_bars)
    length: list[int]
    longest: int = 0  # max(length)
    extent: int = 0  # max(mem + length): the slots attention reads
    # where each row's next key / value / mask entry goes in the flattened cache, and its rotary
    # position, in one tensor (``index``) and as views of it (``at``); ``index_step``: what one
    # slot adds to each
    index: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    index_step: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    at: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] = ()  # type: ignore[assignment]
    zeros: torch.Tensor = field(default_factory=lambda: torch.zeros(0))  # [B * H]
    # per part of ``at``: (its entries by row, slot 0's by row, what one slot adds): for
    # updating one row's entries
    rows: list[tuple[torch.Tensor, torch.Tensor, int]] = field(default_factory=list)

    @property
    def mem(self) -> list[int]:
        """Each row's memory slots."""
        return [sum(bars) for bars in self.mem_bars]


def _gelu(u: torch.Tensor) -> torch.Tensor:
    """gelu(x) * sqrt(2) for u = x / sqrt(2) (the scales are folded into the MLP's weights):
    x/2 (1 + erf(x / sqrt 2)) = (u + u erf(u)) / sqrt 2, two kernels instead of gelu's slow one."""
    return torch.addcmul(u, u, torch.erf(u))
