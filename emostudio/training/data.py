"""Training windows from a corpus cache: random T-bar windows, pitch-shift augmentation, labels.

A window is ``T`` consecutive bars of one piece, each bar longer than ``L`` tokens cut (and
counted) by :func:`emostudio.tokens.window.fit_bar` at its last note boundary, as the engine cuts
them, and padded with PAD. The target of a bar's token is the next token; after a bar's last token it is the next
bar's ``Bar``, or ``EOS`` after the piece's last bar. Labels are per piece (0 low, 1 high, -1
unlabelled): arousal for the r mixture, valence for the k mixture. Sampling uses a numpy generator
seeded from (seed, rank, step), so a resumed run draws the same batches it would have drawn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from emostudio.corpus.cache import CorpusCache
from emostudio.model.cdgmvae import Batch
from emostudio.model.config import ModelConfig
from emostudio.tokens.tokenizer import Tokenizer
from emostudio.tokens.vocab import BAR, EOS, PAD
from emostudio.tokens.window import fit_bar
from emostudio.training.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Window:
    piece: int  # index into cache.pieces
    start: int  # first bar
    shift: int = 0  # semitones of pitch shift


def rotate_key(key: np.ndarray, semitones: int) -> np.ndarray:
    """Keys 0-11 major, 12-23 minor, moved by ``semitones`` (the key feature of a transposed piece)."""
    key = np.asarray(key, dtype=np.int64)
    return np.where(key < 12, (key + semitones) % 12, 12 + (key - 12 + semitones) % 12)


def label_of(value: int | None) -> int:
    """+1 -> 1 (high), -1 -> 0 (low), None -> -1 (unlabelled)."""
    return -1 if value is None else int(value > 0)


class WindowData:
    """Turns windows of a cache's pieces into :class:`Batch` es."""

    def __init__(
        self, cache: CorpusCache, model_config: ModelConfig, train_config: TrainConfig
    ) -> None:
        self.cache = cache
        self.tokenizer = Tokenizer(cache.tokenizer_config)
        self.bar_len = model_config.bar_len
        self.max_polyphony = model_config.polyphony_classes - 1
        self.n_bars = train_config.bars_per_sample
        self.bars_seen = 0
        self.bars_truncated = 0

    def window_arrays(self, w: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """-> tokens [T, L], targets [T, L], polyphony [T, S], key [T] (numpy, int64).

        The window's bars are cut from the cache's token array and transposed as one run (a
        window whose shift would move a pitch out of range is not shifted): per window, not per
        bar, since this runs between the optimizer steps of a GPU."""
        cache = self.cache
        first, end = cache.bar_range(w.piece)
        n_total = end - first
        t, length = self.n_bars, self.bar_len
        stop = min(n_total, w.start + t)
        offsets = cache.bar_offsets[first + w.start : first + stop + 1]
        flat = cache.tokens[offsets[0] : offsets[-1]].astype(np.int64)
        bounds = (offsets - offsets[0]).tolist()
        poly = cache.polyphony(w.piece)
        tokens = np.full((t, length), PAD, dtype=np.int64)
        targets = np.full((t, length), PAD, dtype=np.int64)
        poly_out = np.zeros((t, poly.shape[1] if poly.ndim == 2 else 16), dtype=np.int64)
        key_out = np.zeros(t, dtype=np.int64)
        shift = w.shift
        if shift:
            moved = self.tokenizer.transpose(flat, shift)
            if moved is None:
                shift = 0
            else:
                flat = moved
        kinds = self.tokenizer.vocab.kinds
        n_bars = stop - w.start
        for i in range(n_bars):
            bar = flat[bounds[i] : bounds[i + 1]]
            if len(bar) > length:
                self.bars_truncated += 1
                bar = fit_bar(bar, length, kinds)
            n = len(bar)
            tokens[i, :n] = bar
            targets[i, : n - 1] = bar[1:]
            targets[i, n - 1] = BAR if w.start + i + 1 < n_total else EOS
        self.bars_seen += n_bars
        poly_out[:n_bars] = np.minimum(poly[w.start : stop], self.max_polyphony)
        key_out[:n_bars] = rotate_key(cache.keys(w.piece)[w.start : stop], shift)
        return tokens, targets, poly_out, key_out

    def batch(self, windows: list[Window], labels: np.ndarray) -> Batch:
        """labels int64[B, 2] (arousal, valence; -1 unlabelled) -> Batch of CPU tensors."""
        parts = [self.window_arrays(w) for w in windows]
        stack = [torch.from_numpy(np.stack([p[j] for p in parts])) for j in range(4)]
        lab = torch.from_numpy(np.asarray(labels, dtype=np.int64).reshape(-1, 2))
        return Batch(
            stack[0], stack[1], stack[2], stack[3], lab[:, 0].contiguous(), lab[:, 1].contiguous()
        )

    @property
    def truncation_rate(self) -> float:
        return self.bars_truncated / max(1, self.bars_seen)


class TrainSampler:
    """Random windows of the training split, a share of them from labelled pieces."""

    def __init__(
        self, cache: CorpusCache, data: WindowData, config: TrainConfig, rank: int = 0
    ) -> None:
        self.cache, self.data, self.config, self.rank = cache, data, config, rank
        train = cache.split_indices("train")
        if len(train) == 0:
            raise ValueError("the cache has no training pieces")
        self.labels = np.array(
            [
                (label_of(cache.pieces[i].arousal), label_of(cache.pieces[i].valence))
                for i in range(len(cache.pieces))
            ],
            dtype=np.int64,
        ).reshape(-1, 2)
        has_label = np.array([self.labels[i].max() >= 0 for i in train], dtype=bool)
        labelled = train[has_label]
        if config.supervision_rate is not None:
            keep = round(config.supervision_rate * len(train))
            if keep > len(labelled):
                raise ValueError(
                    f"supervision rate {config.supervision_rate} needs {keep} labelled training pieces, "
                    f"the cache has {len(labelled)} (at most {len(labelled) / len(train):.3f})"
                )
            order = np.random.default_rng(config.seed).permutation(len(labelled))
            hidden = labelled[order[keep:]]
            self.labels[hidden] = -1
            labelled = labelled[np.sort(order[:keep])]
        self.labelled = labelled
        self.unlabelled = np.setdiff1d(train, labelled)
        n_bars = np.array([p.n_bars for p in cache.pieces], dtype=np.float64)
        self.weights_l = (
            n_bars[self.labelled] / n_bars[self.labelled].sum() if len(self.labelled) else None
        )
        self.weights_u = (
            n_bars[self.unlabelled] / n_bars[self.unlabelled].sum()
            if len(self.unlabelled)
            else None
        )
        self.total_bars = int(n_bars[train].sum())
        log.info(
            "training pieces: %d labelled, %d unlabelled, %d bars",
            len(self.labelled),
            len(self.unlabelled),
            self.total_bars,
        )

    def windows(self, step: int) -> tuple[list[Window], np.ndarray]:
        c = self.config
        rng = np.random.default_rng([c.seed, self.rank, step])
        out, labels = [], []
        for _ in range(c.batch_size):
            from_labelled = self.weights_u is None or (
                self.weights_l is not None and rng.random() < c.labelled_fraction
            )
            pool, weights = (
                (self.labelled, self.weights_l)
                if from_labelled
                else (self.unlabelled, self.weights_u)
            )
            piece = int(pool[rng.choice(len(pool), p=weights)])
            n_bars = self.cache.pieces[piece].n_bars
            start = int(rng.integers(0, max(1, n_bars - c.bars_per_sample + 1)))
            shift = (
                int(rng.integers(-c.max_pitch_shift, c.max_pitch_shift + 1))
                if c.max_pitch_shift
                else 0
            )
            out.append(Window(piece, start, shift))
            labels.append(self.labels[piece])
        return out, np.asarray(labels, dtype=np.int64)

    def batch(self, step: int) -> Batch:
        windows, labels = self.windows(step)
        return self.data.batch(windows, labels)


@dataclass(frozen=True)
class ValidationSet:
    """Fixed validation windows: ``windows``/``labels`` for losses and feature accuracy, and
    ``clip_of`` mapping each window to its labelled clip (-1 when the piece is unlabelled)."""

    windows: list[Window]
    labels: np.ndarray  # [N, 2]
    clip_of: np.ndarray  # [N]
    clip_labels: np.ndarray  # [n_clips, 2]


def validation_set(cache: CorpusCache, config: TrainConfig, split: str = "val") -> ValidationSet:
    """Every window (stride T) of each labelled piece of the split, plus the first
    ``val_windows_per_piece`` windows of each unlabelled piece, at most ``val_max_windows`` of those."""
    t = config.bars_per_sample
    windows, labels, clip_of, clip_labels = [], [], [], []
    unlabelled: list[Window] = []
    for i in cache.split_indices(split):
        p = cache.pieces[int(i)]
        lab = (label_of(p.arousal), label_of(p.valence))
        starts = list(range(0, max(1, p.n_bars - t + 1), t)) or [0]
        if max(lab) >= 0:
            for s in starts:
                windows.append(Window(int(i), s))
                labels.append(lab)
                clip_of.append(len(clip_labels))
            clip_labels.append(lab)
        else:
            unlabelled += [Window(int(i), s) for s in starts[: config.val_windows_per_piece]]
    if len(unlabelled) > config.val_max_windows:
        pick = np.linspace(0, len(unlabelled) - 1, config.val_max_windows).round().astype(int)
        unlabelled = [unlabelled[j] for j in pick]
    windows += unlabelled
    labels += [(-1, -1)] * len(unlabelled)
    clip_of += [-1] * len(unlabelled)
    return ValidationSet(
        windows,
        np.asarray(labels, dtype=np.int64).reshape(-1, 2),
        np.asarray(clip_of, dtype=np.int64),
        np.asarray(clip_labels, dtype=np.int64).reshape(-1, 2),
    )
