"""Today's engine against an earlier release's, as separate processes taking turns (issue 14).

Ratios in one run are what count on a shared machine: each round runs one process of the baseline
release (a detached git worktree of ``--baseline``) and one of this tree, in turn, each timing the
same calls with the same seeds on the same model folder (this tree's ``models/default`` unless
``--model``). Both releases must offer ``Engine.load``, ``Engine.generate`` (BarEvents),
``Engine.generate_many`` and ``Engine.recognise`` (they have since the first release).

    PYTHONPATH=. .venv/bin/python benchmarks/release_ab.py --baseline c1478ce --rounds 4

What is timed, per process: ``generate`` of 16 bars for seeds 0..S-1 (each a different quadrant;
the first bar's time too), ``generate_many`` of one piece and of four in one batch, and
``recognise`` of a generated 16-bar piece. Per token = seconds / the piece's token count (the
same pieces in both releases when they sample the same tokens: the script checks the token counts;
this tree decodes without rhythm persistence, latent draws, cadences and the bass bias, which the
earlier releases did not have, and both from the model's own prior, not its fitted one, so that
both draw the same latents).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time, statistics, torch
from emostudio.generation.engine import Engine
from emostudio.emotion import Emotion
model, seeds = sys.argv[1], int(sys.argv[2])
engine = Engine.load(model)
# what the first releases did not have, off where this tree has it (so both draw the same latents
# and sample under the same masks): rhythm persistence (a rhythm component every bar), the most
# typical of several latent draws (one draw), phrase-end cadences, the bass bias
settings = getattr(engine, "settings", None)
off = {"rhythm_persistence": 0.0, "latent_draws": 1, "cadence": 0.0, "bass": 0.0}
off = {k: v for k, v in off.items() if hasattr(settings, k)}
if off:
    engine.settings = settings.replace(**off)
# and both sample the model's own prior: a release checks a fitted prior by the whole file's digest
# and so refuses one fitted before a decoder-only fine-tune (it would draw other latents)
engine.fitted_prior = None
q = lambda s: Emotion.from_quadrant(s % 4 + 1)
list(engine.generate(q(0), bars=2, seed=123))
out = {"generate": [], "first": [], "notes": [], "tokens": []}
for seed in range(seeds):
    t0 = time.perf_counter(); first = None
    for event in engine.generate(q(seed), bars=16, seed=seed):
        first = time.perf_counter() - t0 if first is None else first
    out["generate"].append(time.perf_counter() - t0); out["first"].append(first)
    song = event.song
    out["notes"].append(sum(len(t.notes) for t in song.tracks))
    out["tokens"].append(len(engine.tokenizer.encode(song)) - 1)  # its bars' tokens, EOS not
one, four = [], []
for seed in range(3):
    t0 = time.perf_counter(); engine.generate_many([q(seed)], bars=16, seed=seed); one.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); engine.generate_many([q(i) for i in range(4)], bars=16, seed=seed); four.append(time.perf_counter() - t0)
out["one"], out["four"] = one, four
rec = []
for _ in range(7):
    t0 = time.perf_counter(); engine.recognise(song); rec.append(time.perf_counter() - t0)
out["recognise"] = rec
print(json.dumps(out))
"""


def run(tree: Path, model: Path, seeds: int) -> dict:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(seeds)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--baseline", required=True, help="git revision of the earlier release")
    p.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seeds", type=int, default=4)
    args = p.parse_args()
    results: dict[str, dict[str, list]] = {"baseline": {}, "today": {}}
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(old), args.baseline],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for r in range(args.rounds):
                for name, tree in (("baseline", old), ("today", ROOT)):
                    out = run(tree, args.model.resolve(), args.seeds)
                    for key, values in out.items():
                        results[name].setdefault(key, []).extend(values)
                    print(f"round {r + 1}: {name} done", file=sys.stderr)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False
            )
    base, today = results["baseline"], results["today"]
    same = base["tokens"] == today["tokens"]
    med = statistics.median

    def per_token(r: dict[str, list]) -> float:
        return med(t / n for t, n in zip(r["generate"], r["tokens"]))

    rows = [
        ("generate 16 bars (s)", med(base["generate"]), med(today["generate"])),
        ("first bar (ms)", 1e3 * med(base["first"]), 1e3 * med(today["first"])),
        ("per token, whole loop (ms)", 1e3 * per_token(base), 1e3 * per_token(today)),
        ("generate_many, 1 piece (s)", med(base["one"]), med(today["one"])),
        ("generate_many, 4 pieces (s)", med(base["four"]), med(today["four"])),
        ("recognise 16 bars (ms)", 1e3 * med(base["recognise"]), 1e3 * med(today["recognise"])),
    ]
    print(f"baseline {args.baseline} against this tree; {args.rounds} rounds x {args.seeds} seeds")
    print(f"same token counts from both releases: {same} (median {med(today['tokens'])} a piece)")
    if not same:
        print(f"tokens per piece: baseline {base['tokens']}, today {today['tokens']}")
    if base["notes"] != today["notes"]:  # since 2026-12-01 a pitch written twice at one position
        # is one note (Tokenizer.decode), so the same tokens may give a few notes fewer
        print(f"notes per piece: baseline {base['notes']}, today {today['notes']}")
    print("| what | baseline | today | baseline / today |")
    print("|---|---|---|---|")
    for what, b, t in rows:
        print(f"| {what} | {b:.3f} | {t:.3f} | {b / t:.2f}x |")
    for name, r in (("baseline", base), ("today", today)):
        print(f"{name}: 4 pieces / 1 piece = {med(r['four']) / med(r['one']):.2f}")


if __name__ == "__main__":
    main()
