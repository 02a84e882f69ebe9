"""CDGMVAE: two bar-recurrent encoders, two Gaussian-mixture priors, a latent-conditioned
autoregressive decoder with a KV cache, local feature decoders and gradient-reversal adversaries.

Shapes: B batch, T bars, L token slots per bar (``config.bar_len``), V vocabulary, l_r / l_k the
latent sizes, K mixture components, S sub-beats per bar, C polyphony classes.

One module (~400 lines) on purpose: the encoders, the decoder and the model's ``forward`` with its
named losses are read together, as nanoGPT's ``model.py`` is; the parts that stand alone already
live beside it (blocks in ``layers``, priors in ``prior``, loss terms in ``objective``, the fast
decode step in ``fast_decode``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from emostudio.model.config import ModelConfig
from emostudio.model.layers import NOT_PITCHED, BarStack, attention_mask
from emostudio.model.objective import (
    batch_mean_kl,
    categorical_kl,
    mixture_kl_z,
    window_q_y,
)
from emostudio.model.prior import GaussianMixturePrior

PAD = 0


@dataclass
class Batch:
    """One training batch. Labels are per piece: 0 low, 1 high, -1 unlabelled."""

    tokens: torch.Tensor  # [B, T, L] long, each bar starts with Bar, PAD-filled
    targets: torch.Tensor  # [B, T, L] long: the next token (the next bar's Bar or EOS after a bar)
    polyphony: torch.Tensor  # [B, T, S] long, already clipped to C - 1
    key: torch.Tensor  # [B, T] long, 0-23
    arousal: torch.Tensor  # [B] long
    valence: torch.Tensor  # [B] long

    def to(self, device) -> Batch:
        return Batch(*(getattr(self, f).to(device) for f in self.__dataclass_fields__))

    @property
    def bar_mask(self) -> torch.Tensor:
        return self.tokens[:, :, 0] != PAD  # [B, T]


@dataclass
class Posterior:
    """q(z|x) per bar: means and log-variances, each [B, T, l]."""

    mu_r: torch.Tensor
    logvar_r: torch.Tensor
    mu_k: torch.Tensor
    logvar_k: torch.Tensor


@dataclass
class DecoderState:
    """KV cache of the bar being decoded plus the memory (the previous bars' layer inputs)."""

    mem: list[torch.Tensor]  # per layer [B, M, d]
    mem_mask: torch.Tensor  # [B, M]
    mem_pos: torch.Tensor  # [M] the memory's rotary positions: slot j of the bar b bars back at
    #                        (D - b) L + j (D: config.decoder_memory_bars)
    mem_kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer k, v [B, H, M, hd]
    inputs: list[torch.Tensor]  # per layer [B, n, d]: this bar's layer inputs so far
    keys: list[torch.Tensor]  # per layer [B, H, n, hd]
    values: list[torch.Tensor]
    mask: torch.Tensor  # [B, n] real (non-PAD) tokens of this bar so far

    @property
    def length(self) -> int:
        return self.mask.shape[1]


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -grad


def grad_reverse(x: torch.Tensor) -> torch.Tensor:
    """Identity forward, negated gradient backward (the encoder maximises what the adversary minimises)."""
    return _GradReverse.apply(x)


class FeatureHead(nn.Module):
    """A small MLP from one bar's latent to feature logits."""

    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Encoder(nn.Module):
    """Bars -> per-bar q(z|x): bidirectional inside a bar, memory of the previous bar, mean pooling.

    With ``chroma`` the bar's pitch-class profile goes through a small MLP whose output is added to
    the pooled vector (its last layer starts at zero, so the profile's influence is learnt)."""

    def __init__(self, config: ModelConfig, latent: int, chroma: bool = False) -> None:
        super().__init__()
        self.stack = BarStack(config, config.n_enc_layers, causal=False)
        self.to_mu = nn.Linear(config.d_model, latent)
        self.to_logvar = nn.Linear(config.d_model, latent)
        self.clamp = config.logvar_clamp
        self.chroma: nn.Sequential | None = None
        if chroma:
            d = config.d_model
            self.chroma = nn.Sequential(nn.Linear(12, d), nn.GELU(), nn.Linear(d, d))

    def bar_chroma(self, bar: torch.Tensor) -> torch.Tensor:
        """bar [..., L] -> the share of its pitched notes on each pitch class, [..., 12] (zeros if none)."""
        counts = (
            F.one_hot(self.stack.pitch_class[bar], NOT_PITCHED + 1)[..., :12]
            .sum(-2)
            .to(torch.float32)
        )  # [..., 12]
        return counts / counts.sum(-1, keepdim=True).clamp(min=1.0)

    def chroma_input(self, bar: torch.Tensor) -> torch.Tensor:
        """The profile as the MLP reads it: times 12, so an even spread is all ones."""
        return 12.0 * self.bar_chroma(bar)

    def forward(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # tokens [B, T, L] -> mu, logvar [B, T, l]; all bars in one pass (BarStack.forward_bars)
        h = self.stack.forward_bars(tokens)  # [B, T, L, d]
        w = (tokens != PAD).unsqueeze(-1).to(h.dtype)  # [B, T, L, 1]
        pooled = (h * w).sum(2) / w.sum(2).clamp(min=1.0)  # [B, T, d]
        if self.chroma is not None:
            pooled = pooled + self.chroma(self.chroma_input(tokens).to(h.dtype))
        return self.to_mu(pooled), self.to_logvar(pooled).clamp(-self.clamp, self.clamp)


class Decoder(nn.Module):
    """Autoregressive over each bar's tokens; the bar's z (projected per layer) is added to every
    layer's input; memory of the previous ``config.decoder_memory_bars`` bars; a KV cache for
    incremental decoding.

    With ``config.pitch_class_tokens`` the output is factorised like the input: a pitched note's
    logit also gets its pitch class's logit (one per class, shared across octaves and families),
    so "stay in this key" is one small decision instead of 352 separate ones."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.stack = BarStack(
            config, config.n_dec_layers, causal=True, memory_bars=config.decoder_memory_bars
        )
        self.z_proj = nn.ModuleList(
            nn.Linear(config.latent, config.d_model) for _ in range(config.n_dec_layers)
        )
        self.head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.pc_head = (
            nn.Linear(config.d_model, NOT_PITCHED, bias=False)
            if config.pitch_class_tokens
            else None
        )

    @torch.no_grad()
    def silence_layers(self, layers: range) -> None:
        """Zero what ``layers`` add to the residual stream (their attention's and feed-forward's
        output projections and their latent's projection), so each passes its input through
        unchanged: a decoder grown from a shallower one starts with the shallower one's outputs,
        and the new layers learn from there (their projections still get gradients)."""
        for i in layers:
            block = self.stack.blocks[i]
            for linear in (block.attn.proj, block.mlp.down, cast(nn.Linear, self.z_proj[i])):
                nn.init.zeros_(linear.weight)
                if linear.bias is not None:
                    nn.init.zeros_(linear.bias)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """Final hidden states [..., d] -> next-token logits [..., V]."""
        out = self.head(h)
        if self.pc_head is not None:
            pc = F.pad(
                self.pc_head(h), (0, 1)
            )  # [..., 13], 0 for tokens that are not pitched notes
            out = out + pc[..., self.stack.pitch_class]
        return out

    def hidden(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        # tokens [B, T, L], z [B, T, l_r + l_k] -> h [B, T, L, d]
        # all bars in one pass (BarStack.forward_bars)
        return self.stack.forward_bars(tokens, [proj(z) for proj in self.z_proj])

    def start(self, batch: int, device) -> DecoderState:
        mems, mem_mask = self.stack.empty_memory(batch, device)
        return self._state_with_memory(
            mems, mem_mask, torch.zeros(0, dtype=torch.long, device=device)
        )

    def _state_with_memory(self, mems, mem_mask, mem_pos) -> DecoderState:
        mem_kv = [
            layer.memory_kv(m, mem_pos, mem_mask) for layer, m in zip(self.stack.blocks, mems)
        ]
        b, device = mem_mask.shape[0], mem_mask.device
        d, h = self.config.d_model, self.config.n_heads
        empty_x = torch.zeros(b, 0, d, device=device)
        empty_kv = torch.zeros(b, h, 0, d // h, device=device)
        n = len(self.stack.layers)
        return DecoderState(
            mems,
            mem_mask,
            mem_pos,
            mem_kv,
            [empty_x] * n,
            [empty_kv] * n,
            [empty_kv] * n,
            torch.zeros(b, 0, dtype=torch.bool, device=device),
        )

    def step(self, tokens: torch.Tensor, z: torch.Tensor, state: DecoderState):
        # tokens [B, n] (continuing the current bar), z [B, l] -> logits [B, n, V], new state
        _b, n = tokens.shape
        if state.length + n > self.config.bar_len:
            raise ValueError(
                f"a bar holds at most {self.config.bar_len} tokens (got {state.length + n})"
            )
        new_mask = tokens != PAD
        here = self.config.decoder_memory_bars * self.config.bar_len  # the bar's first position
        pos = here + state.length + torch.arange(n, device=tokens.device)
        mask = attention_mask(state.mem_mask, state.mask, new_mask, causal=True)
        x = self.stack.embed_tokens(tokens)  # [B, n, d]
        inputs, keys, values = [], [], []
        for i, layer in enumerate(self.stack.layers):
            x = x + self.z_proj[i](z)[:, None, :]
            inputs.append(torch.cat([state.inputs[i], x], dim=1))
            mk, mv = state.mem_kv[i]
            ctx_k = torch.cat([mk, state.keys[i]], dim=2)
            ctx_v = torch.cat([mv, state.values[i]], dim=2)
            x, k, v = layer(x, pos, ctx_k, ctx_v, mask, new_mask)
            keys.append(torch.cat([state.keys[i], k], dim=2))
            values.append(torch.cat([state.values[i], v], dim=2))
        logits = self.logits(self.stack.ln_f(x))  # [B, n, V]
        return logits, DecoderState(
            state.mem,
            state.mem_mask,
            state.mem_pos,
            state.mem_kv,
            inputs,
            keys,
            values,
            torch.cat([state.mask, new_mask], dim=1),
        )

    def next_bar(self, state: DecoderState) -> DecoderState:
        """The finished bar joins the memory (whose bars move one bar back, the oldest leaving
        when there are ``config.decoder_memory_bars``); the cache of the new bar starts empty."""
        length = self.config.bar_len
        kept = state.mem_pos >= length  # the slots at 0 .. L - 1 are D bars back: they leave
        here = (self.config.decoder_memory_bars - 1) * length
        bar_pos = here + torch.arange(state.length, device=state.mask.device)
        return self._state_with_memory(
            [torch.cat([m[:, kept], x], dim=1) for m, x in zip(state.mem, state.inputs)],
            torch.cat([state.mem_mask[:, kept], state.mask], dim=1),
            torch.cat([state.mem_pos[kept] - length, bar_pos]),
        )


class CDGMVAE(nn.Module):
    """The emotion model. Inference API: see :mod:`emostudio.model`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.encoder_r = Encoder(c, c.latent_r)
        self.encoder_k = Encoder(c, c.latent_k, chroma=c.key_chroma)
        self.prior_r = GaussianMixturePrior(c.n_components_r, c.latent_r, c.prior_init_scale)
        self.prior_k = GaussianMixturePrior(c.n_components_k, c.latent_k, c.prior_init_scale)
        self.decoder = Decoder(c)
        self.polyphony_head = FeatureHead(
            c.latent_r, c.feature_hidden, c.subbeats_per_bar * c.polyphony_classes
        )
        self.key_head = FeatureHead(c.latent_k, c.feature_hidden, c.n_keys)
        if c.use_adversary:
            self.adv_polyphony = FeatureHead(
                c.latent_k, c.feature_hidden, c.subbeats_per_bar * c.polyphony_classes
            )
            self.adv_key = FeatureHead(c.latent_r, c.feature_hidden, c.n_keys)
        self.apply(self._init_weights)
        for encoder in (self.encoder_r, self.encoder_k):
            nn.init.constant_(encoder.to_logvar.bias, c.posterior_logvar_init)
            if encoder.chroma is not None:
                # fan-in 12: torch's scaled init for the first layer, the last at zero (a
                # fine-tuned model starts unchanged)
                cast(nn.Linear, encoder.chroma[0]).reset_parameters()
                nn.init.zeros_(cast(nn.Linear, encoder.chroma[-1]).weight)
        # the pitch-class parts of embeddings and output start at zero (a fine-tuned model starts unchanged)
        for stack in (self.encoder_r.stack, self.encoder_k.stack, self.decoder.stack):
            if stack.pc_embed is not None:
                nn.init.zeros_(stack.pc_embed.weight)
        if self.decoder.pc_head is not None:
            nn.init.zeros_(self.decoder.pc_head.weight)
        # the feature heads read a small latent (fan-in l, not d_model): torch's fan-in scaled
        # init, not the 0.02 of the Transformer, or they start too quiet to learn for hundreds of steps
        for head in (
            self.polyphony_head,
            self.key_head,
            getattr(self, "adv_polyphony", None),
            getattr(self, "adv_key", None),
        ):
            if head is not None:
                for layer in head.net:
                    if isinstance(layer, nn.Linear):
                        layer.reset_parameters()

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    @property
    def device(self) -> torch.device:
        return self.prior_r.means.device

    # ---- inference API ----------------------------------------------------------------------------
    def encode(self, tokens: torch.Tensor) -> Posterior:
        """tokens [B, T, L] -> q(z|x) per bar (each field [B, T, l]).

        The slots after the longest bar's last token are left out: PAD only, they change nothing
        (positions are counted from the bar's start; tested), and a sparse piece encodes in about
        half the time."""
        used = (tokens != PAD).flatten(0, 1).any(dim=0).nonzero()
        tokens = tokens[..., : int(used[-1]) + 1] if len(used) else tokens
        mu_r, logvar_r = self.encoder_r(tokens)
        mu_k, logvar_k = self.encoder_k(tokens)
        return Posterior(mu_r, logvar_r, mu_k, logvar_k)

    def decoder_logits(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """tokens [B, T, L], z [B, T, l_r + l_k] -> next-token logits [B, T, L, V] (no cache)."""
        return self.decoder.logits(self.decoder.hidden(tokens, z))

    def decoder_start(self, batch: int) -> DecoderState:
        return self.decoder.start(batch, self.device)

    def decoder_step(self, token_ids: torch.Tensor, z_bar: torch.Tensor, state: DecoderState):
        """token_ids [B, n], z_bar [B, l_r + l_k] -> (logits [B, n, V], state)."""
        return self.decoder.step(token_ids, z_bar, state)

    def decoder_next_bar(self, state: DecoderState) -> DecoderState:
        return self.decoder.next_bar(state)

    def q_y(self, post: Posterior, bar_mask: torch.Tensor | None = None, n_samples: int = 0):
        """Window-level q(y|x) for arousal (r) and valence (k), each [B, K].

        ``n_samples = 0`` uses the posterior means; otherwise Monte Carlo over that many z samples."""
        if bar_mask is None:
            bar_mask = torch.ones(post.mu_r.shape[:2], dtype=torch.bool, device=post.mu_r.device)
        out = []
        for prior, mu, logvar in (
            (self.prior_r, post.mu_r, post.logvar_r),
            (self.prior_k, post.mu_k, post.logvar_k),
        ):
            z = mu[None] if n_samples == 0 else _sample(mu, logvar, n_samples)
            out.append(window_q_y(prior, z, bar_mask).exp())
        return out[0], out[1]

    # ---- training ------------------------------------------------------------------------------------
    def forward(self, batch: Batch):
        """-> (outputs, losses): every loss unweighted; combine with objective.total_loss."""
        c = self.config
        tokens, bar_mask = batch.tokens, batch.bar_mask  # [B, T, L], [B, T]
        post = self.encode(tokens)
        zs_r = _sample(post.mu_r, post.logvar_r, c.n_y_samples)  # [S, B, T, l_r]
        zs_k = _sample(post.mu_k, post.logvar_k, c.n_y_samples)
        z_r, z_k = zs_r[0], zs_k[0]
        h = self.decoder.hidden(tokens, torch.cat([z_r, z_k], dim=-1))  # [B, T, L, d]
        tok_mask = tokens != PAD
        n_tokens = tok_mask.sum().clamp(min=1)
        logits = self.decoder.logits(h[tok_mask])  # [N, V]
        losses = {"token": F.cross_entropy(logits, batch.targets[tok_mask])}

        poly_logits = self.polyphony_head(z_r).unflatten(
            -1, (c.subbeats_per_bar, c.polyphony_classes)
        )
        key_logits = self.key_head(z_k)  # [B, T, 24]
        losses["polyphony"] = F.cross_entropy(
            poly_logits[bar_mask].flatten(0, 1), batch.polyphony[bar_mask].flatten()
        )
        losses["key"] = F.cross_entropy(key_logits[bar_mask], batch.key[bar_mask])
        if c.use_adversary:
            adv_poly = self.adv_polyphony(grad_reverse(z_k)).unflatten(
                -1, (c.subbeats_per_bar, c.polyphony_classes)
            )
            adv_key = self.adv_key(grad_reverse(z_r))
            losses["adv_polyphony"] = F.cross_entropy(
                adv_poly[bar_mask].flatten(0, 1), batch.polyphony[bar_mask].flatten()
            )
            losses["adv_key"] = F.cross_entropy(adv_key[bar_mask], batch.key[bar_mask])

        kl_z = kl_y = tokens.new_zeros((), dtype=h.dtype)
        outputs = {"posterior": post, "poly_logits": poly_logits, "key_logits": key_logits}
        for name, prior, mu, logvar, zs, labels in (
            ("r", self.prior_r, post.mu_r, post.logvar_r, zs_r, batch.arousal),
            ("k", self.prior_k, post.mu_k, post.logvar_k, zs_k, batch.valence),
        ):
            log_q = window_q_y(prior, zs, bar_mask)  # [B, K]
            q = log_q.exp()
            outputs[f"q_{name}"] = q
            labelled = labels >= 0
            onehot = F.one_hot(labels.clamp(min=0), prior.n_components).to(q.dtype)
            q_used = torch.where(labelled[:, None], onehot, q)
            kl_z = kl_z + (mixture_kl_z(mu, logvar, prior, q_used, c.alpha) * bar_mask).sum()
            unlabelled = ~labelled
            if unlabelled.any():
                q_u = q[unlabelled]
                if c.use_mi:
                    kl_y = kl_y + unlabelled.sum() * batch_mean_kl(q_u, prior.log_prior_y())
                else:
                    kl_y = kl_y + categorical_kl(q_u, prior.log_prior_y()).sum()
            if labelled.any():
                losses[f"classify_{name}"] = F.nll_loss(log_q[labelled], labels[labelled])
            else:
                losses[f"classify_{name}"] = log_q.sum() * 0.0
        # KL terms per token, so they sit on the scale of the per-token reconstruction (the ELBO / N)
        losses["kl_z"] = kl_z / n_tokens
        losses["kl_y"] = kl_y / n_tokens
        return outputs, losses


def _sample(mu: torch.Tensor, logvar: torch.Tensor, n: int) -> torch.Tensor:
    """Reparameterised z = mu + sigma * eps: [..., l] -> [n, ..., l]."""
    eps = torch.randn((n, *mu.shape), device=mu.device, dtype=mu.dtype)
    return mu + (0.5 * logvar).exp() * eps
