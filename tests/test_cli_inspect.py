"""The inspection commands through the real entry point: ``tokens``, ``tokens --decode``, ``analyze``,
``prepare``; one-line errors with a non-zero exit code for unreadable files."""

from __future__ import annotations

import json

import pytest
from songs import cadence_song, midi_bytes, piece, write_corpus, write_midi_file

from emostudio.cli.main import main
from emostudio.midi import read_midi, write_midi
from emostudio.tokens import Tokenizer


@pytest.fixture
def midi_file(tmp_path):
    return write_midi_file(tmp_path / "in.mid", piece(4, bars=3))


def test_tokens_prints_one_bar_per_line(midi_file, capsys):
    assert main(["tokens", str(midi_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    tokenizer = Tokenizer()
    bars = tokenizer.encode_bars(read_midi(midi_file))
    assert len(lines) == len(bars) + 1 and lines[-1] == "EOS"
    assert lines[0].split() == tokenizer.vocab.to_names(bars[0])
    assert lines[0].startswith("Bar Tempo_")


def test_tokens_ids(midi_file, capsys):
    assert main(["tokens", str(midi_file), "--ids"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert [int(x) for x in first.split()] == Tokenizer().encode_bars(read_midi(midi_file))[
        0
    ].tolist()


def test_tokens_decode_writes_the_round_trip(midi_file, tmp_path, capsys):
    out = tmp_path / "out.mid"
    assert main(["tokens", str(midi_file), "--decode", str(out)]) == 0
    text = capsys.readouterr().out
    song, again = read_midi(midi_file), read_midi(out)
    assert again.note_count == song.note_count
    assert f"{song.note_count} kept, 0 skipped" in text


def test_analyze_text_and_json(tmp_path, capsys):
    path = tmp_path / "a_minor.mid"
    write_midi(cadence_song(9, minor=True), path)
    assert main(["analyze", str(path), "--json"]) == 0
    analysis = json.loads(capsys.readouterr().out)
    assert analysis["global_key"] == "A minor"
    assert analysis["bars"] == 8 and analysis["bar_keys"] == ["A minor"] * 8
    assert analysis["tempo_bpm"] == 120.0 and analysis["note_density"] == 4.0
    assert analysis["mean_polyphony"] == 4.0  # four-note chords held all bar
    assert main(["analyze", str(path)]) == 0
    text = capsys.readouterr().out
    assert "global key:    A minor" in text and "bars 1-8: A minor" in text and "120 BPM" in text
    assert analysis["tracks"][0]["pedal_down"] is None and "pedal" not in text
    assert analysis["key_signatures"] == [] and "key signature: none stated" in text


def test_analyze_names_the_key_signatures_a_file_states(tmp_path, capsys):
    from dataclasses import replace

    from emostudio.midi.song import KeySignature

    stating = (KeySignature(0, 0, True), KeySignature(4 * 1920, -3, True))
    path = tmp_path / "stated.mid"
    write_midi(replace(cadence_song(9, minor=True), key_signatures=stating), path)
    assert main(["analyze", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["key_signatures"] == [
        [1, "A minor"],
        [5, "C minor"],
    ]
    assert main(["analyze", str(path)]) == 0
    assert "key signature: A minor (bar 1), C minor (bar 5)" in capsys.readouterr().out


def test_analyze_shows_the_texts_a_file_carries(tmp_path, capsys):
    from dataclasses import replace

    from emostudio.midi import TextEvent

    texts = (TextEvent(0, "copyright", "(c) A. Composer"), TextEvent(4 * 1920, "marker", "Bridge"))
    path = tmp_path / "texts.mid"
    write_midi(replace(cadence_song(0), texts=texts), path)
    assert main(["analyze", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["texts"] == [
        {"bar": 1, "kind": "copyright", "text": "(c) A. Composer"},
        {"bar": 5, "kind": "marker", "text": "Bridge"},
    ]
    assert main(["analyze", str(path)]) == 0
    text = capsys.readouterr().out
    assert "copyright:     (c) A. Composer" in text and "marker:        Bridge (bar 5)" in text


def test_analyze_says_how_much_of_the_piece_is_pedalled(tmp_path, capsys):
    from dataclasses import replace

    from emostudio.midi import ControlChange

    song = cadence_song(0, repeats=1)  # four bars
    pedal = (ControlChange(0, 64, 127), ControlChange(3 * 1920, 64, 0))
    song = song.with_tracks([replace(song.tracks[0], controls=pedal), *song.tracks[1:]])
    path = tmp_path / "pedalled.mid"
    write_midi(song, path)
    assert main(["analyze", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tracks"][0]["pedal_down"] == 0.75
    assert main(["analyze", str(path)]) == 0
    assert "pedal down 75%" in capsys.readouterr().out


@pytest.mark.parametrize(
    "command", [["tokens"], ["tokens", "--decode", "x.mid"], ["analyze"], ["analyze", "--json"]]
)
def test_unreadable_file_is_one_line_and_exit_code_1(tmp_path, capsys, command):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(midi_bytes(piece(1))[:30])  # truncated
    argv = [command[0], str(bad), *command[1:]]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and "file ends early (truncated)" in err[0]


def test_prepare_command_prints_the_report(tmp_path, capsys):
    write_corpus(tmp_path / "data", manifest=True)
    out = tmp_path / "cache"
    assert (
        main(["prepare", str(tmp_path / "data"), "--out", str(out), "--jobs", "1", "--no-progress"])
        == 0
    )
    text = capsys.readouterr().out
    assert "accepted: 12  rejected: 1" in text and "Q4: 2" in text and (out / "arrays.npz").exists()


def test_prepare_command_errors(tmp_path, capsys):
    assert main(["prepare", str(tmp_path / "nothing"), "--out", str(tmp_path / "c")]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert main(["prepare", str(tmp_path), "--out", str(tmp_path / "c"), "--jobs", "0"]) == 1
    assert "--jobs" in capsys.readouterr().err
