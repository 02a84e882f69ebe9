"""Fuzz: 1,200 mutated MIDI files. Reading gives a Song or a MidiReadError, nothing else; tokenising
and measuring whatever was read never raises."""

from __future__ import annotations

import random

import pytest
from songs import RawTrack, midi_bytes, piece

from emostudio.midi import MidiReadError, Song, read_midi
from emostudio.tokens import Tokenizer
from emostudio.tokens.features import bar_keys, global_key, polyphony

N_MUTANTS = 1200
TOKENIZER = Tokenizer()


def seed_files() -> list[bytes]:
    """Valid files of every shape the reader handles: both types, several resolutions, tempo and
    metre changes, drums, pitch 0, many tracks."""
    drums = RawTrack([(36, i * 240, i * 240 + 60, 100) for i in range(16)], channel=9, program=None)
    low = RawTrack([(0, 0, 480, 40), (6, 480, 960, 50)], channel=3, program=33)
    many = [
        RawTrack([(50 + i, i * 30, i * 30 + 200, 70)], channel=i % 16, program=i) for i in range(20)
    ]
    return [
        midi_bytes(piece(0)),
        midi_bytes(piece(1, ticks_per_beat=96), midi_type=0, ticks_per_beat=96),
        midi_bytes(
            [*piece(2, ticks_per_beat=1024), drums, low],
            ticks_per_beat=1024,
            tempos=[(0, 70.0), (2048, 150.0)],
            time_signatures=[(0, 7, 8), (4096, 3, 4)],
        ),
        midi_bytes(many, ticks_per_beat=384),
        midi_bytes(piece(5, bars=8), tempos=[]),
    ]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        if not buf:
            break
        i = rng.randrange(len(buf))
        if op < 0.4:  # flip bits of one byte
            buf[i] ^= 1 << rng.randrange(8)
        elif op < 0.55:  # a random byte
            buf[i] = rng.randrange(256)
        elif op < 0.7:  # truncate
            del buf[i:]
        elif op < 0.85:  # insert random bytes
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op < 0.95:  # delete a run
            del buf[i : i + rng.randint(1, 16)]
        else:  # duplicate a run (repeated events, wrong chunk lengths)
            j = min(len(buf), i + rng.randint(1, 64))
            buf[j:j] = buf[i:j]
    return bytes(buf)


@pytest.mark.slow
def test_mutated_files_are_read_or_refused_and_never_crash_tokenising(tmp_path):
    rng = random.Random(20240607)
    seeds = seed_files()
    read, refused = 0, 0
    for n in range(N_MUTANTS):
        data = mutate(seeds[n % len(seeds)], rng)
        path = tmp_path / f"m{n % 50}.mid"
        path.write_bytes(data)
        try:
            song = read_midi(path)
        except MidiReadError as exc:
            assert str(exc).startswith(str(path)) and "\n" not in str(exc)
            refused += 1
            continue
        assert isinstance(song, Song)
        read += 1
        bars = TOKENIZER.encode_bars(song)
        decoded = TOKENIZER.decode(TOKENIZER.encode(song))
        assert decoded.n_skipped == 0
        n_bars = len(bars)
        assert polyphony(song, n_bars).shape == (n_bars, 16)
        keys = bar_keys(song, n_bars)
        assert keys.shape == (n_bars,) and (keys >= 0).all() and (keys < 24).all()
        assert 0 <= global_key(song) < 24
    # both outcomes must be exercised, or the mutations are too weak or too strong
    assert read > 100 and refused > 100, (read, refused)
