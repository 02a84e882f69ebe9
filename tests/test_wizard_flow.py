"""The training wizard's Qt-free flow: label sources, validation, page order."""

from pathlib import Path

import pytest

from emostudio.midi import Note, Song, Track, write_midi
from emostudio.wizard.flow import (
    MIN_LABELLED_PER_QUADRANT,
    DataSummary,
    FlowError,
    Page,
    Rejection,
    RunState,
    Start,
    WizardFlow,
)
from emostudio.wizard.labels import (
    LabelKind,
    detect_labels,
    parse_quadrant,
    quadrant_from_valence_arousal,
)


def _midi(path: Path, pitch: int = 60) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = tuple(Note(pitch + i % 5, i * 480, i * 480 + 400, 80) for i in range(8))
    write_midi(Song(tracks=(Track(program=0, notes=notes),)), path)
    return path


# ---- label sources ---------------------------------------------------------------------------------


def test_csv_with_file_and_quadrant_columns(tmp_path):
    a, b = _midi(tmp_path / "a.mid"), _midi(tmp_path / "sub" / "b.mid")
    _midi(tmp_path / "c.mid")
    (tmp_path / "labels.csv").write_text("File,Quadrant\na.mid,Q2\nsub/b.mid,calm\nc.mid,\n")
    found = detect_labels([tmp_path])
    assert found.kinds == (LabelKind.CSV,)
    assert found.labels == {a: 2, b: 4}  # c.mid is listed but unlabelled
    assert found.counts() == {1: 0, 2: 1, 3: 0, 4: 1}
    assert found.fatal is None and found.problems == ()


def test_csv_with_valence_and_arousal_and_bare_names(tmp_path):
    a = _midi(tmp_path / "deep" / "a.mid")
    b = _midi(tmp_path / "b.mid")
    (tmp_path / "moods.csv").write_text("path,valence,arousal\na.mid,-1,-0.5\nb.mid,0.3,0.9\n")
    found = detect_labels([tmp_path])
    assert found.kinds == (LabelKind.CSV,)
    assert found.labels == {a: 3, b: 1}


def test_csv_rows_with_bad_labels_or_missing_files_are_reported_with_their_line(tmp_path):
    a = _midi(tmp_path / "a.mid")
    (tmp_path / "labels.csv").write_text("file,quadrant\na.mid,Q1\nmissing.mid,Q2\na.mid,Q7\n")
    found = detect_labels([tmp_path])
    assert found.labels == {a: 1}
    assert any("line 3" in p and "missing.mid" in p for p in found.problems)
    assert any("line 4" in p and "Q7" in p for p in found.problems)
    assert found.fatal is None  # one good row: usable, with the problems listed


def test_chosen_csv_without_label_column_is_fatal(tmp_path):
    _midi(tmp_path / "a.mid")
    csv_file = tmp_path / "notes.csv"
    csv_file.write_text("file,comment\na.mid,nice\n")
    found = detect_labels([tmp_path], csv_file=csv_file)
    assert found.fatal and "no label columns" in found.fatal
    flow = WizardFlow()
    flow.set_folders([tmp_path], csv_file)
    flow.labels = found
    assert "Cannot use the labels" in flow.data_blocker()


def test_csv_whose_rows_are_all_wrong_is_fatal(tmp_path):
    _midi(tmp_path / "a.mid")
    (tmp_path / "labels.csv").write_text("file,valence,arousal\na.mid,0,1\n")
    found = detect_labels([tmp_path])
    assert found.fatal and "neither high nor low" in found.fatal


def test_a_csv_that_is_not_a_label_file_is_ignored(tmp_path):
    a = _midi(tmp_path / "Q3_song_0.mid")
    (tmp_path / "tempo.csv").write_text("bar,bpm\n1,120\n")
    found = detect_labels([tmp_path])
    assert found.kinds == (LabelKind.NAMES,) and found.labels == {a: 3}


@pytest.mark.parametrize("names", [("happy", "tense", "sad", "calm"), ("Q1", "q2", "Q3", "Q4")])
def test_one_sub_folder_per_emotion(tmp_path, names):
    files = {q: _midi(tmp_path / name / "x" / f"piece{q}.mid") for q, name in enumerate(names, 1)}
    other = _midi(tmp_path / "misc" / "free.mid")
    top = _midi(tmp_path / "top.mid")
    found = detect_labels([tmp_path])
    assert found.kinds == (LabelKind.FOLDERS,)
    assert found.labels == {path: q for q, path in files.items()}
    assert other not in found.labels and top not in found.labels


