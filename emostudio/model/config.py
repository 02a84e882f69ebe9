"""The model configuration: one frozen dataclass, the only constructor argument of the model.

Sizes and every weight and switch of the objective (MODEL.md section 3) live here, so an ablation
(``alpha=1``, ``use_mi=False``, ``use_adversary=False``) is a config value, not a copied model.
The schedule of beta over training steps is a training matter (:mod:`emostudio.training.config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from emostudio.jsonconfig import ConfigError, JsonConfig, check_format_version
from emostudio.midi.families import Family
from emostudio.tokens.config import TokenizerConfig
from emostudio.tokens.vocab import Vocabulary

# 2: key_chroma and the pitch layout; 3: pitch_class_tokens. An older config reads with the
# features it did not have switched off (from_dict)
MODEL_FORMAT_VERSION = 3
_ADDED_IN = {2: ("key_chroma",), 3: ("pitch_class_tokens",)}


@dataclass(frozen=True)
class ModelConfig(JsonConfig):
    """CDGMVAE sizes and objective weights; build it with :meth:`for_tokenizer`."""

    config_name = "model"

    # ---- sizes --------------------------------------------------------------------------------------
    # derived from the tokenizer config (ModelConfig.for_tokenizer), never typed in
    vocab_size: int = 0
    pitch_starts: tuple[int, ...] = ()  # derived: ids of Pitch_0 of the pitched (non-drum) families
    pitch_count: int = 128  # derived: Pitch tokens per family
    bar_len: int = 96  # L: tokens per bar (longer bars are cut by the data pipeline; 13 % at 96)
    # the defaults are the shipped model's size (BENCHMARKS.md, "Model and training")
    d_model: int = 128
    n_heads: int = 4
    n_enc_layers: int = 2  # per encoder (E_r and E_k have the same architecture)
    n_dec_layers: int = 3
    # D: the decoder's memory, in bars (each bar's tokens attend to their own bar's and to the
    # previous D bars' layer inputs); the encoders' is one bar. Not an architecture field: the
    # weights are the same, so a fine-tune may lengthen it
    decoder_memory_bars: int = 1
    ff_mult: int = 4  # feed-forward width = ff_mult * d_model
    dropout: float = 0.0  # the shipped runs see each window about once: nothing to regularise
    latent_r: int = 16  # l of z_r (rhythm/polyphony latent, arousal mixture)
    latent_k: int = 16  # l of z_k (key latent, valence mixture)
    n_components_r: int = 2  # arousal: 0 low, 1 high
    n_components_k: int = 2  # valence: 0 low, 1 high
    subbeats_per_bar: int = 16  # f_r has one class per sub-beat
    polyphony_classes: int = 8  # notes sounding per sub-beat, clipped to polyphony_classes - 1
    n_keys: int = 24  # f_k: 12 major + 12 minor
    feature_hidden: int = 128  # width of the local feature decoders and adversaries
    pitch_class_tokens: bool = True  # factorised pitch: a pitched note's input embedding and output
    #                                  logit each add a pitch-class term shared across octaves and
    #                                  families, so tonality is learnt once, not per pitch and family
    # E_k also reads each bar's pitch-class profile (the share of its pitched notes on each of the
    # 12 pitch classes) through a small MLP added to its pooled output: mode, the main cue of
    # valence, is then one nonlinear step away instead of a relation between 88 separately learnt
    # pitch embeddings
    key_chroma: bool = True
    prior_init_scale: float = 1.0  # std of the initial component means
    logvar_clamp: float = 8.0  # posterior log-variances are clamped to [-c, c] for stability
    # initial posterior log-variance (bias of the log sigma^2 head): a quiet start lets z carry
    # information from the first steps
    posterior_logvar_init: float = -4.0

    # ---- objective (MODEL.md section 3) ---------------------------------------------------------------
    alpha: float = 0.2  # scale of the spread of the component means inside KL_z (1 = plain KL)
    use_mi: bool = True  # KL(q̄(y) || p(y)) over the batch instead of KL(q(y|x) || p(y))
    use_adversary: bool = True  # adversaries through gradient reversal
    feature_weight: float = 16.0  # local feature decoders' CE (per sub-beat / per bar); 16 weighs
    #                               them like the CE summed over a bar's 16 sub-beats: with 1 the
    #                               latents of a real-corpus run stayed uninformative (BENCHMARKS.md)
    adversary_weight: float = 0.1  # adversaries' CE (the encoders get its reversed gradient)
    classify_weight: float = 8.0  # CE of q(y|x) against the labels of labelled samples (with 1 the
    #                               valence of q(y|x) stayed at chance on the real corpus)
    n_y_samples: int = 1  # Monte Carlo samples of z for q(y|x) in training

    format_version: int = MODEL_FORMAT_VERSION

    def __post_init__(self) -> None:
        check_format_version("model", self.format_version, MODEL_FORMAT_VERSION)
        object.__setattr__(self, "pitch_starts", tuple(int(i) for i in self.pitch_starts))
        if (self.key_chroma or self.pitch_class_tokens) and not self.pitch_starts:
            raise ConfigError(
                "model config: key_chroma and pitch_class_tokens need the tokenizer's pitch "
                "layout (build the config with ModelConfig.for_tokenizer)"
            )
        if any(not 0 <= i <= self.vocab_size - self.pitch_count for i in self.pitch_starts):
            raise ConfigError("model config: pitch_starts lie outside the vocabulary")
        positive = (
            "vocab_size",
            "bar_len",
            "d_model",
            "n_heads",
            "n_enc_layers",
            "n_dec_layers",
            "ff_mult",
            "latent_r",
            "latent_k",
            "n_components_r",
            "n_components_k",
            "subbeats_per_bar",
            "polyphony_classes",
            "n_keys",
            "feature_hidden",
            "n_y_samples",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"model config: {name} must be >= 1 (got {getattr(self, name)})")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ConfigError(
                "model config: d_model / n_heads must be an even integer (rotary positions)"
            )
        if not 0.0 <= self.alpha <= 1.0:
            raise ConfigError(f"model config: alpha must be in [0, 1] (got {self.alpha})")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"model config: dropout must be in [0, 1) (got {self.dropout})")

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        version = data.get("format_version") if isinstance(data, dict) else None
        if isinstance(version, int) and 1 <= version < MODEL_FORMAT_VERSION:
            added = {name: False for v, names in _ADDED_IN.items() if v > version for name in names}
            data = {**data, **added, "format_version": MODEL_FORMAT_VERSION}
        return super().from_dict(data)

    @classmethod
    def for_tokenizer(cls, tokenizer_config: TokenizerConfig, **overrides) -> ModelConfig:
        """A config whose vocabulary size and pitch layout are the tokenizer's."""
        vocab = Vocabulary(tokenizer_config)
        pitched = tuple(r.pitch for f, r in vocab.families.items() if f != Family.DRUMS)
        return cls(
            **{
                **overrides,
                "vocab_size": len(vocab),
                "pitch_starts": pitched,
                "pitch_count": tokenizer_config.pitch_count,
                "subbeats_per_bar": tokenizer_config.subbeats_per_bar,
            }
        )

    # fields that decide the set and shapes of the weights; the others (objective weights, dropout,
    # initialisation) may change when a run fine-tunes another model's weights
    ARCHITECTURE_FIELDS = (
        "vocab_size",
        "pitch_starts",
        "pitch_count",
        "key_chroma",
        "pitch_class_tokens",
        "bar_len",
        "d_model",
        "n_heads",
        "n_enc_layers",
        "n_dec_layers",
        "ff_mult",
        "latent_r",
        "latent_k",
        "n_components_r",
        "n_components_k",
        "subbeats_per_bar",
        "polyphony_classes",
        "n_keys",
        "feature_hidden",
        "use_adversary",
        "format_version",
    )

    # switches that add modules on top of an older model (zero-initialised, so the outputs start
    # unchanged): a fine-tune may turn them on (``--init-from`` an older model); their weights' names
    ADDABLE_FEATURES: ClassVar[dict[str, tuple[str, ...]]] = {
        "key_chroma": ("encoder_k.chroma.",),
        "pitch_class_tokens": (".pc_embed.", "decoder.pc_head."),
    }

    def architecture_differences(self, other: ModelConfig) -> list[str]:
        """Names of the architecture fields where ``other`` differs from this config, leaving out
        the features ``other`` adds to this one (and the pitch layout they bring) and decoder
        layers it adds on top of this one's."""
        added = [f for f in self.ADDABLE_FEATURES if not getattr(self, f) and getattr(other, f)]
        ignore = set(added) | (
            {"pitch_starts", "pitch_count"} if added and not self.pitch_starts else set()
        )
        if self.added_decoder_layers(other):
            ignore.add("n_dec_layers")
        return [
            f
            for f in self.ARCHITECTURE_FIELDS
            if f not in ignore and getattr(self, f) != getattr(other, f)
        ]

    def added_decoder_layers(self, other: ModelConfig) -> range:
        """The decoder layers ``other`` has on top of this config's (a deeper decoder grown from
        this one: the new layers start silent, see ``Decoder.silence_layers``); empty if none."""
        return range(self.n_dec_layers, max(self.n_dec_layers, other.n_dec_layers))

    def added_weight_prefixes(self, other: ModelConfig) -> tuple[str, ...]:
        """Name fragments of the weights ``other`` has and this config's model lacks."""
        return tuple(
            p
            for f, parts in self.ADDABLE_FEATURES.items()
            if not getattr(self, f) and getattr(other, f)
            for p in parts
        ) + tuple(
            p
            for i in self.added_decoder_layers(other)
            for p in (f"decoder.stack.layers.{i}.", f"decoder.z_proj.{i}.")
        )

    @property
    def latent(self) -> int:
        return self.latent_r + self.latent_k
