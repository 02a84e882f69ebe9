"""The small untrained model the engine, transfer and CLI tests load: seeded, so its outputs can be
pinned (``tests/test_engine_pinned.py``)."""

from __future__ import annotations

from pathlib import Path

import torch

from emostudio.model import CDGMVAE, ModelConfig, save_model
from emostudio.tokens import TokenizerConfig


def save_tiny_model(folder: Path, bar_len: int = 40, separated: bool = False) -> Path:
    """A d_model 32, one-layer model (seed 0) saved in ``folder``. ``separated``: well separated
    mixture components with small variances, so latents drawn from them are predictable."""
    torch.manual_seed(0)
    tc = TokenizerConfig()
    config = ModelConfig.for_tokenizer(
        tc,
        d_model=32,
        n_heads=2,
        n_enc_layers=1,
        n_dec_layers=1,
        bar_len=bar_len,
        latent_r=4,
        latent_k=4,
        feature_hidden=16,
        dropout=0.0,
    )
    model = CDGMVAE(config)
    if separated:
        with torch.no_grad():
            for prior in (model.prior_r, model.prior_k):
                prior.means.copy_(torch.tensor([[-3.0] * 4, [3.0] * 4]))
                prior.logvars.fill_(-6.0)
    return save_model(model, tc, folder)


def gpu_that_cannot_take_models(monkeypatch):
    """torch sees a GPU, and moving a model onto it fails as CUDA does when out of memory."""
    original = CDGMVAE.to

    def to(self, *args, **kwargs):
        target = args[0] if args else kwargs.get("device")
        if target is not None and torch.device(target).type == "cuda":
            raise RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be ...")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(CDGMVAE, "to", to)
