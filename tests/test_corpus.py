"""Corpus pipeline: discovery, song ids, splits, prepare's report, incrementality, the cache reader."""

from __future__ import annotations

import json
import threading
from collections import Counter

import numpy as np
import pytest
from songs import piece, write_corpus, write_midi_file

from emostudio.corpus import (
    CacheError,
    CorpusError,
    Finished,
    Progress,
    assign_splits,
    discover,
    emopia_song_id,
    load_cache,
    prepare,
)
from emostudio.corpus.cache import CACHE_JSON
from emostudio.midi import read_midi
from emostudio.tokens import BAR, Tokenizer
from emostudio.tokens.features import bar_keys, polyphony


def run(data, out, **kwargs):
    events = list(prepare(data, out, **kwargs))
    assert all(isinstance(e, Progress) for e in events[:-1])
    assert isinstance(events[-1], Finished)
    return events[-1].report, events


# ---- sources ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, song_id",
    [
        ("Q1__8v0MFBZoco_0.mid", "_8v0MFBZoco"),
        ("Q3_-kLmNoPqRsT_12.mid", "-kLmNoPqRsT"),
        ("Q4_abc_defghij_3.mid", "abc_defghij"),
    ],
)
def test_emopia_song_ids(name, song_id):
    assert emopia_song_id(name) == song_id


def test_discover_with_and_without_manifest(tmp_path):
    write_corpus(tmp_path / "a", manifest=True)
    files = discover(tmp_path / "a")
    assert len(files) == 13
    first = files[0]
    assert (first.source, first.song_id, first.quadrant, first.valence, first.arousal) == (
        "emopia",
        "_abcdefghij",
        1,
        1,
        1,
    )
    assert sum(f.labelled for f in files) == 8

    write_corpus(tmp_path / "b", manifest=False)
    files = discover(tmp_path / "b")
    assert len(files) == 13 and not any(f.labelled for f in files)
    assert {f.source for f in files} == {"emopia", "other"}
    assert files[0].song_id == files[0].path.split("/")[-1][:-4]  # the file stem


def test_discover_errors(tmp_path):
    with pytest.raises(CorpusError, match="not a folder"):
        discover(tmp_path / "missing")
    with pytest.raises(CorpusError, match="no MIDI files"):
        discover(tmp_path)
    (tmp_path / "manifest.csv").write_text("path,quadrant\nx.mid,Q7\n")
    with pytest.raises(CorpusError, match="bad quadrant"):
        discover(tmp_path)


# ---- splits ------------------------------------------------------------------------------------
def test_split_keeps_songs_and_duplicate_groups_together_and_stratifies():
    rng = np.random.default_rng(0)
    sources, ids, quadrants = [], [], []
    for song in range(200):  # 200 labelled songs of 1-4 clips, 300 unlabelled pieces
        for _ in range(int(rng.integers(1, 5))):
            sources.append("emopia")
            ids.append(f"song{song}")
            quadrants.append(int(rng.integers(1, 5)))
    for i in range(300):
        sources.append("pop909")
        ids.append(f"{i:03d}")
        quadrants.append(None)
    sources += ["emopia", "emopia"]
    ids += ["TNoaOTrTkTQ", "bIx4DwkZxFY"]
    quadrants += [1, 2]

    splits = assign_splits(sources, ids, quadrants)
    assert splits == assign_splits(sources, ids, quadrants)  # fixed seed
    by_song: dict[tuple[str, str], set] = {}
    for s, i, sp in zip(sources, ids, splits):
        by_song.setdefault((s, i), set()).add(sp)
    assert all(len(v) == 1 for v in by_song.values())
    assert splits[-1] == splits[-2]  # the near-duplicate pair
    assert by_song[("pop909", "017")] == by_song[("pop909", "018")]
    counts = Counter(splits)
    assert counts["train"] / len(splits) == pytest.approx(0.8, abs=0.03)
    assert counts["val"] / len(splits) == pytest.approx(0.1, abs=0.03)
    for split in ("train", "val", "test"):
        per_q = Counter(q for q, sp in zip(quadrants, splits) if sp == split and q is not None)
        assert all(per_q[q] > 0 for q in (1, 2, 3, 4)), (split, per_q)


