"""The engine on a tiny untrained model: bar counts, streaming, curves, transfer, recognise, cancel."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from songs import TRIADS, bar_pitch_classes, notes_in
from tiny_models import gpu_that_cannot_take_models, save_tiny_model

from emostudio.decoding import DecodingSettings
from emostudio.emotion import Emotion
from emostudio.generation import MODEL_DIR_ENV, BarEvent, Engine, EngineError, SamplingError
from emostudio.generation.batches import draw
from emostudio.generation.decode import DecodePlan, ModelSteps, decode_bars
from emostudio.generation.latents import _weights, bar_noise, typicality
from emostudio.midi import Note, Song, TempoChange, Track
from emostudio.midi.song import TICKS_PER_BAR, TICKS_PER_SUBBEAT
from emostudio.model.store import ModelLoadError

HAPPY, TENSE, SAD, CALM = (Emotion.from_quadrant(q) for q in (1, 2, 3, 4))
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.set_num_threads(1)
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny", separated=True)


@pytest.fixture(scope="module")
def engine(model_dir):
    return Engine.load(model_dir, device="cpu")


def source_song(n_bars: int = 5) -> Song:
    """Piano (program 5, named 'Keys') chords and a bass line at 90 BPM; bar 2 is empty."""
    keys, bass = [], []
    for bar in range(n_bars):
        if bar == 2:
            continue
        t0 = bar * TICKS_PER_BAR
        for beat in range(4):
            start = t0 + beat * 4 * TICKS_PER_SUBBEAT
            keys += [Note(60 + i, start, start + 2 * TICKS_PER_SUBBEAT, 70) for i in (0, 4, 7)]
        bass.append(Note(36, t0, t0 + TICKS_PER_BAR, 90))
    # the bass comes first: a transfer keeps the source's track order (not the family order)
    return Song(
        tracks=(
            Track(33, False, "Bass").with_notes(bass),
            Track(5, False, "Keys").with_notes(keys),
        ),
        tempos=(TempoChange(0, 90.0),),
        name="source",
    )


def test_generate_yields_exactly_the_bars_asked_for(engine):
    events = list(engine.generate(HAPPY, bars=6, seed=1))
    assert [e.index for e in events] == list(range(6))
    assert all(isinstance(e, BarEvent) and e.total == 6 for e in events)
    assert [e.song.n_bars for e in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1].song.note_count > 0
    assert len(events[-1].song.tempos) == 1  # the first bar's tempo holds for the piece


def test_generate_streams_before_finishing(engine):
    stream = engine.generate(SAD, bars=4, seed=2)
    first = next(stream)
    assert first.index == 0 and first.song.n_bars == 1
    rest = list(stream)
    assert len(rest) == 3 and rest[-1].song.n_bars == 4


def test_same_seed_same_piece_other_seed_other_piece(engine):
    a = list(engine.generate(CALM, bars=3, seed=7))[-1].song
    b = list(engine.generate(CALM, bars=3, seed=7))[-1].song
    c = list(engine.generate(CALM, bars=3, seed=8))[-1].song
    assert a == b
    assert a != c


def latents(engine: Engine, targets, generator, settings: DecodingSettings | None = None):
    with engine._decoding():
        return draw(engine, targets, generator, settings or engine.settings)


def test_decoded_bars_follow_the_grammar_and_fit_the_bar(engine):
    gen = torch.Generator().manual_seed(3)
    z = latents(engine, [[TENSE] * 5] * 3, gen)
    bars = {r: [] for r in range(3)}
    plan = DecodePlan.free([5, 5, 5])
    for _, rows in decode_bars(
        engine.steps, engine.grammar, z, plan, 1.5, 1.0, gen, engine._decoding
    ):
        for r, tokens in enumerate(rows):
            assert 2 < len(tokens) <= engine.bar_len  # Bar, Tempo and at least one note
            bars[r].append(tokens)
    for r in range(3):
        report = engine.tokenizer.check(np.concatenate(bars[r]))
        assert report.ok, report.reasons
        assert report.n_bars == 5


def decoded_rows(engine: Engine, steps, z: torch.Tensor, plan: DecodePlan, rows: list[int]):
    """Rows ``rows`` of ``z`` and ``plan`` decoded by ``steps`` at a temperature near 0 (seed 0):
    per row, each bar's tokens."""
    row_plan = dataclasses.replace(
        plan, need_note=plan.need_note[rows], given=[plan.given[i] for i in rows]
    )
    out: list[list[list[int]]] = [[] for _ in rows]
    gen = torch.Generator().manual_seed(0)
    for _, bars in decode_bars(
        steps, engine.grammar, z[rows], row_plan, 1e-4, 0.95, gen, engine._decoding
    ):
        for row, tokens in zip(out, bars):
            row.append(tokens.tolist())
    return out


