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


SHIPPED = str(ROOT / "models" / "default")


def _analysis(path, capsys) -> dict:
    import json

    assert main(["analyze", str(path), "--json", "--model", SHIPPED]) == 0
    return json.loads(capsys.readouterr().out)


def test_one_bar_count_a_note_held_into_later_bars_counts_them(tmp_path, capsys):
    from songs import song_of

    from emostudio.cli.analyze import format_analysis
    from emostudio.midi import read_midi, write_midi

    # a chord in bar 1 held for three bars: the tokens start in 1 bar, the notes fill 3
    path = tmp_path / "held.mid"
    write_midi(song_of([(60, 0, 48), (64, 0, 48), (67, 4, 8)]), path)
    song = read_midi(path)
    analysis = _analysis(path, capsys)
    assert analysis["bars"] == song.n_bars == 3
    assert len(analysis["bar_keys"]) == len(analysis["emotion"]["bar_p_high_arousal"]) == 3
    assert "3 bars of 16 sub-beats" in "\n".join(format_analysis(analysis))


def test_a_long_piece_is_analysed_whole_and_heard_on_its_first_bars_named_by_its_file(
    tmp_path, capsys
):
    from emostudio.piece_rules import LONG_PIECE_BARS

    path = write_midi_file(tmp_path / "long piece.mid", piece(2, bars=LONG_PIECE_BARS + 44))
    analysis = _analysis(path, capsys)
    assert analysis["bars"] == LONG_PIECE_BARS + 44 and analysis["tempo_bpm"] > 0
    assert analysis["global_key"] is not None
    emotion = analysis["emotion"]
    assert emotion["heard_bars"] == LONG_PIECE_BARS
    assert emotion["notes"] == [
        f"long piece.mid has {LONG_PIECE_BARS + 44} bars: its first {LONG_PIECE_BARS} are "
        "heard and transferred"
    ]


def test_a_drums_only_piece_gets_a_note_instead_of_a_valence(tmp_path, capsys):
    from songs import song_of

    from emostudio.cli.analyze import format_analysis
    from emostudio.midi import write_midi

    path = tmp_path / "drums.mid"
    write_midi(song_of([(36 + i % 3, 4 * i, 2) for i in range(16)], drums=True), path)
    analysis = _analysis(path, capsys)
    emotion = analysis["emotion"]
    assert emotion["valence"] is None and emotion["p_high_valence"] is None
    assert emotion["quadrant"] is None and 0.0 <= emotion["p_high_arousal"] <= 1.0
    text = "\n".join(format_analysis(analysis))
    assert "valence not judged" in text and "drums carry no key" in text


def test_a_piece_not_in_bars_of_four_beats_gets_a_note_on_its_meter(tmp_path, capsys):
    from dataclasses import replace

    from songs import song_of

    from emostudio.cli.pieces import read_piece
    from emostudio.midi import write_midi
    from emostudio.midi.song import TICKS_PER_BAR, TimeSignature
    from emostudio.piece_rules import main_meter, meter_note

    waltz = replace(
        song_of([(60, 4 * i, 4) for i in range(16)]), time_signatures=(TimeSignature(0, 3, 4),)
    )
    assert main_meter(waltz) == (3, 4)
    assert meter_note(waltz).startswith("in 3/4: ")
    # a short odd bar in a piece in 4/4 (as some game transcriptions have) is not its meter
    blip = replace(
        waltz,
        time_signatures=(
            TimeSignature(0, 4, 4),
            TimeSignature(TICKS_PER_BAR, 35, 32),
            TimeSignature(TICKS_PER_BAR + 60, 4, 4),
        ),
    )
    assert main_meter(blip) == (4, 4) and meter_note(blip) is None
    for duple in ((2, 4), (2, 2), (1, 4), (4, 4)):
        assert meter_note(replace(waltz, time_signatures=(TimeSignature(0, *duple),))) is None
    path = tmp_path / "waltz.mid"
    write_midi(waltz, path)
    read_piece(path)  # what continue, fill and interpolate read their pieces with
    assert capsys.readouterr().err.strip() == f"waltz.mid: {meter_note(waltz)}"
