"""The texts a MIDI file carries beside its music (copyright notice, credits, markers): read,
kept with the piece's bars through a cut, an edit, a rewrite, fill and continue, and written back."""

from __future__ import annotations

import io

import mido
import pytest
import torch
from songs import RawTrack, midi_bytes
from tiny_models import save_tiny_model

from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.midi import TICKS_PER_BAR, TextEvent, song_from_bytes, song_to_bytes

BAR = TICKS_PER_BAR
SAD = Emotion.from_quadrant(3)
TEXTS = (
    TextEvent(0, "copyright", "(c) 2026 A. Composer"),
    TextEvent(0, "text", "arranged for piano"),
    TextEvent(2 * BAR, "marker", "Chorus"),
    TextEvent(3 * BAR + 480, "cue_marker", "lights down"),
)


def texted_file() -> bytes:
    meta = [(e.tick, mido.MetaMessage(e.kind, text=e.text)) for e in TEXTS]
    notes = [(48 + (i % 24), i * 480, i * 480 + 480, 80) for i in range(24)]  # six bars
    return midi_bytes([RawTrack(meta=meta), RawTrack(notes=notes)])


def test_a_files_texts_are_read_and_written_back_on_the_conductor_track():
    song = song_from_bytes(texted_file())
    assert song.texts == TEXTS
    written = song_to_bytes(song)
    assert song_from_bytes(written).texts == TEXTS
    conductor = mido.MidiFile(file=io.BytesIO(written)).tracks[0]
    assert [m.text for m in conductor if m.type == "marker"] == ["Chorus"]


def test_names_and_texts_beyond_latin_1_are_written_as_utf_8_and_read_back():
    from dataclasses import replace

    song = song_from_bytes(texted_file())
    named = replace(
        song,
        name="1 · 001 → sad",  # a take's name, as a take used as the input carries it
        tracks=tuple(replace(t, name="ピアノ") for t in song.tracks),
        texts=(TextEvent(0, "copyright", "© 2026 Ünïcode"), TextEvent(BAR, "marker", "→ B")),
    )
    written = song_to_bytes(named)  # raised UnicodeEncodeError
    back = song_from_bytes(written)
    assert [t.name for t in back.tracks] == ["ピアノ"] and back.texts == named.texts
    raw = mido.MidiFile(file=io.BytesIO(written))
    name_bytes = next(m.name for m in raw.tracks[0] if m.type == "track_name").encode("latin-1")
    assert name_bytes.decode("utf-8") == "1 · 001 → sad"  # what other programs find: UTF-8
    copyright_bytes = next(m.text for m in raw.tracks[0] if m.type == "copyright")
    assert copyright_bytes == "© 2026 Ünïcode"  # latin-1 text stays latin-1, byte for byte
    assert song_to_bytes(replace(back, name=named.name)) == written  # the same bytes again


def test_a_cut_keeps_the_texts_inside_it_and_the_copyright_notice():
    song = song_from_bytes(texted_file())
    assert song.slice_bars(2, 2).texts == (
        TextEvent(0, "copyright", "(c) 2026 A. Composer"),
        TextEvent(0, "marker", "Chorus"),
        TextEvent(BAR + 480, "cue_marker", "lights down"),
    )
    assert song.slice_bars(4, 2).texts == TEXTS[:1]


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    torch.set_num_threads(1)
    return Engine.load(save_tiny_model(tmp_path_factory.mktemp("models") / "tiny"), device="cpu")


def test_every_result_made_from_the_piece_keeps_its_texts(engine):
    song = song_from_bytes(texted_file())
    (edited,) = engine.transfer_many([song], [SAD], seed=0, method="edit")
    (rewritten,) = engine.transfer_many([song], [SAD], seed=0, method="rewrite")
    (filled,) = engine.fill(song, 1, 2, seed=0)
    (continued,) = engine.continue_piece(song, 2, seed=0)
    for result in (edited, filled, continued):
        assert result.texts == TEXTS
    assert rewritten.texts == song.slice_bars(0, rewritten.n_bars).texts
    assert TEXTS[0] in rewritten.texts
    (generated,) = engine.generate_many([SAD], bars=2, seed=0)
    assert generated.texts == ()
