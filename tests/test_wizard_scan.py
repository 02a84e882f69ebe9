"""The wizard's Data scan: label sources through the corpus pipeline, rejects with reasons."""

from pathlib import Path

import numpy as np
from songs import drain

from emostudio.corpus import Progress, load_cache
from emostudio.midi import write_midi
from emostudio.training.synthetic import synthetic_song
from emostudio.wizard.flow import WizardFlow
from emostudio.wizard.labels import LabelKind, LabelSet
from emostudio.wizard.scan import ScanResult, cache_dir_for, scan

QUADRANT_DIMENSIONS = {1: (True, True), 2: (False, True), 3: (False, False), 4: (True, False)}


def write_songs(folder: Path, quadrant: int, n: int, name: str, seed: int = 0) -> list[Path]:
    """``n`` small MIDI files whose emotion is ``quadrant`` by construction."""
    rng = np.random.default_rng(seed + quadrant)
    valence_high, arousal_high = QUADRANT_DIMENSIONS[quadrant]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / name.format(q=quadrant, i=i)
        write_midi(synthetic_song(rng, arousal_high, valence_high, 4), path)
        paths.append(path)
    return paths


def run_scan(folders, cache_root, csv_file=None) -> tuple[list, ScanResult]:
    return drain(scan(folders, cache_root, csv_file))


def test_emopia_names_and_a_plain_folder_scan_into_one_cache(tmp_path):
    named = tmp_path / "named"
    for q in (1, 2, 3, 4):
        write_songs(named, q, 2, "Q{q}_song{i}_{i}.mid")
    plain = tmp_path / "plain"
    write_songs(plain, 1, 3, "free{i}.mid")
    (plain / "broken.mid").write_bytes(b"MThd this is not MIDI")
    (plain / "notes.txt").write_text("not music")

    events, result = run_scan([named, plain], tmp_path / "cache")
    assert isinstance(events[0], LabelSet)
    assert [f.kind for f in events[0].folders] == [LabelKind.NAMES, LabelKind.NONE]
    assert any(isinstance(e, Progress) for e in events)
    summary = result.summary
    assert (summary.files, summary.accepted) == (12, 11)
    assert summary.rejected[0].path == (plain / "broken.mid").resolve()
    assert "file ends early (truncated)" in summary.rejected[0].reason
    assert summary.labelled == {1: 2, 2: 2, 3: 2, 4: 2}
    assert summary.bars == 11 * 4 and summary.hours > 0
    assert summary.cache_dir == cache_dir_for(tmp_path / "cache", [named, plain], None)

    cache = load_cache(summary.cache_dir)
    quadrants = {Path(p.path).name: p.quadrant for p in cache.pieces}
    assert quadrants["Q3_song1_1.mid"] == 3 and quadrants["free0.mid"] is None
    # both clips of one EMOPIA-style song share a song id, so they share a split
    assert {p.song_id for p in cache.pieces if p.path.endswith("Q2_song1_1.mid")} == {"song1"}


def test_csv_labels_reach_the_cache(tmp_path):
    folder = tmp_path / "mine"
    _a, _b = write_songs(folder, 3, 2, "piece{i}.mid")
    (folder / "moods.csv").write_text("file,valence,arousal\npiece0.mid,-1,-1\npiece1.mid,1,1\n")
    _, result = run_scan([folder], tmp_path / "cache")
    assert result.labels.kinds == (LabelKind.CSV,)
    assert result.summary.labelled == {1: 1, 2: 0, 3: 1, 4: 0}
    cache = load_cache(result.summary.cache_dir)
    assert sorted((p.path, p.quadrant, p.valence, p.arousal) for p in cache.pieces) == [
        ("piece0.mid", 3, -1, -1),
        ("piece1.mid", 1, 1, 1),
    ]


def test_sub_folders_and_a_second_scan_reuses_the_cache(tmp_path):
    folder = tmp_path / "moods"
    for q, name in zip((1, 2, 3, 4), ("happy", "tense", "sad", "calm")):
        write_songs(folder / name, q, 8, "p{i}.mid")
    _, first = run_scan([folder], tmp_path / "cache")
    assert first.summary.labelled == {1: 8, 2: 8, 3: 8, 4: 8}
    flow = WizardFlow()
    flow.set_folders([folder])
    flow.labels, flow.scan = first.labels, first.summary
    assert flow.data_blocker() is None and flow.scratch_blocker() is None

    write_songs(folder / "sad", 3, 9, "p{i}.mid", seed=1)  # one new file (p8), eight rewritten
    _, second = run_scan([folder], tmp_path / "cache")
    assert second.summary.labelled[3] == 9
    cache = load_cache(second.summary.cache_dir)
    assert cache.report["reused"] == 24  # only the sad folder was read again


def test_a_folder_without_midi_blocks_next(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("nothing")
    _, result = run_scan([empty], tmp_path / "cache")
    assert result.summary.files == 0
    flow = WizardFlow()
    flow.set_folders([empty])
    flow.labels, flow.scan = result.labels, result.summary
    assert flow.data_blocker() == "No MIDI files (.mid, .midi) in empty."


def test_cancelled_scan_returns_none(tmp_path):
    import threading

    folder = tmp_path / "data"
    write_songs(folder, 1, 3, "x{i}.mid")
    cancel = threading.Event()
    cancel.set()
    generator = scan([folder], tmp_path / "cache", cancel=cancel)
    events = []
    try:
        while True:
            events.append(next(generator))
    except StopIteration as stop:
        assert stop.value is None
    assert isinstance(events[0], LabelSet)
