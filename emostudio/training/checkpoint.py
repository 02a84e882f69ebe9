"""Run folders: the resume state, written so that a kill at any moment leaves a loadable checkpoint.

A run folder (``RUN_DIR``) holds::

    best/               the best model so far: a complete model folder (what we ship)
    last/               the latest model: a complete model folder
    resume.safetensors  everything needed to continue: the model weights ("model.*"), the optimizer
                        state ("optim.<param index>.<name>"), the torch RNG state ("rng.*"), and in
                        its header metadata the JSON of resume.json below. One file, replaced by an
                        atomic rename, so weights, optimizer state and step always belong together.
    resume.json         a readable copy of that metadata: format, step, best score/metrics, the
                        model, training and tokenizer configs, optimizer param groups
    metrics.jsonl       one JSON event per line (step and val events)
    train.json          the configs the run was started with

Model folders are replaced atomically by :func:`emostudio.model.store.write_folder_atomically`;
:func:`recover_run` repairs a replacement that a crash interrupted. Nothing is unpickled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from emostudio.atomic import atomic_write
from emostudio.model.config import ModelConfig
from emostudio.model.store import recover_folder
from emostudio.tokens.config import ConfigError, TokenizerConfig
from emostudio.training.config import TrainConfig

RESUME_WEIGHTS = "resume.safetensors"
RESUME_JSON = "resume.json"
RESUME_FORMAT_VERSION = 1


class ResumeError(Exception):
    """A run folder that cannot be resumed (one line naming the file and the reason)."""


@dataclass
class ResumeState:
    step: int
    best_score: float | None
    best_metrics: dict | None
    model_config: ModelConfig
    train_config: TrainConfig
    tokenizer_config: TokenizerConfig
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict
    rng: dict[str, torch.Tensor]


def save_resume(
    run_dir: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step: int,
    model_config: ModelConfig,
    train_config: TrainConfig,
    tokenizer_config: TokenizerConfig,
    best_score: float | None,
    best_metrics: dict | None,
) -> None:
    tensors = {
        f"model.{k}": v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()
    }
    opt = optimizer.state_dict()
    scalars: dict[str, dict] = {}
    for index, state in opt["state"].items():
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{index}.{name}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    tensors["rng.torch"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    meta = {
        "format": "emostudio-resume",
        "format_version": RESUME_FORMAT_VERSION,
        "step": step,
        "best_score": best_score,
        "best_metrics": best_metrics,
        "model": model_config.to_dict(),
        "train": train_config.to_dict(),
        "tokenizer": tokenizer_config.to_dict(),
        "param_groups": opt["param_groups"],
        "optim_scalars": scalars,
    }
    text = json.dumps(meta)
    atomic_write(run_dir / RESUME_WEIGHTS, save(tensors, metadata={"resume": text}), durable=True)
    atomic_write(run_dir / RESUME_JSON, json.dumps(meta, indent=2) + "\n", durable=True)


def load_resume(run_dir: Path) -> ResumeState:
    path = Path(run_dir) / RESUME_WEIGHTS
    if not path.is_file():
        raise ResumeError(f"{run_dir}: nothing to resume (no {RESUME_WEIGHTS})")
    try:
        with safe_open(path, framework="pt", device="cpu") as fh:
            meta = json.loads((fh.metadata() or {}).get("resume", "null"))
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open is not iterable)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ResumeError(f"{path}: cannot read ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != "emostudio-resume":
        raise ResumeError(f"{path}: not an emostudio resume file")
    if meta.get("format_version") != RESUME_FORMAT_VERSION:
        raise ResumeError(
            f"{path}: resume format version {meta.get('format_version')} is not supported "
            f"(this emostudio reads version {RESUME_FORMAT_VERSION})"
        )
    try:
        model_config = ModelConfig.from_dict(meta["model"])
        train_config = TrainConfig.from_dict(meta["train"])
        tokenizer_config = TokenizerConfig.from_dict(meta["tokenizer"])
    except (ConfigError, KeyError) as exc:
        raise ResumeError(f"{path}: {exc}") from exc
    model_state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, values in meta.get("optim_scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    return ResumeState(
        int(meta["step"]),
        meta.get("best_score"),
        meta.get("best_metrics"),
        model_config,
        train_config,
        tokenizer_config,
        model_state,
        {"state": state, "param_groups": meta["param_groups"]},
        rng,
    )


def recover_run(run_dir: Path) -> None:
    """Repair model folders whose replacement was interrupted; drop temporary files."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return
    for name in ("best", "last"):
        recover_folder(run_dir / name)
    for stale in run_dir.glob(".resume.*.tmp-*"):
        stale.unlink(missing_ok=True)
