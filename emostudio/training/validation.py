"""Validation of a training run: the metrics of the validation windows with the posterior means
as z (token loss and accuracy, the auxiliary heads' accuracies, clip-level emotion accuracy from
q(y|x), the distance between the mixtures' component means) and the score best/ is chosen by."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from emostudio.model.cdgmvae import CDGMVAE, PAD
from emostudio.model.objective import window_q_y
from emostudio.training.data import ValidationSet, WindowData


@torch.no_grad()
def evaluate(
    model: CDGMVAE,
    data: WindowData,
    val: ValidationSet,
    batch_size: int,
    device,
    best_emotion_weight: float = 1.0,
) -> dict:
    """Validation metrics with the posterior means as z (see events.py for the fields)."""
    was_training = model.training
    model.eval()
    t0 = time.perf_counter()
    ce_sum = correct = n_tok = 0.0
    poly_ok = poly_n = key_ok = key_n = 0.0
    n_clips = len(val.clip_labels)
    clip_logq = np.zeros((n_clips, 2, 2))
    for start in range(0, len(val.windows), batch_size):
        idx = slice(start, start + batch_size)
        batch = data.batch(val.windows[idx], val.labels[idx]).to(device)
        post = model.encode(batch.tokens)
        z = torch.cat([post.mu_r, post.mu_k], dim=-1)
        h = model.decoder.hidden(batch.tokens, z)
        mask = batch.tokens != PAD
        logits = model.decoder.logits(h[mask])
        targets = batch.targets[mask]
        ce_sum += F.cross_entropy(logits, targets, reduction="sum").item()
        correct += (logits.argmax(-1) == targets).sum().item()
        n_tok += mask.sum().item()
        bars = batch.bar_mask
        c = model.config
        poly = model.polyphony_head(post.mu_r).unflatten(
            -1, (c.subbeats_per_bar, c.polyphony_classes)
        )
        poly_ok += (poly.argmax(-1) == batch.polyphony)[bars].sum().item()
        poly_n += bars.sum().item() * c.subbeats_per_bar
        key_ok += (model.key_head(post.mu_k).argmax(-1) == batch.key)[bars].sum().item()
        key_n += bars.sum().item()
        clips = val.clip_of[idx]
        if (clips >= 0).any():
            log_r = window_q_y(model.prior_r, post.mu_r[None], bars).cpu().numpy()  # [B, 2]
            log_k = window_q_y(model.prior_k, post.mu_k[None], bars).cpu().numpy()
            for j, clip in enumerate(clips):
                if clip >= 0:
                    clip_logq[clip, 0] += log_r[j]
                    clip_logq[clip, 1] += log_k[j]
    token_loss = ce_sum / max(1.0, n_tok)
    metrics = {
        "token_loss": token_loss,
        "token_accuracy": correct / max(1.0, n_tok),
        "polyphony_accuracy": poly_ok / max(1.0, poly_n),
        "key_accuracy": key_ok / max(1.0, key_n),
        "arousal_accuracy": None,
        "valence_accuracy": None,
        "quadrant_accuracy": None,
        "mean_distance_r": float((model.prior_r.means[1] - model.prior_r.means[0]).norm()),
        "mean_distance_k": float((model.prior_k.means[1] - model.prior_k.means[0]).norm()),
        "n_windows": len(val.windows),
        "n_clips": n_clips,
    }
    score = token_loss
    if n_clips:
        pred = clip_logq.argmax(-1)  # [n_clips, 2]: (arousal, valence)
        truth = val.clip_labels
        ok_a, ok_v = pred[:, 0] == truth[:, 0], pred[:, 1] == truth[:, 1]
        metrics["arousal_accuracy"] = float(ok_a.mean())
        metrics["valence_accuracy"] = float(ok_v.mean())
        metrics["quadrant_accuracy"] = float((ok_a & ok_v).mean())
        score += best_emotion_weight * (2.0 - ok_a.mean() - ok_v.mean())
    metrics["score"] = float(score)
    metrics["seconds"] = round(time.perf_counter() - t0, 2)
    model.train(was_training)
    return metrics
