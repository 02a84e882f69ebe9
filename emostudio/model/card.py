"""The one model-card writer: ``MODEL_CARD.md`` of every model folder a run or the wizard saves.

A card has a title, the model's description and size, what it was trained on, how, and what it
scored; the callers (``training.loop`` for ``best/`` and ``last/``, ``wizard.finish`` for the
wizard's model) fill in what they know.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from emostudio.model.config import ModelConfig

DESCRIPTION = (
    "Semi-supervised Transformer Gaussian-mixture VAE (CDGMVAE, see MODEL.md): arousal on z_r "
    "(rhythm/polyphony), valence on z_k (key)."
)
DATA_LICENCES = (
    "EMOPIA clips are CC BY-NC-SA 4.0 (non-commercial); POP909 is MIT; the VGMIDI unlabelled "
    "pieces are fan arrangements of game music (research use). A model trained on them "
    "inherits these limits: research and non-commercial use."
)


def size_line(c: ModelConfig) -> str:
    memory = c.decoder_memory_bars
    return (
        f"size: d_model {c.d_model}, {c.n_enc_layers} encoder / {c.n_dec_layers} decoder layers, "
        f"{c.n_heads} heads, latents {c.latent_r}+{c.latent_k}, {c.bar_len} tokens per bar"
        + (f", the decoder remembering {memory} bars" if memory > 1 else "")
    )


@dataclass(frozen=True)
class ModelCard:
    """``data`` and ``settings`` are bullet lines (the size line is added to the settings);
    ``quality`` lines say what the validation measured; ``metrics`` are listed whole as JSON."""

    title: str
    model_config: ModelConfig
    data: Sequence[str]
    settings: Sequence[str]
    metrics: dict | None
    quality: Sequence[str] = ()
    licences: str = DATA_LICENCES

    def markdown(self) -> str:
        lines = [f"# {self.title}", "", DESCRIPTION, "", "## Data", ""]
        lines += [f"- {line}" for line in self.data]
        lines += ["", "## Settings", "", f"- {size_line(self.model_config)}"]
        lines += [f"- {line}" for line in self.settings]
        lines += ["", "## Measured quality", ""]
        lines += [f"- {line}" for line in self.quality]
        if self.quality:
            lines.append("")
        metrics = json.dumps(self.metrics, indent=2) if self.metrics else "null"
        lines += ["Validation metrics:", "", "```json", metrics, "```", ""]
        lines += ["## Licences", "", self.licences, ""]
        return "\n".join(lines)
