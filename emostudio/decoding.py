"""Default decoding settings, shared by the engine, the CLI, the evaluation and the GUI.

A plain module (no torch), so the window and the argument parsers read them without loading the
engine. The values are measured choices: BENCHMARKS.md, "Decoding settings".
"""

# token sampling: 1.0 (unscaled) with nucleus 0.95 was judged best with the fitted prior; lower
# temperatures use fewer pitch classes and write sad and calm pieces that are judged more aroused
# (BENCHMARKS.md, "Session 4")
DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_P = 0.95
# correlation of neighbouring bars' key-latent noise in generation (Engine.continuity); 0 = an
# independent draw from the target's mixture for every bar, which changes key every bar
DEFAULT_CONTINUITY = 0.9
# tau: generation draws z = mu + tau * sigma * eps from the target's component (1 = the prior
# itself; below 1 the draw stays nearer the component's mean, where the emotion is clearest).
# With the shipped model's fitted prior 0.7 was judged best (BENCHMARKS.md, "Session 3")
DEFAULT_LATENT_TEMPERATURE = 0.7
