"""Kill -9 a training child process at random moments and in the middle of a checkpoint write:
the last good checkpoint always loads, and ``--resume`` finishes the run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from emostudio.model import load_model
from emostudio.training.checkpoint import ResumeError, load_resume, recover_run, save_resume
from emostudio.training.synthetic import synthetic_cache, write_cache

torch.set_num_threads(1)

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
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_cache(
        synthetic_cache(n_pieces=16, n_bars=(4, 6)), tmp_path_factory.mktemp("cache")
    )


def write_config(path: Path, **train) -> Path:
    path.write_text(
        json.dumps(
            {
                "model": MODEL,
                "train": {
                    "batch_size": 4,
                    "bars_per_sample": 4,
                    "epoch_steps": 4,
                    "checkpoint_minutes": 0.0,
                    "log_every": 1,
                    "warmup_steps": 2,
                    "threads": 1,
                    **train,
                },
            }
        )
    )
    return path


def start(cache: Path, run: Path, config: Path, resume: bool) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "emostudio",
        "train",
        "--cache",
        str(cache),
        "--out",
        str(run),
        "--config",
        str(config),
        "--events",
        "--device",
        "cpu",
    ] + (["--resume"] if resume else [])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def read_events(proc: subprocess.Popen, until) -> list[dict]:
    events = []
    for line in proc.stdout:
        if line.startswith("{"):
            events.append(json.loads(line))
            if until(events[-1]):
                break
    return events


def assert_checkpoint_loads(run: Path) -> int:
    recover_run(run)
    state = load_resume(run)
    load_model(run / "last")
    if (run / "best").exists():
        load_model(run / "best")
    assert not list(run.glob(".*.tmp-*"))
    return state.step


def test_kill_during_training_and_during_a_write_then_resume(corpus, tmp_path):
    run = tmp_path / "run"
    config = write_config(tmp_path / "config.json", max_steps=60)
    # 1. kill while a checkpoint is being written (a temporary file or folder exists)
    proc = start(corpus, run, config, resume=False)
    read_events(proc, lambda e: e["event"] == "checkpoint")  # a good checkpoint exists
    deadline = time.monotonic() + 60
    caught = []
    while time.monotonic() < deadline and proc.poll() is None and not caught:
        caught = [
            p.name
            for p in run.iterdir()
            if p.name.startswith((".last.tmp-", ".best.tmp-", ".resume."))
        ]
        if caught:
            proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL and caught  # killed while a write was under way
    first = assert_checkpoint_loads(run)
    # 2. kill at a moment between writes, after some progress
    proc = start(corpus, run, config, resume=True)
    events = read_events(proc, lambda e: e["event"] == "step" and e["step"] >= first + 3)
    assert events[0]["event"] == "start" and events[0]["step"] == first and events[0]["resumed"]
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    second = assert_checkpoint_loads(run)
    assert second >= first
    # 3. resume to the end
    proc = start(corpus, run, config, resume=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert events[0]["step"] == second
    assert (
        events[-1]["event"] == "done"
        and events[-1]["reason"] == "finished"
        and events[-1]["step"] == 60
    )
    assert assert_checkpoint_loads(run) == 60


def test_sigterm_pauses_with_a_checkpoint(corpus, tmp_path):
    run = tmp_path / "run"
    config = write_config(
        tmp_path / "config.json", max_steps=10_000, epoch_steps=10_000, checkpoint_minutes=60.0
    )
    proc = start(corpus, run, config, resume=False)
    read_events(proc, lambda e: e["event"] == "step" and e["step"] >= 2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    done = json.loads(out.strip().splitlines()[-1])
    assert done["event"] == "done" and done["reason"] == "cancelled"
    assert load_resume(run).step == done["step"] >= 2


def test_resume_errors(tmp_path, corpus):
    with pytest.raises(ResumeError, match="nothing to resume"):
        load_resume(tmp_path)
    (tmp_path / "resume.safetensors").write_bytes(b"garbage")
    with pytest.raises(ResumeError, match="cannot read"):
        load_resume(tmp_path)
    # the CLI says so in one line
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emostudio",
            "train",
            "--cache",
            str(corpus),
            "--out",
            str(tmp_path / "new"),
            "--resume",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "nothing to resume" in result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emostudio",
            "train",
            "--cache",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "new"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "not a corpus cache" in result.stderr


def test_resume_state_round_trip(tmp_path):
    from emostudio.model import CDGMVAE, ModelConfig
    from emostudio.tokens import TokenizerConfig
    from emostudio.training import TrainConfig
    from emostudio.training.loop import make_optimizer

    mc = ModelConfig.for_tokenizer(TokenizerConfig(), **MODEL)
    tc = TrainConfig()
    model = CDGMVAE(mc)
    opt = make_optimizer(model, tc)
    model.prior_r.means.sum().backward()
    opt.step()
    save_resume(tmp_path, model, opt, 7, mc, tc, TokenizerConfig(), 1.5, {"score": 1.5})
    state = load_resume(tmp_path)
    assert state.step == 7 and state.best_score == 1.5 and state.model_config == mc
    fresh = make_optimizer(CDGMVAE(mc), tc)
    fresh.load_state_dict(state.optimizer_state)
    a, b = opt.state_dict()["state"], fresh.state_dict()["state"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k]["exp_avg"], b[k]["exp_avg"]) for k in a)
    assert json.loads((tmp_path / "resume.json").read_text())["step"] == 7
