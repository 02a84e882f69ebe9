"""``emostudio continue``, ``fill``, ``interpolate`` and ``--variations`` / ``--form`` end to end
on a tiny untrained model."""

from __future__ import annotations

import pytest
import test_cli_generate
from songs import notes_in
from test_cli_generate import chord_song, one_line_error

from emostudio.cli.fill import parse_span
from emostudio.cli.main import CommandError, main
from emostudio.midi import read_midi, write_midi
from emostudio.midi.song import TICKS_PER_BAR

model_dir = test_cli_generate.model_dir  # the tiny model


@pytest.fixture
def piece(tmp_path):
    path = tmp_path / "piece.mid"
    write_midi(chord_song(6, 4, minor=True), path)
    return path


def run(model_dir, *args: str) -> int:
    return main([*args, "--seed", "3", "--model", str(model_dir)])


def test_continue_writes_the_piece_and_its_new_bars(model_dir, piece, tmp_path, capsys):
    out = tmp_path / "more.mid"
    assert (
        run(model_dir, "continue", str(piece), "--bars", "3", "-e", "calm", "--out", str(out)) == 0
    )
    song, result = read_midi(piece), read_midi(out)
    assert result.n_bars == 9
    assert notes_in(result, 0, 5) == notes_in(song, 0, 5)
    assert "wrote" in capsys.readouterr().out


def test_fill_keeps_the_bars_outside_the_span(model_dir, piece, tmp_path):
    out = tmp_path / "filled.mid"
    assert run(model_dir, "fill", str(piece), "--bars", "3-4", "--out", str(out)) == 0
    song, result = read_midi(piece), read_midi(out)
    assert notes_in(result, 0, 1) == notes_in(song, 0, 1)
    assert notes_in(result, 4, 5) == notes_in(song, 4, 5)
    assert notes_in(result, 2, 3) != notes_in(song, 2, 3)


def test_fill_refuses_a_span_outside_the_piece(model_dir, piece, tmp_path, capsys):
    assert (
        run(model_dir, "fill", str(piece), "--bars", "5-9", "--out", str(tmp_path / "x.mid")) == 1
    )
    assert "bars to fill must lie in 1..6" in one_line_error(capsys)


@pytest.mark.parametrize(("text", "span"), [("3-5", (2, 4)), ("2", (1, 1))])
def test_parse_span(text, span):
    assert parse_span(text) == span


@pytest.mark.parametrize("text", ["0-2", "5-3", "a-b", "1-2-3", ""])
def test_parse_span_refuses(text):
    with pytest.raises(CommandError, match="--bars"):
        parse_span(text)


def test_interpolate_writes_the_bars_asked_for(model_dir, piece, tmp_path):
    other = tmp_path / "other.mid"
    write_midi(chord_song(2, 2, minor=False, program=33), other)
    out = tmp_path / "between.mid"
    assert (
        run(model_dir, "interpolate", str(piece), str(other), "--bars", "4", "--out", str(out)) == 0
    )
    assert read_midi(out).n_bars == 4


@pytest.mark.parametrize(
    "command",
    [
        ["generate", "--emotion", "sad", "--bars", "4", "--form", "AABA"],
        ["transfer", "{piece}", "--to", "happy", "--method", "rewrite"],
        ["continue", "{piece}", "--bars", "2"],
        ["fill", "{piece}", "--bars", "2-3"],
    ],
)
def test_variations_write_k_different_files(model_dir, piece, tmp_path, command):
    out = tmp_path / "x.mid"
    args = [a.format(piece=piece) for a in command]
    assert run(model_dir, *args, "--variations", "3", "--out", str(out)) == 0
    assert not out.exists()
    songs = [read_midi(tmp_path / f"x-{i}.mid") for i in (1, 2, 3)]
    assert len({tuple(notes_in(s, 0, 9)) for s in songs}) == 3


def test_generate_with_a_form_repeats_its_returning_bar(model_dir, tmp_path):
    out = tmp_path / "form.mid"
    assert (
        run(
            model_dir, "generate", "-e", "happy", "--bars", "8", "--form", "AABA", "--out", str(out)
        )
        == 0
    )
    song = read_midi(out)

    def bar(t):
        return sorted((p, s - t * TICKS_PER_BAR) for _, p, s, _, _ in notes_in(song, t, t))

    assert bar(4) == bar(0)  # AABA's second A opens as the first


def test_bad_variations_are_refused(model_dir, piece, tmp_path, capsys):
    code = run(
        model_dir, "continue", str(piece), "--variations", "0", "--out", str(tmp_path / "x.mid")
    )
    assert code == 1
    assert "--variations must be in 1..16" in one_line_error(capsys)