@pytest.mark.slow
def test_a_ragged_batch_decodes_each_row_as_it_would_alone():
    """Rows at their own pace (FastDecoder) decode what each row decodes alone and what the
    reference steps decode in lock-step: shown on the shipped model where sampling is deterministic (temperature near 0), with given bars (bar 0 of every
    row, bar 2 of one row), an exact return (bar 4 repeats bar 0) and the first bar's tempo
    held."""
    engine = Engine.load(SHIPPED, device="cpu")
    # seed 3: every choice's best logit leads the next by at least 0.004, far above the float
    # rounding by which the three ways differ (~1e-5), so the test does not hang on a tie
    z = latents(engine, [[TENSE] * 6, [CALM] * 6, [HAPPY] * 6], torch.Generator().manual_seed(3))
    window = engine._window([source_song()], [5])[0]
    given_bar = [tokens[tokens != 0].numpy() for tokens in window]
    given = [{0: given_bar[0]}, {0: given_bar[1]}, {0: given_bar[3], 2: given_bar[4]}]
    plan = dataclasses.replace(DecodePlan.free([6, 6, 6]), given=given, repeats={4: 0})

    together = decoded_rows(engine, engine.steps, z, plan, [0, 1, 2])
    assert together == decoded_rows(engine, ModelSteps(engine.model), z, plan, [0, 1, 2])
    assert together == [decoded_rows(engine, engine.steps, z, plan, [i])[0] for i in range(3)]
    for row, first in zip(together, (0, 1, 3)):
        assert row[0] == row[4] == given_bar[first].tolist() != row[3]
        assert len({bar[1] for bar in row}) == 1  # one tempo
        assert len({tuple(bar) for bar in row}) >= 4
    assert together[2][2] == given_bar[4].tolist() != together[1][2]


def test_a_prefix_every_row_shares_is_decoded_once_and_changes_nothing(monkeypatch):
    """Given bars that every row takes with the same latent (continue's and fill's context) go
    through the decoder as one row; the rows then decode what each decodes alone and what the
    reference steps decode in lock-step (the shipped model, temperature near 0)."""
    engine = Engine.load(SHIPPED, device="cpu")
    z = latents(engine, [[TENSE] * 5, [CALM] * 5, [HAPPY] * 5], torch.Generator().manual_seed(3))
    z = z.clone()
    z[:, :2] = z[0, :2].clone()  # bars 0 and 1: one latent for every row
    window = engine._window([source_song()], [5])[0]
    context = {t: window[t][window[t] != 0].numpy() for t in (0, 1)}
    plan = dataclasses.replace(DecodePlan.free([5, 5, 5]), given=[context] * 3)
    batch_sizes: list[int] = []
    step = engine.steps.step

    def counted(tokens, *args, **kwargs):
        batch_sizes.append(tokens.shape[0])
        return step(tokens, *args, **kwargs)

    monkeypatch.setattr(engine.steps, "step", counted)
    together = decoded_rows(engine, engine.steps, z, plan, [0, 1, 2])
    assert batch_sizes == [1, 1]  # the two shared bars, once each; then ragged steps
    assert together == decoded_rows(engine, ModelSteps(engine.model), z, plan, [0, 1, 2])
    assert together == [decoded_rows(engine, engine.steps, z, plan, [i])[0] for i in range(3)]
    for row in together:
        assert row[:2] == [context[0].tolist(), context[1].tolist()]
    assert len({tuple(map(tuple, row[2:])) for row in together}) == 3


