"""Training progress events: plain JSON-able dicts, one per line with ``emostudio train --events``.

Every event has ``"event"`` (its kind) and ``"time"`` (Unix seconds). Kinds and their fields:

- ``start``: ``rank`` (the process; only rank 0 yields the events between start and done),
  ``step`` (first step to run; > 0 when resumed), ``max_steps``, ``epoch_steps``,
  ``device``, ``world_size``, ``run_dir``, ``n_params``, ``model`` and ``train`` (the two configs
  as dicts), ``resumed`` (bool).
- ``step`` (every ``log_every`` steps): ``step`` (steps done), ``epoch`` (float), ``lr``, ``beta``,
  ``loss`` (the weighted total), ``losses`` (each named term: token, polyphony, key,
  adv_polyphony, adv_key, kl_z, kl_y, classify_r, classify_k), ``grad_norm``,
  ``tokens_per_s`` and ``samples_per_s`` (since the previous step event, all processes),
  ``elapsed_s`` (this invocation), ``truncated_bars`` (share of bars cut to L so far).
- ``val`` (each epoch): ``step``, ``epoch``, ``metrics``: ``token_loss``, ``token_accuracy``,
  ``polyphony_accuracy``, ``key_accuracy``, ``arousal_accuracy``, ``valence_accuracy``,
  ``quadrant_accuracy`` (q(y|x) on the labelled validation clips; null without any),
  ``mean_distance_r``, ``mean_distance_k`` (distance between the two component means),
  ``score`` (lower is better; see TrainConfig.best_emotion_weight), ``n_windows``, ``n_clips``,
  ``seconds``; and ``best`` (bool: this validation is the best so far).
- ``checkpoint``: ``step``, ``kind`` ("last" or "best"), ``path``.
- ``done``: ``step``, ``reason`` ("finished", "time_budget" or "cancelled"), ``best`` (the best
  validation metrics, or null), ``best_path``, ``elapsed_s``, ``rank``, ``weights_sha256`` (a
  fingerprint of the final weights: equal on every rank of a DDP run).
- ``stage`` (a recipe, :mod:`emostudio.training.recipe`): ``index``, ``count``, ``name``,
  ``path`` (the stage's run folder); that stage's events from ``start`` to ``done`` follow.
- ``prior``: ``path`` (the model folder the fitted prior was written into), ``seconds``.
- ``recipe_done``: ``best_path`` (the run's model), ``elapsed_s``, ``prior_fitted``.
- ``error``: ``message`` (one line). The process then exits with a non-zero code.
"""

from __future__ import annotations

import json
import math
import time

KINDS = ("start", "step", "val", "checkpoint", "done", "error", "stage", "prior", "recipe_done")


def event(kind: str, /, **fields) -> dict:
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    return {"event": kind, "time": round(time.time(), 3), **fields}


def to_json(ev: dict) -> str:
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
