"""The wizard's run plan, time estimate, run list and finish (model card, examples), without Qt.

Training here runs in-process with the plan's own configs (the child process is driven by the
pytest-qt wizard tests), on a tiny generated folder.
"""

import json
import threading

import numpy as np
import pytest
import torch
from songs import drain

from emostudio.corpus import load_cache
from emostudio.midi import read_midi, write_midi
from emostudio.model import ModelConfig, load_model
from emostudio.model.store import (
    FITTED_PRIOR,
    encoders_sha256,
    load_fitted_prior,
    weights_sha256,
)
from emostudio.training import TrainConfig, train
from emostudio.training.synthetic import synthetic_song
from emostudio.wizard.estimate import measure_epoch
from emostudio.wizard.finish import (
    fit_generation_prior,
    generate_examples,
    validation_lines,
    write_model,
)
from emostudio.wizard.flow import Start, WizardFlow
from emostudio.wizard.plan import CONFIG_JSON, RunPlan, training_bars
from emostudio.wizard.runs import list_runs
from emostudio.wizard.scan import scan

TEST_PRESET = {
    "d_model": 32,
    "n_heads": 2,
    "n_enc_layers": 1,
    "n_dec_layers": 1,
    "ff_mult": 2,
    "latent_r": 4,
    "latent_k": 4,
    "feature_hidden": 16,
    "bar_len": 64,
}
DIMENSIONS = {1: (True, True), 2: (False, True), 3: (False, False), 4: (True, False)}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    """A flow whose Data page is done: 40 labelled pieces of 4 bars (10 per quadrant)."""
    root = tmp_path_factory.mktemp("wizard")
    (root / "data").mkdir()
    rng = np.random.default_rng(0)
    for q, (valence_high, arousal_high) in DIMENSIONS.items():
        for i in range(10):
            write_midi(
                synthetic_song(rng, arousal_high, valence_high, 4),
                root / "data" / f"Q{q}_s{q}{i}_0.mid",
            )
    _, result = drain(scan([root / "data"], root / "caches"))
    flow = WizardFlow()
    flow.set_folders([root / "data"])
    flow.labels, flow.scan = result.labels, result.summary
    flow.next()
    flow.presets = {"test": TEST_PRESET}
    flow.preset = "test"
    flow.train_defaults = {"batch_size": 4, "bars_per_sample": 4}
    return root, flow


def _plan(flow, tmp_path, epochs, train_bars, threads):
    flow.epochs = epochs
    return RunPlan.from_flow(flow, tmp_path / "runs", train_bars=train_bars, threads=threads)


def test_plan_writes_its_folder_and_command(scanned, tmp_path):
    _, flow = scanned
    plan = _plan(flow, tmp_path, 3, train_bars=training_bars(flow.scan.cache_dir), threads=1)
    plan.write()
    assert RunPlan.load(plan.run_dir) == plan
    config = json.loads((plan.run_dir / CONFIG_JSON).read_text())
    assert (
        config["model"]["d_model"] == 32
        and config["train"]["batch_size"] == 4
        and config["train"]["max_steps"] == plan.max_steps
    )
    command = plan.command()
    assert command[2:4] == ["emostudio", "train"] and "--resume" not in command
    assert "--resume" in plan.command(resume=True)
    assert plan.describe()[0].startswith("data folders: ")
    assert "Q1 10" in plan.describe()[2]
    [info] = list_runs(tmp_path / "runs")
    assert info.run_dir == plan.run_dir and info.step == 0 and not info.finished


def test_fine_tune_plan_names_the_base_model(scanned, tmp_path):
    _, flow = scanned
    model = tmp_path / "base"
    flow.base_models = [model]
    flow.choose_start(Start.FINETUNE)
    try:
        plan = _plan(flow, tmp_path, 2, train_bars=100, threads=1)
    finally:
        flow.choose_start(Start.SCRATCH)
        flow.base_models = []
    assert plan.model == {} and plan.command()[-2:] == ["--init-from", str(model)]
    assert "--init-from" not in plan.command(resume=True)


def test_estimate_is_measured_with_real_steps(scanned, tmp_path):
    _, flow = scanned
    plan = _plan(flow, tmp_path, 3, train_bars=training_bars(flow.scan.cache_dir), threads=1)
    events, estimate = drain(measure_epoch(plan, warmup=1, steps=2))
    assert events == [(1, 3), (2, 3), (3, 3)]
    assert estimate.seconds_per_step > 0 and estimate.epoch_steps == plan.train["epoch_steps"]
    assert estimate.seconds_per_epoch == pytest.approx(
        estimate.seconds_per_step * estimate.epoch_steps
    )
    assert torch.get_num_threads() == 1


def test_cancelled_estimate_returns_none(scanned, tmp_path):
    _, flow = scanned
    plan = _plan(flow, tmp_path, 3, train_bars=100, threads=1)
    cancel = threading.Event()
    cancel.set()
    assert drain(measure_epoch(plan, cancel=cancel))[1] is None


def test_finished_run_gives_a_model_with_a_card_and_examples(scanned, tmp_path):
    _, flow = scanned
    plan = _plan(flow, tmp_path, 2, train_bars=training_bars(flow.scan.cache_dir), threads=1)
    plan.write()
    cache = load_cache(plan.cache_dir)
    events = list(
        train(
            cache,
            plan.run_dir,
            ModelConfig.for_tokenizer(cache.tokenizer_config, **plan.model),
            TrainConfig(**plan.train),
            torch.device("cpu"),
        )
    )
    assert events[-1]["reason"] == "finished"
    [info] = list_runs(tmp_path / "runs")
    assert info.finished and "finished" in info.label

    folder = write_model(plan)
    card = (folder / "MODEL_CARD.md").read_text()
    assert str(flow.folders[0]) in card and "EMOPIA-style" in card and "Q3 10" in card
    assert "labelled validation clips: arousal" in card and "preset test" in card
    model, _ = load_model(folder)
    assert model.config.d_model == 32

    fit_progress, _ = drain(fit_generation_prior(plan, folder))
    assert fit_progress and fit_progress[-1][0] == fit_progress[-1][1]
    info = load_fitted_prior(folder).info
    assert info["model_sha256"] == weights_sha256(folder)
    assert info["encoders_sha256"] == encoders_sha256(folder)
    cancel = threading.Event()
    cancel.set()
    (folder / FITTED_PRIOR).unlink()
    drain(fit_generation_prior(plan, folder, cancel=cancel))  # cancelled: no prior, no error
    assert not (folder / FITTED_PRIOR).exists()

    progress, examples = drain(generate_examples(folder, plan.run_dir / "examples", bars=2))
    assert progress[-1] == (8, 8)
    assert [e.quadrant for e in examples] == [1, 2, 3, 4]
    for example in examples:
        assert read_midi(example.path).note_count == example.song.note_count > 0
        assert example.label.startswith(f"Q{example.quadrant} ")


def test_validation_lines():
    assert validation_lines(None) == ["No validation was run."]
    lines = validation_lines(
        {
            "step": 9,
            "token_loss": 1.5,
            "token_accuracy": 0.5,
            "arousal_accuracy": 0.8,
            "valence_accuracy": 0.6,
            "quadrant_accuracy": 0.5,
            "n_clips": 4,
        }
    )
    assert "step 9" in lines[0] and "arousal 80%, valence 60%, quadrant 50%" in lines[1]
    assert (
        "could not be measured"
        in validation_lines({"token_loss": 1.0, "arousal_accuracy": None})[1]
    )