def test_a_batch_decodes_each_row_to_its_own_length(engine):
    """Rows of 2, 5 and 3 bars in one batch: each row's bars, then empty arrays."""
    z = latents(engine, [[TENSE] * 5] * 3, torch.Generator().manual_seed(2))
    counts = [2, 5, 3]
    plan = DecodePlan.free(counts)
    gen = torch.Generator().manual_seed(0)
    bars = [
        rows
        for _, rows in decode_bars(
            engine.steps, engine.grammar, z, plan, 1.0, 0.95, gen, engine._decoding, None, counts
        )
    ]
    assert len(bars) == 5
    for i, n in enumerate(counts):
        assert all(len(rows[i]) > 2 for rows in bars[:n])  # Bar, Tempo and a note
        assert all(len(rows[i]) == 0 for rows in bars[n:])


def test_target_latents_follow_the_components_and_the_middle_is_between(engine):
    gen = torch.Generator().manual_seed(0)
    curve = [TENSE] * 3 + [CALM] * 3 + [Emotion(0.0, 0.0)]
    z = latents(engine, [curve], gen)[0].detach().numpy()  # [7, 8]
    z_r, z_k = z[:, :4], z[:, 4:]
    assert np.all(z_r[:3] > 2.0) and np.all(z_r[3:6] < -2.0)  # arousal high, then low
    assert np.all(z_k[:3] < -2.0) and np.all(z_k[3:6] > 2.0)  # valence low, then high
    assert np.all(np.abs(z[6]) < 0.5)  # the centre of the pad: halfway between the components


@pytest.mark.parametrize("rho", [0.0, 0.9])
def test_bar_noise_is_standard_normal_with_the_asked_neighbour_correlation(rho):
    noise = bar_noise(
        (4000, 6, 4), torch.Generator().manual_seed(1), rho, torch.device("cpu")
    ).numpy()
    assert (
        abs(noise.std() - 1.0) < 0.03 and abs(noise[:, -1].std() - 1.0) < 0.05
    )  # every bar N(0, 1)
    lag1 = np.mean([np.corrcoef(noise[:, t, 0], noise[:, t + 1, 0])[0, 1] for t in range(5)])
    assert abs(lag1 - rho) < 0.05


def test_continuity_holds_the_key_latent_only(engine):
    settings = DecodingSettings(continuity=0.95)
    z = latents(engine, [[HAPPY] * 6] * 3000, torch.Generator().manual_seed(2), settings)
    z = z.detach().numpy()
    lag1 = [
        np.corrcoef(z[:, 2, i], z[:, 3, i])[0, 1] for i in range(8)
    ]  # bars 2 and 3, each dimension
    assert all(abs(c) < 0.06 for c in lag1[:4])  # z_r: a fresh draw every bar
    assert all(abs(c - 0.95) < 0.03 for c in lag1[4:])  # z_k: the piece keeps its key


def test_continuity_and_latent_temperature_out_of_range_are_refused():
    with pytest.raises(ValueError, match="continuity"):
        DecodingSettings(continuity=1.0)
    with pytest.raises(ValueError, match="latent temperature"):
        DecodingSettings(latent_temperature=-0.1)
    with pytest.raises(ValueError, match="rhythm persistence"):
        DecodingSettings(rhythm_persistence=1.5)


def test_latent_draws_out_of_range_are_refused():
    for bad in (0, 65, 1.5):
        with pytest.raises(ValueError, match="latent draws"):
            DecodingSettings(latent_draws=bad)
    assert DecodingSettings(latent_draws=8.0).latent_draws == 8  # what --settings parsing gives


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory):
    """An engine whose mixture components overlap (unit variances), so that the model hears its
    latents in a class with every probability between 0 and 1 (the trained model does)."""
    return Engine.load(save_tiny_model(tmp_path_factory.mktemp("models") / "tiny"), device="cpu")


