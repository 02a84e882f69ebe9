"""``emostudio generate``, ``transfer`` and ``evaluate`` end to end on a tiny untrained model."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from songs import TRIADS, bar_pitch_classes

from emostudio.cli.main import main
from emostudio.generation import Engine
from emostudio.midi import Family, Note, Song, TempoChange, Track, read_midi, write_midi
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_SUBBEAT
from emostudio.model import CDGMVAE, ModelConfig, save_model
from emostudio.tokens import TokenizerConfig

SB = TICKS_PER_SUBBEAT


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    tc = TokenizerConfig()
    config = ModelConfig.for_tokenizer(
        tc,
        d_model=32,
        n_heads=2,
        n_enc_layers=1,
        n_dec_layers=1,
        bar_len=32,
        latent_r=4,
        latent_k=4,
        feature_hidden=16,
        dropout=0.0,
    )
    return save_model(CDGMVAE(config), tc, tmp_path_factory.mktemp("models") / "tiny")


def chord_song(n_bars: int, per_bar: int, minor: bool, root: int = 60, program: int = 0) -> Song:
    notes = []
    step = 16 // per_bar
    for bar in range(n_bars):
        for k in range(per_bar):
            start = bar * TICKS_PER_BAR + k * step * SB
            notes += [
                Note(root + i, start, start + step * SB, 80) for i in (0, 3 if minor else 4, 7)
            ]
    return Song(
        tracks=(Track(program, False, "Keys").with_notes(notes),), tempos=(TempoChange(0, 100.0),)
    )


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_generate_writes_the_bars_asked_for(model_dir, tmp_path, capsys):
    out = tmp_path / "happy.mid"
    code = main(
        [
            "generate",
            "--emotion",
            "happy",
            "--bars",
            "3",
            "--seed",
            "1",
            "--model",
            str(model_dir),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    song = read_midi(out)
    assert song.n_bars == 3 and song.note_count > 0
    assert "wrote" in capsys.readouterr().out
    again = tmp_path / "again.mid"
    main(
        [
            "generate",
            "--valence",
            "0.8",
            "--arousal",
            "0.8",
            "--bars",
            "3",
            "--seed",
            "1",
            "--model",
            str(model_dir),
            "--out",
            str(again),
        ]
    )
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--valence", "7", "--arousal", "0"], "valence must be a number in [-1, 1]"),
        (["--emotion", "furious"], "unknown emotion"),
        (["--valence", "0.5"], "both --valence and --arousal"),
        (["--emotion", "sad", "--arousal", "0.1"], "not both"),
        (["--emotion", "sad", "--bars", "0"], "--bars"),
        (["--emotion", "sad", "--cadence", "2"], "cadence must be in [0, 1]"),
        (["--emotion", "sad", "--bass", "5"], "bass must be in [0, 4]"),
    ],
)
def test_generate_refuses_impossible_targets(model_dir, tmp_path, capsys, args, message):
    out = tmp_path / "x.mid"
    assert main(["generate", *args, "--model", str(model_dir), "--out", str(out)]) == 1
    assert message in one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_generate_refuses_a_folder_that_is_not_a_model(tmp_path, capsys):
    not_model = tmp_path / "not_a_model"
    not_model.mkdir()
    (not_model / "notes.txt").write_text("hello")
    out = tmp_path / "x.mid"
    assert (
        main(["generate", "--emotion", "calm", "--model", str(not_model), "--out", str(out)]) == 1
    )
    assert "not an emostudio model folder" in one_line_error(capsys)
    assert not out.exists()


def test_generate_refuses_an_output_in_a_missing_folder(model_dir, tmp_path, capsys):
    out = tmp_path / "missing" / "x.mid"
    assert (
        main(["generate", "--emotion", "calm", "--model", str(model_dir), "--out", str(out)]) == 1
    )
    assert "does not exist" in one_line_error(capsys)


def test_transfer_keeps_bars_tempo_and_instrument(model_dir, tmp_path, capsys):
    src = tmp_path / "in.mid"
    write_midi(chord_song(4, 4, minor=False, program=5), src)
    out = tmp_path / "out.mid"
    code = main(
        [
            "transfer",
            str(src),
            "--to",
            "sad",
            "--strength",
            "0.7",
            "--only",
            "valence",
            "--seed",
            "2",
            "--model",
            str(model_dir),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result, source = read_midi(out), read_midi(src)
    assert result.n_bars == source.n_bars == 4
    assert result.tempos == source.tempos
    assert {(t.program, t.name) for t in result.tracks} == {(5, "Keys")}
    stdout = capsys.readouterr().out
    assert "recognised" in stdout and "valence" in stdout


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is not midi at all", "not a MIDI file"),
        (
            b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\xff",
            "file ends early (truncated)",
        ),
        (None, "has no notes"),
    ],
)
def test_transfer_refuses_unreadable_and_empty_files(model_dir, tmp_path, capsys, content, message):
    src = tmp_path / "in.mid"
    if content is None:
        write_midi(Song(), src)
    else:
        src.write_bytes(content)
    out = tmp_path / "out.mid"
    assert (
        main(["transfer", str(src), "--to", "calm", "--model", str(model_dir), "--out", str(out)])
        == 1
    )
    assert message in one_line_error(capsys)
    assert not out.exists()


def test_transfer_refuses_a_bad_strength(model_dir, tmp_path, capsys):
    src = tmp_path / "in.mid"
    write_midi(chord_song(2, 2, minor=True), src)
    assert (
        main(
            [
                "transfer",
                str(src),
                "--to",
                "Q1",
                "--strength",
                "1.5",
                "--model",
                str(model_dir),
                "--out",
                str(tmp_path / "o.mid"),
            ]
        )
        == 1
    )
    assert "--strength" in one_line_error(capsys)


def make_corpus(root, n_per_quadrant: int = 10):
    """A tiny EMOPIA-like corpus folder: labelled clips whose emotion follows density and mode."""
    rng = np.random.default_rng(0)
    (root / "emopia").mkdir(parents=True)
    rows = []
    for q in (1, 2, 3, 4):
        for i in range(n_per_quadrant):
            busy, major = q in (1, 2), q in (1, 4)
            song = chord_song(3, 8 if busy else 2, minor=not major, root=int(rng.integers(52, 68)))
            path = f"emopia/Q{q}_song{q}x{i:02d}_0.mid"
            write_midi(song, root / path)
            rows.append(
                {
                    "path": path,
                    "source": "emopia",
                    "song_id": f"song{q}x{i:02d}",
                    "quadrant": f"Q{q}",
                    "valence": 1 if major else -1,
                    "arousal": 1 if busy else -1,
                }
            )
    with open(root / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_evaluate_writes_a_complete_report(model_dir, tmp_path, capsys):
    data = tmp_path / "data"
    make_corpus(data)
    out = tmp_path / "report"
    md = tmp_path / "EVALUATION.md"
    code = main(
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--data",
            str(data),
            "--out",
            str(out),
            "--markdown",
            str(md),
            "--pieces-per-quadrant",
            "2",
            "--bars",
            "2",
            "--sweep-pieces",
            "2",
            "--swap-pairs",
            "2",
            "--fidelity-pieces",
            "2",
            "--element-pairs",
            "2",
        ]
    )
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert {
        "EVALUATION.md",
        "results.json",
        "judge.json",
        "confusion_generation.png",
        "confusion_transfer.png",
        "strength_sweep.png",
        "latent_space.png",
        "fidelity.png",
    } <= names
    results = json.loads((out / "results.json").read_text())
    rows = results["fidelity"]["rows"]
    assert [(r["method"], r["lambda"]) for r in rows[:2]] == [("edit", 0.0), ("edit", 0.25)]
    assert len(rows) == 15 and {r["method"] for r in rows} == {"edit", "rules", "rewrite"}
    assert all(r["note_f1"] == 1.0 and r["contour"] == 1.0 for r in rows if r["lambda"] == 0.0)
    assert results["fidelity"]["n_pairs"] == 2 and "onsets_B" in results["fidelity"]["key_from"]
    assert "(report/fidelity.png)" in md.read_text()
    assert results["generation"]["n"] == 8
    assert len(results["sweep"]["p_quadrant"]) == 5
    structure = results["structure"]  # form, the Markov baseline and seams beside the real clips
    assert [x["name"] for x in structure["sets"]] == [
        "model, form AABA",
        "model, through-composed",
        "Markov baseline",
    ]
    assert "continue" in {x["name"] for x in structure["seams"]}  # 2-bar clips: no fill
    assert "| Markov baseline |" in md.read_text()
    assert sum(map(sum, results["transfer"]["confusion"])) == results["transfer"]["n"]
    assert "(report/confusion_transfer.png)" in md.read_text()
    assert "(confusion_transfer.png)" in (out / "EVALUATION.md").read_text()
    # the report renders again from results.json alone, identically
    written = md.read_text(), (out / "EVALUATION.md").read_text()
    md.unlink()
    (out / "EVALUATION.md").unlink()
    assert (
        main(["evaluate", "--render-only", str(out / "results.json"), "--markdown", str(md)]) == 0
    )
    assert (md.read_text(), (out / "EVALUATION.md").read_text()) == written
    # the saved judge is reused as is
    again = tmp_path / "again"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model_dir),
                "--data",
                str(data),
                "--out",
                str(again),
                "--judge",
                str(out / "judge.json"),
                "--pieces-per-quadrant",
                "1",
                "--bars",
                "2",
                "--sweep-pieces",
                "1",
                "--swap-pairs",
                "1",
            ]
        )
        == 0
    )
    assert json.loads((again / "judge.json").read_text()) == json.loads(
        (out / "judge.json").read_text()
    )


def test_evaluate_refuses_a_folder_without_midi(model_dir, tmp_path, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    out = tmp_path / "report"
    assert (
        main(["evaluate", "--model", str(model_dir), "--data", str(empty), "--out", str(out)]) == 1
    )
    assert "no MIDI files" in one_line_error(capsys)
    assert not out.exists()


def test_analyze_adds_the_recognised_emotion(model_dir, tmp_path, capsys):
    src = tmp_path / "in.mid"
    write_midi(chord_song(3, 4, minor=True), src)
    assert main(["analyze", str(src), "--json", "--model", str(model_dir)]) == 0
    emotion = json.loads(capsys.readouterr().out)["emotion"]
    # what the model itself recognises in the file, reported whole and rounded
    rec = Engine.load(model_dir, device="cpu").recognise(read_midi(src))
    assert emotion["quadrant"] == rec.quadrant
    assert emotion["p_high_arousal"] == round(rec.overall_arousal, 3)
    assert emotion["p_high_valence"] == round(rec.overall_valence, 3)
    assert emotion["bar_p_high_arousal"] == [round(float(p), 3) for p in rec.arousal]
    assert emotion["bar_p_high_valence"] == [round(float(p), 3) for p in rec.valence]
    assert len(emotion["bar_p_high_arousal"]) == 3
    assert main(["analyze", str(src), "--model", str(model_dir)]) == 0
    assert f"emotion:       Q{emotion['quadrant']}" in capsys.readouterr().out
    assert main(["analyze", str(src), "--model", str(tmp_path)]) == 1
    assert "not an emostudio model folder" in one_line_error(capsys)


def test_generate_with_prior_fitted_needs_a_fitted_prior(model_dir, tmp_path, capsys):
    out = tmp_path / "x.mid"
    code = main(
        [
            "generate",
            "--emotion",
            "calm",
            "--model",
            str(model_dir),
            "--prior",
            "fitted",
            "--out",
            str(out),
            "--device",
            "cpu",
        ]
    )
    assert code == 1 and not out.exists()
    assert "no fitted prior" in capsys.readouterr().err
    assert (
        main(
            [
                "generate",
                "--emotion",
                "calm",
                "--model",
                str(model_dir),
                "--prior",
                "learned",
                "--bars",
                "2",
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert out.exists()


def test_generate_with_a_cadence_ends_on_a_triad(model_dir, tmp_path):
    out = tmp_path / "x.mid"
    args = ["generate", "-e", "calm", "--bars", "4", "--seed", "1", "--cadence", "1"]
    assert main([*args, "--model", str(model_dir), "--out", str(out)]) == 0
    last = bar_pitch_classes(read_midi(out), 3)
    assert last and any(last & ~triad == 0 for triad in TRIADS)


def test_generate_pedals_the_piano_unless_told_not_to(model_dir, tmp_path):
    paths = {flag: tmp_path / f"{flag.strip('-')}.mid" for flag in ("--pedal", "--no-pedal")}
    for flag, out in paths.items():
        args = ["generate", "--emotion", "calm", "--bars", "3", "--seed", "2", flag]
        assert main([*args, "--model", str(model_dir), "--out", str(out)]) == 0
    pedalled, plain = (read_midi(p) for p in paths.values())
    assert [t.notes for t in pedalled.tracks] == [t.notes for t in plain.tracks]
    piano = [t for t in pedalled.tracks if t.family is Family.PIANO]
    assert piano and all(any(c.control == 64 for c in t.controls) for t in piano)
    assert all(t.controls == () for t in plain.tracks)
