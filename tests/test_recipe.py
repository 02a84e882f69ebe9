"""``emostudio train`` runs a recipe by default: stages in one run folder, best/ whenever it stops,
the generation prior fitted at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from emostudio.model.store import load_fitted_prior, load_model
from emostudio.training.recipe import Recipe, shipped_recipe, train_recipe
from emostudio.training.synthetic import synthetic_cache, write_cache

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]

MODEL = dict(
    d_model=16,
    n_heads=2,
    n_enc_layers=1,
    n_dec_layers=1,
    bar_len=48,
    latent_r=2,
    latent_k=2,
    feature_hidden=8,
    dropout=0.0,
    key_chroma=True,
    pitch_class_tokens=True,
)
TRAIN = dict(batch_size=4, bars_per_sample=4, warmup_steps=1, log_every=1, threads=1)


def tiny_recipe(steps=(4, 2), epoch_steps=2) -> dict:
    return {
        "stages": [
            {
                "name": "scratch",
                "model": MODEL,
                "train": {**TRAIN, "max_steps": steps[0], "epoch_steps": epoch_steps},
            },
            {
                "name": "finetune",
                "model": {"classify_weight": 4.0},
                "train": {**TRAIN, "max_steps": steps[1], "epoch_steps": epoch_steps},
            },
        ],
        "fit_prior": True,
        "fit_prior_settings": {"components": 1, "transpositions": [0], "window_bars": 4},
    }


@pytest.fixture(scope="module")
def cache():
    return synthetic_cache(n_pieces=16, n_bars=(4, 6), seed=0)


def test_the_shipped_recipes_read_and_fit_the_time_they_promise():
    shipped, quick = shipped_recipe("shipped"), shipped_recipe("quick")
    assert [s.name for s in shipped.stages] == ["scratch", "finetune"] and shipped.fit_prior
    assert shipped.steps() == 1800 + 400  # BENCHMARKS.md: 108 + 17 min measured for these
    assert quick.steps() < shipped.steps() / 5


def test_stages_run_in_one_folder_and_the_prior_is_fitted_at_the_end(cache, tmp_path):
    run = tmp_path / "run"
    events = list(train_recipe(cache, run, Recipe.from_dict(tiny_recipe()), torch.device("cpu")))
    kinds = [e["event"] for e in events]
    assert kinds.count("stage") == 2 and kinds.count("start") == 2
    assert kinds[-2:] == ["prior", "recipe_done"]
    # stage 2 started from stage 1's best, with the stage's own objective weight
    stage2 = json.loads((run / "stage2-finetune" / "train.json").read_text())
    assert stage2["model"]["classify_weight"] == 4.0 and stage2["model"]["d_model"] == 16
    model, _ = load_model(run / "best")
    assert model.config.classify_weight == 4.0
    assert load_fitted_prior(run / "best") is not None
    state = json.loads((run / "recipe.json").read_text())
    assert state["finished_stages"] == ["scratch", "finetune"] and state["prior_fitted"]


def test_a_cancelled_recipe_leaves_best_and_resumes_where_it_stopped(cache, tmp_path):
    run = tmp_path / "run"
    recipe = Recipe.from_dict(
        tiny_recipe(steps=(6, 2), epoch_steps=100)
    )  # no validation before the stop
    cancel = threading.Event()
    events = []
    for ev in train_recipe(cache, run, recipe, torch.device("cpu"), cancel=cancel):
        events.append(ev)
        if ev["event"] == "step" and ev["step"] == 3:
            cancel.set()
    assert events[-1]["event"] == "done" and events[-1]["reason"] == "cancelled"
    assert (run / "best" / "model.safetensors").is_file()  # validated at the stop
    resumed = list(train_recipe(cache, run, recipe, torch.device("cpu"), resume=True))
    starts = [e for e in resumed if e["event"] == "start"]
    assert starts[0]["step"] == 3 and starts[0]["resumed"]
    assert resumed[-1]["event"] == "recipe_done" and load_fitted_prior(run / "best") is not None


def test_sigterm_during_the_default_command_leaves_a_best_model(tmp_path):
    corpus = write_cache(synthetic_cache(n_pieces=16, n_bars=(4, 6)), tmp_path / "cache")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(tiny_recipe(steps=(100_000, 2), epoch_steps=100_000)))
    run = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emostudio",
            "train",
            "--cache",
            str(corpus),
            "--out",
            str(run),
            "--config",
            str(recipe),
            "--events",
            "--device",
            "cpu",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
    )
    for line in proc.stdout:
        if json.loads(line)["event"] == "step":
            proc.send_signal(signal.SIGTERM)
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert '"reason":"cancelled"' in out
    model, _ = load_model(run / "best")
    assert model.config.d_model == 16