def test_the_kept_draw_is_the_most_typical_of_the_candidates_drawn(overlapping):
    engine = overlapping
    between = Emotion(valence=0.2, arousal=-0.3)
    targets = [[HAPPY] * 4, [SAD, SAD, between, between]]
    one = DecodingSettings(latent_draws=1)
    five = DecodingSettings(latent_draws=5)
    kept = latents(engine, targets, torch.Generator().manual_seed(4), five)
    # the same generator state draws the five candidates of each row side by side
    many = [row for row in targets for _ in range(5)]
    candidates = latents(engine, many, torch.Generator().manual_seed(4), one)
    with torch.no_grad():
        score = typicality(engine.model, candidates, _weights(many, "cpu")).view(2, 5)
    for row in range(2):
        best = int(score[row].argmax())
        assert torch.equal(kept[row], candidates[row * 5 + best])
        assert score[row, best] > score[row].min()  # the candidates differ: a real choice


def test_more_draws_give_latents_the_model_hears_as_the_target(overlapping):
    engine = overlapping
    targets = [[TENSE] * 4] * 200

    def sure(draws: int) -> float:
        """Mean log probability of the target's classes under the model's own mixtures."""
        settings = DecodingSettings(latent_draws=draws)
        z = latents(engine, targets, torch.Generator().manual_seed(9), settings)
        with torch.no_grad():
            return float(typicality(engine.model, z, _weights(targets, "cpu")).mean())

    assert sure(1) < sure(4) < sure(16)


def test_typicality_prefers_latents_the_model_places_where_the_target_is(engine):
    model = engine.model

    def towards_high(share: float) -> torch.Tensor:
        """Both latents ``share`` of the way from the low class's mean to the high one's."""
        parts = [
            p.means[0] + share * (p.means[1] - p.means[0]) for p in (model.prior_r, model.prior_k)
        ]
        return torch.cat(parts)

    z = torch.stack([towards_high(s) for s in (0.5, 0.6, 0.4)])[:, None, :].repeat(1, 3, 1)
    with torch.no_grad():
        middle = typicality(
            model, z, _weights([[Emotion(valence=0.0, arousal=0.0)] * 3] * 3, "cpu")
        )
        happy = typicality(model, z, _weights([[HAPPY] * 3] * 3, "cpu"))
        sad = typicality(model, z, _weights([[SAD] * 3] * 3, "cpu"))
    assert torch.allclose(middle, middle[0].expand(3))  # the pad's centre: every latent alike
    assert happy[1] > happy[0] > happy[2]  # happy: nearer the high classes
    assert sad[2] > sad[0] > sad[1]


def test_latent_temperature_scales_the_spread_of_the_draws(engine):
    still = DecodingSettings(latent_temperature=0.0)
    z = latents(engine, [[HAPPY, SAD]], torch.Generator().manual_seed(0), still)[0]
    for row, emotion in zip(z, (HAPPY, SAD)):  # no noise: exactly the mixed component means
        w_r, w_k = emotion.component_weights()
        for prior, w, part in (
            (engine.model.prior_r, w_r, row[:4]),
            (engine.model.prior_k, w_k, row[4:]),
        ):
            torch.testing.assert_close(part, (1 - w) * prior.means[0] + w * prior.means[1])
    spreads = []
    for tau in (0.5, 1.0):
        settings = DecodingSettings(latent_temperature=tau)
        z = latents(engine, [[HAPPY] * 2000], torch.Generator().manual_seed(0), settings)[0]
        spreads.append(float(z.detach().std(0).mean()))
    assert spreads[0] == pytest.approx(0.5 * spreads[1], rel=1e-4)


def test_emotion_curve_needs_one_target_per_bar(engine):
    events = list(engine.generate([TENSE, TENSE, CALM, CALM], bars=4, seed=0))
    assert len(events) == 4
    with pytest.raises(EngineError, match="one target per bar"):
        list(engine.generate([TENSE, CALM], bars=4))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"bars": 0}, EngineError),
        ({"bars": 2.5}, EngineError),
        ({"settings": {"temperature": 0.0}}, SamplingError),
        ({"settings": {"top_p": 1.5}}, SamplingError),
    ],
)
def test_bad_generation_settings_are_refused(engine, kwargs, error):
    with pytest.raises(error):
        if "settings" in kwargs:
            kwargs = {"settings": DecodingSettings(**kwargs["settings"])}
        list(engine.generate(HAPPY, **{"bars": 2, **kwargs}))


