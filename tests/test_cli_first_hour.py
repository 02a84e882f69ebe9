"""The defects a new user met on the command line (issue 15): each is one clear line or silence,
never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from songs import piece, write_midi_file

from emostudio.cli.main import SEED_MAX, main

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}


@pytest.mark.parametrize("command", ["tokens", "analyze"])
def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path, command):
    path = write_midi_file(tmp_path / "long.mid", piece(3, bars=200))
    # `| head -1` : the reader takes one line and closes the pipe
    proc = subprocess.Popen(
        [sys.executable, "-m", "emostudio", command, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=tmp_path,
        bufsize=0,
    )
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode in (0, 141), err


def test_a_broken_pipe_exits_with_the_sigpipe_status(monkeypatch):
    import emostudio.cli.tokens as tokens_cmd

    def broken(args):
        raise BrokenPipeError

    monkeypatch.setattr(tokens_cmd, "run", broken)
    monkeypatch.setattr("emostudio.cli.main._silence_stdout", lambda: None)
    assert main(["tokens", "x.mid"]) == 141


@pytest.mark.parametrize("seed", [str(SEED_MAX + 1), str(2**70), "-1", "1.5"])
def test_seeds_out_of_range_are_one_line(seed, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", "-e", "happy", "--seed", seed, "--out", str(tmp_path / "x.mid")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "Traceback" not in err


def test_the_largest_seed_is_accepted(monkeypatch, tmp_path):
    import emostudio.cli.generate as generate_cmd

    seen = {}
    monkeypatch.setattr(generate_cmd, "run", lambda args: seen.setdefault("seed", args.seed) and 0)
    main(["generate", "-e", "happy", "--seed", str(SEED_MAX), "--out", str(tmp_path / "x.mid")])
    assert seen["seed"] == SEED_MAX


def test_a_missing_extra_is_named(monkeypatch, tmp_path, capsys):
    import emostudio.cli.plot as plot_cmd

    def needs_matplotlib(args):
        raise ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")

    monkeypatch.setattr(plot_cmd, "run", needs_matplotlib)
    assert main(["plot", str(tmp_path)]) == 1
    assert "pip install 'emostudio[plots]'" in capsys.readouterr().err


def test_a_wav_to_an_unwritable_place_is_one_error_without_a_del_traceback(tmp_path, monkeypatch):
    import gc
    import io

    from emostudio.playback.render import _write_wav

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    with pytest.raises(OSError):
        _write_wav(io.BytesIO(b"\0" * 64), tmp_path / "no such folder" / "x.wav", 44_100, 1.0)
    gc.collect()
    assert unraisable == []
