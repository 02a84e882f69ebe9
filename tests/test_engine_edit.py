"""Form, continue, fill, interpolate and variations in the engine (tiny untrained model)."""

from __future__ import annotations

import numpy as np
import pytest
import test_engine
import torch
from songs import notes_in
from test_engine import HAPPY, SAD, source_song

from emostudio.generation import Engine, EngineError
from emostudio.generation.decode import DecodePlan, decode_bars
from emostudio.generation.form import plan_form
from emostudio.generation.splice import replace_bars
from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.midi.song import TICKS_PER_BAR

model_dir = test_engine.model_dir  # the tiny untrained model with well separated components


@pytest.fixture(scope="module")
def engine(model_dir):
    return Engine.load(model_dir, device="cpu")


def bar_notes(song: Song, bar: int) -> list[tuple[int, int, int]]:
    """(pitch, start within the bar, velocity) of the notes starting in ``bar``."""
    lo = bar * TICKS_PER_BAR
    return sorted(
        (n.pitch, n.start - lo, n.velocity)
        for t in song.tracks
        for n in t.notes
        if lo <= n.start < lo + TICKS_PER_BAR
    )


def long_song(n_bars: int = 8) -> Song:
    """A bar-by-bar changing melody over held chords, every bar with notes."""
    keys = []
    for bar in range(n_bars):
        t0 = bar * TICKS_PER_BAR
        keys += [Note(48 + (bar % 5) + i, t0, t0 + TICKS_PER_BAR, 70) for i in (0, 4, 7)]
        keys += [Note(72 + bar % 7, t0 + 240 * k, t0 + 240 * (k + 1), 90) for k in range(4)]
    return Song(tracks=(Track(0, False, "Piano").with_notes(keys),), tempos=(TempoChange(0, 96.0),))


# ---- the decoder's teacher-forced bars -----------------------------------------------------------
def decoder(engine):
    """decode_bars' arguments before z, plan and the generator, with its settings and scope."""

    def call(z, plan, generator):
        return decode_bars(
            engine.steps, engine.grammar, z, plan, 1.0, 0.95, generator, engine._decoding
        )

    return call


def test_forced_bars_come_back_as_given_alone_and_beside_sampled_rows(engine):
    tokens = engine._window([source_song(3)], [3])[0]
    given = engine._given(tokens, 0, 3)
    z = torch.zeros(2, 3, engine.model.config.latent)
    gen = torch.Generator().manual_seed(0)
    for plan in (
        DecodePlan(given=[given, given]),  # every row forced: one step a bar
        DecodePlan(given=[given, {}]),  # row 0 forced token by token beside a sampled row
    ):
        bars = [rows for _, rows in decoder(engine)(z, plan, gen)]
        for t, rows in enumerate(bars):
            np.testing.assert_array_equal(rows[0], given[t])


def test_a_repeated_bar_decodes_its_source_bars_tokens(engine):
    z = torch.randn(2, 4, engine.model.config.latent, generator=torch.Generator().manual_seed(1))
    plan = DecodePlan(repeats={2: 0, 3: 1})
    gen = torch.Generator().manual_seed(2)
    bars = [rows for _, rows in decoder(engine)(z, plan, gen)]
    for row in range(2):
        np.testing.assert_array_equal(bars[2][row], bars[0][row])
        np.testing.assert_array_equal(bars[3][row], bars[1][row])


# ---- form -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("form", ["AABA", "ABAB"])
def test_the_form_repeats_what_it_says_it_repeats(engine, form):
    plan = plan_form(form, 16, (0.0, 1.0, 1.0, 1.0))
    exact = [(t, p.source) for t, p in enumerate(plan) if p.source is not None and p.variation == 0]
    assert exact  # the form has returns
    for song in engine.generate_many([HAPPY, SAD], bars=16, seed=3, form=form):
        assert song.n_bars == 16
        for t, src in exact:
            assert bar_notes(song, t) == bar_notes(song, src), (form, t, src)


