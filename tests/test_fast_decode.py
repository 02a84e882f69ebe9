"""FastDecoder computes the reference decoder step's logits (tiny random model and the shipped one)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from emostudio.generation.decode import ModelSteps
from emostudio.model import CDGMVAE, ModelConfig, load_model
from emostudio.model.fast_decode import FastDecoder
from emostudio.tokens import TokenizerConfig

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "default"

TINY = dict(
    d_model=32,
    n_heads=2,
    n_enc_layers=1,
    n_dec_layers=2,
    bar_len=20,
    latent_r=4,
    latent_k=6,
    feature_hidden=16,
    dropout=0.0,
)


def random_bars(config: ModelConfig, b: int, t: int, seed: int) -> torch.Tensor:
    """long[B, T, L]: bars starting with Bar, random tokens, then PAD (one row's bar is all PAD
    after its Bar, as a row that finished early is fed PAD)."""
    g = torch.Generator().manual_seed(seed)
    length = config.bar_len
    tokens = torch.randint(3, config.vocab_size, (b, t, length), generator=g)
    tokens[:, :, 0] = 2  # Bar
    lengths = torch.randint(2, length + 1, (b, t), generator=g)
    tokens[torch.arange(length)[None, None, :] >= lengths[..., None]] = 0
    return tokens


def both_decodes(model: CDGMVAE, tokens: torch.Tensor, z: torch.Tensor, chunks):
    """Decode ``tokens`` [B, T, L] with the reference step and the fast step, feeding each bar in
    the given (lo, hi) slot chunks; -> (reference, fast) logits, each [B, T, L, V]."""
    b, t, _ = tokens.shape
    out = []
    with torch.inference_mode():
        for decoder in (ModelSteps(model), FastDecoder(model)):
            state = decoder.start(b)
            bars = []
            for i in range(t):
                pieces = []
                for lo, hi in chunks:
                    logits, state = decoder.step(tokens[:, i, lo:hi], z[:, i], state)
                    pieces.append(logits)
                bars.append(torch.cat(pieces, dim=1))
                state = decoder.next_bar(state)
            out.append(torch.stack(bars, dim=1))
    return out[0], out[1]


@pytest.mark.parametrize(
    "pitch_classes, memory_bars", [(False, 1), (True, 1), (True, 2), (True, 3)]
)
def test_fast_step_equals_the_reference_step_on_a_tiny_model(pitch_classes, memory_bars):
    torch.manual_seed(0)
    config = ModelConfig.for_tokenizer(
        TokenizerConfig(),
        **TINY,
        pitch_class_tokens=pitch_classes,
        decoder_memory_bars=memory_bars,
    )
    model = CDGMVAE(config).eval()
    if pitch_classes:  # they start at zero: give them weights so the folding is tested
        with torch.no_grad():
            model.decoder.stack.pc_embed.weight.normal_(0, 0.5)
            model.decoder.stack.pc_embed.weight[-1] = 0  # the padding index
            model.decoder.pc_head.weight.normal_(0, 0.5)
    tokens = random_bars(config, b=3, t=5, seed=1)
    z = torch.randn(3, 5, config.latent)
    one_by_one = [(j, j + 1) for j in range(config.bar_len)]
    for chunks in (one_by_one, [(0, 1), (1, 7), (7, config.bar_len)]):
        reference, fast = both_decodes(model, tokens, z, chunks)
        real = tokens != 0
        assert torch.isfinite(fast).all()
        assert torch.allclose(reference[real], fast[real], atol=1e-4)
        assert not torch.allclose(reference[real][1:], reference[real][:-1], atol=1e-2)
    with pytest.raises(ValueError, match="at most"):
        fast_decoder = FastDecoder(model)
        fast_decoder.step(torch.full((3, config.bar_len + 1), 2), z[:, 0], fast_decoder.start(3))


def test_fast_step_equals_the_reference_step_on_the_shipped_model():
    model, _ = load_model(SHIPPED, torch.device("cpu"))
    config = model.config
    tokens = random_bars(config, b=2, t=3, seed=2)
    z = torch.randn(2, 3, config.latent, generator=torch.Generator().manual_seed(3))
    reference, fast = both_decodes(model, tokens, z, [(j, j + 1) for j in range(config.bar_len)])
    real = tokens != 0
    assert torch.allclose(reference[real], fast[real], atol=1e-4)


def test_the_fast_state_lives_on_the_models_device():
    config = ModelConfig.for_tokenizer(TokenizerConfig(), **TINY)
    fast = FastDecoder(CDGMVAE(config).eval())
    state = fast.start(2)
    tensors = [*state.keys, *state.values, state.bias, fast.embed, fast.head]
    assert {t.device for t in tensors} == {torch.device("cpu")}
    assert state.keys[0].shape == (2, config.n_heads, 32 // config.n_heads, 2 * config.bar_len)
    longer = FastDecoder(CDGMVAE(config.with_changes(decoder_memory_bars=3)).eval()).start(1)
    assert longer.keys[0].shape[-1] == 4 * config.bar_len  # three bars of memory and the bar


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fast_step_on_cuda_equals_the_reference_step_on_cpu():
    torch.manual_seed(0)
    config = ModelConfig.for_tokenizer(TokenizerConfig(), **TINY)
    model = CDGMVAE(config).eval()
    tokens = random_bars(config, b=3, t=3, seed=4)
    z = torch.randn(3, 3, config.latent)
    reference, _ = both_decodes(model, tokens, z, [(j, j + 1) for j in range(config.bar_len)])
    _, fast = both_decodes(model.cuda(), tokens.cuda(), z.cuda(), [(0, 1), (1, config.bar_len)])
    real = tokens != 0
    assert torch.allclose(reference[real], fast.cpu()[real], atol=1e-3)


def test_fast_step_gives_the_columns_asked_for():
    torch.manual_seed(0)
    config = ModelConfig.for_tokenizer(TokenizerConfig(), **TINY)
    fast = FastDecoder(CDGMVAE(config).eval())
    z = torch.randn(2, config.latent)
    tokens = torch.tensor([[2], [2]])
    with torch.inference_mode():
        whole, _ = fast.step(tokens, z, fast.start(2))
        part, _ = fast.step(tokens, z, fast.start(2), columns=(40, 90))
    assert part.shape == (2, 1, 50)
    assert torch.allclose(part, whole[..., 40:90], atol=1e-6)


def lone_logits(fast: FastDecoder, bars: list[torch.Tensor], z: torch.Tensor) -> list[torch.Tensor]:
    """One row decoded alone, one token a step: each bar's logits [n, V]."""
    out = []
    state = fast.start(1)
    for t, bar in enumerate(bars):
        rows = []
        for token in bar:
            logits, state = fast.step(token.view(1, 1), z[None, t], state)
            rows.append(logits[0, 0])
        out.append(torch.stack(rows))
        state = fast.next_bar(state)
    return out


