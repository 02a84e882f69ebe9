"""``emostudio transfer``: methods, strength 0, element locks and donor pieces, on a tiny model."""

from __future__ import annotations

import pytest
import torch
from songs import chord_song
from tiny_models import save_tiny_model

from emostudio.cli.main import main
from emostudio.midi import read_midi, write_midi


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.set_num_threads(1)
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny", bar_len=32)


@pytest.fixture
def files(tmp_path):
    src, donor = tmp_path / "in.mid", tmp_path / "donor.mid"
    write_midi(chord_song(4, 2, minor=False), src)
    write_midi(chord_song(2, 8, minor=True, root=66), donor)
    return src, donor, tmp_path / "out.mid"


def transfer(model_dir, src, out, *args: str) -> int:
    return main(["transfer", str(src), *args, "--model", str(model_dir), "--out", str(out)])


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def notes(song) -> list[tuple[int, int, int, int, int]]:
    return sorted(
        (i, n.pitch, n.start, n.end, n.velocity) for i, t in enumerate(song.tracks) for n in t.notes
    )


def test_emotion_spells_the_target_as_generate_continue_and_fill_do(model_dir, files, capsys):
    src, _, out = files
    assert transfer(model_dir, src, out, "--emotion", "sad", "--strength", "0.5") == 0
    assert "towards sad" in capsys.readouterr().out
    assert transfer(model_dir, src, out, "--emotion", "sad", "--to", "happy") == 0  # the last wins
    assert "towards happy" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["edit", "rewrite"])
def test_strength_zero_writes_the_input_and_says_so(model_dir, files, capsys, method):
    src, _, out = files
    assert transfer(model_dir, src, out, "--to", "sad", "--strength", "0", "--method", method) == 0
    result, source = read_midi(out), read_midi(src)
    assert notes(result) == notes(source)
    assert result.tempos == source.tempos and result.time_signatures == source.time_signatures
    stdout = capsys.readouterr().out
    assert "strength 0: the input unchanged" in stdout and "moved" not in stdout


def test_keep_rhythm_keeps_every_onset_and_end(model_dir, files, capsys):
    src, _, out = files
    for target in ("sad", "happy"):  # one of them moves arousal away from the model's verdict
        code = transfer(model_dir, src, out, "--to", target, "--keep", "rhythm,tempo")
        assert code == 0
        result, source = read_midi(out), read_midi(src)
        # the set of (start, end) pairs (density may double a note an octave below)
        assert {(n.start, n.end) for t in result.tracks for n in t.notes} == {
            (n.start, n.end) for t in source.tracks for n in t.notes
        }
        assert result.tempos == source.tempos
        assert "kept rhythm, tempo" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "sad", "--keep", "harmony"], "unknown element 'harmony'"),
        (["--to", "sad", "--keep", "melody", "--method", "rewrite"], "rewrite cannot keep melody"),
        (["--strength", "0.5"], "--to EMOTION"),
    ],
)
def test_bad_transfer_options_are_one_line_errors(model_dir, files, capsys, args, message):
    src, _, out = files
    assert transfer(model_dir, src, out, *args) == 1
    assert message in one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("option, element", [("--rhythm-from", "rhythm"), ("--key-from", "key")])
def test_a_donor_gives_its_element_and_the_piece_keeps_its_length(
    model_dir, files, capsys, option, element
):
    src, donor, out = files
    assert transfer(model_dir, src, out, option, str(donor), "--seed", "1") == 0
    result = read_midi(out)
    assert result.n_bars == read_midi(src).n_bars == 4  # the 2-bar donor cycled
    assert f"took the {element} of {donor}" in capsys.readouterr().out


def test_a_donor_and_a_target_together_are_refused(model_dir, files, capsys):
    src, donor, out = files
    assert transfer(model_dir, src, out, "--to", "sad", "--rhythm-from", str(donor)) == 1
    assert "leave out --to" in one_line_error(capsys)


def test_an_unreadable_donor_is_a_one_line_error(model_dir, files, capsys, tmp_path):
    src, _, out = files
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    assert transfer(model_dir, src, out, "--key-from", str(bad)) == 1
    assert "not a MIDI file" in one_line_error(capsys)
