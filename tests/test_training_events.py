"""Typed training events: each constructor makes exactly its TypedDict's fields; JSON lines unchanged."""

from __future__ import annotations

import json
from typing import get_type_hints

from emostudio.training import events


def _made():
    return [
        (events.StartEvent, events.start(
            rank=0, step=0, max_steps=10, epoch_steps=5, device="cpu", world_size=1,
            run_dir="r", n_params=3, model={}, train={}, resumed=False,
        )),
        (events.StepEvent, events.step(
            step=1, epoch=0.2, lr=1e-3, beta=0.1, loss=float("nan"), losses={"token": 2.0},
            grad_norm=1.0, tokens_per_s=5.0, samples_per_s=1.0, elapsed_s=0.5, truncated_bars=0.0,
        )),
        (events.ValEvent, events.val(step=5, epoch=1.0, metrics={"score": 1.0}, best=True)),
        (events.CheckpointEvent, events.checkpoint(step=5, kind="best", path="r/best")),
        (events.DoneEvent, events.done(
            step=10, reason="finished", best=None, best_path=None, elapsed_s=1.0, rank=0,
            weights_sha256="ab",
        )),
        (events.ErrorEvent, events.error(message="out of memory")),
        (events.StageEvent, events.stage(index=1, count=2, name="scratch", path="r/stage1")),
        (events.PriorEvent, events.prior(path="r/best", seconds=3.5)),
        (events.RecipeDoneEvent, events.recipe_done(
            best_path="r/best", elapsed_s=9.0, prior_fitted=True,
        )),
    ]  # fmt: skip


def test_each_event_has_exactly_its_declared_fields_and_kind():
    made = _made()
    assert [ev["event"] for _, ev in made] == list(events.KINDS)
    for typed, ev in made:
        assert set(ev) == set(get_type_hints(typed)), typed.__name__


def test_events_are_one_json_line_with_nan_as_null():
    for _, ev in _made():
        line = events.to_json(ev)
        assert "\n" not in line
        parsed = json.loads(line)
        assert parsed["event"] == ev["event"] and set(parsed) == set(ev)
    assert json.loads(events.to_json(_made()[1][1]))["loss"] is None
