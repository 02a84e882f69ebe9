"""Tokenizer: encode -> decode round trips, config JSON, vocabulary, grammar check, transposition."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from songs import any_songs, grid_songs, song_of

from emostudio.midi import TICKS_PER_BAR, Family, Song, TempoChange
from emostudio.midi.song import TICKS_PER_SUBBEAT
from emostudio.tokens import BAR, EOS, PAD, ConfigError, Tokenizer, TokenizerConfig
from emostudio.tokens.config import TOKENIZER_FORMAT_VERSION
from emostudio.tokens.vocab import TokenKind

TOKENIZER = Tokenizer()


def kept(song: Song, decoded: Song) -> tuple[set, set]:
    return TOKENIZER.quantise(song).as_set(), TOKENIZER.quantise(decoded).as_set()


# ---- round trips ---------------------------------------------------------------------------------
@settings(max_examples=150)
@given(grid_songs())
def test_round_trip_keeps_every_note_on_the_grid(song):
    result = TOKENIZER.decode(TOKENIZER.encode(song))
    assert result.n_skipped == 0
    before, after = kept(song, result.song)
    assert after == before
    # nothing was merged either: every distinct (family, pitch, onset) of the input comes back
    distinct = {(int(t.family), n.pitch, n.start) for t in song.tracks for n in t.notes}
    assert {(f, p, o * 120) for f, p, o, _ in after} == distinct


@settings(max_examples=100)
@given(any_songs())
def test_round_trip_of_any_song_keeps_its_quantised_notes(song):
    result = TOKENIZER.decode(TOKENIZER.encode(song))
    assert result.n_skipped == 0
    before, after = kept(song, result.song)
    assert after == before


@settings(max_examples=60)
@given(grid_songs(max_bars=3))
def test_velocity_and_tempo_survive_as_their_bins(song):
    decoded = TOKENIZER.decode(TOKENIZER.encode(song)).song
    q0, q1 = TOKENIZER.quantise(song), TOKENIZER.quantise(decoded)
    assert np.array_equal(q0.velocity, q1.velocity)
    c = TOKENIZER.config
    for bar in range(max(1, song.n_bars)):
        tick = bar * TICKS_PER_BAR
        assert c.tempo_bin(decoded.bpm_at(tick)) == c.tempo_bin(song.bpm_at(tick))


def test_bars_start_with_bar_and_tempo_and_padding_cuts_or_extends():
    song = song_of([(60, 0, 4), (64, 20, 4)])  # bar 0 and bar 1
    bars = TOKENIZER.encode_bars(song)
    assert len(bars) == 2
    v = TOKENIZER.vocab
    for bar in bars:
        assert bar[0] == BAR and v.kinds[bar[1]] == TokenKind.TEMPO
    assert len(TOKENIZER.encode_bars(song, n_bars=5)) == 5
    assert len(TOKENIZER.encode_bars(song, n_bars=1)) == 1
    assert TOKENIZER.encode(song)[-1] == EOS
    names = v.to_names(bars[1])
    assert names[2:] == [
        "Beat_4",
        "Pitch-piano_64",
        f"Velocity-piano_{80 * 32 // 128}",
        "Duration-piano_4",
    ]


def test_empty_song_is_one_empty_bar():
    bars = TOKENIZER.encode_bars(Song())
    assert len(bars) == 1 and len(bars[0]) == 2
    assert TOKENIZER.decode(TOKENIZER.encode(Song())).song.note_count == 0


def test_long_notes_are_cut_to_one_bar_and_families_decode_to_their_slot():
    song = song_of([(40, 0, 40)], program=33)  # a bass note three bars long
    decoded = TOKENIZER.decode(TOKENIZER.encode(song)).song
    (track,) = decoded.tracks
    assert track.family is Family.BASS and track.notes[0].duration == TICKS_PER_BAR


def test_decode_with_template_keeps_programs_and_names():
    song = song_of([(60, 0, 4)], program=5)
    decoded = TOKENIZER.decode(TOKENIZER.encode(song), template=song).song
    assert decoded.tracks[0].program == 5
    assert (
        TOKENIZER.decode(TOKENIZER.encode(song)).song.tracks[0].program
        == Family.PIANO.default_program
    )


# ---- config and vocabulary ---------------------------------------------------------------------
def test_default_vocabulary_has_the_papers_923_tokens():
    assert len(TOKENIZER.vocab) == 923
    names = TOKENIZER.vocab.names
    assert names[PAD] == "PAD" and names[EOS] == "EOS" and names[BAR] == "Bar"
    assert len(set(names)) == len(names)
    assert TOKENIZER.vocab.id_of("Duration-strings_16") == 922


def test_vocabulary_size_follows_the_config():
    config = TokenizerConfig(velocity_bins=8, tempo_bins=12)
    assert len(Tokenizer(config).vocab) == 3 + 16 + 12 + 5 * (128 + 8 + 16)


def test_config_save_load_round_trip(tmp_path):
    config = TokenizerConfig(tempo_bins=12, velocity_bins=16, tempo_max_bpm=200.0)
    path = tmp_path / "tokenizer.json"
    config.save(path)
    assert TokenizerConfig.load(path) == config
    assert json.loads(path.read_text())["format_version"] == TOKENIZER_FORMAT_VERSION


@pytest.mark.parametrize(
    "content, message",
    [
        ({"format_version": TOKENIZER_FORMAT_VERSION + 1}, "format version"),
        ({"format_version": 0}, "format version"),
        ({"colour": "blue"}, "unknown fields"),
        ({"tempo_bins": 0}, "tempo_bins"),
        ([1, 2], "JSON object"),
    ],
)
def test_config_refuses_bad_files(tmp_path, content, message):
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ConfigError, match=message):
        TokenizerConfig.load(path)


def test_config_refuses_unreadable_json(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        TokenizerConfig.load(path)


# ---- grammar: the decoder never trusts its input -----------------------------------------------
@settings(max_examples=300)
@given(st.lists(st.integers(-5, 1000), max_size=200))
def test_decoder_never_raises_on_random_ids(ids):
    result = TOKENIZER.decode(np.array(ids, dtype=np.int64))
    report = TOKENIZER.check(ids)
    assert report.n_invalid == result.n_skipped == sum(result.reasons.values())
    assert report.n_notes == result.n_notes
    # decoding stops at the first EOS; every note took a Duration token
    assert result.n_tokens == (ids.index(EOS) + 1 if EOS in ids else len(ids))
    kinds = TOKENIZER.vocab.kinds
    durations = sum(0 <= t < len(kinds) and kinds[t] == TokenKind.DURATION for t in ids)
    assert result.n_notes <= durations
    for track in result.song.tracks:
        for note in track.notes:
            assert 0 <= note.pitch < 128 and note.end > note.start


@settings(max_examples=150)
@given(grid_songs(max_bars=3), st.data())
def test_dropping_one_token_of_a_note_loses_that_note_and_no_other(song, data):
    ids = TOKENIZER.encode(song).tolist()
    kinds = TOKENIZER.vocab.kinds
    pitches = [i for i, t in enumerate(ids) if kinds[t] == TokenKind.PITCH]
    if not pitches:
        return
    start = data.draw(st.sampled_from(pitches))  # the note's Pitch, Velocity, Duration
    dropped = start + data.draw(st.integers(0, 2))
    without_note = TOKENIZER.decode(ids[:start] + ids[start + 3 :])
    result = TOKENIZER.decode(ids[:dropped] + ids[dropped + 1 :])
    assert result.n_skipped >= 1
    assert result.n_notes == TOKENIZER.decode(ids).n_notes - 1
    assert (
        TOKENIZER.quantise(result.song).as_set() == TOKENIZER.quantise(without_note.song).as_set()
    )


def test_each_grammar_error_is_named_and_counted():
    v = TOKENIZER.vocab
    pitch = v.id_of("Pitch-piano_60")
    vel = v.id_of("Velocity-piano_20")
    dur = v.id_of("Duration-piano_4")
    beat0, beat4 = v.id_of("Beat_0"), v.id_of("Beat_4")
    tempo = v.id_of("Tempo_10")
    cases = {
        "event before the first Bar": [beat0, BAR, tempo],
        "Pitch before any Beat": [BAR, tempo, pitch, vel, dur],
        "Beat going backwards": [BAR, tempo, beat4, pitch, vel, dur, beat0],
        "Tempo not right after Bar": [BAR, tempo, beat0, tempo],
        "incomplete note": [BAR, tempo, beat0, pitch, beat4],
        "Velocity without its Pitch": [BAR, tempo, beat0, vel],
        "Duration without its Pitch and Velocity": [BAR, tempo, beat0, dur],
        "out-of-vocabulary id": [BAR, tempo, 5000],
    }
    for reason, ids in cases.items():
        report = TOKENIZER.check(ids)
        assert report.reasons.get(reason, 0) >= 1, (reason, report.reasons)
        assert not report.ok
    good = [BAR, tempo, beat0, pitch, vel, dur, PAD, EOS, pitch]
    report = TOKENIZER.check(good)
    assert report.ok and report.n_notes == 1 and report.n_bars == 1


def test_mixed_family_note_is_skipped():
    v = TOKENIZER.vocab
    ids = [
        BAR,
        v.id_of("Tempo_3"),
        v.id_of("Beat_0"),
        v.id_of("Pitch-piano_60"),
        v.id_of("Velocity-bass_20"),
        v.id_of("Duration-piano_4"),
    ]
    result = TOKENIZER.decode(ids)
    assert result.n_notes == 0 and result.n_skipped == 2


# ---- transposition -----------------------------------------------------------------------------
def test_transpose_moves_pitched_notes_and_leaves_drums():
    melodic = song_of([(60, 0, 4), (67, 4, 4)])
    drums = song_of([(36, 0, 1)], drums=True)
    song = Song(tracks=melodic.tracks + drums.tracks, tempos=(TempoChange(0, 120.0),))
    ids = TOKENIZER.encode(song)
    up = TOKENIZER.transpose(ids, 3)
    decoded = TOKENIZER.decode(up).song
    by_family = {t.family: sorted(n.pitch for n in t.notes) for t in decoded.tracks}
    assert by_family[Family.PIANO] == [63, 70] and by_family[Family.DRUMS] == [36]
    assert TOKENIZER.transpose(ids, 0) is ids
    assert TOKENIZER.transpose(ids, 61) is None  # 67 + 61 > 127
    assert TOKENIZER.transpose(ids, -61) is None  # 60 - 61 < 0


@pytest.mark.corpus
@pytest.mark.parametrize("source", ["emopia", "pop909", "vgmidi"])
def test_round_trip_on_shared_files(shared_data, source):
    """Every grid note of 20 real files of each source comes back (all files: benchmarks/roundtrip.py)."""
    from emostudio.midi import read_midi

    paths = sorted((shared_data / source).glob("*.mid"))[::30][:20]
    assert paths
    for path in paths:
        song = read_midi(path)
        result = TOKENIZER.decode(TOKENIZER.encode(song), template=song)
        before, after = kept(song, result.song)
        assert after == before and result.n_skipped == 0, path.name


def test_transpose_leaves_ids_outside_the_vocabulary_alone():
    v = TOKENIZER.vocab
    ids = np.array(
        [BAR, v.id_of("Tempo_3"), v.id_of("Beat_0"), v.id_of("Pitch-piano_60"), -4, 5000]
    )
    out = TOKENIZER.transpose(ids, 2)
    assert out.tolist() == [
        BAR,
        v.id_of("Tempo_3"),
        v.id_of("Beat_0"),
        v.id_of("Pitch-piano_62"),
        -4,
        5000,
    ]


def test_a_note_written_twice_at_one_position_decodes_as_one_note_the_longer():
    """Sampling can write one family's pitch twice at one Beat; the song has it once (the longer,
    as encode keeps it), so decoding and encoding again gives the same song."""
    tok = Tokenizer()
    v = tok.vocab
    piano = v.families[Family.PIANO]

    def note(pitch: int, velocity_bin: int, duration: int) -> list[int]:
        return [
            piano.pitch + pitch,
            piano.velocity + velocity_bin,
            piano.duration + duration - 1,
        ]

    tempo = v.tempo + 5
    ids = [BAR, tempo, v.beat + 0, *note(60, 10, 4), *note(60, 20, 8), *note(64, 10, 4)]
    ids += [*note(64, 30, 2), v.beat + 4, *note(60, 10, 4)]
    song = tok.decode(np.array(ids)).song
    (track,) = song.tracks
    got = sorted(
        (n.pitch, n.start // TICKS_PER_SUBBEAT, (n.end - n.start) // TICKS_PER_SUBBEAT)
        for n in track.notes
    )
    assert got == [(60, 0, 8), (60, 4, 4), (64, 0, 4)]
    velocity = {(n.pitch, n.start): n.velocity for n in track.notes}
    assert velocity[(64, 0)] == tok.config.velocity_of_bin(10)  # the first of two equal lengths
    assert velocity[(60, 0)] == tok.config.velocity_of_bin(20)  # the longer one's
    again = tok.decode(tok.encode(song)).song
    assert again.tracks[0].notes == track.notes
