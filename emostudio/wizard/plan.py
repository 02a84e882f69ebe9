"""The wizard's choices -> a run folder, a training config and the ``emostudio train`` command.

A wizard run folder is an ordinary training run folder (:mod:`emostudio.training.checkpoint`)
plus two files of the wizard's own:

- ``wizard.json``: what the user chose (folders, label sources and counts, start, base model,
  size preset, device, epochs) - read back to resume the run later and to write the model card;
- ``wizard_config.json``: the ``{"model": ..., "train": ...}`` overrides given to ``--config``.

Size presets are model config values (:data:`PRESETS`); fine-tuning keeps the base model's size.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

from emostudio.wizard.flow import Start, WizardFlow

WIZARD_JSON = "wizard.json"
CONFIG_JSON = "wizard_config.json"
WIZARD_FORMAT_VERSION = 1
#: ``$EMOSTUDIO_WIZARD_DIR`` replaces the user data folder (tests, portable installs).
WIZARD_DIR_ENV = "EMOSTUDIO_WIZARD_DIR"

#: Model sizes the Model page offers, as :class:`~emostudio.model.ModelConfig` values.
PRESETS: dict[str, dict] = {
    "tiny": {
        "d_model": 64,
        "n_heads": 2,
        "n_enc_layers": 1,
        "n_dec_layers": 2,
        "ff_mult": 2,
        "latent_r": 8,
        "latent_k": 8,
        "feature_hidden": 64,
    },
    "small": {
        "d_model": 96,
        "n_heads": 4,
        "n_enc_layers": 1,
        "n_dec_layers": 2,
        "latent_r": 12,
        "latent_k": 12,
        "feature_hidden": 96,
    },
    "default": {},  # the ModelConfig defaults: the shipped model's size
}
PRESET_HELP = {
    "tiny": "tiny: quick to train, for a first try or a small folder",
    "small": "small: a good balance for a few hours of music",
    "default": "default: the size of the shipped model (slowest)",
}
#: Training settings the wizard uses (TrainConfig defaults otherwise).
BARS_PER_SAMPLE = 8
BATCH_SIZE = 16
FINE_TUNE_LR = 2e-4


def wizard_dir() -> Path:
    env = os.environ.get(WIZARD_DIR_ENV)
    return Path(env) if env else Path(platformdirs.user_data_dir("emostudio")) / "wizard"


def default_runs_root() -> Path:
    return wizard_dir() / "runs"


def default_cache_root() -> Path:
    return wizard_dir() / "caches"


def training_bars(cache_dir: str | Path) -> int:
    """Bars in the training split of a scanned cache (what one epoch passes over)."""
    from emostudio.corpus import load_cache

    cache = load_cache(cache_dir)
    return sum(p.n_bars for p in cache.pieces if p.split == "train")


def epoch_steps(
    train_bars: int, bars_per_sample: int = BARS_PER_SAMPLE, batch_size: int = BATCH_SIZE
) -> int:
    """Steps of one pass over the training bars (as the training loop counts an epoch)."""
    return max(1, math.ceil(train_bars / (bars_per_sample * batch_size)))


def train_overrides(
    start: Start, epochs: int, steps_per_epoch: int, threads: int, defaults: dict | None = None
) -> dict:
    """The :class:`~emostudio.training.TrainConfig` values of a wizard run (``defaults`` replace
    the wizard's batch shape and any other value)."""
    max_steps = max(1, epochs * steps_per_epoch)
    values = {
        "bars_per_sample": BARS_PER_SAMPLE,
        "batch_size": BATCH_SIZE,
        **(defaults or {}),
        "max_steps": max_steps,
        "epoch_steps": steps_per_epoch,
        "warmup_steps": min(200, max(1, max_steps // 10)),
        "beta_anneal_steps": min(2000, max_steps // 3),
        "checkpoint_minutes": 2.0,  # a crash loses at most two minutes
        "log_every": max(1, min(10, max_steps // 100)),  # enough points for live curves
        "threads": threads,
    }
    if start is Start.FINETUNE:
        # the base model's latents are already organised: no KL warm-up, a gentler rate
        values.update(
            lr=FINE_TUNE_LR, beta_anneal_steps=0, warmup_steps=min(50, max(1, max_steps // 10))
        )
    fixed = {"max_steps", "epoch_steps"}
    values.update({k: v for k, v in (defaults or {}).items() if k not in fixed})
    return values


def cpu_threads() -> int:
    """Leave one core to the window (and its audio) while the child trains."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class RunPlan:
    """Everything a wizard run needs, as written to ``wizard.json``."""

    run_dir: Path
    cache_dir: Path
    folders: tuple[str, ...]
    label_sources: tuple[str, ...]  # one description per folder
    labelled: dict[str, int]  # "Q1".."Q4" -> labelled clips accepted by the scan
    files_accepted: int
    hours: float
    start: str  # Start value
    base_model: str | None
    preset: str
    device: str
    epochs: int
    model: dict = field(default_factory=dict)  # ModelConfig overrides (empty when fine-tuning)
    train: dict = field(default_factory=dict)  # TrainConfig overrides
    created: str = ""
    format_version: int = WIZARD_FORMAT_VERSION

    @classmethod
    def from_flow(
        cls, flow: WizardFlow, runs_root: Path, train_bars: int, threads: int | None = None
    ) -> RunPlan:
        if flow.scan is None or flow.labels is None:
            raise ValueError("the data has not been scanned")
        start = flow.start
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{stamp}-{'finetune' if start is Start.FINETUNE else flow.preset}"
        run_dir = _unique(Path(runs_root) / name)
        defaults = dict(flow.train_defaults)
        steps = epoch_steps(
            train_bars,
            int(defaults.get("bars_per_sample", BARS_PER_SAMPLE)),
            int(defaults.get("batch_size", BATCH_SIZE)),
        )
        threads = threads if threads is not None else (cpu_threads() if flow.device == "cpu" else 0)
        return cls(
            run_dir=run_dir,
            cache_dir=flow.scan.cache_dir,
            folders=tuple(str(f) for f in flow.folders),
            label_sources=tuple(f.description for f in flow.labels.folders),
            labelled={f"Q{q}": n for q, n in flow.scan.labelled.items()},
            files_accepted=flow.scan.accepted,
            hours=round(flow.scan.hours, 3),
            start=start.value,
            base_model=str(flow.base_model) if start is Start.FINETUNE else None,
            preset=flow.preset,
            device=flow.device,
            epochs=flow.epochs,
            model={} if start is Start.FINETUNE else dict(flow.presets[flow.preset]),
            train=train_overrides(start, flow.epochs, steps, threads, defaults),
            created=time.strftime("%Y-%m-%d %H:%M:%S"),
        )

    # ---- files -----------------------------------------------------------------------------------
    def write(self) -> None:
        """Create the run folder with ``wizard.json`` and the ``--config`` file."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / CONFIG_JSON).write_text(
            json.dumps({"model": self.model, "train": self.train}, indent=2) + "\n"
        )
        (self.run_dir / WIZARD_JSON).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["run_dir"], data["cache_dir"] = str(self.run_dir), str(self.cache_dir)
        return data

    @classmethod
    def load(cls, run_dir: str | Path) -> RunPlan:
        """``wizard.json`` of a run folder; ValueError (one line) when it is missing or damaged."""
        path = Path(run_dir) / WIZARD_JSON
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{run_dir}: not a wizard run ({exc})") from exc
        if not isinstance(data, dict) or data.get("format_version") != WIZARD_FORMAT_VERSION:
            raise ValueError(f"{path}: not a wizard run of this version")
        try:
            data["run_dir"], data["cache_dir"] = Path(run_dir), Path(data["cache_dir"])
            for name in ("folders", "label_sources"):
                data[name] = tuple(data[name])
            return cls(**data)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{path}: damaged ({exc})") from exc

    # ---- the child process -----------------------------------------------------------------------
    def command(self, resume: bool = False) -> list[str]:
        """``emostudio train`` for this run (``--resume`` continues from its checkpoint)."""
        cmd = [
            sys.executable,
            "-m",
            "emostudio",
            "train",
            "--cache",
            str(self.cache_dir),
            "--out",
            str(self.run_dir),
            "--config",
            str(self.run_dir / CONFIG_JSON),
            "--device",
            self.device,
            "--events",
        ]
        if resume:
            cmd.append("--resume")
        elif self.base_model:
            cmd += ["--init-from", self.base_model]
        return cmd

    @property
    def max_steps(self) -> int:
        return int(self.train.get("max_steps", 0))

    def describe(self) -> list[str]:
        """The settings, one per line (the Train page, the model card)."""
        start = (
            f"fine-tuned from {self.base_model}"
            if self.start == Start.FINETUNE.value
            else f"trained from scratch, size preset {self.preset}"
        )
        return [
            f"data folders: {', '.join(self.folders)}",
            f"labels: {'; '.join(self.label_sources)}",
            "labelled clips: " + ", ".join(f"{q} {n}" for q, n in self.labelled.items()),
            f"{self.files_accepted} files, {self.hours:.2f} hours of music",
            f"{start}; {self.epochs} epochs ({self.max_steps} steps) on {self.device}",
        ]


def _unique(path: Path) -> Path:
    candidate, n = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}-{n}")
        n += 1
    return candidate