def test_emopia_style_names(tmp_path):
    a = _midi(tmp_path / "Q1__8v0MFBZoco_0.mid")
    b = _midi(tmp_path / "q4_abc_2.MID")
    _midi(tmp_path / "Q5_nothing.mid")
    _midi(tmp_path / "Quartet.mid")
    found = detect_labels([tmp_path])
    assert found.kinds == (LabelKind.NAMES,)
    assert found.labels == {a: 1, b: 4}


def test_unlabelled_folder_and_several_folders_merge(tmp_path):
    plain = tmp_path / "plain"
    _midi(plain / "a.mid")
    tagged = tmp_path / "tagged"
    b = _midi(tagged / "sad" / "b.mid")
    found = detect_labels([plain, tagged])
    assert [f.kind for f in found.folders] == [LabelKind.NONE, LabelKind.FOLDERS]
    assert found.labels == {b: 3}
    assert "no labels" in found.folders[0].description


def test_hidden_folders_are_skipped(tmp_path):
    _midi(tmp_path / ".trash" / "Q1_a.mid")
    assert detect_labels([tmp_path]).kinds == (LabelKind.NONE,)


@pytest.mark.parametrize(
    "text, quadrant", [("Q1", 1), ("q2", 2), ("3", 3), ("calm", 4), (" Happy ", 1), ("", None)]
)
def test_parse_quadrant(text, quadrant):
    assert parse_quadrant(text) == quadrant


@pytest.mark.parametrize("text", ["Q0", "5", "joyful", "Q1_"])
def test_parse_quadrant_rejects(text):
    with pytest.raises(ValueError, match="not a quadrant"):
        parse_quadrant(text)


@pytest.mark.parametrize(
    "valence, arousal, expected",
    [("1", "1", 1), ("-1", "1", 2), ("-0.2", "-1", 3), ("0.5", "-0.1", 4), ("", "", None)],
)
def test_valence_arousal_to_quadrant(valence, arousal, expected):
    assert quadrant_from_valence_arousal(valence, arousal) == expected


@pytest.mark.parametrize(
    "valence, arousal, message",
    [
        ("7", "1", "outside"),
        ("x", "1", "not a number"),
        ("1", "nan", "outside"),
        ("0", "1", "neither"),
    ],
)
def test_valence_arousal_rejects(valence, arousal, message):
    with pytest.raises(ValueError, match=message):
        quadrant_from_valence_arousal(valence, arousal)


# ---- validation and page order -----------------------------------------------------------------------


def _summary(tmp_path, files=40, accepted=40, bars=400, per_quadrant=(10, 10, 10, 10)):
    return DataSummary(
        cache_dir=tmp_path / "cache",
        files=files,
        accepted=accepted,
        rejected=tuple(
            Rejection(tmp_path / f"bad{i}.mid", "corrupt MIDI data")
            for i in range(files - accepted)
        ),
        hours=0.5,
        bars=bars,
        tokens=bars * 30,
        labelled=dict(zip((1, 2, 3, 4), per_quadrant)),
    )


def _scanned_flow(tmp_path, summary, base_models=()):
    _midi(tmp_path / "data" / "a.mid")
    flow = WizardFlow(base_models=list(base_models))
    flow.set_folders([tmp_path / "data"])
    flow.labels = detect_labels(flow.folders)
    flow.scan = summary
    return flow


def _model_dir(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    return model


def test_page_order_from_data_to_finish(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path))
    assert flow.page is Page.DATA and not flow.can_go_back()
    assert flow.next() is Page.MODEL
    assert flow.allowed_starts() == (Start.SCRATCH,)
    flow.choose_start(Start.SCRATCH)
    assert flow.next() is Page.TRAIN
    assert flow.can_go_back()
    with pytest.raises(FlowError, match="Start the training"):
        flow.next()
    flow.run_state = RunState.RUNNING
    assert not flow.can_go_back()
    with pytest.raises(FlowError, match="running"):
        flow.next()
    flow.run_state = RunState.FINISHED
    assert flow.next() is Page.FINISH
    assert flow.blocker() == "This is the last page." and not flow.can_go_back()
    with pytest.raises(FlowError):
        flow.back()


def test_back_from_model_to_data(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path))
    flow.next()
    assert flow.back() is Page.DATA


