"""Key signatures: read and written as a file states them, kept with the piece's bars, stated for
the keys the model writes in, and moved to the parallel mode where a transfer changes the mode."""

from __future__ import annotations

from dataclasses import replace

import mido
import pytest
import torch
from songs import RawTrack, cadence_song, midi_bytes
from tiny_models import save_tiny_model

from emostudio.emotion import Emotion
from emostudio.generation import Engine
from emostudio.midi import TICKS_PER_BAR, Song, song_from_bytes, song_to_bytes
from emostudio.midi.song import MAJOR_SIGNATURES, MINOR_SIGNATURES, KeySignature, signature_at
from emostudio.tokens.features import bar_keys, key_name
from emostudio.tokens.signatures import parallel_keys, stated_keys
from emostudio.transform.rules import transform

BAR = TICKS_PER_BAR
HAPPY, SAD = Emotion.from_quadrant(1), Emotion.from_quadrant(3)


def stated(song: Song) -> list[tuple[int, str]]:
    """(bar, spelled key) of each key signature."""
    return [(k.tick // BAR, k.name) for k in song.key_signatures]


def joined(*parts: Song) -> Song:
    """The parts one after the other (their first tracks' notes, in one track)."""
    notes, offset = [], 0
    for part in parts:
        notes += [
            replace(n, start=n.start + offset, end=n.end + offset) for n in part.tracks[0].notes
        ]
        offset += part.n_bars * BAR
    return parts[0].with_tracks([parts[0].tracks[0].with_notes(notes)])


# ---- the type ---------------------------------------------------------------------------------------
def test_every_key_is_spelled_with_the_fewest_accidentals_and_names_its_own_key():
    for key in range(24):
        signature = KeySignature.of_key(0, key)
        assert signature.key == key, key_name(key)
        assert abs(signature.sharps) <= 6
        assert KeySignature.parse(0, signature.name) == signature
    assert KeySignature.of_key(0, 0).name == "C"
    assert KeySignature.of_key(0, 21).name == "Am"
    assert KeySignature.of_key(0, 3).name == "Eb"
    assert KeySignature.of_key(0, 6).name == "Gb"  # six flats rather than six sharps
    assert KeySignature.of_key(0, 13).name == "C#m"
    assert KeySignature.of_key(0, 13).label == "C# minor"  # as the file spells it, not "Db minor"
    assert KeySignature.of_key(0, 3).label == "Eb major"
    for names in (MAJOR_SIGNATURES, MINOR_SIGNATURES):
        for name in names:
            assert KeySignature.parse(5, name).name == name
    with pytest.raises(ValueError):
        KeySignature.parse(0, "H")
    with pytest.raises(ValueError):
        KeySignature(0, 8)


# ---- files ------------------------------------------------------------------------------------------
def file_with_keys(*keys: tuple[int, str]) -> bytes:
    meta = [(tick, mido.MetaMessage("key_signature", key=name)) for tick, name in keys]
    notes = [(60 + (i % 12), i * 480, i * 480 + 480, 80) for i in range(24)]
    return midi_bytes([RawTrack(meta=meta), RawTrack(notes=notes)])


def test_a_files_key_signatures_are_read_and_written_back():
    song = song_from_bytes(file_with_keys((0, "Eb"), (2 * BAR, "Cm"), (3 * BAR, "F#")))
    assert stated(song) == [(0, "Eb"), (2, "Cm"), (3, "F#")]
    again = song_from_bytes(song_to_bytes(song))
    assert again.key_signatures == song.key_signatures
    # a signature restating the key in force says nothing new and is left out
    restated = song_from_bytes(file_with_keys((0, "D"), (BAR, "D"), (2 * BAR, "Bm")))
    assert stated(restated) == [(0, "D"), (2, "Bm")]


def test_a_file_without_a_key_signature_is_written_without_one():
    song = song_from_bytes(file_with_keys())
    assert song.key_signatures == ()
    written = mido.MidiFile(file=__import__("io").BytesIO(song_to_bytes(song)))
    assert not [m for t in written.tracks for m in t if m.type == "key_signature"]


def test_a_cut_states_the_key_in_force_at_its_start():
    song = song_from_bytes(file_with_keys((0, "Eb"), (2 * BAR, "Cm"), (3 * BAR, "F#")))
    assert stated(song.slice_bars(1, 2)) == [(0, "Eb"), (1, "Cm")]
    assert stated(song.slice_bars(2, 2)) == [(0, "Cm"), (1, "F#")]
    assert signature_at(song.key_signatures, BAR - 1) == KeySignature(0, -3)


# ---- keys heard -------------------------------------------------------------------------------------
def test_new_music_states_its_key_and_a_change_of_accidentals():
    c_then_e = joined(cadence_song(0), cadence_song(4))  # 8 bars of C major, 8 of E major
    keys = bar_keys(c_then_e, c_then_e.n_bars)
    assert key_name(int(keys[0])) == "C major" and key_name(int(keys[-1])) == "E major"
    result = stated_keys(c_then_e)
    change = next(b for b in range(len(keys)) if keys[b] != keys[0])
    assert stated(result) == [(0, "C"), (change, "E")]
    assert result.tracks == c_then_e.tracks


def test_a_move_to_the_relative_key_states_nothing_new():
    c_then_a_minor = joined(cadence_song(0), cadence_song(9, minor=True))
    keys = bar_keys(c_then_a_minor, c_then_a_minor.n_bars)
    assert key_name(int(keys[-1])) == "A minor"
    assert stated(stated_keys(c_then_a_minor)) == [(0, "C")]


def test_a_continuation_keeps_the_pieces_signature_until_its_key_moves():
    piece = replace(joined(cadence_song(2), cadence_song(2)), key_signatures=(KeySignature(0, 0),))
    # the piece says C (a default many files carry) though it is heard in D: bars in its key
    # keep what it says, bars in another key state theirs
    assert stated(stated_keys(piece, 8)) == [(0, "C")]
    moved = replace(joined(cadence_song(2), cadence_song(3)), key_signatures=piece.key_signatures)
    result = stated(stated_keys(moved, 8))
    assert result[0] == (0, "C") and result[-1][1] == "Eb" and result[-1][0] >= 7
    # a piece that states no key gets none in its continued bars
    plain = joined(cadence_song(2), cadence_song(3))
    assert stated_keys(plain, 8) is plain


def test_bars_moved_to_the_other_mode_state_the_parallel_key():
    song = replace(cadence_song(0), key_signatures=(KeySignature(0, 0),))
    keys = bar_keys(song, song.n_bars)
    assert stated(parallel_keys(song, range(8), keys)) == [(0, "Cm")]
    assert stated(parallel_keys(song, [2, 3], keys)) == [(0, "C"), (2, "Cm"), (4, "C")]
    assert parallel_keys(cadence_song(0), range(8), keys).key_signatures == ()


def test_a_transfer_to_sad_states_the_minor_key_and_one_that_keeps_the_mode_keeps_it():
    song = replace(cadence_song(0), key_signatures=(KeySignature(0, 0),))
    sad = transform(song, HAPPY, SAD, 1.0)
    assert sad.tracks != song.tracks
    assert stated(sad) == [(0, "Cm")]
    assert stated(transform(song, HAPPY, SAD, 1.0, dims=("arousal",))) == [(0, "C")]
    assert transform(song, HAPPY, SAD, 0.0) is song


# ---- the engine -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    torch.set_num_threads(1)
    return Engine.load(save_tiny_model(tmp_path_factory.mktemp("models") / "tiny"), device="cpu")


def test_generated_and_rewritten_music_state_the_key_heard_and_write_it(engine):
    pieces = engine.generate_many([HAPPY, SAD], bars=4, seed=3)
    song = replace(cadence_song(0), key_signatures=(KeySignature(0, 5),))
    (rewritten,) = engine.transfer_many([song], [SAD], seed=0, method="rewrite")
    for piece in [*pieces, rewritten]:
        keys = bar_keys(piece, piece.n_bars)
        assert piece.key_signatures[0] == KeySignature.of_key(0, int(keys[0]))
        assert song_from_bytes(song_to_bytes(piece)).key_signatures == piece.key_signatures
    *growing, last = engine.generate(HAPPY, bars=4, seed=3)
    assert last.song.key_signatures == stated_keys(last.song).key_signatures != ()
    assert all(event.song.key_signatures == () for event in growing)  # stated once, at the end


def test_continue_and_fill_keep_the_pieces_signatures_before_the_new_bars(engine):
    song = replace(cadence_song(0), key_signatures=(KeySignature(0, 0), KeySignature(4 * BAR, 2)))
    (continued,) = engine.continue_piece(song, 2, seed=0)
    assert continued.key_signatures[:2] == song.key_signatures
    (filled,) = engine.fill(song, 2, 3, seed=0)
    assert filled.key_signatures == song.key_signatures


def test_a_key_signature_no_key_has_is_left_out_and_the_music_read(caplog):
    import logging

    data = bytearray(file_with_keys((0, "Eb"), (BAR, "F#m")))
    first = data.find(b"\xff\x59\x02")
    data[first + 3] = 12  # twelve sharps: no key has them
    with caplog.at_level(logging.WARNING):
        song = song_from_bytes(bytes(data), source="odd.mid")
    assert song.note_count == 24
    assert stated(song) == [(1, "F#m")]  # the readable one stays
    assert "odd.mid: a key signature no key has is left out" in caplog.text
