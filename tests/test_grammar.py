"""The one token grammar (tokens.vocab.FOLLOWS): the decoder's masks and Tokenizer.decode agree on it."""

from __future__ import annotations

import itertools

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emostudio.generation.grammar import BASS_BIAS_BELOW, BASS_DURATION_BIAS, BarGrammar
from emostudio.midi.families import Family
from emostudio.tokens import BAR, EOS, Tokenizer
from emostudio.tokens.vocab import FOLLOWS, TokenKind

TOKENIZER = Tokenizer()
VOCAB = TOKENIZER.vocab
KINDS = VOCAB.kind_list
#: kinds Tokenizer.decode never tolerates out of place (it tolerates a stray Beat, a missing Tempo)
STRICT = (TokenKind.TEMPO, TokenKind.VELOCITY, TokenKind.DURATION)


@st.composite
def accepted_sequences(draw) -> list[int]:
    """A piece the grammar accepts: bars walked token by token through BarGrammar's masks, then EOS."""
    bar_len = draw(st.integers(6, 40))
    grammar = BarGrammar(VOCAB, bar_len)
    ids: list[int] = []
    for _ in range(draw(st.integers(1, 3))):
        families = torch.tensor([draw(st.lists(st.booleans(), min_size=5, max_size=5))])
        families[0, draw(st.integers(0, 4))] = True
        state = grammar.start(1, families, need_note=torch.tensor([draw(st.booleans())]))
        ids.append(BAR)
        while not state.all_done:
            choices = torch.nonzero(grammar.allowed(state)[0]).flatten().tolist()
            token = draw(st.sampled_from(choices))
            grammar.advance(state, [token])
            if token != BAR:
                ids.append(token)
        assert ids[::-1].index(BAR) + 1 <= bar_len  # the bar, its Bar included, fits
    return [*ids, EOS]


def test_every_kind_has_its_followers():
    assert set(FOLLOWS) == set(TokenKind)
    assert FOLLOWS[TokenKind.BAR] == {TokenKind.TEMPO}
    assert FOLLOWS[TokenKind.PITCH] == {TokenKind.VELOCITY}


@settings(max_examples=150)
@given(accepted_sequences())
def test_every_accepted_sequence_decodes_with_nothing_skipped(ids):
    for prev, kind in itertools.pairwise(ids):
        assert KINDS[kind] in FOLLOWS[KINDS[prev]]
    result = TOKENIZER.decode(np.array(ids))
    assert result.n_skipped == 0, result.reasons
    # one note per Duration, a family's pitch written twice at one position once
    notes, bar, pos = set(), -1, -1
    for t in ids:
        if t == BAR:
            bar += 1
        elif KINDS[t] == TokenKind.BEAT:
            pos = int(VOCAB.value_of_id[t])
        elif KINDS[t] == TokenKind.PITCH:
            notes.add((bar, pos, t))
    assert result.n_notes == len(notes)
    assert TOKENIZER.check(ids).ok


@settings(max_examples=150)
@given(accepted_sequences(), st.data())
def test_one_illegal_token_is_skipped_and_changes_nothing(ids, data):
    # between two notes (or after a bar's Tempo) the table forbids a Tempo, Velocity or Duration
    boundaries = [
        i + 1
        for i, t in enumerate(ids[:-1])
        if KINDS[t] in (TokenKind.TEMPO, TokenKind.DURATION) and KINDS[ids[i + 1]] != TokenKind.PAD
    ]
    at = data.draw(st.sampled_from(boundaries))
    kind = data.draw(st.sampled_from(STRICT))
    assert kind not in FOLLOWS[KINDS[ids[at - 1]]]
    token = data.draw(st.sampled_from([t for t in range(len(VOCAB)) if KINDS[t] == kind]))
    clean = TOKENIZER.decode(np.array(ids))
    result = TOKENIZER.decode(np.array([*ids[:at], token, *ids[at:]]))
    assert result.n_skipped == 1, result.reasons
    assert result.song == clean.song


@settings(max_examples=60)
@given(st.integers(0, 10_000))
def test_choices_are_the_columns_that_hold_every_allowed_token(seed):
    """BarGrammar.choices: a run of ids [lo, hi) holding every row's allowed tokens, and the same
    mask there as allowed(), at every token (one grammar for every example, so that most rows'
    situations and batches' stacked masks come from its caches)."""
    rng = np.random.default_rng(seed)
    grammar = SHARED_GRAMMAR
    state = grammar.start(3)
    for _ in range(int(rng.integers(1, 30))):
        allowed = grammar.allowed(state)
        mask, lo, hi, group, bias = grammar.choices(state)
        assert group is None  # no cadence: no row restricted
        assert bias is None  # no bass tracking: no bias
        assert torch.equal(mask, allowed[:, lo:hi])
        assert not allowed[:, :lo].any() and not allowed[:, hi:].any()
        assert mask[:, 0].any() and mask[:, -1].any()  # the narrowest such run
        picks = [int(rng.choice(np.flatnonzero(m.numpy()))) for m in allowed]
        grammar.advance(state, picks)
        for i, done in enumerate(state.done):
            if done:
                state.restart(i, -1, bool(rng.integers(2)))


SHARED_GRAMMAR = BarGrammar(VOCAB, 40)


