"""Learning-rate and beta schedules: pure functions of (step, config)."""

from __future__ import annotations

import math

from emostudio.training.config import TrainConfig


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warmup from 0 to ``lr`` over ``warmup_steps``, then a cosine down to
    ``lr * min_lr_ratio`` at ``max_steps``, constant after."""
    if step < config.warmup_steps:
        return config.lr * step / config.warmup_steps
    min_lr = config.lr * config.min_lr_ratio
    if step >= config.max_steps:
        return min_lr
    progress = (step - config.warmup_steps) / (config.max_steps - config.warmup_steps)
    return min_lr + 0.5 * (config.lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def beta(step: int, config: TrainConfig) -> float:
    """Linear from ``beta_start`` at step 0 to ``beta_max`` at ``beta_anneal_steps``, constant after
    (never below the smaller of the two, never above the larger)."""
    if config.beta_anneal_steps == 0 or step >= config.beta_anneal_steps:
        return config.beta_max
    t = max(0, step) / config.beta_anneal_steps
    return config.beta_start + (config.beta_max - config.beta_start) * t