@pytest.mark.parametrize("memory_bars", [1, 2])
def test_ragged_rows_get_the_logits_of_each_row_decoded_alone(memory_bars):
    """Rows at their own bar and slot (bars of different lengths, one row's second bar fed in one
    step, rows leaving when done) see exactly what each sees decoded alone."""
    torch.manual_seed(0)
    config = ModelConfig.for_tokenizer(TokenizerConfig(), **TINY, decoder_memory_bars=memory_bars)
    fast = FastDecoder(CDGMVAE(config).eval())
    g = torch.Generator().manual_seed(5)
    lengths = [[5, 12, 3], [17, 2, 9, 4], [8, 8]]  # tokens per bar, each row
    bars = []
    for row in lengths:
        row_bars = [torch.randint(3, config.vocab_size, (n,), generator=g) for n in row]
        for bar in row_bars:
            bar[0] = 2  # Bar
        bars.append(row_bars)
    z = torch.randn(3, 4, config.latent, generator=g)
    forced = {(1, 1)}  # row 1's bar 1 is fed in one step (a teacher-forced bar)
    with torch.inference_mode():
        alone = [lone_logits(fast, row_bars, z[i]) for i, row_bars in enumerate(bars)]
        rs = fast.ragged(fast.start(3))
        rows, bar, slot = [0, 1, 2], [0, 0, 0], [0, 0, 0]
        seen: dict[tuple[int, int, int], torch.Tensor] = {}
        while rows:
            tokens = torch.stack([bars[i][bar[i]][slot[i]] for i in rows])
            z_bars = torch.stack([z[i, bar[i]] for i in rows])
            logits = fast.step_ragged(tokens, z_bars, rs)
            for p, i in enumerate(rows):
                seen[i, bar[i], slot[i]] = logits[p]
                slot[i] += 1
            for p, i in enumerate(rows):
                while bar[i] < len(bars[i]) and slot[i] == len(bars[i][bar[i]]):
                    fast.next_bar_row(rs, p)
                    bar[i], slot[i] = bar[i] + 1, 0
                    if (i, bar[i]) in forced:
                        fast.feed_row(rs, p, bars[i][bar[i]], z[i, bar[i]])
                        slot[i] = len(bars[i][bar[i]])
            keep = [p for p, i in enumerate(rows) if bar[i] < len(bars[i])]
            if len(keep) < len(rows):
                fast.keep_rows(rs, keep)
                rows = [rows[p] for p in keep]
    compared = 0
    for (i, t, j), logits in seen.items():
        assert torch.allclose(logits, alone[i][t][j], atol=1e-5), (i, t, j)
        compared += 1
    assert compared == sum(map(sum, lengths)) - len(bars[1][1])
    assert not torch.allclose(seen[0, 1, 0], seen[2, 1, 0], atol=1e-2)