def test_no_folder_and_missing_folder_block(tmp_path):
    flow = WizardFlow()
    assert flow.data_blocker() == "Choose at least one folder of MIDI files."
    flow.set_folders([tmp_path / "nowhere"])
    assert "Folder not found" in flow.data_blocker()
    with pytest.raises(FlowError, match="Folder not found"):
        flow.next()


def test_scan_must_finish_first(tmp_path):
    flow = WizardFlow()
    flow.set_folders([tmp_path])
    assert flow.data_blocker() == "Scan the folders first."
    flow.scanning = True
    assert "Scanning" in flow.data_blocker()
    flow.scanning, flow.scan_error = False, "disk full"
    assert flow.data_blocker() == "The scan failed: disk full"


def test_folder_without_midi_is_rejected(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "readme.txt").write_text("no music here")
    flow = WizardFlow()
    flow.set_folders([tmp_path / "data"])
    flow.labels = detect_labels(flow.folders)
    flow.scan = _summary(tmp_path, files=0, accepted=0, bars=0, per_quadrant=(0, 0, 0, 0))
    assert flow.data_blocker() == "No MIDI files (.mid, .midi) in data."


def test_all_files_rejected_blocks_with_a_reason(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path, files=3, accepted=0, bars=0))
    assert "None of the 3 MIDI files can be used (e.g. corrupt MIDI data)" in flow.data_blocker()


def test_too_little_music_blocks(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path, bars=5))
    assert "Only 5 bars" in flow.data_blocker()


def test_new_folder_choice_forgets_the_scan(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path))
    assert flow.data_blocker() is None
    flow.set_folders([tmp_path / "data"])
    assert flow.scan is None and flow.data_blocker() == "Scan the folders first."


def test_unlabelled_data_offers_only_fine_tuning(tmp_path):
    model = _model_dir(tmp_path)
    flow = _scanned_flow(tmp_path, _summary(tmp_path, per_quadrant=(0, 0, 0, 0)), [model])
    assert flow.data_blocker() is None
    assert flow.allowed_starts() == (Start.FINETUNE,)
    assert "unlabelled" in flow.scratch_blocker()
    flow.next()
    flow.choose_start(Start.SCRATCH)
    assert "unlabelled" in flow.model_blocker()
    flow.choose_start(Start.FINETUNE)
    assert flow.base_model == model and flow.model_blocker() is None
    assert flow.next() is Page.TRAIN


def test_unlabelled_data_without_a_model_is_blocked(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path, per_quadrant=(0, 0, 0, 0)))
    assert flow.allowed_starts() == ()
    assert "no model to fine-tune" in flow.data_blocker()


def test_too_few_labelled_clips_in_one_quadrant(tmp_path):
    few = MIN_LABELLED_PER_QUADRANT - 1
    model = _model_dir(tmp_path)
    flow = _scanned_flow(tmp_path, _summary(tmp_path, per_quadrant=(20, 20, few, 20)), [model])
    reason = flow.scratch_blocker()
    assert f"Q3 sad has {few}" in reason
    assert flow.allowed_starts() == (Start.FINETUNE,)


def test_fine_tune_needs_a_model_folder(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path))
    flow.next()
    flow.choose_start(Start.FINETUNE)
    assert flow.model_blocker() == "Choose a model to fine-tune."
    flow.choose_start(Start.FINETUNE, tmp_path / "data")
    assert "no config.json" in flow.model_blocker()


def test_cuda_only_when_present(tmp_path):
    flow = _scanned_flow(tmp_path, _summary(tmp_path))
    flow.next()
    flow.device = "cuda"
    assert "CUDA is not available" in flow.model_blocker()
    flow.cuda_available = True
    assert flow.model_blocker() is None


def test_resumed_run_starts_on_train_and_cannot_go_back(tmp_path):
    flow = WizardFlow()
    assert flow.resume_run(tmp_path / "run") is Page.TRAIN
    assert flow.run_state is RunState.PAUSED and not flow.can_go_back()
    assert "resume" in flow.blocker()


def test_summary_lines_name_the_counts(tmp_path):
    lines = _summary(tmp_path, files=42, accepted=40, per_quadrant=(1, 2, 3, 4)).lines()
    assert lines[0] == "40 of 42 MIDI files accepted, 2 rejected"
    assert "Q3 sad 3" in lines[2] and "labelled: 10" in lines[2]