# ---- prepare and the cache ---------------------------------------------------------------------
def test_prepare_with_manifest_reports_and_writes_a_readable_cache(tmp_path):
    data, out = tmp_path / "data", tmp_path / "cache"
    write_corpus(data, manifest=True)
    report, events = run(data, out, jobs=1)
    assert [e.stage for e in events[:-1] if isinstance(e, Progress)][-1] == "write"
    assert (report.files, report.accepted, len(report.rejected)) == (13, 12, 1)
    assert report.rejected[0][0] == "other/broken.mid"
    assert "file ends early (truncated)" in report.rejected[0][1]
    assert report.labelled_per_quadrant == {1: 2, 2: 2, 3: 2, 4: 2}
    text = "\n".join(report.lines())
    assert "rejected: 1" in text and "file ends early: 1" in text and "Q1: 2" in text

    cache = load_cache(out)
    assert len(cache) == 12 and cache.tokenizer_config == Tokenizer().config
    assert sum(p.n_bars for p in cache.pieces) == report.bars == len(cache.key_all)
    assert len(cache.tokens) == report.tokens and cache.tokens.dtype == np.int16
    assert report.hours == pytest.approx(sum(p.seconds for p in cache.pieces) / 3600)
    meta = json.loads((out / CACHE_JSON).read_text())
    assert meta["rejected"][0]["path"] == "other/broken.mid" and meta["report"]["accepted"] == 12

    # each piece's arrays are exactly what the tokenizer and features give for its file
    tokenizer = Tokenizer()
    for i, info in enumerate(cache.pieces):
        song = read_midi(data / info.path)
        bars = tokenizer.encode_bars(song)
        assert [b.tolist() for b in cache.bars(i)] == [b.tolist() for b in bars]
        assert all(b[0] == BAR for b in cache.bars(i))
        assert np.array_equal(cache.polyphony(i), polyphony(song, len(bars)))
        assert np.array_equal(cache.keys(i), bar_keys(song, len(bars)))
        assert info.n_tokens == sum(len(b) for b in bars)
    labelled = [p for p in cache.pieces if p.labelled]
    assert {(p.quadrant, p.valence, p.arousal) for p in labelled} == {
        (1, 1, 1),
        (2, -1, 1),
        (3, -1, -1),
        (4, 1, -1),
    }
    all_indices = np.concatenate([cache.split_indices(s) for s in ("train", "val", "test")])
    assert sorted(all_indices.tolist()) == list(range(12))
    with pytest.raises(ValueError):
        cache.split_indices("holdout")


def test_prepare_without_manifest_is_unlabelled(tmp_path):
    data, out = tmp_path / "data", tmp_path / "cache"
    write_corpus(data, manifest=False)
    report, _ = run(data, out, jobs=1)
    assert report.accepted == 12 and report.labelled_per_quadrant == {}
    cache = load_cache(out)
    assert all(p.quadrant is None and p.valence is None for p in cache.pieces)
    assert cache.pieces[0].song_id == "Q1__abcdefghij_0"  # the file stem


def test_second_run_only_processes_new_or_changed_files(tmp_path):
    data, out = tmp_path / "data", tmp_path / "cache"
    write_corpus(data, manifest=False)
    first, _ = run(data, out, jobs=2)
    assert (first.processed, first.reused) == (13, 0)
    before = load_cache(out)

    second, _ = run(data, out, jobs=2)
    assert (second.processed, second.reused) == (0, 13)
    again = load_cache(out)
    assert np.array_equal(before.tokens, again.tokens) and before.pieces == again.pieces

    write_midi_file(data / "other" / "piece_0.mid", piece(42, bars=3))  # changed
    write_midi_file(data / "new.mid", piece(43))  # new
    third, _ = run(data, out, jobs=2)
    assert (third.processed, third.reused, third.accepted) == (2, 12, 13)


def test_bad_files_are_rejected_never_fatal(tmp_path):
    data, out = tmp_path / "data", tmp_path / "cache"
    write_midi_file(data / "good.mid", piece(1))
    (data / "empty.mid").write_bytes(b"")
    write_midi_file(data / "silent.mid", [])
    (data / "text.midi").write_text("hello")
    report, _ = run(data, out, jobs=1)
    reasons = dict(report.rejected)
    assert report.accepted == 1
    assert reasons == {
        "empty.mid": "not a MIDI file (no MThd header)",
        "silent.mid": "no notes",
        "text.midi": "not a MIDI file (no MThd header)",
    }


