"""Training progress events: typed dicts, one JSON line each with ``emostudio train --events``.

Every event has ``"event"`` (its kind) and ``"time"`` (Unix seconds); the :class:`typing.TypedDict`
of each kind below lists its fields, and the function of the same name (:func:`start`,
:func:`step`, ...) makes one. Readers of the JSON lines (the wizard) get the same dicts back;
``TrainingEvent`` is their union, told apart by ``ev["event"]``.
A recipe (:mod:`emostudio.training.recipe`) wraps its stages' events: ``stage`` before each stage's
``start``…``done``, then ``prior`` and ``recipe_done``.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any, Literal, TypedDict, get_args

Kind = Literal[
    "start", "step", "val", "checkpoint", "done", "error", "stage", "prior", "recipe_done"
]
KINDS: tuple[str, ...] = get_args(Kind)
StopReason = Literal["finished", "time_budget", "cancelled"]


class StartEvent(TypedDict):
    """The run begins; only rank 0 yields the events between start and done."""

    event: Literal["start"]
    time: float
    rank: int  # the process
    step: int  # the first step to run (> 0 when resumed)
    max_steps: int
    epoch_steps: int
    device: str
    world_size: int
    run_dir: str
    n_params: int
    model: dict[str, Any]  # the model config as a dict
    train: dict[str, Any]  # the training config as a dict
    resumed: bool


class StepEvent(TypedDict):
    """Every ``log_every`` steps."""

    event: Literal["step"]
    time: float
    step: int  # steps done
    epoch: float
    lr: float
    beta: float
    loss: float  # the weighted total
    losses: dict[
        str, float
    ]  # each named term: token, polyphony, key, adv_*, kl_z, kl_y, classify_*
    grad_norm: float
    tokens_per_s: float  # since the previous step event, all processes
    samples_per_s: float
    elapsed_s: float  # this invocation
    truncated_bars: float  # share of bars cut to L so far


class ValEvent(TypedDict):
    """Each epoch. ``metrics``: token_loss, token_accuracy, polyphony_accuracy, key_accuracy,
    arousal/valence/quadrant_accuracy (q(y|x) on the labelled validation clips; None without
    any), mean_distance_r/k (between the two component means), score (lower is better; see
    TrainConfig.best_emotion_weight), n_windows, n_clips, seconds."""

    event: Literal["val"]
    time: float
    step: int
    epoch: float
    metrics: dict[str, Any]
    best: bool  # the best validation so far


class CheckpointEvent(TypedDict):
    event: Literal["checkpoint"]
    time: float
    step: int
    kind: Literal["last", "best"]
    path: str


class DoneEvent(TypedDict):
    event: Literal["done"]
    time: float
    step: int
    reason: StopReason
    best: dict[str, Any] | None  # the best validation metrics
    best_path: str | None
    elapsed_s: float
    rank: int
    weights_sha256: str  # a fingerprint of the final weights: equal on every rank of a DDP run


class ErrorEvent(TypedDict):
    """The process then exits with a non-zero code."""

    event: Literal["error"]
    time: float
    message: str  # one line


class StageEvent(TypedDict):
    """A recipe's stage begins; its training events follow."""

    event: Literal["stage"]
    time: float
    index: int  # 1-based
    count: int
    name: str
    path: str  # the stage's run folder


class PriorEvent(TypedDict):
    """A recipe fitted the generation prior into its model folder."""

    event: Literal["prior"]
    time: float
    path: str
    seconds: float


class RecipeDoneEvent(TypedDict):
    event: Literal["recipe_done"]
    time: float
    best_path: str  # the run's model
    elapsed_s: float
    prior_fitted: bool


TrainingEvent = (
    StartEvent
    | StepEvent
    | ValEvent
    | CheckpointEvent
    | DoneEvent
    | ErrorEvent
    | StageEvent
    | PriorEvent
    | RecipeDoneEvent
)


def _now() -> float:
    return round(time.time(), 3)


def start(
    *,
    rank: int,
    step: int,
    max_steps: int,
    epoch_steps: int,
    device: str,
    world_size: int,
    run_dir: str,
    n_params: int,
    model: dict[str, Any],
    train: dict[str, Any],
    resumed: bool,
) -> StartEvent:
    return StartEvent(
        event="start",
        time=_now(),
        rank=rank,
        step=step,
        max_steps=max_steps,
        epoch_steps=epoch_steps,
        device=device,
        world_size=world_size,
        run_dir=run_dir,
        n_params=n_params,
        model=model,
        train=train,
        resumed=resumed,
    )


def step(
    *,
    step: int,
    epoch: float,
    lr: float,
    beta: float,
    loss: float,
    losses: dict[str, float],
    grad_norm: float,
    tokens_per_s: float,
    samples_per_s: float,
    elapsed_s: float,
    truncated_bars: float,
) -> StepEvent:
    return StepEvent(
        event="step",
        time=_now(),
        step=step,
        epoch=epoch,
        lr=lr,
        beta=beta,
        loss=loss,
        losses=losses,
        grad_norm=grad_norm,
        tokens_per_s=tokens_per_s,
        samples_per_s=samples_per_s,
        elapsed_s=elapsed_s,
        truncated_bars=truncated_bars,
    )


def val(*, step: int, epoch: float, metrics: dict[str, Any], best: bool) -> ValEvent:
    return ValEvent(event="val", time=_now(), step=step, epoch=epoch, metrics=metrics, best=best)


def checkpoint(*, step: int, kind: Literal["last", "best"], path: str) -> CheckpointEvent:
    return CheckpointEvent(event="checkpoint", time=_now(), step=step, kind=kind, path=path)


def done(
    *,
    step: int,
    reason: StopReason,
    best: dict[str, Any] | None,
    best_path: str | None,
    elapsed_s: float,
    rank: int,
    weights_sha256: str,
) -> DoneEvent:
    return DoneEvent(
        event="done",
        time=_now(),
        step=step,
        reason=reason,
        best=best,
        best_path=best_path,
        elapsed_s=elapsed_s,
        rank=rank,
        weights_sha256=weights_sha256,
    )


def error(*, message: str) -> ErrorEvent:
    return ErrorEvent(event="error", time=_now(), message=message)


def stage(*, index: int, count: int, name: str, path: str) -> StageEvent:
    return StageEvent(event="stage", time=_now(), index=index, count=count, name=name, path=path)


def prior(*, path: str, seconds: float) -> PriorEvent:
    return PriorEvent(event="prior", time=_now(), path=path, seconds=seconds)


def recipe_done(*, best_path: str, elapsed_s: float, prior_fitted: bool) -> RecipeDoneEvent:
    return RecipeDoneEvent(
        event="recipe_done",
        time=_now(),
        best_path=best_path,
        elapsed_s=elapsed_s,
        prior_fitted=prior_fitted,
    )


def event(kind: str, /, **fields: Any) -> dict[str, Any]:
    """An event of ``kind`` from loose fields, unchecked beyond the kind: what a reader of the
    JSON lines sees (tests use it for partial events); producers use the typed functions above."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    return {"event": kind, "time": _now(), **fields}


def to_json(ev: TrainingEvent | dict[str, Any]) -> str:
    """One line of JSON; non-finite floats become null (JSON has no NaN)."""
    return json.dumps(_finite(ev), separators=(",", ":"))


def _finite(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x
