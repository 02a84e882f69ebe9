"""Latent arithmetic of generation and transfer (MODEL.md section 4): pure functions on tensors.

- :func:`targets_per_bar`: one pad point per bar from a point or an emotion curve.
- :func:`bar_noise`: standard normal noise, AR(1) over bars (correlation ``rho``).
- :func:`blend` and :func:`cycled`: latents moving between two ends (continue, fill,
  interpolate) and a phrase's latents going round (continue).
- :func:`target_latents` and :func:`moved_latents`: the draws of generation and the moves of
  transfer; :func:`typicality` scores a draw by the model's own prior:

- **generate**: for each bar, the target point's :meth:`~emostudio.emotion.Emotion.component_weights`
  mix the two arousal components (for z_r) and the two valence components (for z_k): mean and
  variance are the weighted sums of the components', so the middle of the pad really lies between
  them. z is sampled per bar and decoded bar by bar with the KV cache. Each bar's z is a draw
  from that mixture; the key latent's draws of neighbouring bars can be correlated (an AR(1)
  process of the standardised noise, correlation ``DecodingSettings.continuity``): the bars of a real
  piece have key posteriors close to each other, and independent draws jump to another key every
  bar (music with no key). The rhythm latent's noise is drawn afresh every bar. The draws can be made
  narrower than the prior
  (``DecodingSettings.latent_temperature``, tau: z = mu + tau * sigma * eps), as VAEs' reduced-temperature
  sampling does: the emotion lives along the line between the components, the noise in every
  direction.
- **the prior sampled from**: a model folder with a fitted prior (``fitted_prior.safetensors``,
  :mod:`emostudio.model.fitted_prior`) is sampled from that instead: per class a mixture fitted to
  the encoded training clips, so a draw lands in a real key region of the right mode rather than
  between them. The pad weights blend a draw of each class (paired components, one noise path);
  the key latent keeps its component for the piece when continuity is on, and a bar keeps the
  previous bar's rhythm component with probability ``DecodingSettings.rhythm_persistence`` (real
  pieces keep a texture for bars at a time: one rhythm component per bar drawn independently
  makes every piece the same average of textures). ``prior="learned"`` keeps the model's own
  mixture (one component per class: nothing to keep).
- **the draw kept**: generation draws ``DecodingSettings.latent_draws`` candidates per piece and
  decodes the one whose bars the model's own mixture (q(y|z), the classifier training shaped)
  places most surely in the target's classes. Draws that land where the classes overlap are
  heard as neither; the choice costs a few tensor operations, no decoding.
- **transfer**: the piece is encoded bar by bar (each bar with the memory of the one before, so
  windows of any length join up), its components are inferred (q(y|x) over the whole piece), and
  each latent moves: ``z_target = z_source + strength * (mu_target - mu_source)`` per dimension
  (arousal through z_r, valence through z_k), z_source being the posterior mean of each bar and
  mu_source the q(y|x)-weighted component mean (with a fitted prior, its anchors: for valence each
  bar's nearest component of each class, so a bar moves to the neighbouring key region of the other
  mode; for arousal each class's mixture mean).
  The bar's own deviation from mu_source is scaled by the latent temperature as generation scales
  its draws: ``z_target = z_source + strength * (mu_target - mu_source + (tau - 1) * (z_source -
  mu_source))``, so at full strength a bar is the target's mean plus tau times its own deviation.
  It is decoded with the source as template: the
  same bar count, each bar's tempo forced to the source's, only the source's instrument families,
  and the source's tempo map, time signatures and instruments on the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from emostudio.decoding import MAX_BARS, EngineError
from emostudio.emotion import Emotion
from emostudio.model import CDGMVAE
from emostudio.model.fitted_prior import FittedPrior
from emostudio.tokens.vocab import PAD

DIMENSIONS = ("arousal", "valence")


def check_bars(bars: int) -> int:
    """``bars`` as an int; an :class:`EngineError` unless it is an integer in 1..MAX_BARS."""
    if (
        isinstance(bars, bool)
        or not isinstance(bars, (int, np.integer))
        or not 1 <= bars <= MAX_BARS
    ):
        raise EngineError(f"bars must be an integer in 1..{MAX_BARS}, got {bars!r}")
    return int(bars)


def targets_per_bar(target: Emotion | Sequence[Emotion], bars: int) -> list[Emotion]:
    """``bars`` pad points: the one ``target`` repeated, or the curve (one per bar) checked."""
    check_bars(bars)
    if isinstance(target, Emotion):
        return [target] * int(bars)
    targets = list(target)
    if not all(isinstance(e, Emotion) for e in targets):
        raise EngineError("a target is an Emotion or a list of Emotions (one per bar)")
    if len(targets) != bars:
        raise EngineError(f"an emotion curve needs one target per bar ({bars}), got {len(targets)}")
    return targets


def check_transfer(strength: float, dims: Sequence[str]) -> tuple[str, ...]:
    """The transfer's dimensions as a tuple; an :class:`EngineError` for a bad strength or dims."""
    if not 0.0 <= strength <= 1.0:
        raise EngineError(f"strength must be in [0, 1], got {strength}")
    dims = tuple(dims)
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown or not dims:
        raise EngineError(f"dims must be arousal and/or valence, got {list(dims)}")
    return dims