def test_cancel_stops_generation_early(engine):
    cancel = threading.Event()
    events = []
    for event in engine.generate(HAPPY, bars=8, seed=0, cancel=cancel):
        events.append(event)
        cancel.set()
    assert len(events) == 1
    cancel = threading.Event()
    cancel.set()
    assert list(engine.generate(HAPPY, bars=8, cancel=cancel)) == []


def test_cancel_stops_a_ragged_batch_early(engine):
    z = latents(engine, [[TENSE] * 6] * 3, torch.Generator().manual_seed(1))
    cancel = threading.Event()
    gen = torch.Generator().manual_seed(0)
    bars = []
    for t, rows in decode_bars(
        engine.steps,
        engine.grammar,
        z,
        DecodePlan.free([6] * 3),
        1.0,
        0.95,
        gen,
        engine._decoding,
        cancel,
    ):
        bars.append(t)
        assert len(rows) == 3
        cancel.set()
    assert bars == [0]


def test_transfer_keeps_bars_tempo_and_instruments(engine):
    song = source_song(5)
    events = list(engine.transfer(song, SAD, strength=1.0, seed=4, method="rewrite"))
    assert [e.index for e in events] == list(range(5))
    out = events[-1].song
    assert out.n_bars == song.n_bars
    assert out.tempos == song.tempos
    kept = [(t.program, t.name, t.family) for t in out.tracks]
    assert kept == [
        (t.program, t.name, t.family) for t in song.tracks if (t.program, t.name, t.family) in kept
    ]
    assert out.note_count > 0


def test_a_rewrite_at_strength_zero_returns_the_input(engine):
    song = source_song(4)
    to_sad = list(engine.transfer(song, SAD, strength=0.0, seed=5, method="rewrite"))[-1].song
    assert to_sad is song


def test_transfer_moves_only_the_chosen_dimension(engine):
    song = source_song(4)
    code = engine.encode(song)
    z_r, z_k = engine.transfer_latents(song, HAPPY, strength=1.0, dims=("arousal",))
    np.testing.assert_allclose(z_k, code.z_k, atol=1e-6)
    means = engine.model.prior_r.means.detach().numpy()
    w = HAPPY.component_weights()[0]
    mu_source = code.q_arousal @ means
    tau = engine.settings.latent_temperature
    # full strength: the target's mean plus the bar's deviation from the source's, scaled by tau
    shift = (1 - w) * means[0] + w * means[1] - mu_source + (tau - 1.0) * (code.z_r - mu_source)
    np.testing.assert_allclose(z_r, code.z_r + shift, atol=1e-5)
    half_r, _ = engine.transfer_latents(song, HAPPY, strength=0.5, dims=("arousal",))
    np.testing.assert_allclose(half_r, code.z_r + 0.5 * shift, atol=1e-5)


def test_transfer_at_tau_one_keeps_each_bars_deviation(model_dir):
    engine = Engine.load(model_dir, device="cpu", settings=DecodingSettings(latent_temperature=1.0))
    song = source_song(4)
    code = engine.encode(song)
    z_r, _ = engine.transfer_latents(song, SAD, strength=1.0, dims=("arousal",))
    means = engine.model.prior_r.means.detach().numpy()
    w = SAD.component_weights()[0]
    np.testing.assert_allclose(
        z_r, code.z_r + (1 - w) * means[0] + w * means[1] - code.q_arousal @ means, atol=1e-5
    )


def test_transfer_many_matches_lengths(engine):
    songs = [source_song(3), source_song(5)]
    out = engine.transfer_many(songs, [CALM, TENSE], seed=0, method="rewrite")
    assert [s.n_bars for s in out] == [s.n_bars for s in songs] == [2, 5]
    assert engine.generate_many([HAPPY, SAD, CALM], bars=2, seed=0, batch_size=2)[2].n_bars == 2


@pytest.mark.parametrize("kwargs", [{"strength": 1.5}, {"dims": ("tempo",)}, {"dims": ()}])
def test_bad_transfer_settings_are_refused(engine, kwargs):
    with pytest.raises(EngineError):
        list(engine.transfer(source_song(3), SAD, **kwargs))