def test_an_unknown_form_is_refused(engine):
    with pytest.raises(EngineError, match="unknown form"):
        list(engine.generate(HAPPY, bars=4, form="rondo"))


# ---- continue -----------------------------------------------------------------------------------------
def test_continue_keeps_the_input_bars_and_adds_the_bars_asked_for(engine):
    song = long_song(6)
    results = engine.continue_piece(song, 4, target=SAD, variations=3, seed=4)
    assert len(results) == 3
    for result in results:
        assert result.n_bars == 10
        assert notes_in(result, 0, 5) == notes_in(song, 0, 5)
        assert result.tempos == song.tempos
        assert notes_in(result, 6, 9)  # the new bars hold notes
    assert len({tuple(notes_in(r, 6, 9)) for r in results}) == 3  # the variations differ


def test_continue_keeps_the_first_bar_whose_join_jumps_least(engine, monkeypatch):
    from emostudio.generation import pieces

    song, n = long_song(5), 5
    scored = []  # (seam distance, the candidate's first new bar)
    measure = pieces.seam_distance

    def spy(candidate, joins):
        assert list(joins) == [n - 1]  # the join of the piece's last bar and the first new one
        scored.append((measure(candidate, joins), notes_in(candidate, n, n)))
        return scored[-1][0]

    monkeypatch.setattr(pieces, "seam_distance", spy)
    (result,) = engine.continue_piece(song, 3, seed=8, candidates=3)
    assert len(scored) == 3
    assert len({tuple(bar) for _, bar in scored}) > 1  # the candidates differ
    # the smoothest, teacher-forced into the rest: its notes (pitch, start, end; the tokenizer
    # keeps one of two notes of a pitch at one onset, which an untrained model may sample)
    kept = min(scored)[1]
    assert {x[1:4] for x in notes_in(result, n, n)} == {x[1:4] for x in kept}
    assert notes_in(result, 0, n - 1) == notes_in(song, 0, n - 1)
    assert result.n_bars == n + 3
    with pytest.raises(EngineError, match="candidates"):
        engine.continue_piece(song, 3, candidates=0)


def test_a_seam_counts_a_jump_of_register_as_well_as_of_chroma_and_onsets():
    from emostudio.evaluation.structure import bar_jumps
    from emostudio.generation.pieces import TYPICAL_JUMPS, seam_distance

    song = long_song(4)
    up = Song(
        tracks=tuple(
            t.with_notes(
                [
                    Note(p.pitch + 12 * (p.start >= 2 * TICKS_PER_BAR), p.start, p.end, p.velocity)
                    for p in t.notes
                ]
            )
            for t in song.tracks
        ),
        tempos=song.tempos,
    )  # bars 3-4 an octave up: the same chroma and onsets
    same, jumped = bar_jumps(song), bar_jumps(up)
    assert same is not None and jumped is not None
    assert jumped[1, 0] == pytest.approx(same[1, 0])  # the bar distance does not see it
    extra = seam_distance(up, [1]) - seam_distance(song, [1])
    assert extra == pytest.approx(12.0 / TYPICAL_JUMPS[1])  # twelve semitones of pitch jump
    assert seam_distance(song, [1, 7]) == seam_distance(song, [1])  # joins outside are skipped


def test_continue_reaches_the_target_halfway_through_the_new_bars_and_holds_it(engine, monkeypatch):
    from emostudio.generation import pieces

    ramps = []
    blend = pieces.blend

    def spy(a, b, weights):
        ramps.append(list(weights))
        return blend(a, b, weights)

    monkeypatch.setattr(pieces, "blend", spy)
    engine.continue_piece(long_song(4), 8, target=SAD, seed=3, candidates=1)
    engine.continue_piece(long_song(4), 3, target=SAD, seed=3, candidates=1)
    assert ramps == [[0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0], [0.5, 1.0, 1.0]]


def test_continue_without_an_emotion_keeps_the_piece_latents(engine):
    (result,) = engine.continue_piece(long_song(2), 2, seed=5)
    assert result.n_bars == 4


