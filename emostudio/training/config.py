"""The training configuration: one frozen dataclass with named defaults and a versioned JSON round trip.

The model's own sizes and objective weights are in :class:`emostudio.model.ModelConfig`; this is
how it is trained: data sampling, optimisation, the beta schedule, validation and checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

from emostudio.jsonconfig import ConfigError, JsonConfig, check_format_version

TRAIN_FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainConfig(JsonConfig):
    """How the model is trained; every field has a named default."""

    config_name = "training"

    # ---- data ----------------------------------------------------------------------------------------
    bars_per_sample: int = 8  # T: consecutive bars per training window
    batch_size: int = 16  # per process
    max_pitch_shift: int = 5  # pitch-shift augmentation: a random shift in [-s, s] semitones
    # share of each batch drawn from labelled pieces (when there are both)
    labelled_fraction: float = 0.5
    supervision_rate: float | None = None  # rho: share of training pieces that keep their labels
    #                                        (None = every label the corpus has); the others are
    #                                        used as unlabelled, to reproduce the paper's rho curves
    seed: int = 0
    # ---- optimisation ----------------------------------------------------------------------------------
    lr: float = 6e-4
    min_lr_ratio: float = 0.1  # the cosine ends at lr * min_lr_ratio
    warmup_steps: int = 200
    max_steps: int = 20000  # end of the cosine and of training
    weight_decay: float = 0.01
    # learning rate of the mixture priors' means and variances, times lr (with 1 the component
    # means had barely left their initial places after 370 steps, far from the posteriors)
    prior_lr_scale: float = 30.0
    # names of the model's parts that train (e.g. ["decoder"]: a fine-tune that leaves the encoders,
    # heads and priors, and so the latents and the fitted prior's ground, as they are); empty = all
    train_only: tuple[str, ...] = ()
    grad_clip: float = 1.0
    # ---- beta annealing (weight of the KL terms) ------------------------------------------------------------
    beta_start: float = 0.0
    beta_max: float = 1.0
    beta_anneal_steps: int = 2000  # linear from beta_start (step 0) to beta_max (this step)
    # ---- validation and checkpoints ------------------------------------------------------------------------
    epoch_steps: int = 0  # steps between validations; 0 = one pass over the training bars
    val_windows_per_piece: int = 2  # unlabelled validation: the first windows of each piece
    val_max_windows: int = 256  # cap on those (labelled validation clips are always all used)
    # best = lowest token loss + w * (2 - arousal acc - valence acc)
    best_emotion_weight: float = 1.0
    checkpoint_minutes: float = 10.0  # also save last/ + resume state this often inside an epoch
    log_every: int = 10  # steps between step events
    threads: int = 0  # torch CPU threads (0 = torch's default)
    format_version: int = TRAIN_FORMAT_VERSION

    def __post_init__(self) -> None:
        check_format_version("training", self.format_version, TRAIN_FORMAT_VERSION)
        if isinstance(self.train_only, str) or not all(
            isinstance(name, str) and name for name in self.train_only
        ):
            raise ConfigError("training config: train_only must be a list of part names")
        object.__setattr__(self, "train_only", tuple(self.train_only))
        for name in (
            "bars_per_sample",
            "batch_size",
            "max_steps",
            "log_every",
            "val_windows_per_piece",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"training config: {name} must be >= 1")
        if self.supervision_rate is not None and not 0.0 <= self.supervision_rate <= 1.0:
            raise ConfigError(
                f"training config: supervision_rate must be in [0, 1] (got {self.supervision_rate})"
            )
        if not 0.0 <= self.labelled_fraction <= 1.0:
            raise ConfigError("training config: labelled_fraction must be in [0, 1]")
        if self.warmup_steps < 0 or self.beta_anneal_steps < 0 or self.epoch_steps < 0:
            raise ConfigError("training config: step counts must be >= 0")
        if self.prior_lr_scale <= 0:
            raise ConfigError("training config: prior_lr_scale must be > 0")
        if self.lr <= 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("training config: need lr > 0 and 0 <= min_lr_ratio <= 1")
        if self.beta_start < 0 or self.beta_max < 0:
            raise ConfigError("training config: beta must be >= 0")