def test_cancel_stops_without_writing_a_cache(tmp_path):
    data, out = tmp_path / "data", tmp_path / "cache"
    write_corpus(data, manifest=True)
    cancel = threading.Event()
    events = []
    for event in prepare(data, out, jobs=1, cancel=cancel):
        events.append(event)
        if isinstance(event, Progress) and event.stage == "process" and event.done == 3:
            cancel.set()
    assert not any(isinstance(e, Finished) for e in events)
    assert max(e.done for e in events if e.stage == "process") == 3
    with pytest.raises(CacheError, match="not a corpus cache"):
        load_cache(out)
    report, _ = run(data, out, jobs=1)  # the next run picks up the three finished files
    assert (report.processed, report.reused) == (10, 3)


def test_load_cache_refuses_other_versions_and_damage(tmp_path):
    data, out = tmp_path / "data", tmp_path / "cache"
    write_corpus(data, manifest=False, n_emopia=2, n_other=1, bad=False)
    run(data, out, jobs=1)
    meta_path = out / CACHE_JSON
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(CacheError, match="version 99"):
        load_cache(out)
    meta_path.write_text("{")
    with pytest.raises(CacheError, match="cannot read"):
        load_cache(out)
    meta_path.write_text(json.dumps(meta))
    (out / "arrays.npz").write_bytes(b"nonsense")
    with pytest.raises(CacheError, match=r"arrays\.npz"):
        load_cache(out)


# ---- the shared corpus -----------------------------------------------------------------------
@pytest.mark.corpus
def test_shared_manifest_song_ids_and_labels(shared_data):
    files = discover(shared_data)
    assert len(files) == 2646
    emopia = [f for f in files if f.source == "emopia"]
    assert len(emopia) == 1078 and all(f.labelled for f in emopia)
    assert all(f.song_id == emopia_song_id(f.path) for f in emopia)
    assert len({f.song_id for f in emopia}) == 387
    assert Counter(f.quadrant for f in emopia) == {1: 250, 2: 265, 3: 253, 4: 310}
    assert not any(f.labelled for f in files if f.source != "emopia")


@pytest.mark.corpus
def test_shared_corpus_split_is_song_level_and_stratified(shared_data):
    files = discover(shared_data)
    splits = assign_splits(
        [f.source for f in files], [f.song_id for f in files], [f.quadrant for f in files]
    )
    songs: dict[tuple[str, str], set] = {}
    for f, s in zip(files, splits):
        songs.setdefault((f.source, f.song_id), set()).add(s)
    assert all(len(v) == 1 for v in songs.values())
    for group in (
        ("TNoaOTrTkTQ", "bIx4DwkZxFY"),
        ("FoTXpYZXxJs", "Ie5koh4qvJc", "jO2zX6Ul8GM"),
        ("ZTrEoB8T9YA", "k-FNDbK6Qhg"),
    ):
        assert len(set().union(*(songs[("emopia", g)] for g in group))) == 1
    assert songs[("pop909", "017")] == songs[("pop909", "018")]
    for split in ("val", "test"):
        per_q = Counter(f.quadrant for f, s in zip(files, splits) if s == split and f.labelled)
        assert all(20 <= per_q[q] <= 40 for q in (1, 2, 3, 4)), per_q


def test_a_different_tokenizer_config_reprocesses_everything(tmp_path):
    from emostudio.tokens import TokenizerConfig

    data, out = tmp_path / "data", tmp_path / "cache"
    write_corpus(data, manifest=False, n_emopia=2, n_other=2, bad=False)
    run(data, out, jobs=1)
    config = TokenizerConfig(velocity_bins=8)
    report, _ = run(data, out, jobs=1, config=config)
    assert (report.processed, report.reused) == (4, 0)
    cache = load_cache(out)
    assert cache.tokenizer_config == config
    assert cache.tokens.max() < len(Tokenizer(config).vocab)