def test_recognise_gives_probabilities_per_bar_and_overall(engine):
    song = source_song(5)
    rec = engine.recognise(song)
    assert rec.arousal.shape == rec.valence.shape == (5,)
    for p in (rec.arousal, rec.valence, np.array([rec.overall_arousal, rec.overall_valence])):
        assert np.all((p >= 0) & (p <= 1))
    assert rec.quadrant == rec.emotion.quadrant
    assert (rec.emotion.arousal >= 0) == (rec.overall_arousal >= 0.5)


def test_the_encoders_run_on_their_own_thread_count_and_the_decoder_on_its_own(
    model_dir, monkeypatch
):
    """Recognition, transfer and continue encode with ``encode_threads`` and decode with
    ``threads``; the caller's thread count is back afterwards, also when the encoder fails."""
    engine = Engine.load(model_dir, device="cpu", threads=1)
    engine.encode_threads = 2
    seen: dict[str, set[int]] = {"encode": set(), "decode": set()}
    encode, step = engine.model.encode, engine.steps.step

    def counted_encode(*args, **kwargs):
        seen["encode"].add(torch.get_num_threads())
        return encode(*args, **kwargs)

    def counted_step(*args, **kwargs):
        seen["decode"].add(torch.get_num_threads())
        return step(*args, **kwargs)

    monkeypatch.setattr(engine.model, "encode", counted_encode)
    monkeypatch.setattr(engine.steps, "step", counted_step)
    before = torch.get_num_threads()
    song = source_song(4)
    engine.recognise(song)
    engine.encode(song)
    list(engine.transfer(song, SAD, seed=0))
    engine.continue_piece(song, 2, seed=0)
    assert seen == {"encode": {2}, "decode": {1}}
    assert torch.get_num_threads() == before

    def failing_encode(*args, **kwargs):
        raise RuntimeError("encoder failed")

    monkeypatch.setattr(engine.model, "encode", failing_encode)
    with pytest.raises(RuntimeError, match="encoder failed"):
        engine.recognise(song)
    assert torch.get_num_threads() == before


