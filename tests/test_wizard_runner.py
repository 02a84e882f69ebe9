"""The wizard's child-process runner: event parsing, progress, and how a child's end is described.

The process mechanics are tested with a small stand-in child (a Python one-liner speaking the
same JSON lines) so these tests take milliseconds; the real ``emostudio train`` child is driven
by the pytest-qt wizard tests.
"""

import json
import math
import signal
import sys
import textwrap

import pytest
from songs import drain

from emostudio.training.events import event, to_json
from emostudio.wizard.flow import RunState, Start
from emostudio.wizard.plan import PRESETS, epoch_steps, train_overrides
from emostudio.wizard.runner import (
    RunProgress,
    Stop,
    TrainingProcess,
    describe_exit,
    format_duration,
    parse_event,
)


def _metrics(arousal=0.75, valence=0.5, loss=2.0):
    return {
        "token_loss": loss,
        "token_accuracy": 0.4,
        "arousal_accuracy": arousal,
        "valence_accuracy": valence,
        "quadrant_accuracy": 0.25,
    }


# ---- parsing and progress -------------------------------------------------------------------------


def test_parse_event_accepts_the_training_events_and_nothing_else():
    line = to_json(event("step", step=10, loss=float("nan")))
    parsed = parse_event(line + "\n")
    assert parsed["event"] == "step" and parsed["step"] == 10 and parsed["loss"] is None
    for other in (
        "INFO training pieces: 3",
        "",
        "{not json",
        '{"event": "party"}',
        "[1, 2]",
        '"text"',
    ):
        assert parse_event(other) is None


def test_progress_follows_start_step_val_checkpoint_done():
    progress = RunProgress()
    progress.update(event("start", step=0, max_steps=100, epoch_steps=20, device="cpu"))
    assert progress.remaining_s() is None and progress.fraction == 0.0
    progress.update(
        event("step", step=10, loss=5.0, losses={"token": 3.0, "kl_z": 1.0}, elapsed_s=4.0)
    )
    progress.update(event("step", step=20, loss=4.0, elapsed_s=8.0))
    assert progress.fraction == 0.2
    assert progress.remaining_s() == pytest.approx(8.0 / 20 * 80)
    progress.update(event("val", step=20, metrics=_metrics(arousal=None, valence=None), best=True))
    progress.update(event("checkpoint", step=20, kind="best", path="x"))
    assert progress.checkpoint_step is None  # "best" is a model folder, not a resume state
    progress.update(event("checkpoint", step=20, kind="last", path="x"))
    assert progress.steps == [10, 20] and progress.losses == [5.0, 4.0]
    assert progress.token_losses[0] == 3.0 and math.isnan(progress.token_losses[1])
    assert progress.val_steps == [20] and math.isnan(progress.val_arousal[0])
    assert progress.best["step"] == 20 and progress.checkpoint_step == 20
    progress.update(event("done", step=20, reason="cancelled", best=None, elapsed_s=9.0))
    assert progress.done_reason == "cancelled" and progress.best["step"] == 20


def test_resumed_progress_reads_the_history_and_times_only_the_new_steps(tmp_path):
    with (tmp_path / "metrics.jsonl").open("w") as handle:
        for s in (10, 20):
            handle.write(to_json(event("step", step=s, loss=6.0 - s / 10)) + "\n")
        handle.write(to_json(event("val", step=20, metrics=_metrics(), best=True)) + "\n")
    progress = RunProgress.from_history(tmp_path)
    assert progress.steps == [10, 20] and progress.val_arousal == [0.75]
    progress.update(event("start", step=20, max_steps=40, epoch_steps=20))
    progress.update(event("step", step=30, loss=3.0, elapsed_s=2.0))
    assert progress.steps == [10, 20, 30]
    assert progress.remaining_s() == pytest.approx(2.0)  # 10 steps in 2 s, 10 to go


