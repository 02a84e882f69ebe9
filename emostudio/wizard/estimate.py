"""The time per epoch, measured on this machine with a few real training steps.

:func:`measure_epoch` runs the real training loop (:func:`emostudio.training.train`) on the
scanned cache with the chosen size and device, into a throw-away folder, times a few steps after
a warm-up, and stops it without saving. It is a job for the GUI worker (a generator honouring a
cancel flag). The figure excludes the validation at the end of each epoch.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from emostudio.wizard.plan import RunPlan

log = logging.getLogger(__name__)

WARMUP_STEPS = 2
TIMED_STEPS = 5


@dataclass(frozen=True)
class Estimate:
    seconds_per_step: float
    epoch_steps: int
    device: str

    @property
    def seconds_per_epoch(self) -> float:
        return self.seconds_per_step * self.epoch_steps


def measure_epoch(
    plan: RunPlan, cancel=None, warmup: int = WARMUP_STEPS, steps: int = TIMED_STEPS
) -> Iterator[tuple[int, int]]:
    """Yields (steps done, steps to do); returns an :class:`Estimate`, or None when cancelled."""
    import torch

    from emostudio.corpus import load_cache
    from emostudio.model import ModelConfig, resolve_device
    from emostudio.model.store import read_configs
    from emostudio.training import TrainConfig, train

    cache = load_cache(plan.cache_dir)
    if plan.base_model:
        model_config = read_configs(plan.base_model)[0]
    else:
        model_config = ModelConfig.for_tokenizer(cache.tokenizer_config, **plan.model)
    total = warmup + steps
    # no validation, no checkpoint, a flat learning rate: only the steps themselves are timed
    train_config = TrainConfig(
        **{
            **plan.train,
            "max_steps": 10**9,
            "epoch_steps": 10**9,
            "log_every": 1,
            "checkpoint_minutes": 10**6,
            "warmup_steps": 0,
        }
    )
    device = resolve_device(plan.device)
    if cancel is not None and cancel.is_set():
        return None
    threads_before = torch.get_num_threads()
    stamps: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="emostudio-estimate-") as tmp:
            events = train(cache, Path(tmp), model_config, train_config, device)
            try:
                for ev in events:
                    if cancel is not None and cancel.is_set():
                        return None
                    if ev["event"] == "step":
                        stamps.append(time.perf_counter())
                        yield len(stamps), total
                        if len(stamps) == total:
                            break
            finally:
                events.close()  # stops the loop at its yield: nothing is saved
    finally:
        torch.set_num_threads(threads_before)
    per_step = (stamps[-1] - stamps[warmup - 1]) / steps
    estimate = Estimate(per_step, int(plan.train["epoch_steps"]), str(device))
    log.info(
        "measured %.3f s per step on %s: %.0f s per epoch",
        per_step,
        device,
        estimate.seconds_per_epoch,
    )
    return estimate