def test_after_a_pitch_only_its_familys_velocities_are_choices():
    grammar = BarGrammar(VOCAB, 40)
    state = grammar.start(1)
    for kind in (TokenKind.TEMPO, TokenKind.BEAT, TokenKind.PITCH):
        token = int(torch.nonzero(grammar.allowed(state)[0]).flatten()[-1])
        assert KINDS[token] == kind
        grammar.advance(state, [token])
    _, lo, hi, _, _ = grammar.choices(state)
    assert {KINDS[t] for t in range(lo, hi)} == {TokenKind.VELOCITY}
    assert hi - lo < VOCAB.size // 10


def test_a_cadence_restricts_pitched_notes_from_its_position_on():
    """A row given pitch classes (C E G) from sub-beat 8: before it every pitch may come; from it
    only those pitch classes, but any drum."""
    grammar = BarGrammar(VOCAB, 40)
    state = grammar.start(1)
    state.restart(0, -1, False, (1 << 0) | (1 << 4) | (1 << 7), 8)
    pitched = (VOCAB.kinds == TokenKind.PITCH) & (VOCAB.family_of_id != 0)
    drums = (VOCAB.kinds == TokenKind.PITCH) & (VOCAB.family_of_id == 0)
    beats = np.flatnonzero(VOCAB.kinds == TokenKind.BEAT)
    tempo = int(np.flatnonzero(VOCAB.kinds == TokenKind.TEMPO)[0])
    grammar.advance(state, [tempo])
    early = int(beats[VOCAB.value_of_id[beats] == 4][0])
    grammar.advance(state, [early])
    allowed = grammar.allowed(state)[0].numpy()
    assert allowed[pitched].all() and allowed[drums].all()
    state.restart(0, -1, False, (1 << 0) | (1 << 4) | (1 << 7), 8)
    grammar.advance(state, [tempo])
    late = int(beats[VOCAB.value_of_id[beats] == 8][0])
    grammar.advance(state, [late])
    allowed = grammar.allowed(state)[0].numpy()
    pcs = {int(VOCAB.value_of_id[t]) % 12 for t in np.flatnonzero(allowed & pitched)}
    assert pcs == {0, 4, 7}
    assert allowed[drums].all()


def _token(kind: TokenKind, value: int, family: Family | None = None) -> int:
    ids = (VOCAB.kinds == kind) & (VOCAB.value_of_id == value)
    if family is not None:
        ids &= VOCAB.family_of_id == int(family)
    return int(np.flatnonzero(ids)[0])


def _bias(grammar: BarGrammar, state) -> np.ndarray | None:
    """Each token's bias per unit of the bass setting for the batch's one row (None: no bias)."""
    c = grammar.choices(state)
    if c.bias is None:
        return None
    whole = np.zeros(VOCAB.size, dtype=np.float32)
    whole[c.lo : c.hi] = c.bias[0].numpy()
    return whole


def test_the_bass_bias_raises_a_bars_first_note_into_the_bass_and_holds_it():
    """With bass tracking, the bar's first note (Bar Tempo Beat -> Pitch) has the pitched
    families' pitches below C3 raised by 1 and nothing else; a first note that lands there has
    its Duration raised by half the log of its length; later notes and a first note above the
    register have no bias, and without tracking nothing has."""
    pitches = VOCAB.kinds == TokenKind.PITCH
    bass = (
        pitches & (VOCAB.family_of_id != int(Family.DRUMS)) & (VOCAB.value_of_id < BASS_BIAS_BELOW)
    )
    tempo = int(np.flatnonzero(VOCAB.kinds == TokenKind.TEMPO)[0])
    beat0, beat8 = _token(TokenKind.BEAT, 0), _token(TokenKind.BEAT, 8)
    velocity = _token(TokenKind.VELOCITY, 10, Family.PIANO)
    duration = _token(TokenKind.DURATION, 4, Family.PIANO)
    durations = (VOCAB.kinds == TokenKind.DURATION) & (VOCAB.family_of_id == int(Family.PIANO))

    def first_note(pitch: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(the bias of the bar's first pitch, of that note's duration) when it is ``pitch``."""
        state.restart(0, -1, False)
        feed(tempo)
        assert _bias(grammar, state) is None  # a Beat next: no bias
        feed(beat0)
        on_pitch = _bias(grammar, state)
        feed(_token(TokenKind.PITCH, pitch, Family.PIANO), velocity)
        on_duration = _bias(grammar, state)
        feed(duration)
        return on_pitch, on_duration

    def feed(*tokens: int) -> None:
        for token in tokens:
            grammar.advance(state, [token])

    grammar = BarGrammar(VOCAB, 40)
    state = grammar.start(1, bass=True)
    on_pitch, on_duration = first_note(36)
    assert on_pitch is not None and on_duration is not None
    assert (on_pitch[bass] == 1).all() and (on_pitch[~bass] == 0).all()
    values = VOCAB.value_of_id[durations]
    assert np.allclose(on_duration[durations], BASS_DURATION_BIAS * np.log(values))
    assert (on_duration[~durations] == 0).all()
    # the same onset's next note, and a note at a later onset: no bias
    assert _bias(grammar, state) is None
    feed(_token(TokenKind.PITCH, 40, Family.PIANO), velocity)
    assert _bias(grammar, state) is None
    feed(duration, beat8)
    assert _bias(grammar, state) is None
    feed(_token(TokenKind.PITCH, 30, Family.PIANO), velocity)
    assert _bias(grammar, state) is None
    # a new bar whose first note is above the register: its pitch biased, its duration not
    on_pitch, on_duration = first_note(60)
    assert on_pitch is not None and on_duration is None
    # rows keep their own state through keep()
    state.keep([0])
    assert state.bass_note == [False]
    # no tracking: no bias anywhere
    state = grammar.start(1)
    assert first_note(36) == (None, None)
