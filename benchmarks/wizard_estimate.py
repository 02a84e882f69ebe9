"""How good is the wizard's measured time per step? Estimate vs the real ``emostudio train`` child.

For each size preset: the Model page's measurement (:func:`emostudio.wizard.estimate.measure_epoch`,
2 warm-up + 5 timed steps, in-process) against the seconds per step of a real training child
(the median interval between consecutive step events, validation intervals excluded), on a
generated folder of 64 labelled pieces of 8 bars with the wizard's own training settings.

    .venv/bin/python benchmarks/wizard_estimate.py [--presets tiny small] [--steps 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from emostudio.midi import write_midi
from emostudio.training.synthetic import synthetic_song
from emostudio.wizard.estimate import measure_epoch
from emostudio.wizard.flow import WizardFlow
from emostudio.wizard.plan import PRESETS, RunPlan, training_bars
from emostudio.wizard.runner import parse_event
from emostudio.wizard.scan import scan


def drain(generator):
    while True:
        try:
            next(generator)
        except StopIteration as stop:
            return stop.value


def child_seconds_per_step(plan: RunPlan, steps: int) -> float:
    """Median seconds between step events of a real child (log every step, no validation inside)."""
    config = json.loads((plan.run_dir / "wizard_config.json").read_text())
    config["train"].update(log_every=1, max_steps=steps, epoch_steps=10**6)
    (plan.run_dir / "wizard_config.json").write_text(json.dumps(config))
    stamps = []
    with subprocess.Popen(
        plan.command(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as child:
        for line in child.stdout:
            ev = parse_event(line)
            if ev and ev["event"] == "step":
                stamps.append(time.perf_counter())
    return statistics.median(np.diff(stamps[1:]))  # the first step is a warm-up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "small"], choices=sorted(PRESETS))
    parser.add_argument("--steps", type=int, default=12, help="steps of the real child per preset")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rng = np.random.default_rng(0)
        for q, name in {1: "happy", 2: "tense", 3: "sad", 4: "calm"}.items():
            (root / "music" / name).mkdir(parents=True)
            for i in range(16):
                write_midi(
                    synthetic_song(rng, q in (1, 2), q in (1, 4), 8),
                    root / "music" / name / f"{i}.mid",
                )
        flow = WizardFlow()
        flow.set_folders([root / "music"])
        generator = scan(flow.folders, root / "caches")
        flow.labels = next(generator)
        result = drain(generator)
        flow.labels, flow.scan = result.labels, result.summary
        flow.next()
        print("preset   estimate s/step   child s/step   estimate/child")
        for preset in args.presets:
            flow.preset = preset
            plan = RunPlan.from_flow(flow, root / "runs", training_bars(flow.scan.cache_dir))
            estimate = drain(measure_epoch(plan))
            plan.write()
            actual = child_seconds_per_step(plan, args.steps)
            print(
                f"{preset:8s} {estimate.seconds_per_step:15.3f} {actual:14.3f} "
                f"{estimate.seconds_per_step / actual:16.2f}"
            )


if __name__ == "__main__":
    main()
