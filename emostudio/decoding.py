"""Default decoding settings, shared by the engine, the CLI, the evaluation and the GUI.

A plain module (no torch), so the window and the argument parsers read them without loading the
engine. The values are measured choices: docs/history/benchmarks-sessions-1-4.md, "Decoding settings"
and the sessions after it. Here too: the
frozen :class:`DecodingSettings` every signature takes instead of loose keyword arguments, and the
length limits.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from emostudio.midi.song import Song

# token sampling: 1.0 (unscaled) with nucleus 0.95 was judged best with the fitted prior; lower
# temperatures use fewer pitch classes and write sad and calm pieces that are judged more aroused
# (docs/history/benchmarks-sessions-1-4.md, "Session 4")
DEFAULT_TEMPERATURE = 1.0
DEFAULT_TOP_P = 0.95
# correlation of neighbouring bars' key-latent noise in generation (Engine.continuity); 0 = an
# independent draw from the target's mixture for every bar, which changes key every bar
DEFAULT_CONTINUITY = 0.9
# tau: generation draws z = mu + tau * sigma * eps from the target's component (1 = the prior
# itself; below 1 the draw stays nearer the component's mean, where the emotion is clearest).
# With the shipped model's fitted prior 0.7 was judged best (docs/history/benchmarks-sessions-1-4.md, "Session 3")
DEFAULT_LATENT_TEMPERATURE = 0.7
# with a fitted prior, the probability that a bar keeps the previous bar's rhythm component: 0.8
# raised the realism of generated pieces against EMOPIA's validation clips (mean overlap with a
# form 0.75 -> 0.79 on two seeds of 400 pieces; the spread of polyphony doubled towards real
# music's) with judged emotion within about 0.02 (stage 5's decoder; 0.9 gained no more then).
# With stage 8's decoder 0.9 raised the validation overlap in all four sets (seeds 2 and 3, AABA
# and through-composed; mean 0.825 -> 0.833, judged quadrant 0.877 -> 0.889), and on the test
# clips 0.790 -> 0.798 and 0.785 -> 0.794 (benchmarks/results/realism.md, "Run 7" and
# "Rhythm persistence 0.9 with stage 8")
DEFAULT_RHYTHM_PERSISTENCE = 0.9
# generation draws this many latent candidates per piece and decodes the one the model's own
# prior finds most typical of the target (1 = the first draw). Drawing costs nothing next to
# decoding; the choice is the model's q(y|z), not the evaluation's judge
# (benchmarks/results/realism.md, "Run 9")
DEFAULT_LATENT_DRAWS = 8
#: the most latent candidates one piece draws
MAX_LATENT_DRAWS = 64
# phrase ends cadence: in the last bar of every 4-bar phrase (and of the piece), the notes of the
# pitched families that start in the bar's last ``cadence`` share take the pitch classes of its
# cadence's chord (the dominant after the 1st and 3rd phrase, the tonic after the 2nd, 4th and
# at the end) in the key the piece's bars so far are in (0: off; 1: the whole bar). Half a bar
# (beats 3-4) measured neutral against 0 on the validation clips (seeds 2 and 3, 400 pieces each,
# AABA and through-composed: mean overlap 0.793 both, judged emotion within the seeds' spread,
# two-sample AUC +0.003 to +0.009) while the phrase ends' tonic-triad share rises 0.65 -> 0.69;
# the whole bar cost 0.002-0.017 overlap (benchmarks/results/realism.md, "Run 10")
DEFAULT_CADENCE = 0.5
# the bass bias: the logits of a bar's first note raised by this much in the bass register (below
# C3) and, when it lands there, its Duration's by half this much per unit of log(duration)
# (emostudio.generation.grammar.Bias). Off by default: at 1 the held bass and the bass at bar
# starts reach real music's on the validation clips (mean overlap 0.813 -> 0.821 there, within the
# seeds' spread), but the decoder voices the rest of the bar lower over a low first note (mean
# pitch 1.5-3 semitones down), and on the test clips the mean overlap fell (0.785 -> 0.769
# through-composed, 0.778 -> 0.770 AABA): an option for a fuller bass, not a default
# (benchmarks/results/realism.md, "The bass bias as a setting")
DEFAULT_BASS = 0.0
#: the strongest bass bias a setting may ask for
MAX_BASS = 4.0
# the sustain pedal on newly written piano parts (emostudio.midi.pedal: changed at every bar and
# at new bass notes): the tokens hold how long keys are down, and EMOPIA's pianists hold the pedal
# most of the time, so unpedalled the model's piano sounds clipped. With it, generated pieces'
# notes sound as long as EMOPIA clips' played with their own pedalling (median 10.77 against
# 10.79 sub-beats; without it 5.68) and as many sound at once (9.47 against 9.44; without 5.05)
# (benchmarks/pedal_use.py --generated)
DEFAULT_PEDAL = True

# ---- form (emostudio.generation.form plans it) ---------------------------------------------------
#: form name -> section letter per 4-bar phrase; "none" is through-composed (every phrase new)
FORMS: dict[str, str] = {
    "none": "",
    "AABA": "AABA",
    "ABAB": "ABAB",
    "AABB": "AABB",
    "ABAC": "ABAC",
    "verse-chorus": "ABCB",  # verse, chorus, second verse, chorus
}
#: the form the CLI and the app generate in unless told otherwise (benchmarks/results/realism.md)
DEFAULT_FORM = "AABA"

# ---- length limits (the one place for each) ------------------------------------------------------
#: the most bars one engine call generates, transfers or decodes
MAX_BARS = 1024
#: the app works on at most this many bars of an opened piece (a transfer of the whole piece, the
#: emotion heard in it); longer pieces are cut to their first LONG_PIECE_BARS bars
LONG_PIECE_BARS = 256
#: the most bars the app's bar count offers (a generation, or a transfer's first bars)
PANEL_MAX_BARS = 64
#: the most alternatives (variations) one call writes
MAX_VARIATIONS = 16


class EngineError(ValueError):
    """A request the engine cannot carry out (an empty piece, a bad bar count or target); one line."""


def check_piece(song: Song, what: str | None = None, max_bars: int | None = MAX_BARS) -> int:
    """The piece's bar count; an :class:`EngineError` if it has no notes or (unless ``max_bars``
    is None) more than ``max_bars`` bars. ``what`` names it in the message (default: its name).
    The one empty-piece check of the engine, the CLI and the app."""
    name = what or song.name or "the piece"
    if song.note_count == 0:
        raise EngineError(f"{name} has no notes")
    if max_bars is not None and song.n_bars > max_bars:
        raise EngineError(f"{name} has {song.n_bars} bars; at most {max_bars}")
    return song.n_bars


class DecodingSettingsError(ValueError):
    """A decoding setting outside its range; one line."""


@dataclass(frozen=True)
class DecodingSettings:
    """How the engine samples: tokens (``temperature``, nucleus ``top_p``) and latents
    (``continuity``: the key latent's bar-to-bar noise correlation; ``latent_temperature``: tau,
    the spread of the latent draws and of a transfer's deviations; ``rhythm_persistence``: the
    probability that a bar keeps the previous bar's rhythm component; ``latent_draws``: how many
    latent candidates generation draws per piece, decoding the most typical of the target;
    ``cadence``: the share of a phrase's last bar, from its end, whose notes land on its cadence
    chord, the dominant or the tonic triad, 0 for none; ``bass``: the bass bias; ``pedal``:
    whether newly written piano parts get the sustain pedal). Checked on construction."""

    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = DEFAULT_TOP_P
    continuity: float = DEFAULT_CONTINUITY
    latent_temperature: float = DEFAULT_LATENT_TEMPERATURE
    rhythm_persistence: float = DEFAULT_RHYTHM_PERSISTENCE
    latent_draws: int = DEFAULT_LATENT_DRAWS
    cadence: float = DEFAULT_CADENCE
    bass: float = DEFAULT_BASS
    pedal: bool = DEFAULT_PEDAL

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise DecodingSettingsError(f"temperature must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise DecodingSettingsError(f"top-p must be in (0, 1], got {self.top_p}")
        if not 0.0 <= self.continuity < 1.0:
            raise DecodingSettingsError(f"continuity must be in [0, 1) (got {self.continuity})")
        if not 0.0 <= self.latent_temperature <= 2.0:
            raise DecodingSettingsError(
                f"latent temperature must be in [0, 2] (got {self.latent_temperature})"
            )
        if not 0.0 <= self.rhythm_persistence <= 1.0:
            raise DecodingSettingsError(
                f"rhythm persistence must be in [0, 1] (got {self.rhythm_persistence})"
            )
        if int(self.latent_draws) != self.latent_draws or not (
            1 <= self.latent_draws <= MAX_LATENT_DRAWS
        ):
            raise DecodingSettingsError(
                f"latent draws must be a whole number from 1 to {MAX_LATENT_DRAWS} "
                f"(got {self.latent_draws})"
            )
        object.__setattr__(self, "latent_draws", int(self.latent_draws))  # 8.0 (parsed) -> 8
        if not 0.0 <= self.cadence <= 1.0:
            raise DecodingSettingsError(f"cadence must be in [0, 1] (got {self.cadence})")
        if not 0.0 <= self.bass <= MAX_BASS:
            raise DecodingSettingsError(f"bass must be in [0, {MAX_BASS:g}] (got {self.bass})")
        if self.pedal not in (True, False, 0, 1):
            raise DecodingSettingsError(f"pedal must be on (1) or off (0) (got {self.pedal})")
        object.__setattr__(self, "pedal", bool(self.pedal))  # 1.0 (parsed) -> True

    def replace(self, **changes: float) -> DecodingSettings:
        """A copy with ``changes`` (checked again; a whole number of latent draws may come as a
        float, as parsed settings do)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
