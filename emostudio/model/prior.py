"""Gaussian-mixture prior p(z | y) p(y) over one feature latent, and Bayes' rule for q(y | x).

Each component y has a learnable mean and a learnable diagonal variance; p(y) is uniform. Component
0 is "low" and 1 "high" (arousal on z_r, valence on z_k).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn


class GaussianMixturePrior(nn.Module):
    def __init__(self, n_components: int, dim: int, init_scale: float = 1.0) -> None:
        super().__init__()
        self.means = nn.Parameter(torch.randn(n_components, dim) * init_scale)  # [K, l]
        self.logvars = nn.Parameter(torch.zeros(n_components, dim))  # [K, l]

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    def log_prior_y(self) -> torch.Tensor:
        k = self.n_components
        return torch.full((k,), -math.log(k), device=self.means.device)  # uniform p(y)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        # z [..., l] -> log N(z; mu_y, sigma_y^2) summed over dims: [..., K]
        diff = z[..., None, :] - self.means  # [..., K, l]
        lv = self.logvars
        return -0.5 * (diff.pow(2) / lv.exp() + lv + math.log(2 * math.pi)).sum(-1)

    def q_y(self, z: torch.Tensor) -> torch.Tensor:
        """p(y | z) by Bayes' rule: z [..., l] -> probabilities [..., K]."""
        return torch.softmax(self.log_prob(z) + self.log_prior_y(), dim=-1)

    def sample(self, component: torch.Tensor, shape: tuple[int, ...] = ()) -> torch.Tensor:
        """z ~ p(z | y) for component ids [B] -> [B, *shape, l]."""
        mean = self.means[component]  # [B, l]
        std = (0.5 * self.logvars[component]).exp()
        view = (mean.shape[0],) + (1,) * len(shape) + (mean.shape[1],)
        eps = torch.randn((mean.shape[0], *shape, mean.shape[1]), device=mean.device)
        return mean.view(view) + std.view(view) * eps