@pytest.mark.parametrize(
    "seconds, text", [(5, "5 s"), (75, "1 min 15 s"), (3725, "1 h 02 min"), (None, "-")]
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


# ---- how an end is described ---------------------------------------------------------------------------


def _checkpoint(run_dir, step=40):
    (run_dir / "resume.safetensors").write_bytes(b"x")
    (run_dir / "resume.json").write_text(
        json.dumps({"step": step, "train": {"max_steps": 100}, "best_metrics": None})
    )


def _ended(reason=None, error=None, step=50):
    progress = RunProgress(max_steps=100, step=step)
    progress.done_reason, progress.error = reason, error
    return progress


def test_finished(tmp_path):
    outcome = describe_exit(0, _ended("finished", step=100), Stop.NONE, [], tmp_path)
    assert outcome.state is RunState.FINISHED and "finished after 100 steps" in outcome.message


def test_paused_and_cancelled_keep_the_checkpoint(tmp_path):
    _checkpoint(tmp_path)
    paused = describe_exit(0, _ended("cancelled"), Stop.PAUSE, [], tmp_path)
    assert paused.state is RunState.PAUSED and paused.checkpoint_step == 40
    assert (
        "Paused at step 50" in paused.message and "checkpoint (step 40) is kept" in paused.message
    )
    cancelled = describe_exit(0, _ended("cancelled"), Stop.CANCEL, [], tmp_path)
    assert cancelled.state is RunState.FAILED and "cancelled at step 50" in cancelled.message
    assert "Resume continues" in cancelled.message


def test_killed_says_memory_and_names_the_checkpoint(tmp_path):
    _checkpoint(tmp_path, step=12)
    outcome = describe_exit(-signal.SIGKILL, _ended(), Stop.NONE, ["step 13"], tmp_path)
    assert outcome.state is RunState.FAILED and outcome.log_tail == ("step 13",)
    assert "killed (SIGKILL)" in outcome.message and "out of memory" in outcome.message
    assert "(step 12) is kept" in outcome.message


def test_crash_out_of_memory_and_error_event(tmp_path):
    crash = describe_exit(1, _ended(), Stop.NONE, ["Traceback", "ZeroDivisionError"], tmp_path)
    assert (
        "crashed (exit code 1)" in crash.message and "No checkpoint had been saved" in crash.message
    )
    oom = describe_exit(1, _ended(), Stop.NONE, ["RuntimeError: CUDA out of memory."], tmp_path)
    assert "ran out of memory" in oom.message
    failed = describe_exit(
        1, _ended(error="the loss became nan at step 3"), Stop.NONE, [], tmp_path
    )
    assert "Training failed: the loss became nan at step 3" in failed.message


# ---- the process -------------------------------------------------------------------------------------------

# A stand-in child: prints start, then a step every 20 ms; SIGTERM -> a "last" checkpoint and done.
CHILD = textwrap.dedent(
    """
    import json, signal, sys, time
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    def say(**ev):
        print(json.dumps(ev), flush=True)
    say(event="start", step=0, max_steps=MAX, epoch_steps=10, device="cpu")
    print("a line that is not an event", flush=True)
    step = 0
    while step < MAX and not stop:
        step += 1
        say(event="step", step=step, loss=10.0 / step, elapsed_s=step * 0.02)
        if step == CRASH:
            print("Traceback (most recent call last):", file=sys.stderr)
            print("RuntimeError: boom", file=sys.stderr, flush=True)
            sys.exit(3)
        time.sleep(0.02)
    reason = "cancelled" if stop else "finished"
    say(event="done", step=step, reason=reason, best=None, elapsed_s=step * 0.02)
    """
)


def _child(max_steps=5, crash=-1):
    return [sys.executable, "-c", CHILD.replace("MAX", str(max_steps)).replace("CRASH", str(crash))]


def _drain(process, on_event=None):
    return drain(process.events(), on_event)


def test_a_child_that_finishes(tmp_path):
    process = TrainingProcess(_child(max_steps=5), tmp_path)
    seen, outcome = _drain(process)
    assert [e["event"] for e in seen if isinstance(e, dict)] == ["start"] + ["step"] * 5 + ["done"]
    assert "a line that is not an event" in seen
    assert outcome.state is RunState.FINISHED and process.progress.losses[-1] == 2.0


def test_pausing_a_child_sends_sigterm_and_it_ends_paused(tmp_path):
    process = TrainingProcess(_child(max_steps=10_000), tmp_path)

    def pause_at_step_3(item):
        if isinstance(item, dict) and item.get("step") == 3 and item["event"] == "step":
            process.pause()

    _, outcome = _drain(process, pause_at_step_3)
    assert outcome.state is RunState.PAUSED and outcome.returncode == 0
    assert process.progress.step < 100


def test_killing_a_child_is_reported(tmp_path):
    process = TrainingProcess(_child(max_steps=10_000), tmp_path)

    def kill_at_step_2(item):
        if isinstance(item, dict) and item.get("step") == 2:
            process.kill()

    _, outcome = _drain(process, kill_at_step_2)
    assert outcome.state is RunState.FAILED and outcome.returncode == -signal.SIGKILL
    assert "killed (SIGKILL)" in outcome.message


def test_a_crashing_child_gives_its_log_tail(tmp_path):
    process = TrainingProcess(_child(max_steps=10, crash=2), tmp_path)
    _, outcome = _drain(process)
    assert outcome.returncode == 3 and "crashed (exit code 3)" in outcome.message
    assert outcome.log_tail[-1] == "RuntimeError: boom"
    assert (tmp_path / "train.log").read_text().endswith("RuntimeError: boom\n")


def test_the_worker_cancel_flag_pauses_the_child(tmp_path):
    import threading

    cancel = threading.Event()
    cancel.set()
    process = TrainingProcess(_child(max_steps=10_000), tmp_path)
    generator = process.events(cancel)
    try:
        while True:
            next(generator)
    except StopIteration as stop:
        assert stop.value.state is RunState.PAUSED


# ---- training settings ----------------------------------------------------------------------------------------


def test_epoch_steps_and_train_overrides():
    assert epoch_steps(1000, bars_per_sample=8, batch_size=16) == 8
    assert epoch_steps(1) == 1
    scratch = train_overrides(Start.SCRATCH, epochs=10, steps_per_epoch=8, threads=1)
    assert (
        scratch["max_steps"] == 80 and scratch["epoch_steps"] == 8 and scratch["batch_size"] == 16
    )
    assert scratch["beta_anneal_steps"] == 26 and scratch["warmup_steps"] == 8
    tune = train_overrides(Start.FINETUNE, epochs=10, steps_per_epoch=8, threads=1)
    assert tune["beta_anneal_steps"] == 0 and tune["lr"] < 6e-4
    small = train_overrides(
        Start.SCRATCH, 10, 8, 1, defaults={"batch_size": 4, "max_steps": 3, "log_every": 1}
    )
    assert (small["batch_size"], small["max_steps"], small["log_every"]) == (4, 80, 1)


def test_presets_are_valid_model_configs():
    from emostudio.model import ModelConfig
    from emostudio.tokens import TokenizerConfig

    sizes = [
        ModelConfig.for_tokenizer(TokenizerConfig(), **PRESETS[name]).d_model
        for name in ("tiny", "small", "default")
    ]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
