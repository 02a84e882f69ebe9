"""The evaluation's figures (PNG, drawn with matplotlib's Agg backend) from its typed results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emostudio.emotion import QUADRANT_NAMES
from emostudio.evaluation.results import FidelityResult, SweepResult
from emostudio.midi.song import Song

QUADRANTS = (1, 2, 3, 4)


@dataclass(frozen=True)
class LatentSpace:
    """What the latent-space figure shows: held-out clips' latents (mean over bars) and labels."""

    z_r: np.ndarray  # [N, D]
    z_k: np.ndarray  # [N, D]
    arousal_high: np.ndarray  # bool [N]
    valence_high: np.ndarray  # bool [N]
    means_r: np.ndarray  # [2, D] the arousal mixture's component means
    means_k: np.ndarray  # [2, D] the valence mixture's component means


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_plot(confusion: list[list[int]], title: str, path: Path) -> None:
    plt = _pyplot()
    m = np.asarray(confusion, dtype=np.float64)
    rows = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(5, 4.3))
    im = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    labels = [f"Q{q} {QUADRANT_NAMES[q]}" for q in QUADRANTS]
    ax.set_xticks(range(4), labels, rotation=30, ha="right")
    ax.set_yticks(range(4), labels)
    ax.set_xlabel("judged")
    ax.set_ylabel("target")
    for i in range(4):
        for j in range(4):
            ax.text(
                j,
                i,
                f"{rows[i, j]:.2f}\n({int(m[i, j])})",
                ha="center",
                va="center",
                color="white" if rows[i, j] > 0.5 else "black",
                fontsize=8,
            )
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sweep_plot(sweep: SweepResult, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, label in (
        ("p_quadrant", "P(target quadrant)"),
        ("p_arousal", "P(target arousal)"),
        ("p_valence", "P(target valence)"),
        ("accuracy", "judged = target"),
    ):
        ax.plot(sweep.strengths, getattr(sweep, key), marker="o", label=label)
    ax.set_xlabel("strength λ")
    ax.set_ylabel("judge")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Transfer: judged target probability vs strength", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def fidelity_plot(result: FidelityResult, path: Path) -> None:
    """Fidelity (mean of contour, pc cosine and onset similarity) against the judged probability
    of the target, one curve per method, a point per λ."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.8))
    for method in dict.fromkeys(r.method for r in result.rows):
        rows = [r for r in result.rows if r.method == method]
        x = [r.p_target for r in rows]
        y = [np.mean([r.contour, r.pc_cosine, r.onset_similarity]) for r in rows]
        ax.plot(x, y, marker="o", label=method)
        for r, xi, yi in zip(rows, x, y):
            ax.annotate(
                f"{r.strength:g}", (xi, yi), fontsize=6, xytext=(3, 3), textcoords="offset points"
            )
    ax.set_xlabel("judged P(target quadrant)")
    ax.set_ylabel("fidelity (contour, pc cosine, onsets)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Transfer: what it keeps vs how far it moves (λ at each point)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latent_plot(space: LatentSpace, path: Path) -> None:
    """PCA of the clips' mean latents with the component means, one panel per latent."""
    z_r, z_k, a_true, v_true = space.z_r, space.z_k, space.arousal_high, space.valence_high
    means_r, means_k = space.means_r, space.means_k
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, z, labels, means, title, names in (
        (axes[0], z_r, a_true, means_r, "z_r (arousal mixture)", ("low arousal", "high arousal")),
        (axes[1], z_k, v_true, means_k, "z_k (valence mixture)", ("low valence", "high valence")),
    ):
        both = np.concatenate([z, means])
        centre = both.mean(axis=0)
        _, _, vt = np.linalg.svd(both - centre, full_matrices=False)
        proj = (z - centre) @ vt[:2].T
        mproj = (means - centre) @ vt[:2].T
        for value, colour, name in ((False, "tab:blue", names[0]), (True, "tab:red", names[1])):
            sel = labels == value
            ax.scatter(
                proj[sel, 0], proj[sel, 1], s=12, alpha=0.6, c=colour, label=f"clips: {name}"
            )
        for k, colour in enumerate(("tab:blue", "tab:red")):
            ax.scatter(
                mproj[k, 0],
                mproj[k, 1],
                s=180,
                marker="*",
                c=colour,
                edgecolors="black",
                label=f"component mean: {names[k]}",
            )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.legend(fontsize=7)
    fig.suptitle("Latent space of held-out EMOPIA clips (mean over bars), PCA", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def piano_rolls(
    songs: list[Song], titles: list[str], title: str, path: Path, dpi: int = 80
) -> None:
    """One piano roll per song, stacked on a shared bar axis (pitched notes, coloured by velocity):
    a source beside what was made of it, to look at."""
    from emostudio.midi.song import TICKS_PER_BAR

    plt = _pyplot()
    fig, axes = plt.subplots(len(songs), 1, figsize=(12, 2.4 * len(songs)), sharex=True)
    for ax, song, name in zip(axes, songs, titles):
        for track in song.tracks:
            for n in () if track.is_drum else track.notes:
                ax.add_patch(
                    plt.Rectangle(
                        (n.start / TICKS_PER_BAR, n.pitch - 0.4),
                        (n.end - n.start) / TICKS_PER_BAR,
                        0.8,
                        color=plt.cm.viridis(n.velocity / 127),
                    )
                )
        ax.set_title(name, fontsize=9, loc="left")
        ax.set_ylabel("pitch")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_xlim(0, max(s.n_bars for s in songs))
    pitches = [n.pitch for s in songs for t in s.tracks if not t.is_drum for n in t.notes]
    for ax in axes:
        ax.set_ylim(min(pitches) - 2, max(pitches) + 2)
    axes[-1].set_xlabel("bar")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
