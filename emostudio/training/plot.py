"""Loss and accuracy curves of a run (``RUN_DIR/metrics.jsonl``) drawn to a PNG with matplotlib (Agg)."""

from __future__ import annotations

import json
from pathlib import Path


def read_metrics(run_dir: str | Path) -> tuple[list[dict], list[dict]]:
    """(step events, val events) of a run, the later of any duplicate step winning (after a resume)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.jsonl (not a training run folder?)")
    steps: dict[int, dict] = {}
    vals: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill
        if ev.get("event") == "step":
            steps[ev["step"]] = ev
        elif ev.get("event") == "val":
            vals[ev["step"]] = ev
    return [steps[k] for k in sorted(steps)], [vals[k] for k in sorted(vals)]


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Draw training losses, validation token loss, accuracies and mean distances; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, vals = read_metrics(run_dir)
    out = Path(out) if out else Path(run_dir) / "curves.png"
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    ax = axes[0, 0]
    if steps:
        x = [e["step"] for e in steps]
        for name in steps[-1]["losses"]:
            ax.plot(x, [e["losses"].get(name) for e in steps], label=name, lw=1)
        ax.set_yscale("log")
    ax.set_title("training losses")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    xv = [e["step"] for e in vals]
    ax = axes[0, 1]
    ax.plot(xv, [e["metrics"]["token_loss"] for e in vals], "o-", label="val token loss")
    ax.set_title("validation token loss")
    ax.set_xlabel("step")
    ax = axes[1, 0]
    for name in (
        "arousal_accuracy",
        "valence_accuracy",
        "quadrant_accuracy",
        "polyphony_accuracy",
        "key_accuracy",
        "token_accuracy",
    ):
        ys = [e["metrics"].get(name) for e in vals]
        if any(y is not None for y in ys):
            ax.plot(
                xv,
                [float("nan") if y is None else y for y in ys],
                "o-",
                label=name.replace("_accuracy", ""),
            )
    ax.set_ylim(0, 1)
    ax.set_title("validation accuracy")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    for name in ("mean_distance_r", "mean_distance_k"):
        ax.plot(xv, [e["metrics"][name] for e in vals], "o-", label=name)
    ax.set_title("distance between component means")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