def test_the_encode_thread_count_defaults_to_two_cores_at_most(model_dir, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert Engine.load(model_dir, device="cpu", threads=1).encode_threads == 2
    assert Engine.load(model_dir, device="cpu", threads=4).encode_threads == 4
    assert Engine.load(model_dir, device="cpu", threads=None).encode_threads is None
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert Engine.load(model_dir, device="cpu", threads=1).encode_threads == 1


def test_empty_piece_is_refused(engine):
    with pytest.raises(EngineError, match="no notes"):
        engine.recognise(Song(name="empty"))
    with pytest.raises(EngineError, match="no notes"):
        list(engine.transfer(Song(), SAD))


def test_load_errors_are_one_line(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelLoadError) as info:
        Engine.load(tmp_path)
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(ModelLoadError, match="no default model"):
        Engine.load(None)


def test_default_model_comes_from_the_environment(model_dir, monkeypatch):
    monkeypatch.setenv(MODEL_DIR_ENV, str(model_dir))
    engine = Engine.load(None, device="auto")
    assert engine.model_dir == model_dir
    assert engine.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_auto_falls_back_to_the_cpu_when_the_gpu_cannot_take_the_model(model_dir, monkeypatch):
    gpu_that_cannot_take_models(monkeypatch)
    engine = Engine.load(model_dir, device="auto")
    assert engine.device == "cpu"
    assert engine.note == "the GPU cannot take the model (CUDA error: out of memory)"
    assert list(engine.generate(HAPPY, bars=2, seed=0))[-1].song.n_bars == 2


def test_asking_for_a_gpu_that_cannot_take_the_model_is_a_one_line_error(model_dir, monkeypatch):
    gpu_that_cannot_take_models(monkeypatch)
    with pytest.raises(ModelLoadError) as info:
        Engine.load(model_dir, device="cuda")
    assert "\n" not in str(info.value)
    assert "out of memory" in str(info.value) and "--device cpu" in str(info.value)


def test_a_model_loaded_where_asked_has_no_note(engine):
    assert engine.note == ""


def test_decode_many_decodes_each_latent_code(engine):
    codes = [engine.encode(source_song(n)) for n in (2, 5)]
    songs = engine.decode_many([(c.z_r, c.z_k) for c in codes], seed=0, batch_size=2)
    assert [s.n_bars for s in songs] == [len(c.z_r) for c in codes] == [2, 5]
    with pytest.raises(EngineError):
        engine.decode_many([(codes[0].z_r, codes[1].z_k)])


@pytest.mark.parametrize("form, rows", [("AABA", 3), ("none", 3), ("AABA", 1)])
def test_phrase_ends_cadence_on_a_triad(engine, form, rows):
    """With a cadence, the pitched notes of every phrase end (bars 4, 8, 12) from its cadence's
    sub-beat on are one major or minor triad's; without one they are not (a random model). One
    row decodes in lock-step, three each at its own pace."""
    targets = [HAPPY, SAD, TENSE][:rows]
    for cadence, since in ((1.0, 0), (0.5, 8)):
        s = DecodingSettings(cadence=cadence)
        songs = engine.generate_many(targets, bars=12, seed=3, settings=s, form=form)
        ends = [bar_pitch_classes(song, t, since) for song in songs for t in (3, 7, 11)]
        assert any(ends)
        assert all(bits == 0 or any(bits & ~triad == 0 for triad in TRIADS) for bits in ends)
    free = engine.generate_many(targets, bars=12, seed=3, form=form)
    ends = [bar_pitch_classes(song, t) for song in free for t in (3, 7, 11)]
    assert not all(bits == 0 or any(bits & ~triad == 0 for triad in TRIADS) for bits in ends)


def _first_notes(engine: Engine, bars: list[np.ndarray]) -> list[tuple[int, int]]:
    """Each bar's first note (Bar Tempo Beat Pitch Velocity Duration) of a pitched family:
    (its pitch, its duration in sub-beats)."""
    vocab = engine.tokenizer.vocab
    firsts = []
    for tokens in bars:
        if len(tokens) >= 6 and vocab.family_of_id[tokens[3]] != 0:  # not a drum
            firsts.append((int(vocab.value_of_id[tokens[3]]), int(vocab.value_of_id[tokens[5]])))
    return firsts


@pytest.mark.parametrize("rows", [1, 3])
def test_the_bass_setting_draws_bar_starts_into_the_bass_and_holds_them(engine, rows):
    """decode_bars with bass=4 against 0 (the same latents and seed): more bars' first notes
    below C3, and those held longer. One row decodes in lock-step, three each at its own pace."""
    share, held = {}, {}
    for bass in (0.0, 4.0):
        gen = torch.Generator().manual_seed(4)
        z = latents(engine, [[TENSE] * 16] * rows, torch.Generator().manual_seed(4))
        firsts = []
        for _ in range(6 // rows):
            plan = DecodePlan.free([16] * rows)
            decoded = decode_bars(
                engine.steps, engine.grammar, z, plan, 1.0, 0.95, gen, engine._decoding, bass=bass
            )
            firsts += [f for _, bars in decoded for f in _first_notes(engine, bars)]
        low = [duration for pitch, duration in firsts if pitch < 48]
        share[bass], held[bass] = len(low) / len(firsts), float(np.mean(low))
    assert share[4.0] > share[0.0] + 0.25
    assert held[4.0] > held[0.0]


def test_bass_out_of_range_is_refused():
    for bass in (-0.5, 4.5):
        with pytest.raises(ValueError, match="bass"):
            DecodingSettings(bass=bass)


def test_cadence_must_be_a_share_of_a_bar():
    with pytest.raises(ValueError, match="cadence"):
        DecodingSettings(cadence=1.5)


def test_a_continuation_cadences_at_its_phrase_ends_and_closes(engine):
    """The new bars that end a 4-bar phrase of the piece's grid (bar 8) and the last (bar 9) land
    on a triad with a whole-bar cadence; the piece's bars stay."""
    song = source_song(5)
    for cadence in (1.0, 0.0):
        s = DecodingSettings(cadence=cadence)
        takes = engine.continue_piece(song, 4, variations=3, seed=2, settings=s)
        ends = [bar_pitch_classes(take, t) for take in takes for t in (7, 8)]
        on_triads = all(bits == 0 or any(bits & ~t == 0 for t in TRIADS) for bits in ends)
        assert any(ends) and on_triads == (cadence == 1.0)
        assert all(notes_in(take, 0, 4) == notes_in(song, 0, 4) for take in takes)
