"""The reference judge, descriptors, realism metrics and the copy check, on songs made here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emostudio.evaluation.copying import TrainingIndex, longest_copy
from emostudio.evaluation.descriptors import (
    DESCRIPTOR_NAMES,
    EmptySongError,
    describe,
    describe_many,
)
from emostudio.evaluation.judge import EmotionJudge, JudgeError, score
from emostudio.evaluation.realism import compare, overlapping_area, piece_metrics
from emostudio.midi import Note, Song, Track
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_SUBBEAT

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SB = TICKS_PER_SUBBEAT


def chord_song(
    n_bars: int, per_bar: int, minor: bool, root: int = 60, velocity: int = 80, rng=None
) -> Song:
    """``per_bar`` triads per bar (major or minor) on ``root``, evenly spaced."""
    third = 3 if minor else 4
    notes = []
    step = 16 // per_bar
    for bar in range(n_bars):
        for k in range(per_bar):
            start = bar * TICKS_PER_BAR + k * step * SB
            shift = int(rng.choice([0, 5, 7])) if rng is not None else 0  # I, IV, V in the mode
            for interval in (0, third, 7):
                notes.append(Note(root + shift + interval, start, start + step * SB, velocity))
    return Song(tracks=(Track(0).with_notes(notes),))


def melody_song(pitches: list[int], step: int = 2, offset_bars: int = 0) -> Song:
    start0 = offset_bars * TICKS_PER_BAR
    notes = [
        Note(p, start0 + i * step * SB, start0 + (i + 1) * step * SB, 80)
        for i, p in enumerate(pitches)
    ]
    return Song(tracks=(Track(0).with_notes(notes),))


def test_descriptors_have_their_names_and_known_values():
    song = chord_song(4, 4, minor=False)
    x = describe(song)
    assert x.shape == (len(DESCRIPTOR_NAMES),)
    d = dict(zip(DESCRIPTOR_NAMES, x))
    assert d["notes_per_bar"] == 12 and d["onsets_per_bar"] == 4
    assert d["polyphony_mean"] == 3 and d["silent_subbeat_fraction"] == 0
    assert d["pitch_range"] == pytest.approx(7, abs=0.5)
    assert d["mode_major_minus_minor"] > 0
    assert (
        describe(chord_song(4, 4, minor=True))[DESCRIPTOR_NAMES.index("mode_major_minus_minor")] < 0
    )
    assert sum(x[DESCRIPTOR_NAMES.index("pc_rel_tonic_0") :]) == pytest.approx(1.0)


def test_empty_song_has_no_descriptors():
    with pytest.raises(EmptySongError):
        describe(Song())
    rows, kept = describe_many([Song(), chord_song(2, 2, False)])
    assert rows.shape == (1, len(DESCRIPTOR_NAMES)) and kept.tolist() == [1]


def synthetic_set(n: int, seed: int):
    """Quadrant 1-4 songs: arousal = busy and loud, valence = major."""
    rng = np.random.default_rng(seed)
    songs, labels = [], []
    for i in range(n):
        q = i % 4 + 1
        busy = q in (1, 2)
        major = q in (1, 4)
        songs.append(
            chord_song(
                4,
                8 if busy else 2,
                minor=not major,
                root=int(rng.integers(48, 72)),
                velocity=100 if busy else 50,
                rng=rng,
            )
        )
        labels.append(q)
    return songs, np.array(labels)


def test_judge_learns_separable_emotions_and_round_trips(tmp_path):
    songs, labels = synthetic_set(40, 0)
    features, kept = describe_many(songs)
    judge = EmotionJudge.train(features, labels[kept])
    test_songs, test_labels = synthetic_set(20, 1)
    verdicts, kept = judge.judge(test_songs)
    result = score(verdicts, test_labels[kept])
    assert result.arousal == 1.0 and result.valence >= 0.9 and result.quadrant >= 0.9
    path = tmp_path / "judge.json"
    judge.save(path)
    again = EmotionJudge.load(path).judge(test_songs)[0]
    np.testing.assert_allclose(again.p_quadrant, verdicts.p_quadrant)
    np.testing.assert_allclose(again.p_arousal_high, verdicts.p_arousal_high)


def test_judge_refuses_bad_files_and_labels(tmp_path):
    bad = tmp_path / "judge.json"
    bad.write_text("not json")
    with pytest.raises(JudgeError, match="cannot read"):
        EmotionJudge.load(bad)
    bad.write_text('{"format_version": 99}')
    with pytest.raises(JudgeError, match="format"):
        EmotionJudge.load(bad)
    with pytest.raises(JudgeError, match=r"Q1\.\.Q4"):
        EmotionJudge.train(np.zeros((4, len(DESCRIPTOR_NAMES))), np.array([1, 1, 2, 2]))


def test_realism_metrics_of_a_known_song():
    m = piece_metrics(chord_song(2, 4, minor=False))
    assert m["pitch_range"] == 7 and m["polyphony"] == 3 and m["rhythm_density"] == 4
    assert m["pitch_class_entropy"] == pytest.approx(np.log2(3))
    assert piece_metrics(Song()) is None
    assert overlapping_area(np.arange(10.0), np.arange(10.0)) == pytest.approx(1.0)
    assert overlapping_area(np.zeros(5), np.ones(5) * 10) == 0.0
    rows = {c.name: c for c in compare([chord_song(2, 4, False)], [chord_song(2, 2, True)])}
    assert rows["rhythm_density"].generated_mean == 4 and rows["rhythm_density"].real_mean == 2


def test_copy_check_finds_copies_transposed_and_ignores_new_music():
    rng = np.random.default_rng(0)
    training_tune = [int(p) for p in 60 + rng.integers(-7, 8, size=64)]
    other_tune = [int(p) for p in 60 + rng.integers(-7, 8, size=64)]
    index = TrainingIndex([melody_song(training_tune), melody_song(other_tune[:5])])
    # 32 notes of two sub-beats each = 4 bars, copied a fifth higher and starting elsewhere
    copied = melody_song([p + 7 for p in training_tune[10:42]], offset_bars=3)
    result = longest_copy(copied, index)
    assert result.longest_notes == 32 and result.longest_bars == 4
    assert longest_copy(melody_song(other_tune), index).longest_notes == 0
    assert longest_copy(Song(), index).longest_bars == 0


@pytest.mark.corpus
@pytest.mark.skipif(not (DATA / "manifest.csv").is_file(), reason="needs ../shared/data")
def test_judge_on_emopia_held_out_split():
    from emostudio.evaluation.data import EvaluationCorpus

    corpus = EvaluationCorpus(DATA)
    train = corpus.pieces("train", labelled_only=True, sources=("emopia",))
    test = corpus.pieces("test", labelled_only=True, sources=("emopia",))
    assert {p.file.song_id for p in train}.isdisjoint({p.file.song_id for p in test})
    features, kept = describe_many([p.song for p in train])
    judge = EmotionJudge.train(features, np.array([train[i].file.quadrant for i in kept]))
    verdicts, kept = judge.judge([p.song for p in test])
    result = score(verdicts, np.array([test[i].file.quadrant for i in kept]))
    # far above chance (0.25 / 0.5); EMOPIA's published MIDI classifier: .684 / .89 / .83
    assert result.quadrant > 0.5 and result.arousal > 0.8 and result.valence > 0.6


ROOT = Path(__file__).resolve().parents[1]


def test_stored_results_round_trip_through_the_typed_results():
    from emostudio.evaluation.results import EvaluationResults, from_json, to_json

    results = EvaluationResults.load(ROOT / "docs" / "evaluation" / "results.json")
    assert results.generation.per_quadrant[2].quadrant == pytest.approx(0.82)
    assert results.sweep.strengths == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert results.realism.metrics[0].name == "pitch_range"
    assert results.settings.targets.copy_max_bars == 4  # stored before targets were settings
    data = to_json(results)
    assert data["sweep"]["lambda"] == results.sweep.strengths
    assert from_json(EvaluationResults, json.loads(json.dumps(data))) == results


def test_the_root_evaluation_is_exactly_the_report_rendered_from_its_results():
    from emostudio.evaluation.report import EvaluationResults
    from emostudio.evaluation.template import render_markdown

    results = EvaluationResults.load(ROOT / "docs" / "evaluation" / "results.json")
    assert (ROOT / "EVALUATION.md").read_text() == render_markdown(results, "docs/evaluation")
    assert (ROOT / "docs" / "evaluation" / "EVALUATION.md").read_text() == render_markdown(results)


def test_the_summary_follows_the_targets_in_the_settings(tmp_path):
    from dataclasses import replace

    from emostudio.evaluation.report import EvaluationResults, Targets, render_report
    from emostudio.evaluation.template import render_markdown

    results = EvaluationResults.load(ROOT / "docs" / "evaluation" / "results.json")
    strict = replace(results, settings=replace(results.settings, targets=Targets(0.95, 0.98)))
    text = render_markdown(strict)
    assert "| generated music, quadrant ≥ 0.95 | 0.868 | no |" in text
    assert "| generated music, arousal ≥ 0.98 | 0.990 | **yes** |" in text
    assert "| generated music, valence ≥ 0.80 | 0.912 | **yes** |" in text
    (tmp_path / "report").mkdir()
    stored = tmp_path / "report" / "results.json"
    stored.write_text(strict.to_text())
    files = render_report(stored, tmp_path / "EVALUATION.md")
    assert files == [tmp_path / "report" / "EVALUATION.md", tmp_path / "EVALUATION.md"]
    assert files[0].read_text() == text
    assert "(report/strength_sweep.png)" in files[1].read_text()
