"""The one model-card writer (model.card.ModelCard), as training and the wizard use it."""

from __future__ import annotations

import json

from emostudio.model.card import ModelCard
from emostudio.model.config import ModelConfig
from emostudio.tokens import TokenizerConfig

CONFIG = ModelConfig.for_tokenizer(TokenizerConfig(), d_model=64, n_heads=2, latent_r=4, latent_k=6)


def test_a_card_has_every_section_in_order_and_its_metrics_whole():
    metrics = {"arousal_accuracy": 0.75, "token_loss": 1.5, "n_clips": None}
    card = ModelCard(
        "my model", CONFIG, data=["emopia (12 pieces)"], settings=["steps 40"], metrics=metrics
    ).markdown()
    headings = [line for line in card.splitlines() if line.startswith("#")]
    assert headings == [
        "# my model",
        "## Data",
        "## Settings",
        "## Measured quality",
        "## Licences",
    ]
    assert "- emopia (12 pieces)" in card and "- steps 40" in card
    assert "- size: d_model 64, " in card and "latents 4+6" in card
    assert "CC BY-NC-SA 4.0" in card
    block = card.split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(block) == metrics


def test_quality_lines_and_licences_are_the_callers():
    card = ModelCard(
        "w", CONFIG, [], [], None, quality=["arousal 80%"], licences="The data's own."
    ).markdown()
    assert "- arousal 80%" in card and card.rstrip().endswith("The data's own.")
    assert "```json\nnull\n```" in card


def test_the_size_line_names_a_longer_decoder_memory():
    def size(config: ModelConfig) -> str:
        card = ModelCard("m", config, [], [], None).markdown()
        return next(line for line in card.splitlines() if line.startswith("- size:"))

    assert "remembering" not in size(CONFIG)
    assert size(CONFIG.with_changes(decoder_memory_bars=2)).endswith(
        "tokens per bar, the decoder remembering 2 bars"
    )
