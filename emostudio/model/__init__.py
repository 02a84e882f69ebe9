"""The CDGMVAE emotion model (MODEL.md sections 2-3).

Modules, in the order data passes through them:

- ``config``     :class:`ModelConfig`: sizes and every objective weight/switch (frozen, JSON, versioned)
- ``layers``     Transformer blocks with bar-level segment recurrence, rotary (relative) positions
- ``prior``      :class:`GaussianMixturePrior`: learnable means/variances, Bayes' rule for q(y|z)
- ``cdgmvae``    :class:`CDGMVAE`: encoders E_r/E_k, decoder with KV cache, feature heads, adversaries
- ``objective``  the loss terms as pure functions (alpha variance penalty, MI-enhanced KL_y)
- ``store``      the one reader/writer of model folders: :func:`save_model`, :func:`load_model`
- ``fast_decode`` :class:`~emostudio.model.fast_decode.FastDecoder`: the decoder step packed for
  generation (same calls and logits as ``decoder_start/step/next_bar``, ~3x faster per token)

Inference API (stable; the generation engine uses exactly this)
----------------------------------------------------------------
``model, tokenizer = load_model(folder, device)`` returns the model in eval mode. Shapes: B batch,
T bars, L = ``model.config.bar_len`` token slots per bar (PAD = 0 fills a bar; each bar starts
with ``Bar``), l_r / l_k latent sizes, K = 2 components (0 low, 1 high).

- ``model.encode(tokens [B, T, L]) -> Posterior(mu_r, logvar_r, mu_k, logvar_k)``, each
  ``[B, T, l]``; bars are encoded in order, each with the memory of the previous one. An all-PAD
  bar is padding (its posterior is meaningless).
- ``model.prior_r`` (arousal, on z_r) and ``model.prior_k`` (valence, on z_k): ``.means [K, l]``,
  ``.logvars [K, l]``, ``.q_y(z [..., l]) -> probs [..., K]`` (per z, Bayes' rule with uniform p(y)),
  ``.sample(component [B], shape) -> z [B, *shape, l]``.
- ``model.q_y(posterior, bar_mask=None, n_samples=0) -> (q_arousal [B, K], q_valence [B, K])``:
  q(y|x) of a window (per-bar log-likelihoods averaged over its real bars; ``n_samples = 0`` uses
  the posterior means).
- Incremental decoding with a KV cache: ``state = model.decoder_start(B)``;
  ``logits [B, n, V], state = model.decoder_step(token_ids [B, n], z_bar [B, l_r + l_k], state)``
  appends n tokens to the current bar (a bar holds at most L tokens; PAD ids are ignored as keys);
  ``state = model.decoder_next_bar(state)`` moves the finished bar into the memory. The logits at
  a bar's last token predict the next bar's ``Bar`` (or ``EOS``).
- ``model.decoder_logits(tokens [B, T, L], z [B, T, l_r + l_k]) -> [B, T, L, V]``: the same logits
  without a cache (training), equal to the cached path up to float rounding.
- ``resolve_device("auto" | "cpu" | "cuda")``.
"""

from emostudio.model.cdgmvae import CDGMVAE, Batch, DecoderState, Posterior
from emostudio.model.config import MODEL_FORMAT_VERSION, ModelConfig
from emostudio.model.prior import GaussianMixturePrior
from emostudio.model.store import ModelLoadError, load_model, resolve_device, save_model

__all__ = [
    "CDGMVAE",
    "MODEL_FORMAT_VERSION",
    "Batch",
    "DecoderState",
    "GaussianMixturePrior",
    "ModelConfig",
    "ModelLoadError",
    "Posterior",
    "load_model",
    "resolve_device",
    "save_model",
]