# ---- fill ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("first", "last"), [(2, 4), (0, 1), (6, 7), (0, 7)])
def test_fill_rewrites_only_the_span(engine, first, last):
    song = long_song(8)
    results = engine.fill(song, first, last, variations=2, seed=6, candidates=2)
    assert len(results) == 2
    for result in results:
        assert result.n_bars == 8
        if first > 0:
            assert notes_in(result, 0, first - 1) == notes_in(song, 0, first - 1)
        if last < 7:
            assert notes_in(result, last + 1, 7) == notes_in(song, last + 1, 7)
        assert notes_in(result, first, last) != notes_in(song, first, last)
    assert notes_in(results[0], first, last) != notes_in(results[1], first, last)


def test_fill_refuses_bars_outside_the_piece(engine):
    with pytest.raises(EngineError, match="bars to fill"):
        engine.fill(long_song(4), 2, 4)
    with pytest.raises(EngineError, match="variations"):
        engine.fill(long_song(4), 1, 2, variations=0)


# ---- interpolate, splice -----------------------------------------------------------------------------
def test_interpolate_writes_the_bars_asked_for_in_each_variation(engine):
    results = engine.interpolate(long_song(3), source_song(5), 6, variations=2, seed=7)
    assert [r.n_bars for r in results] == [6, 6]
    assert notes_in(results[0], 0, 5) != notes_in(results[1], 0, 5)


def test_replace_bars_puts_notes_in_the_matching_track_and_keeps_the_rest():
    song = long_song(4)
    new = Song(
        tracks=(
            Track(0, False, "p").with_notes([Note(60, 0, 480, 80)]),
            Track(33, False, "bass").with_notes([Note(36, 0, 960, 80)]),
        )
    )
    out = replace_bars(song, 1, 2, new)
    assert notes_in(out, 0, 0) == notes_in(song, 0, 0)
    assert notes_in(out, 3, 3) == notes_in(song, 3, 3)
    assert notes_in(out, 1, 2) == [
        (0, 60, TICKS_PER_BAR, TICKS_PER_BAR + 480, 80),
        (33, 36, TICKS_PER_BAR, TICKS_PER_BAR + 960, 80),
    ]
    assert [t.program for t in out.tracks] == [0, 33]


def test_replace_bars_keeps_each_family_in_its_own_track_when_programs_are_shared():
    # POP909's way: melody, bridge and piano tracks all on program 0, told apart by their names
    def track(name: str, pitch: int, bar: int) -> Track:
        start = bar * TICKS_PER_BAR
        return Track(0, False, name).with_notes([Note(pitch, start, start + 480, 80)])

    song = Song(tracks=(track("MELODY", 72, 0), track("BRIDGE", 64, 0), track("PIANO", 48, 0)))
    new = Song(tracks=(track("PIANO", 50, 0), track("MELODY", 76, 0)))  # as decoded with it
    out = replace_bars(song, 1, 1, new)
    assert [t.name for t in out.tracks] == ["MELODY", "BRIDGE", "PIANO"]
    pitches = {t.name: [n.pitch for n in t.notes] for t in out.tracks}
    assert pitches == {"MELODY": [72, 76], "BRIDGE": [64], "PIANO": [48, 50]}


def test_seam_joins_measure_each_join_continue_and_fill_make(engine):
    from emostudio.evaluation.results import EvaluationSettings
    from emostudio.evaluation.stages import seam_joins
    from emostudio.evaluation.structure import JUMP_NAMES, splice_seams

    joins = seam_joins(engine, [long_song(6), long_song(2)], EvaluationSettings(seed=1))
    assert len(joins["continue"]) == 2  # one join per clip
    assert len(joins["fill"]) == 2  # both joins of the 6-bar clip's span; 2 bars leave no span
    assert all(len(j) == len(JUMP_NAMES) for j in joins["fill"])
    assert splice_seams([long_song(8), long_song(8)], 8).shape == (1, len(JUMP_NAMES))