def _weights(targets: Sequence[Sequence[Emotion]], device: torch.device) -> torch.Tensor:
    """float[B, T, 2]: each bar's weight of the high component, arousal then valence."""
    return torch.tensor(
        [[e.component_weights() for e in row] for row in targets],
        dtype=torch.float32,
        device=device,
    )


def bar_noise(
    shape: tuple[int, ...], generator: torch.Generator, rho: float, device: torch.device
) -> torch.Tensor:
    """Standard normal noise [B, T, l], AR(1) over bars: every bar is N(0, 1), neighbours
    correlate by ``rho``."""
    eps = torch.randn(shape, generator=generator, device=device)
    keep = (1.0 - rho**2) ** 0.5
    out = [eps[:, 0]]
    for t in range(1, shape[1]):
        out.append(rho * out[-1] + keep * eps[:, t])
    return torch.stack(out, dim=1)


def target_latents(
    model: CDGMVAE,
    fitted_prior: FittedPrior | None,
    targets: Sequence[Sequence[Emotion]],
    generator: torch.Generator,
    continuity: float,
    latent_temperature: float,
    rhythm_persistence: float,
    draws: int = 1,
) -> torch.Tensor:
    """z [B, T, l_r + l_k] sampled from the mixture each bar's target point selects (all rows
    of ``targets`` the same length). ``rhythm_persistence``: with a fitted prior, the probability
    that a bar keeps the previous bar's rhythm component (its noise is still its own).
    ``draws``: candidates drawn per row, of which the one the model's own prior finds most
    typical of its targets is kept (:func:`typicality`); 1 draws exactly what it drew before."""
    k = int(draws)
    if k > 1:
        many = [row for row in targets for _ in range(k)]  # each row's candidates side by side
        z = target_latents(
            model, fitted_prior, many, generator, continuity, latent_temperature,
            rhythm_persistence,
        )  # fmt: skip
        score = typicality(model, z, _weights(many, model.device)).view(len(targets), k)
        best = score.argmax(dim=1) + torch.arange(len(targets), device=z.device) * k
        return z.index_select(0, best)
    parts = []
    weights = _weights(targets, model.device)  # [B, T, 2]: arousal, valence
    # the key latent keeps its course over bars (a piece keeps its key); the rhythm latent's
    # noise is drawn afresh every bar, its component kept for runs of bars
    for dim, prior, w, rho, persistence in (
        ("arousal", model.prior_r, weights[..., 0], 0.0, rhythm_persistence),
        ("valence", model.prior_k, weights[..., 1], continuity, 1.0 if continuity > 0 else 0.0),
    ):
        noise = bar_noise((*w.shape, prior.means.shape[1]), generator, rho, model.device)
        if fitted_prior is not None:
            parts.append(
                fitted_prior.sample(
                    dim,
                    w,
                    noise,
                    persistence=persistence,
                    generator=generator,
                    temperature=latent_temperature,
                )
            )
            continue
        mix = torch.stack([1.0 - w, w], dim=-1)  # [B, T, K]
        mean = mix @ prior.means  # [B, T, l]
        std = (mix @ prior.logvars.exp()).sqrt()
        parts.append(mean + latent_temperature * std * noise)
    return torch.cat(parts, dim=-1)


