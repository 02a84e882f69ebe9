"""Model folders: save -> load gives identical outputs; clear errors for anything else; no pickle."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from emostudio.model import (
    CDGMVAE,
    ModelConfig,
    ModelLoadError,
    load_model,
    resolve_device,
    save_model,
)
from emostudio.model.store import recover_folder, write_folder_atomically
from emostudio.tokens import TokenizerConfig

torch.set_num_threads(1)


def tiny_model(**changes) -> CDGMVAE:
    torch.manual_seed(0)
    return CDGMVAE(
        ModelConfig.for_tokenizer(
            TokenizerConfig(),
            d_model=32,
            n_heads=2,
            n_enc_layers=1,
            n_dec_layers=1,
            bar_len=16,
            latent_r=4,
            latent_k=4,
            feature_hidden=16,
            **changes,
        )
    )


def tokens(model: CDGMVAE) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    t = torch.randint(3, model.config.vocab_size, (2, 3, model.config.bar_len), generator=g)
    t[:, :, 0] = 2
    t[:, :, 10:] = 0
    return t


def test_save_load_identical_outputs(tmp_path):
    model = tiny_model().eval()
    folder = save_model(
        model, TokenizerConfig(), tmp_path / "m", card_text="# card\n", metrics={"acc": 0.5}
    )
    assert sorted(p.name for p in folder.iterdir()) == [
        "MODEL_CARD.md",
        "config.json",
        "metrics.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    loaded, tokenizer = load_model(folder, "cpu")
    assert not loaded.training and len(tokenizer.vocab) == model.config.vocab_size
    assert loaded.config == model.config
    x = tokens(model)
    z = torch.randn(2, 3, model.config.latent)
    with torch.no_grad():
        assert torch.equal(model.decoder_logits(x, z), loaded.decoder_logits(x, z))
        a, b = model.encode(x), loaded.encode(x)
    assert torch.equal(a.mu_r, b.mu_r) and torch.equal(a.logvar_k, b.logvar_k)
    assert torch.equal(model.prior_k.means, loaded.prior_k.means)
    assert not list(tmp_path.glob(".m.tmp-*"))  # the temporary folder is gone


def test_loading_leaves_weight_initialisation_as_it_was(tmp_path):
    """Loading builds the model without drawing random weights (the file replaces them): every
    parameter is the file's, trainable, and a model built afterwards is initialised as usual."""
    model = tiny_model().eval()
    folder = save_model(model, TokenizerConfig(), tmp_path / "m", card_text="# card\n")
    loaded, _ = load_model(folder, "cpu")
    saved = load_file(folder / "model.safetensors")
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, saved[name]), name
    assert all(p.requires_grad for p in loaded.parameters())
    fresh = tiny_model()
    assert torch.equal(fresh.decoder.head.weight, model.decoder.head.weight)  # same seed, same init
    assert (
        0.01 < fresh.decoder.head.weight.detach().std().item() < 0.03
    )  # the model's own N(0, 0.02)


def test_overwrite_is_atomic_and_recoverable(tmp_path):
    model = tiny_model()
    save_model(model, TokenizerConfig(), tmp_path / "m")
    save_model(model, TokenizerConfig(), tmp_path / "m")  # replacing works
    # a crash between the two renames leaves only m.old: recovery puts it back
    (tmp_path / "m").rename(tmp_path / "m.old")
    recover_folder(tmp_path / "m")
    assert load_model(tmp_path / "m")[0].config == model.config
    with pytest.raises(TypeError):  # a write failing half-way (here: content that is not bytes)
        write_folder_atomically(tmp_path / "m", {"config.json": b"{}", "model.safetensors": None})
    assert load_model(tmp_path / "m")[0].config == model.config  # the old folder is untouched
    assert not list(tmp_path.glob(".m.tmp-*"))


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="not a folder"):
        load_model(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="not an emostudio model folder"):
        load_model(tmp_path / "empty")


def test_other_format_version(tmp_path):
    folder = save_model(tiny_model(), TokenizerConfig(), tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="format version 99 is not supported"):
        load_model(folder)


def test_wrong_shapes(tmp_path):
    folder = save_model(tiny_model(), TokenizerConfig(), tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["latent_r"] = 8  # the weights were saved for latent_r = 4
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=r"has shape .* config.json implies"):
        load_model(folder)


def test_missing_weights_and_corrupt_file(tmp_path):
    folder = save_model(tiny_model(), TokenizerConfig(), tmp_path / "m")
    state = load_file(folder / "model.safetensors")
    del state["prior_r.means"]
    save_file(state, folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match="missing"):
        load_model(folder)
    (folder / "model.safetensors").write_bytes(b"\x80\x04 not safetensors")
    with pytest.raises(ModelLoadError, match=r"cannot read model\.safetensors"):
        load_model(folder)


def test_vocabulary_must_match_tokenizer(tmp_path):
    folder = save_model(tiny_model(), TokenizerConfig(), tmp_path / "m")
    (folder / "tokenizer.json").write_text(json.dumps(TokenizerConfig(tempo_bins=12).to_dict()))
    with pytest.raises(ModelLoadError, match="does not match its tokenizer"):
        load_model(folder)


def test_resolve_device(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    # auto takes the GPU exactly when there is one; cuda without one is an error that says so
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [("n_dec_layers", 100_000), ("d_model", 1e9), ("d_model", 10**9), ("latent_k", True)],
)
def test_crafted_sizes_are_refused_before_anything_is_built(tmp_path, monkeypatch, name, value):
    import emostudio.model.store as store

    folder = save_model(tiny_model(), TokenizerConfig(), tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg[name] = value
    (folder / "config.json").write_text(json.dumps(cfg))

    def never(*args, **kwargs):
        raise AssertionError("a model was built from an unchecked config")

    monkeypatch.setattr(store, "CDGMVAE", never)
    with pytest.raises(ModelLoadError, match=name) as info:
        load_model(folder)
    assert "\n" not in str(info.value)


def test_a_config_that_disagrees_with_the_weights_allocates_nothing(tmp_path, monkeypatch):
    import emostudio.model.store as store

    folder = save_model(tiny_model(), TokenizerConfig(), tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["d_model"], cfg["n_dec_layers"] = 4096, 64  # within bounds, but not these weights
    (folder / "config.json").write_text(json.dumps(cfg))

    def never(*args, **kwargs):
        raise AssertionError("weights were read before the shapes were checked")

    monkeypatch.setattr(store, "load_file", never)
    with pytest.raises(ModelLoadError, match=r"config\.json implies|do not match"):
        load_model(folder)
