"""The same ``emostudio train`` under torchrun with 2 CPU processes (DistributedDataParallel, gloo):
both ranks end with identical weights, and rank 0 writes the run folder."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from emostudio.model import load_model
from emostudio.training.loop import weights_fingerprint
from emostudio.training.synthetic import synthetic_cache, write_cache


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(300)
def test_two_process_ddp_ends_with_identical_weights(tmp_path):
    cache = write_cache(synthetic_cache(n_pieces=16, n_bars=(4, 6)), tmp_path / "cache")
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "model": dict(
                    d_model=16,
                    n_heads=2,
                    n_enc_layers=1,
                    n_dec_layers=1,
                    bar_len=48,
                    latent_r=2,
                    latent_k=2,
                    feature_hidden=8,
                ),
                "train": dict(
                    batch_size=4,
                    bars_per_sample=4,
                    max_steps=4,
                    epoch_steps=2,
                    log_every=1,
                    threads=1,
                ),
            }
        )
    )
    logs = tmp_path / "logs"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--nnodes",
        "1",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        "--log-dir",
        str(logs),
        "--redirects",
        "1",  # each rank's stdout to its own file
        "-m",
        "emostudio",
        "train",
        "--cache",
        str(cache),
        "--out",
        str(tmp_path / "run"),
        "--config",
        str(config),
        "--events",
        "--device",
        "cpu",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=280, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = sorted(logs.rglob("stdout.log"))
    assert len(outputs) == 2
    events = [
        json.loads(line)
        for path in outputs
        for line in path.read_text().splitlines()
        if line.startswith("{")
    ]
    done = {e["rank"]: e for e in events if e["event"] == "done"}
    assert set(done) == {0, 1}
    assert done[0]["step"] == done[1]["step"] == 4
    assert done[0]["weights_sha256"] == done[1]["weights_sha256"]
    starts = [e for e in events if e["event"] == "start"]
    assert {e["world_size"] for e in starts} == {2}
    # only rank 0 validates and writes; what it wrote is the model both ranks hold
    assert sum(e["event"] == "val" for e in events) == 2
    model, _ = load_model(tmp_path / "run" / "last")
    assert weights_fingerprint(model) == done[0]["weights_sha256"]