def typicality(model: CDGMVAE, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """How surely the model's own prior hears each row of z [B, T, l_r + l_k] in its targets'
    classes: the mean over bars of the sum over arousal and valence of log(w q(high | z_t) +
    (1 - w) q(low | z_t)), where q is the model's mixture's class posterior of the bar's latent
    and w the target's weight of the high class (``weights`` [B, T, 2]): the log probability
    that the class the model hears is the one a draw from the target's weights would pick
    -> [B]. A corner of the pad prefers the latents the model is surest of; its centre
    (w = 0.5) scores every latent alike."""
    l_r = model.config.latent_r
    total = z.new_zeros(z.shape[0])
    for prior, part, w in (
        (model.prior_r, z[..., :l_r], weights[..., 0]),
        (model.prior_k, z[..., l_r:], weights[..., 1]),
    ):
        q = prior.q_y(part)  # [B, T, 2]: low, high
        total += torch.log((1.0 - w) * q[..., 0] + w * q[..., 1]).mean(dim=1)
    return total


def moved_latents(
    model: CDGMVAE,
    fitted_prior: FittedPrior | None,
    tokens: torch.Tensor,
    targets: Sequence[Sequence[Emotion]],
    strength: float,
    dims: tuple[str, ...],
    latent_temperature: float,
) -> torch.Tensor:
    """z [B, T, l]: the posterior means of ``tokens`` [B, T, L] moved towards the targets (a row
    shorter than T is padded with its last target)."""
    post = model.encode(tokens)
    bar_mask = tokens[:, :, 0] != PAD  # [B, T]
    q_r, q_k = model.q_y(post, bar_mask)  # [B, K]
    t_max = tokens.shape[1]
    padded = [list(row) + [row[-1]] * (t_max - len(row)) for row in targets]
    weights = _weights(padded, tokens.device)  # [B, T, 2]
    out = []
    for dim, prior, mu, q, w in (
        ("arousal", model.prior_r, post.mu_r, q_r, weights[..., 0]),
        ("valence", model.prior_k, post.mu_k, q_k, weights[..., 1]),
    ):
        if dim in dims:
            mix = torch.stack([1.0 - w, w], dim=-1)  # [B, T, K]
            if fitted_prior is None:
                mu_source = (q @ prior.means)[:, None, :]  # [B, 1, l]
                mu_target = mix @ prior.means  # [B, T, l]
            else:  # each bar's nearest component of each class
                anchors = fitted_prior.anchors(dim, mu)  # [B, T, K, l]
                mu_source = torch.einsum("bk,btkl->btl", q, anchors)
                mu_target = torch.einsum("btk,btkl->btl", mix, anchors)
            # at full strength: the target's mean plus the bar's own deviation from the source's,
            # scaled by tau as generation scales its draws
            deviation = mu - mu_source
            mu = mu + strength * (mu_target - mu_source + (latent_temperature - 1.0) * deviation)
        out.append(mu)
    return torch.cat(out, dim=-1)


def blend(z_from: torch.Tensor, z_to: torch.Tensor, weights: Sequence[float]) -> torch.Tensor:
    """[n, l]: bar j ``weights[j]`` of the way from ``z_from`` to ``z_to`` (each [n, l] or [l]):
    the moves of continue (from the piece's latents towards the target's), fill (from the left
    side's to the right side's) and interpolate (from one piece's to another's)."""
    w = torch.as_tensor(list(weights), dtype=z_from.dtype, device=z_from.device)[:, None]
    return z_from + w * (z_to - z_from)


def cycled(z: torch.Tensor, n: int) -> torch.Tensor:
    """[n, l]: the rows of ``z`` [m, l] repeated in order (a phrase's latents going round)."""
    return z[torch.arange(n, device=z.device) % z.shape[0]]
