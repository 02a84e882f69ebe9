"""The terms of the negative ELBO (MODEL.md section 3), as pure functions of tensors.

- :func:`window_q_y`: q(y|x) of a window of bars. Every bar of a window shares the piece's y, so
  for each Monte Carlo sample of the per-bar z's we *average the per-bar log-likelihoods*
  log N(z_tau; mu_y, sigma_y^2) over the window's real bars (a geometric mean of the per-bar
  likelihoods: a long window does not get sharper than a short one), apply Bayes' rule with the
  uniform p(y), and average the resulting probabilities over the samples.
- :func:`mixture_kl_z`: sum_y q(y|x) KL(q(z|x) || p(z|y)) per bar, with the variance penalty:
  the precision-weighted squared distance sum_y q_y (m - mu_y)^2 / sigma_y^2 is split into
  P (m - mu_bar)^2 + sum_y q_y (mu_y - mu_bar)^2 / sigma_y^2, with P = sum_y q_y / sigma_y^2 and
  mu_bar the precision-weighted mean of the components, and the second part (the spread of the
  component means, which KL_z pushes down and so pulls the components together) is scaled by
  alpha. With equal component variances this is exactly MODEL.md's decomposition; alpha = 1 is
  the plain KL. Labelled samples pass a one-hot q, for which the spread is zero.
- :func:`categorical_kl`: KL(q(y|x) || p(y)); :func:`batch_mean_kl` is the mutual-information
  enhancement KL(q̄(y) || p(y)), q̄ the batch mean of q(y|x).
"""

from __future__ import annotations

import math

import torch

from emostudio.model.prior import GaussianMixturePrior


def window_q_y(
    prior: GaussianMixturePrior, z: torch.Tensor, bar_mask: torch.Tensor
) -> torch.Tensor:
    """z [S, B, T, l] (S samples), bar_mask [B, T] -> log q(y|x) [B, K] (log of the sample mean)."""
    logp = prior.log_prob(z)  # [S, B, T, K]
    w = bar_mask.to(logp.dtype)[None, :, :, None]  # [1, B, T, 1]
    mean_logp = (logp * w).sum(2) / w.sum(2).clamp(min=1.0)  # [S, B, K]
    log_q = torch.log_softmax(mean_logp + prior.log_prior_y(), dim=-1)  # [S, B, K]
    return torch.logsumexp(log_q, dim=0) - math.log(z.shape[0])


def mixture_kl_z(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    prior: GaussianMixturePrior,
    q_y: torch.Tensor,
    alpha: float,
) -> torch.Tensor:
    """mu, logvar [B, T, l], q_y [B, K] -> sum_y q_y KL(q(z|x) || p(z|y)) with the alpha penalty, [B, T]."""
    q = q_y[:, None, :, None]  # [B, 1, K, 1]
    m, lv = mu[:, :, None, :], logvar[:, :, None, :]  # [B, T, 1, l]
    lv_y = prior.logvars  # [K, l]
    prec_y = (-lv_y).exp()  # [K, l]
    # the parts of KL(N(m, v) || N(mu_y, v_y)) that do not involve the means
    var_part = 0.5 * (q * (lv_y - lv + lv.exp() * prec_y - 1.0)).sum((2, 3))  # [B, T]
    # the mean part, split into distance to the weighted centre + spread of the components
    weight = q * prec_y  # [B, 1, K, l]
    total_prec = weight.sum(2, keepdim=True)  # [B, 1, 1, l]
    centre = (weight * prior.means).sum(2, keepdim=True) / total_prec  # [B, 1, 1, l]
    to_centre = 0.5 * (total_prec * (m - centre).pow(2)).sum((2, 3))  # [B, T]
    spread = 0.5 * (weight * (prior.means - centre).pow(2)).sum((2, 3))  # [B, 1]
    return var_part + to_centre + alpha * spread


def categorical_kl(q: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """KL(q || p) for q [..., K] and log p [K] -> [...]."""
    return (q * (q.clamp(min=1e-8).log() - log_p)).sum(-1)


def batch_mean_kl(q: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """KL(q̄ || p), q̄ the mean of q [N, K] over its rows (the MI-enhanced KL_y) -> scalar."""
    return categorical_kl(q.mean(0), log_p)


def diag_gaussian_kl(mu, logvar, mu_p, logvar_p) -> torch.Tensor:
    """KL(N(mu, e^logvar) || N(mu_p, e^logvar_p)) summed over the last dim."""
    return 0.5 * (
        logvar_p - logvar + (logvar.exp() + (mu - mu_p).pow(2)) / logvar_p.exp() - 1.0
    ).sum(-1)


def total_loss(losses: dict[str, torch.Tensor], config, beta: float) -> torch.Tensor:
    """The weighted sum minimised in training (config: a ModelConfig)."""
    total = losses["token"] + beta * (losses["kl_z"] + losses["kl_y"])
    total = total + config.feature_weight * (losses["polyphony"] + losses["key"])
    total = total + config.classify_weight * (losses["classify_r"] + losses["classify_k"])
    if config.use_adversary:
        total = total + config.adversary_weight * (losses["adv_polyphony"] + losses["adv_key"])
    return total
